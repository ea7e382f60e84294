"""The services: load state, decide (auction/domain), append (auction/store), report (auction/reactions)."""
