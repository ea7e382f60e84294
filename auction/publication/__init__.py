"""Publication (Q29): the announcement and the result, generated from the records,
delivered through a transactional outbox to the China Land Market website and the
provincial public resource trading platform, and shown on the server's own pages.
See docs/publication.md."""
