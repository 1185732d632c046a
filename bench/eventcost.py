"""Server CPU of one `message`, one `edit` and one `react` (issue 13: an edit or a reaction
costs no more than a message).

One private redis-server and one daphne (ours, shipped settings but the message rate off,
as in bench/run.py), one logged-in sender and N anonymous readers in one room. Per
repetition, three phases on the same sockets: the sender posts M messages, then edits each
of them once, then reacts to each once (👍). A phase sends its M commands back to back and
ends when the sender has M acks and every reader M events of the phase's type; the server's
CPU (utime + stime from /proc) over the phase, divided by M, is the cost of one command
with its fan-out to N + 1 sockets.

    .venv/bin/python bench/eventcost.py                # -n 50 -m 300 --reps 3
    .venv/bin/python bench/eventcost.py -n 10 -m 50 --reps 1 --json /tmp/cost.json
"""

import argparse
import asyncio
import json
import statistics
import tempfile
from pathlib import Path

from benchutil import cpu_seconds
from servers import App, start_redis, stop
from websockets.asyncio.client import connect

PHASE_TIMEOUT = 120.0
PHASES = ("message", "edit", "reaction")


class Socket:
    """One socket, read by a task of its own: counts frames by type, keeps acks in order."""

    def __init__(self, ws):
        self.ws = ws
        self.counts = {}
        self.acks = []
        self.changed = asyncio.Event()
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self):
        async for text in self.ws:
            frame = json.loads(text)
            kind = frame.get("type")
            self.counts[kind] = self.counts.get(kind, 0) + 1
            if kind in ("ack", "error"):
                self.acks.append(frame)
            self.changed.set()

    async def until(self, predicate, deadline):
        loop = asyncio.get_running_loop()
        while not predicate():
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(f"phase timed out: {self.counts}")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except TimeoutError:
                pass

    async def close(self):
        await self.ws.close()
        await asyncio.wait_for(self.reader, 10)


async def open_socket(app, room, session=None):
    headers = {"Cookie": f"sessionid={session}"} if session else None
    ws = await connect(
        f"ws://127.0.0.1:{app.port}/ws/chat/{room}/",
        origin=f"http://127.0.0.1:{app.port}",
        additional_headers=headers,
        max_size=2**20,
    )
    return Socket(ws)


def commands(kind, seqs):
    if kind == "message":
        return [{"type": "message", "text": f"message {i}"} for i in range(len(seqs))]
    if kind == "edit":
        return [{"type": "edit", "target": seq, "text": f"edited {seq}"} for seq in seqs]
    return [{"type": "react", "target": seq, "emoji": "👍", "on": True} for seq in seqs]


async def phase(app, sender, readers, kind, frames):
    """(server CPU µs per command, seqs acked) of sending frames and their fan-out."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PHASE_TIMEOUT
    before_acks = len(sender.acks)
    before = {id(r): r.counts.get(kind, 0) for r in (sender, *readers)}
    cpu0 = cpu_seconds(app.proc.pid)
    for frame in frames:
        await sender.ws.send(json.dumps(frame))
    m = len(frames)
    await sender.until(lambda: len(sender.acks) - before_acks >= m, deadline)
    for r in (sender, *readers):
        await r.until(lambda r=r: r.counts.get(kind, 0) - before[id(r)] >= m, deadline)
    cpu1 = cpu_seconds(app.proc.pid)
    answers = sender.acks[before_acks:]
    refused = [a for a in answers if a["type"] != "ack" or a["seq"] is None]
    if refused:
        raise RuntimeError(f"{kind}: refused or unchanged: {refused[:3]}")
    return (cpu1 - cpu0) * 1e6 / m, [a["seq"] for a in answers]


async def repetition(app, session, n, m, rep):
    room = f"cost-{rep}"
    sender = await open_socket(app, room, session)
    readers = [await open_socket(app, room) for _ in range(n)]
    try:
        await asyncio.sleep(1.0)  # connects settled (presence announcements)
        cost = {}
        seqs = []
        for kind in PHASES:
            cost[kind], acked = await phase(
                app, sender, readers, kind, commands(kind, seqs or [0] * m)
            )
            if kind == "message":
                seqs = acked
        return cost
    finally:
        for socket in (sender, *readers):
            await socket.close()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", type=int, default=50, help="reader sockets")
    p.add_argument("-m", type=int, default=300, help="commands per phase")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--json", help="write the raw figures here")
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="eventcost-") as workdir:
        redis, port = start_redis(workdir)
        app = App("ours", workdir, port)
        try:
            app.migrate()
            sessions = json.loads(app.make_sessions(1, readers=0).read_text())
            app.start()
            runs = [
                asyncio.run(repetition(app, sessions["senders"][0], a.n, a.m, rep))
                for rep in range(a.reps)
            ]
        finally:
            app.stop()
            stop(redis)
    median = {kind: round(statistics.median(r[kind] for r in runs), 1) for kind in PHASES}
    print(f"server CPU per command, {a.n} readers + the sender, {a.m} per phase, median of")
    print(f"{a.reps}: " + ", ".join(f"{kind} {median[kind]} µs" for kind in PHASES))
    for kind in ("edit", "reaction"):
        print(f"  {kind} / message = {median[kind] / median['message']:.2f}")
    if a.json:
        Path(a.json).write_text(json.dumps({"args": vars(a), "runs": runs, "median": median}))


if __name__ == "__main__":
    main()
