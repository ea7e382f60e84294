"""The public pages (Q29 publication, Atom feed) and the bidder's browser page."""
