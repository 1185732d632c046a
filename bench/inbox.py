#!/usr/bin/env python
"""Inbox benchmark (issue 14): one message to a room of N idle members who each also hold
an inbox socket.

One daphne (ours, shipped settings: nothing switched off, not even the message rate), one
private redis-server, PostgreSQL (the tests' throwaway cluster). N users are bulk-created
with sessions and made to follow a fresh room (ReadPosition rows at seq 0, bulk-created in
the same `manage.py shell` script); the room's N idle sockets are logged-in reader accounts,
40 sockets each (as in the other scenarios: N distinct users on room sockets would make
every join a presence change listing every user, sent to every socket). One poster, another
user, posts M messages, one every --interval s, in two phases on the same server:

1. plain: the N room sockets only: time from each send until every member has it;
2. inbox: N inbox sockets opened as well, one per following user: time until every inbox
   has its `unread` frame for the message, and until every member has the message.

Server CPU (utime + stime of the daphne pid) over each phase minus an idle baseline of the
same duration taken just before it with the same sockets open, per message; the inbox
overhead per message divided by N is the cost of one inbox update. RSS growth from opening
the inboxes, per inbox. Every inbox's last `unread` frame must show unread = its initial
count + M and mentions = 0 (the members never read); failures are counted and reported.

    .venv/bin/python bench/inbox.py                      # --members 5000 --messages 20
    .venv/bin/python bench/inbox.py --members 1000 --json /tmp/inbox.json

`bench/run.py` runs it as the scenario `inbox` (group `inbox`) through run_on(); the load
client is this file again in a process of its own (`--port ...`).
"""

import argparse
import asyncio
import copy
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchutil import cpu_seconds, median, percentile, rss_kb
from loadclient import source_address
from loadrun import raise_nofile
from servers import App, start_postgres, start_redis, stop
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

HERE = Path(__file__).resolve()
PER_READER = 40  # room sockets per reader account (the shipped cap is 50 per user)
CONCURRENCY = 100  # handshakes in flight
SETTLE_QUIET, SETTLE_MAX = 1.0, 60.0  # a phase starts once no frame came for 1 s (≤ 60 s)
CONNECT_TIMEOUT = 600.0  # all sockets of one kind open within this
FIRST_FRAME_TIMEOUT = 30.0  # hello or inbox after the handshake
WAIT_TIMEOUT = 30.0  # each message is everywhere within this
LOG_ERRORS = ("Traceback", "level=ERROR", "level=CRITICAL")  # lines of a daphne log
LOG_WARNINGS = ("level=WARNING",)

# Rows of its table in docs/benchmarks.md: (label, key, unit, better), as bench/tables.py.
ROWS = [
    ("time until every inbox has its `unread` frame, p50", "inbox_ms.p50", "ms", "low"),
    ("time until every inbox has its `unread` frame, p95", "inbox_ms.p95", "ms", "low"),
    ("time until every inbox has its `unread` frame, max", "inbox_ms.max", "ms", "low"),
    ("time until every member has the message, inboxes open, p50", "members_inbox_ms.p50",
     "ms", "low"),
    ("time until every member has the message, no inbox open, p50", "members_plain_ms.p50",
     "ms", "low"),
    ("server CPU per message, inboxes open", "cpu_ms_per_message_inbox", "ms", "low"),
    ("server CPU per message, no inbox open", "cpu_ms_per_message_plain", "ms", "low"),
    ("server CPU per message: inboxes / none", "cpu_ratio", "", "low"),
    ("server CPU per inbox update (the difference / N)", "cpu_us_per_inbox_update", "µs", "low"),
    ("PostgreSQL CPU per message, inboxes open", "db_ms_per_message_inbox", "ms", "low"),
    ("PostgreSQL CPU per message, no inbox open", "db_ms_per_message_plain", "ms", "low"),
    ("server RSS per inbox socket", "rss_kb_per_inbox", "KB", "low"),
    ("server CPU per inbox connect", "inbox_connect_ms", "ms", "low"),
    ("inboxes open", "inboxes", "", "high"),
    ("members open", "members", "", "high"),
    ("`unread` frames missing", "missing", "", "low"),
    ("inboxes whose last count is wrong", "wrong_counts", "", "low"),
    ("error lines in the server log", "log_errors", "", "low"),
    ("warning lines in the server log", "log_warnings", "", "low"),
]  # fmt: skip
HOW = (
    "N users follow a fresh room (ReadPosition rows at seq 0, bulk-created with the users and "
    "their sessions); its N idle room sockets are reader accounts, 40 sockets each; one "
    "poster posts M messages, one every 2 s, first with no inbox open, then with the N users' "
    "inbox sockets open (one each). Times from the send to the last member's message and to "
    "the last inbox's `unread` frame covering it; server CPU (daphne utime + stime) over each "
    "phase minus an idle baseline of the same duration just before it, per message; the "
    "difference per message divided by N is the CPU of one inbox update. Shipped settings "
    "throughout (the message rate included); clients from 200-per-address loopback addresses. "
    "`bench/inbox.py --members N` runs it alone."
)

