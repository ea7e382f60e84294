"""Load tests: a Locust file for the bidder WebSocket protocol and `python -m loadtests.bench`."""
