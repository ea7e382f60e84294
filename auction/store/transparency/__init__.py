"""The session transparency log's rows (migrations/0015_tree_heads.sql): signed tree heads, bidder keys."""
