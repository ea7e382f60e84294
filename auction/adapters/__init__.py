"""I/O around the services: fan-out, sealing, timers, publication delivery, keys, the wire format."""
