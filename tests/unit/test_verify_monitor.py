"""`auction-verify --monitor` against a dishonest server: a real HTTP server in the test speaking the
documented format (docs/protocol.md, "Transparency log"), whose second head has the size of the first
and another root, both signed with the center's key. The monitor must name the rewrite (exit 1)."""

from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clients import transparency as tl
from clients.verify import EXIT_DISCREPANCY, monitor

KEY = Ed25519PrivateKey.generate()


def _head(root: bytes) -> dict[str, Any]:
    size, at = 2, 1_796_000_000_000_000
    signature = KEY.sign(tl.head_bytes("S-1", size, root.hex(), at)).hex()
    return {"session_id": "S-1", "tree_size": size, "root_hash": root.hex(), "timestamp_us": at,
            "key_id": "k", "signature": signature}


def test_the_same_size_with_another_root_is_a_rewrite() -> None:
    heads = [_head(b"\x01" * 32), _head(b"\x02" * 32)]

    class Dishonest(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/public/transparency/key":
                body: Any = {"key_id": "k", "public_key": KEY.public_key().public_bytes_raw().hex(),
                             "algorithm": "Ed25519"}
            else:
                body = {"latest": heads.pop(0) if len(heads) > 1 else heads[0]}
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Dishonest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        out = io.StringIO()
        code = monitor(f"http://127.0.0.1:{server.server_address[1]}", "S-1", key=None, every=0.01,
                       until_closed=False, heads=5, out=out)
    finally:
        server.shutdown()
        server.server_close()
    assert code == EXIT_DISCREPANCY and "another root for the same log size" in out.getvalue(), out.getvalue()
