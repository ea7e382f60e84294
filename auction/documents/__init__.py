"""Documents rendered from records, pure (they import only auction/domain):
the transaction confirmation (confirmation.py, PDF), and for publication (Q29) the
announcement, its change notice and the result (landchina.py) and the server's own
pages and Atom feed (pages.py). Publication's outbox delivery to the China Land Market
website and the provincial platform is auction/adapters/delivery.py; see docs/publication.md."""
