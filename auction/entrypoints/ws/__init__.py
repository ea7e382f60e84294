"""The bidder WebSocket endpoint (docs/protocol.md)."""
