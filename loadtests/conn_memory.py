"""Where an idle watcher's memory goes: `python -m loadtests.conn_memory --watchers 2000`.

Starts an embedded PostgreSQL and one server (or, with `--bare`, the bare
websockets server of loadtests/bare_ws_server.py) under `tracemalloc`, makes one
AUCTION session, connects `--watchers` idle watchers (loadtests/watchers.py),
and prints the server's RSS per connection and the allocations that grew, per
line and per call stack, divided by the connections. The server writes its
snapshots on SIGUSR2 (a wrapper around `auction.cli serve`; nothing in the
server itself changes). Debug only: tracemalloc makes every allocation slower
and bigger, so the RSS figures here are above the bench's.

    python -m loadtests.conn_memory --watchers 2000 [--frames 12] [--top 25] [--server-root DIR] [--bare]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from auction.store.database import embedded
from loadtests.harness import ServerProcess, free_port, prepare_sessions, wait_port, write_pool
from loadtests.scenarios import _rss, _wait_file, start_swarm
from loadtests.watchers import raise_fd_limit

# Run inside the server process: tracemalloc from the start, a snapshot to the
# next numbered file on every SIGUSR2.
_WRAPPER = """
import signal, sys, tracemalloc, runpy
tracemalloc.start({frames})
_n = [0]
def _dump(*_):
    _n[0] += 1
    tracemalloc.take_snapshot().dump({out!r} + f".{{_n[0]}}")
signal.signal(signal.SIGUSR2, _dump)
sys.path.insert(0, {root!r})
sys.argv = [{module!r}, *{args!r}]
runpy.run_module({module!r}, run_name="__main__")
"""


def _snapshot(pid: int, out: Path, n: int, timeout: float = 120) -> tracemalloc.Snapshot:
    path = Path(f"{out}.{n}")
    os.kill(pid, signal.SIGUSR2)
    deadline = time.monotonic() + timeout
    size = -1
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size == size and size > 0:
            return tracemalloc.Snapshot.load(str(path))
        size = path.stat().st_size if path.exists() else -1
        time.sleep(0.5)
    raise RuntimeError("no snapshot from the server")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.conn_memory", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--watchers", type=int, default=2000)
    parser.add_argument("--frames", type=int, default=12, help="stack depth tracemalloc keeps")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--server-root", type=Path, help="the server from this checkout")
    parser.add_argument("--bare", action="store_true", help="the bare websockets server instead")
    parser.add_argument("--no-trace", action="store_true", help="RSS only (no tracemalloc)")
    args = parser.parse_args(argv)
    raise_fd_limit(args.watchers + 4096)
    tmp = Path(tempfile.mkdtemp(prefix="conn-memory-"))
    pg = embedded.start(tmp / "db", fsync=False)
    root = str((args.server_root or Path(__file__).resolve().parents[1]).resolve())
    out = tmp / "snap"
    server = ServerProcess(dsn=pg.dsn, data_dir=tmp / "node", stand_ins=True,
                           env_extra={"AUCTION_LOG_LEVEL": "WARNING", "AUCTION_WS_MAX_WATCHERS_PER_ADDRESS": "0"})
    if not args.bare and not args.no_trace:
        server.command = ["-c", _WRAPPER.format(frames=args.frames, out=str(out), root=root, module="auction.cli",
                                                args=["serve"])]
    elif not args.bare and args.server_root:
        server.command = ["-c", f"import sys, runpy; sys.path.insert(0, {root!r}); "
                                "runpy.run_module('auction.cli', run_name='__main__')", "serve"]
    bare = None
    try:
        server.start()
        with server.api() as api:
            pool = prepare_sessions(api, server.ws, 1, 1)
        assert server.proc is not None
        pid = server.proc.pid
        if args.bare:
            port = free_port()
            margs = ["--pool", str(write_pool(tmp / "bare-pool.json", pool)), "--port", str(port)]
            code = ("import runpy, sys; sys.argv = ['bare', *sys.argv[1:]]; "
                    "runpy.run_module('loadtests.bare_ws_server', run_name='__main__')")
            if not args.no_trace:
                code = _WRAPPER.format(frames=args.frames, out=str(out), root=root,
                                       module="loadtests.bare_ws_server", args=margs)
            with open(tmp / "bare.out", "wb") as log:
                bare = subprocess.Popen([sys.executable, "-c", code, *(margs if args.no_trace else [])],
                                        cwd=root, stdout=log, stderr=subprocess.STDOUT)
            wait_port(port)
            url = f"ws://127.0.0.1:{port}/ws"
            pid, pool = bare.pid, {**pool, "ws_url": url, "ws_urls": [url]}
        time.sleep(2)
        pool_path = write_pool(tmp / "pool.json", pool)
        before = None if args.no_trace else _snapshot(pid, out, 1)
        rss0 = _rss(pid)
        swarm, ready = start_swarm(pool_path, tmp / "swarm", args.watchers, max_seconds=600)
        connected = _wait_file(ready, swarm, timeout=300)["connected"]
        time.sleep(3)
        rss1 = _rss(pid)
        print(f"{'bare' if args.bare else 'server'}: {connected} idle watchers, RSS +{(rss1 - rss0) / 1024 / connected:.1f}"
              f" KiB per connection{' (under tracemalloc)' if not args.no_trace else ''}")
        if before is not None:
            after = _snapshot(pid, out, 2)
            keep = [tracemalloc.Filter(False, tracemalloc.__file__)]
            before, after = before.filter_traces(keep), after.filter_traces(keep)
            total = sum(s.size_diff for s in after.compare_to(before, "filename"))
            print(f"traced: +{total / 1024 / connected:.2f} KiB per connection\n\nper line:")
            for stat in after.compare_to(before, "lineno")[: args.top]:
                frame = stat.traceback[0]
                print(f"  {stat.size_diff / connected:8.0f} B {stat.count_diff / connected:6.2f} blocks  "
                      f"{frame.filename.split('site-packages/')[-1]}:{frame.lineno}")
            print("\nper stack (innermost last):")
            for stat in after.compare_to(before, "traceback")[: max(8, args.top // 2)]:
                print(f"  {stat.size_diff / connected:8.0f} B {stat.count_diff / connected:6.2f} blocks")
                for frame in stat.traceback.format()[-2 * args.frames:]:
                    if frame.startswith("  File"):
                        print("     " + frame.strip().split("site-packages/")[-1])
        swarm.send_signal(signal.SIGTERM)
        swarm.wait(60)
    finally:
        if bare is not None:
            bare.terminate()
            bare.wait(15)
        server.stop()
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
