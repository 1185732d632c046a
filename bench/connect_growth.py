"""CPU per connect as the open sockets of one room grow (issue 12's growth, measured alone).

Starts a Redis, a SQLite database and one daphne (tests/e2e/servers.Stack, the shipped
defaults), then opens anonymous sockets to one room in batches of --batch, holding them, and
prints for each batch the wall time and the daphne process's CPU per connect (from
/proc/<pid>/stat). Each socket comes from its own loopback source address group (300 per
127.N.0.1) so the per-address caps (500 open) and rates are not what is measured.

    .venv/bin/python bench/connect_growth.py [--batches 6] [--batch 500]
"""

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.servers import Stack  # noqa: E402

PER_ADDRESS = 300


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def open_batch(daphne, room, count, first, concurrency=50):
    gate = asyncio.Semaphore(concurrency)
    opened = []

    async def one(index):
        async with gate:
            ws = await websockets.connect(
                daphne.ws_url(room), origin=daphne.url, open_timeout=30,
                local_addr=(f"127.{1 + index // PER_ADDRESS}.0.1", 0),
            )  # fmt: skip
            await asyncio.wait_for(ws.recv(), 30)  # hello
            opened.append(ws)

    await asyncio.gather(*(one(first + i) for i in range(count)))
    return opened


async def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="connect-growth-") as folder:
        stack = Stack(folder)
        stack.start()
        held = []
        try:
            daphne = stack.start_daphne(1)[0]
            for _ in range(args.batches):
                started, cpu = time.monotonic(), cpu_seconds(daphne.process.pid)
                held += await open_batch(daphne, "crowd", args.batch, len(held))
                wall = time.monotonic() - started
                per = (cpu_seconds(daphne.process.pid) - cpu) / args.batch * 1000
                print(
                    f"open={len(held)} batch={args.batch} wall={wall:.2f}s cpu_per_connect_ms={per:.2f}"
                )
            for ws in held:
                await ws.close()
        finally:
            stack.stop()


if __name__ == "__main__":
    asyncio.run(main())
