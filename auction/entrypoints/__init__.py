"""What the outside world talks to: the bidder socket, the APIs, the console, the public pages."""