PREPARE_SCRIPT = """
import json
from datetime import timedelta
from importlib import import_module
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone
from django.utils.crypto import get_random_string
from chat.models import ReadPosition, Room

if settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":
    raise SystemExit(f"bulk sessions need database sessions, not {settings.SESSION_ENGINE}")
User = get_user_model()
store = import_module(settings.SESSION_ENGINE).SessionStore()
backend = settings.AUTHENTICATION_BACKENDS[0]
names = MEMBERS + READERS + [POSTER]
unusable = make_password(None)
User.objects.bulk_create(
    [User(username=n, password=unusable) for n in names], ignore_conflicts=True, batch_size=1000
)
users = {u.username: u for u in User.objects.filter(username__in=names)}
expire = timezone.now() + timedelta(days=1)
keys, rows = {}, []
for name in names:
    user = users[name]
    keys[name] = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
    data = {SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: backend,
            HASH_SESSION_KEY: user.get_session_auth_hash()}
    rows.append(Session(session_key=keys[name], session_data=store.encode(data),
                        expire_date=expire))
Session.objects.bulk_create(rows, batch_size=1000)
room, _ = Room.objects.get_or_create(name=ROOM)
ReadPosition.objects.bulk_create(
    [ReadPosition(user=users[n], room=room, seq=0) for n in MEMBERS],
    ignore_conflicts=True, batch_size=1000,
)
postmaster = None
if connection.vendor == "postgresql":
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend_pid = cursor.fetchone()[0]
    with open(f"/proc/{backend_pid}/stat") as f:
        postmaster = int(f.read().rsplit(")", 1)[1].split()[1])
print("PREPARED=" + json.dumps({
    "room": ROOM, "members": [keys[n] for n in MEMBERS], "readers": [keys[n] for n in READERS],
    "poster": keys[POSTER], "postmaster": postmaster,
}))
"""


