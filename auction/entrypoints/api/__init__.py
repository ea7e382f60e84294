"""The operator's HTTP API (bearer key) and the bank's webhook."""
