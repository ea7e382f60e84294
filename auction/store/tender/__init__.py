"""The tender tables (migrations/0016_tenders.sql): the log, its projection, the bidders."""