def prepare(app, members, room, prefix="inbox"):
    """Users, sessions and read positions for a run; returns the path of the JSON file the
    load client reads."""
    readers = -(-members // PER_READER)
    script = (
        f"MEMBERS = {[f'{prefix}-m{i}' for i in range(members)]!r}\n"
        f"READERS = {[f'{prefix}-r{i}' for i in range(readers)]!r}\n"
        f"POSTER = {prefix + '-poster'!r}\nROOM = {room!r}\n" + PREPARE_SCRIPT
    )
    r = app.manage("shell", "-c", script, timeout=600)
    line = next((x for x in r.stdout.splitlines() if x.startswith("PREPARED=")), None)
    if r.returncode or line is None:
        raise RuntimeError(f"inbox: preparation failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    path = app.workdir / f"{app.tag}-inbox-{room}.json"
    path.write_text(line.split("=", 1)[1])
    return path


def tree_cpu(pid):
    """CPU seconds of pid and its living children (PostgreSQL: the postmaster's backends)."""
    if not pid:
        return None
    total = cpu_seconds(pid) or 0.0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    total += cpu_seconds(int(entry.name)) or 0.0
        except (OSError, ValueError, IndexError):
            continue
    return total


class Tally:
    """Per message seq: how many members have it and how many inboxes have a count covering
    it, and when the last of them did (time.monotonic_ns)."""

    def __init__(self):
        self.members, self.inboxes = {}, {}
        self.members_last, self.inboxes_last = {}, {}
        self.changed = asyncio.Event()

    def member_got(self, seq, now):
        self.members[seq] = self.members.get(seq, 0) + 1
        self.members_last[seq] = now
        self.changed.set()

    def inbox_covers(self, first, last, now):
        for seq in range(first, last + 1):
            self.inboxes[seq] = self.inboxes.get(seq, 0) + 1
            self.inboxes_last[seq] = now
        self.changed.set()


class Socket:
    """One WebSocket of the load client, read by a task of its own."""

    def __init__(self, idx, url, origin, session, tally):
        self.idx, self.url, self.origin, self.session, self.tally = (
            idx, url, origin, session, tally,
        )  # fmt: skip
        self.ws = self.task = None
        self.first = None  # hello or inbox frame
        self.frames = {}  # by type
        self.errors = []
        self.close_code = None

    async def open(self, deadline, failures):
        """Connect (retrying until deadline) and wait for the first frame; True when open."""
        headers = {"Cookie": f"sessionid={self.session}"}
        pause = 0.2
        while time.monotonic() < deadline:
            ws = None
            try:
                ws = await connect(
                    self.url,
                    origin=self.origin,
                    additional_headers=headers,
                    open_timeout=10,
                    ping_interval=None,
                    compression=None,
                    close_timeout=2,
                    max_size=2**22,
                    local_addr=(source_address(self.idx), 0),
                )
                first = json.loads(await asyncio.wait_for(ws.recv(), FIRST_FRAME_TIMEOUT))
            except InvalidStatus as e:
                reason = f"http_{e.response.status_code}"
            except ConnectionClosed as e:
                reason = f"close_{e.rcvd.code if e.rcvd else 1006}"
            except (OSError, TimeoutError, InvalidHandshake, EOFError) as e:
                reason = type(e).__name__
            else:
                if first.get("type") in ("hello", "inbox"):
                    self.ws, self.first = ws, first
                    self.task = asyncio.ensure_future(self._read())
                    return True
                reason = f"first_{first.get('type')}"
            if ws is not None:  # never leave a socket open behind: it counts against the caps
                ws.transport.abort()
            failures[reason] = failures.get(reason, 0) + 1
            # Backoff with jitter, as the contract asks of clients refused with 4013: quick
            # retries spend the user's connect budget and keep a shedding server shedding.
            await asyncio.sleep(pause * (0.5 + random.random()))
            pause = min(5.0, pause * 2)
        return False

    async def _read(self):
        try:
            async for raw in self.ws:
                now = time.monotonic_ns()
                frame = json.loads(raw)
                kind = frame.get("type")
                self.frames[kind] = self.frames.get(kind, 0) + 1
                self.on_frame(kind, frame, now)
        except ConnectionClosed:
            pass
        self.close_code = self.ws.close_code or 1006

    def on_frame(self, kind, frame, now):
        if kind == "error":
            self.errors.append(frame)


class Member(Socket):
    def on_frame(self, kind, frame, now):
        if kind == "message":
            self.tally.member_got(frame["seq"], now)
        else:
            super().on_frame(kind, frame, now)


class Poster(Socket):
    def __init__(self, *args):
        super().__init__(*args)
        self.acks = {}
        self.acked = asyncio.Event()

    def on_frame(self, kind, frame, now):
        if kind == "ack":
            self.acks[frame["client_id"]] = frame["seq"]
            self.acked.set()
        else:
            super().on_frame(kind, frame, now)


class Inbox(Socket):
    """An inbox socket: keeps the `unread` frames of the room (seq, unread, mentions)."""

    def __init__(self, *args, room):
        super().__init__(*args)
        self.room = room
        self.initial = None  # the room's entry in the inbox frame
        self.covered = None  # the highest seq a count shown covers
        self.counts = []

    async def open(self, deadline, failures):
        if not await super().open(deadline, failures):
            return False
        self.initial = next((r for r in self.first["rooms"] if r["room"] == self.room), None)
        self.covered = self.initial["seq"] if self.initial else 0
        return True

    def on_frame(self, kind, frame, now):
        if kind == "unread" and frame.get("room") == self.room:
            self.counts.append((frame["seq"], frame["unread"], frame["mentions"]))
            if frame["seq"] > self.covered:
                self.tally.inbox_covers(self.covered + 1, frame["seq"], now)
                self.covered = frame["seq"]
        else:
            super().on_frame(kind, frame, now)


async def open_all(sockets):
    """Open sockets, CONCURRENCY handshakes at a time; (open sockets, seconds, failures)."""
    sem = asyncio.Semaphore(CONCURRENCY)
    deadline = time.monotonic() + CONNECT_TIMEOUT
    failures = {}

    async def one(s):
        async with sem:
            return await s.open(deadline, failures)

    t0 = time.monotonic()
    ok = await asyncio.gather(*(one(s) for s in sockets))
    return [s for s, good in zip(sockets, ok) if good], time.monotonic() - t0, failures


async def settle(sockets):
    """Wait until no socket got a frame for SETTLE_QUIET s (presence, follows), bounded."""
    end = time.monotonic() + SETTLE_MAX
    while time.monotonic() < end:
        before = sum(sum(s.frames.values()) for s in sockets)
        await asyncio.sleep(SETTLE_QUIET)
        if sum(sum(s.frames.values()) for s in sockets) == before:
            return


def summary_ms(values):
    vals = sorted(values)
    out = {"count": len(vals)}
    for name, q in (("p50", 50), ("p95", 95), ("max", 100)):
        v = percentile(vals, q)
        out[name] = None if v is None else round(v, 2)
    return out


class Load:
    """The load client's run against a server already started (bench/inbox.py --port)."""

    def __init__(self, a):
        self.a = a
        self.prepared = json.loads(Path(a.sessions).read_text())
        self.room = self.prepared["room"]
        self.url = f"ws://127.0.0.1:{a.port}/ws/chat/{self.room}/"
        self.inbox_url = f"ws://127.0.0.1:{a.port}/ws/inbox/"
        self.origin = f"http://127.0.0.1:{a.port}"
        self.tally = Tally()
        self.out = {"room": self.room}
        self.sent = 0

    def server_cpu(self):
        return cpu_seconds(self.a.server_pid)

    def db_cpu(self):
        return tree_cpu(self.prepared.get("postmaster"))

    def progress(self, what):
        stamp = time.strftime("%H:%M:%S")
        print(
            f"inbox: {stamp} {what} (server pid {self.a.server_pid})", file=sys.stderr, flush=True
        )

    async def run(self):
        a, members_keys, readers = self.a, self.prepared["members"], self.prepared["readers"]
        n = len(members_keys)
        self.poster = Poster(-1, self.url, self.origin, self.prepared["poster"], self.tally)
        if not await self.poster.open(time.monotonic() + 30, {}):
            raise SystemExit("inbox: the poster could not connect")
        self.seq = self.poster.first["seq"]
        cpu0 = self.server_cpu()
        self.progress(f"opening {n} member sockets")
        members = [
            Member(i, self.url, self.origin, readers[i // PER_READER], self.tally)
            for i in range(n)
        ]  # fmt: skip
        self.members, secs, failures = await open_all(members)
        self.out["members"] = len(self.members)
        self.out["members_connect"] = {
            "wall_s": round(secs, 1),
            "server_ms_per_socket": round((self.server_cpu() - cpu0) * 1e3 / n, 2),
            "failures": failures,
        }
        await settle(self.members)
        rss0 = rss_kb(a.server_pid)
        self.out["plain"] = await self.phase(with_inboxes=False)
        self.out["plain"]["rss_kb"] = rss0

        cpu0 = self.server_cpu()
        self.progress(f"opening {n} inbox sockets")
        inboxes = [
            Inbox(n + i, self.inbox_url, self.origin, key, self.tally, room=self.room)
            for i, key in enumerate(members_keys)
        ]
        self.inboxes, secs, failures = await open_all(inboxes)
        self.out["inboxes"] = len(self.inboxes)
        self.out["inbox_connect"] = {
            "wall_s": round(secs, 1),
            "server_ms_per_socket": round((self.server_cpu() - cpu0) * 1e3 / n, 2),
            "failures": failures,
        }
        await settle(self.members + self.inboxes)
        rss1 = rss_kb(a.server_pid)
        self.out["rss_kb_per_inbox"] = round((rss1 - rss0) / max(1, len(self.inboxes)), 2)
        self.out["inbox"] = await self.phase(with_inboxes=True)
        self.out["inbox"]["rss_kb"] = rss1
        self.check_counts()
        self.figures(n)

    async def idle(self, seconds):
        """Server and database CPU per second with the sockets open and nothing posted."""
        s0, d0, t0 = self.server_cpu(), self.db_cpu(), time.monotonic()
        await asyncio.sleep(seconds)
        dt = time.monotonic() - t0
        return (self.server_cpu() - s0) / dt, ((self.db_cpu() or 0) - (d0 or 0)) / dt

    async def phase(self, with_inboxes):
        a = self.a
        name = "inbox" if with_inboxes else "plain"
        self.progress(f"{name}: idle baseline of {a.messages * a.interval:g} s")
        idle_cpu, idle_db = await self.idle(a.messages * a.interval)
        self.progress(f"{name}: posting {a.messages} messages")
        s0, d0, t0 = self.server_cpu(), self.db_cpu(), time.monotonic()
        member_ms, inbox_ms, timeouts = [], [], 0
        for i in range(a.messages):
            slot = t0 + i * a.interval
            await asyncio.sleep(max(0.0, slot - time.monotonic()))
            seq, sent = await self.post()
            if not await self.wait_for(seq, with_inboxes):
                timeouts += 1
                continue
            member_ms.append((self.tally.members_last[seq] - sent) / 1e6)
            if with_inboxes:
                inbox_ms.append((self.tally.inboxes_last[seq] - sent) / 1e6)
        await asyncio.sleep(max(0.0, t0 + a.messages * a.interval - time.monotonic()))
        wall = time.monotonic() - t0
        cpu = self.server_cpu() - s0 - idle_cpu * wall
        db = (self.db_cpu() or 0) - (d0 or 0) - idle_db * wall
        out = {
            "members_ms": summary_ms(member_ms),
            "cpu_ms_per_message": round(cpu * 1e3 / a.messages, 2),
            "db_ms_per_message": round(db * 1e3 / a.messages, 2),
            "idle_cpu_ms_per_s": round(idle_cpu * 1e3, 2),
            "wall_s": round(wall, 1),
            "timeouts": timeouts,
        }
        if with_inboxes:
            out["inbox_ms"] = summary_ms(inbox_ms)
        return out

    async def post(self):
        """Send one message; (its seq from the ack, send time in monotonic ns)."""
        self.sent += 1
        cid = f"inbox-{self.sent}"
        self.poster.acked.clear()
        sent = time.monotonic_ns()
        frame = {"type": "message", "text": f"inbox bench {self.sent}", "client_id": cid}
        await self.poster.ws.send(json.dumps(frame))
        end = time.monotonic() + WAIT_TIMEOUT
        while cid not in self.poster.acks:
            left = end - time.monotonic()
            if left <= 0 or self.poster.errors:
                raise SystemExit(f"inbox: no ack for {cid}: {self.poster.errors[-3:]}")
            try:
                await asyncio.wait_for(self.poster.acked.wait(), left)
            except TimeoutError:
                pass
            self.poster.acked.clear()
        return self.poster.acks[cid], sent

    async def wait_for(self, seq, with_inboxes):
        """True once every member has seq (and every inbox a count covering it), bounded."""
        tally, end = self.tally, time.monotonic() + WAIT_TIMEOUT

        def done():
            if tally.members.get(seq, 0) < len(self.members):
                return False
            return not with_inboxes or tally.inboxes.get(seq, 0) >= len(self.inboxes)

        while not done():
            left = end - time.monotonic()
            if left <= 0:
                return False
            tally.changed.clear()
            try:
                await asyncio.wait_for(tally.changed.wait(), left)
            except TimeoutError:
                pass
        return True

    def check_counts(self):
        """Each inbox: one `unread` frame per message, the last one's unread = initial + M."""
        m = self.a.messages
        missing = wrong = 0
        examples = []
        for box in self.inboxes:
            start = box.initial["unread"] if box.initial else None
            missing += max(0, m - len(box.counts))
            last = box.counts[-1] if box.counts else None
            if start is None or last is None or last[1:] != (start + m, 0):
                wrong += 1
                if len(examples) < 5:
                    examples.append(
                        {"initial": box.initial, "last": last, "frames": len(box.counts)}
                    )
        initial = [box.initial["unread"] for box in self.inboxes if box.initial]
        self.out.update(
            missing=missing,
            wrong_counts=wrong,
            wrong_examples=examples,
            initial_unread=sorted(set(initial)),
            expected_initial_unread=m,  # the plain phase's messages
            unread_frames=sum(len(box.counts) for box in self.inboxes),
        )

    def figures(self, n):
        out, plain, inbox = self.out, self.out["plain"], self.out["inbox"]
        out["inbox_ms"] = inbox["inbox_ms"]
        out["members_inbox_ms"] = inbox["members_ms"]
        out["members_plain_ms"] = plain["members_ms"]
        out["cpu_ms_per_message_inbox"] = inbox["cpu_ms_per_message"]
        out["cpu_ms_per_message_plain"] = plain["cpu_ms_per_message"]
        out["db_ms_per_message_inbox"] = inbox["db_ms_per_message"]
        out["db_ms_per_message_plain"] = plain["db_ms_per_message"]
        if plain["cpu_ms_per_message"] > 0:
            out["cpu_ratio"] = round(inbox["cpu_ms_per_message"] / plain["cpu_ms_per_message"], 2)
        extra = inbox["cpu_ms_per_message"] - plain["cpu_ms_per_message"]
        out["cpu_us_per_inbox_update"] = round(extra * 1e3 / max(1, len(self.inboxes)), 1)
        out["inbox_connect_ms"] = out["inbox_connect"]["server_ms_per_socket"]
        out["timeouts"] = plain["timeouts"] + inbox["timeouts"]
        closes, errors = {}, {}
        for s in [self.poster, *self.members, *self.inboxes]:
            if s.close_code is not None:
                closes[str(s.close_code)] = closes.get(str(s.close_code), 0) + 1
            for e in s.errors:
                errors[e.get("code")] = errors.get(e.get("code"), 0) + 1
        out["close_codes"], out["errors"] = closes, errors
        out["client_cpu_s"] = round(sum(os.times()[:2]), 1)
        out["members_requested"] = n


def client_main(a):
    raise_nofile(2 * a.members + 1024)
    load = Load(a)
    t0 = time.monotonic()
    try:
        asyncio.run(load.run())
    except SystemExit as e:
        load.out["error"] = str(e)
    load.out["wall_s"] = round(time.monotonic() - t0, 1)
    print(json.dumps(load.out))
    sys.stdout.flush()
    os._exit(0)  # skip the teardown of thousands of sockets


def log_lines(path, markers):
    """(count, first lines) of the lines of a daphne log holding one of markers."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return 0, []
    found = [x for x in lines if any(m in x for m in markers)]
    return len(found), found[:10]


def run_on(app, members, messages, interval=2.0, timeout=1800, rep=0):
    """Prepare a fresh room on app's (migrated) database, start daphne with the shipped
    settings, run the load client, stop daphne; the result dict."""
    shipped = copy.copy(app)  # bench/run.py's apps switch the message rate off
    shipped.env = {k: v for k, v in app.env.items() if k != "CHAT_MESSAGE_RATE"}
    room = f"inbox-{members}-{rep}-{os.getpid()}"
    t0 = time.monotonic()
    path = prepare(shipped, members, room)
    prepare_s = time.monotonic() - t0
    shipped.start()
    log = shipped.workdir / f"{shipped.tag}-server-{shipped.runs}.log"
    cmd = [
        sys.executable, str(HERE), "--port", str(shipped.port), "--server-pid",
        str(shipped.proc.pid), "--sessions", str(path), "--members", str(members),
        "--messages", str(messages), "--interval", str(interval),
    ]  # fmt: skip
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, timeout=timeout, check=False)
        lines = r.stdout.strip().splitlines()
        try:
            res = json.loads(lines[-1])
        except (IndexError, ValueError):
            res = {"error": f"client exit {r.returncode} (its stderr above)"}
    except subprocess.TimeoutExpired:
        res = {"error": f"client timed out after {timeout} s"}
    finally:
        alive = shipped.proc.poll() is None
        shipped.stop()
        app.runs = shipped.runs
    if not alive:
        res.setdefault("error", "the server exited during the run")
    res["log_errors"], res["log_lines"] = log_lines(log, LOG_ERRORS)
    res["log_warnings"], res["log_warning_lines"] = log_lines(log, LOG_WARNINGS)
    res["prepare_s"] = round(prepare_s, 1)
    res["loadavg"] = Path("/proc/loadavg").read_text().split()[:3]
    return res


def report(res):
    """A readable summary of one result."""
    if "error" in res:
        return f"inbox: failed: {res['error']}\n  log: {res.get('log_lines')}"
    ms = res["inbox_ms"]
    lines = [
        f"inbox: {res['inboxes']} inboxes, {res['members']} members, room {res['room']}, "
        f"load average {' '.join(res['loadavg'])}",
        f"  every inbox has its unread: p50 {ms['p50']} ms, p95 {ms['p95']} ms, "
        f"max {ms['max']} ms (n={ms['count']})",
        f"  every member has the message: with inboxes p50 {res['members_inbox_ms']['p50']} ms,"
        f" without p50 {res['members_plain_ms']['p50']} ms",
        f"  server CPU per message: with inboxes {res['cpu_ms_per_message_inbox']} ms, "
        f"without {res['cpu_ms_per_message_plain']} ms (ratio {res.get('cpu_ratio')}); "
        f"per inbox update {res['cpu_us_per_inbox_update']} µs",
        f"  PostgreSQL CPU per message: with inboxes {res['db_ms_per_message_inbox']} ms, "
        f"without {res['db_ms_per_message_plain']} ms",
        f"  RSS per inbox {res['rss_kb_per_inbox']} KB; inbox connect "
        f"{res['inbox_connect']['server_ms_per_socket']} ms CPU each, all in "
        f"{res['inbox_connect']['wall_s']} s; members in {res['members_connect']['wall_s']} s",
        f"  unread frames {res['unread_frames']}, missing {res['missing']}, wrong counts "
        f"{res['wrong_counts']} {res['wrong_examples'][:2]}, initial unread "
        f"{res['initial_unread']} (expected {res['expected_initial_unread']}), timeouts "
        f"{res['timeouts']}",
        f"  closes {res['close_codes']} errors {res['errors']} log errors {res['log_errors']}"
        f" {res['log_lines'][:3]} warnings {res['log_warnings']} {res['log_warning_lines'][:3]}",
    ]
    return "\n".join(lines)


def standalone(a):
    """Redis, PostgreSQL and the app of our own; --reps runs on one database."""
    with tempfile.TemporaryDirectory(prefix="inboxbench-") as workdir:
        redis, port = start_redis(workdir)
        postgres = start_postgres() if not a.sqlite else None
        try:
            if not a.sqlite and postgres is None:
                raise SystemExit("inbox: PostgreSQL is not installed (--sqlite to run anyway)")
            url = postgres.create_database("bench_inbox") if postgres else None
            app = App("ours", workdir, port, url)
            app.migrate()
            runs = []
            for rep in range(a.reps):
                res = run_on(app, a.members, a.messages, a.interval, rep=rep)
                print(report(res), file=sys.stderr)
                runs.append(res)
        finally:
            stop(redis)
            if postgres is not None:
                postgres.stop()
    good = [r for r in runs if "error" not in r]
    if len(good) > 1:
        keys = ("cpu_us_per_inbox_update", "cpu_ratio", "rss_kb_per_inbox")
        meds = {k: median([r.get(k) for r in good]) for k in keys}
        meds["inbox_ms_p50"] = median([r["inbox_ms"]["p50"] for r in good])
        print(f"inbox: medians of {len(good)} runs: {meds}", file=sys.stderr)
    if a.json:
        Path(a.json).write_text(json.dumps({"args": vars(a), "runs": runs}, indent=1))
    failed = [r for r in runs if "error" in r or r.get("missing") or r.get("wrong_counts")]
    return 1 if failed else 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--members", type=int, default=5000, help="N: followers with an inbox each")
    p.add_argument("--messages", type=int, default=20, help="M: messages per phase")
    p.add_argument("--interval", type=float, default=2.0, help="seconds between messages")
    p.add_argument("--reps", type=int, default=1)
    p.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    p.add_argument("--json", help="write the raw results here")
    p.add_argument("--port", type=int, help="(the load client) a running server's port")
    p.add_argument("--server-pid", type=int, help="(the load client) its pid")
    p.add_argument("--sessions", help="(the load client) the file prepare() wrote")
    a = p.parse_args(argv)
    if a.members < 1 or a.messages < 1 or a.interval <= 0:
        p.error("--members and --messages must be at least 1, --interval above 0")
    if a.port:
        return client_main(a)
    return standalone(a)


if __name__ == "__main__":
    sys.exit(main())
