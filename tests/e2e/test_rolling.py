"""Rolling restarts behind nginx lose nothing.

The production topology on loopback: nginx from deploy/nginx/chat.conf in front of three
daphne processes, PostgreSQL, Redis under Sentinel (deploy/redis/). 300 clients connect
through nginx; 10 posters post every 0.5 s; the three processes are restarted one at a
time (SIGTERM, wait, start on the same port, wait until nginx uses it again), twice, while HTTP
checks run every 100 ms.
"""

import asyncio
import time
import urllib.error
import urllib.request

import pytest

from tests.e2e.topology import Nginx, sentinel_env
from tests.e2e.traffic import Member, post_paced

pytestmark = pytest.mark.e2e

CLIENTS = 300
ROOMS = 10
POSTERS = 10  # one per room
PACE = 0.5
ROUNDS = 2
# The procedure of docs/operations.md: after a restart, once the process is ready, wait longer
# than nginx's fail_timeout (2 s) so that nginx sends to it again before the next one stops.
PAUSE = 3.0
# Every client of this test comes from 127.0.0.1 (through nginx): the shipped per-address
# connect rate (1200/60) would be spent by 300 clients reconnecting six times, which real
# users, each on an address of their own, never do. The per-address rate is covered with
# its default in tests/test_connlimit.py and tests/e2e/test_hostile.py.
ONE_ADDRESS = {"CHAT_CONNECT_RATE_IP": "100000/60"}


class HttpChecks:
    """GET each path through nginx every 100 ms; counts answers that are not 200."""

    def __init__(self, base, paths):
        self.base = base
        self.paths = paths
        self.done = 0
        self.failures = []  # (path, status or error)
        self.worst_run = 0  # the longest run of consecutive failures of one path
        self._runs = dict.fromkeys(paths, 0)

    def _get(self, path):
        try:
            with urllib.request.urlopen(self.base + path, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError as exc:
            return type(exc).__name__

    async def run(self, stop):
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            for path in self.paths:
                status = await loop.run_in_executor(None, self._get, path)
                self.done += 1
                if status == 200:
                    self._runs[path] = 0
                else:
                    self.failures.append((path, status))
                    self._runs[path] += 1
                    self.worst_run = max(self.worst_run, self._runs[path])
            try:
                await asyncio.wait_for(stop.wait(), 0.1)
            except TimeoutError:
                pass


def restart(daphne, timeout=20.0):
    """SIGTERM, wait for the exit, start on the same port, wait until /readyz answers 200."""
    daphne.terminate()
    daphne.wait(20)
    daphne.start(port=daphne.port)
    deadline = time.monotonic() + timeout
    while daphne.get("/readyz")[0] != 200:
        assert time.monotonic() < deadline, f"{daphne.name} not ready within {timeout} s"
        time.sleep(0.1)


async def test_rolling_restart_behind_nginx__nothing_lost_only_4001_closes(
    pg_stack, cluster, tmp_path
):
    stack = pg_stack
    daphnes = stack.start_daphne(3, **sentinel_env(cluster, **ONE_ADDRESS))
    nginx = Nginx(tmp_path / "nginx", [d.port for d in daphnes], stack.folder / "var" / "static")
    try:
        nginx.start()
        await _roll(stack, daphnes, nginx, cluster)
    finally:
        nginx.stop()


async def _roll(stack, daphnes, nginx, cluster):
    names = [f"r{i}" for i in range(POSTERS)]
    cookies = stack.sessions(names)
    ws_base = nginx.url.replace("http://", "ws://")
    members, posters = [], []
    for i in range(CLIENTS):
        room = f"roll{i % ROOMS}"
        name = names[i] if i < POSTERS else None
        member = Member(ws_base, nginx.url, room, cookies.get(name), reconnect=True)
        members.append(member)
        if name:
            posters.append((member, name))
    for start in range(0, CLIENTS, 50):
        await asyncio.gather(*(m.open() for m in members[start : start + 50]))
    static = _a_static_path(stack)
    checks = HttpChecks(nginx.url, ["/", "/api/rooms/roll0/messages?limit=5", static, "/healthz"])
    stop, acked = asyncio.Event(), {}
    background = [asyncio.ensure_future(checks.run(stop))]
    background += [asyncio.ensure_future(post_paced(m, n, stop, acked, PACE)) for m, n in posters]
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    try:
        await asyncio.sleep(1)
        for _round in range(ROUNDS):
            for daphne in daphnes:
                await loop.run_in_executor(None, restart, daphne)
                await asyncio.sleep(PAUSE)
        await asyncio.sleep(1)
    finally:
        stop.set()
        await asyncio.gather(*background)
    roll = time.monotonic() - started
    every = {room: sorted(seqs) for room, seqs in acked.items()}
    arrived = await asyncio.gather(*(m.wait_for(every[m.room], 30) for m in members))
    closes = [code for m in members for code in m.closes]
    print(
        f"rolling restart: 3 processes x {ROUNDS} in {roll:.1f} s; "
        f"{sum(len(s) for s in every.values())} messages acked; {len(closes)} closes "
        f"{sorted(set(closes))}, {sum(m.reconnects for m in members)} reconnects; HTTP checks "
        f"{checks.done}, failures {len(checks.failures)} {checks.failures[:10]}, longest run "
        f"{checks.worst_run}"
    )
    assert set(closes) <= {4001, 1006}
    assert not [m for m in members if m.stopped], "a client could not reconnect"
    assert all(m.reconnects == len(m.closes) for m in members)
    missing = [
        (m.room, sorted(set(every[m.room]) - set(m.seqs))[:5], m.seqs[-3:], m.trail[-6:])
        for m, ok in zip(members, arrived)
        if not ok
    ]
    assert not missing, (
        f"{len(missing)} clients miss acked messages: {missing[:5]}\n{_fanout_report(daphnes)}"
        f"\n{_subscriptions(cluster, sorted({room for room, *_ in missing}))}"
    )
    for member in members:
        assert member.duplicates == 0 and member.out_of_order == 0
        seqs = [s for s in member.seqs if s >= every[member.room][0]]
        if seqs != list(range(seqs[0], every[member.room][-1] + 1)):
            tail = every[member.room][-3:]
            api = urllib.request.urlopen(
                f"{nginx.url}/api/rooms/{member.room}/messages?since={tail[0] - 1}"
            ).read()
            raise AssertionError(f"{member.room} acked {tail} saw {seqs[-4:]}: {api[:600]}")
    assert checks.worst_run <= 1, checks.failures  # never more than one retry's worth
    await asyncio.gather(*(m.close() for m in members))


def _a_static_path(stack):
    import json

    manifest = json.loads((stack.folder / "var" / "static" / "staticfiles.json").read_text())
    name = next(n for n in manifest["paths"] if n.endswith(".css"))
    return "/static/" + manifest["paths"][name]


def _subscriptions(cluster, rooms):
    """Which of our connections the primary counts as subscribed, and to how many channels."""
    from chat import envelope

    client = cluster.primary_client()
    try:
        numsub = client.pubsub_numsub(*(envelope.room_channel(r) for r in rooms))
        subscribers = [
            f"{c.get('name')} sub={c.get('sub')} cmd={c.get('cmd')}"
            for c in client.client_list()
            if c.get("name", "").startswith("chat/") and int(c.get("sub", 0))
        ]
    finally:
        client.close()
    return f"numsub {numsub}; subscribers {subscribers}"


def _fanout_report(daphnes):
    """Each process's fan-out and publish counters, for a failure's message."""
    wanted = ("chat_fanout", "chat_publish", "chat_messages_stored", "chat_connections_open")
    lines = []
    for daphne in daphnes:
        status, body = daphne.get("/metrics")
        text = body.decode() if isinstance(body, bytes) else str(body)
        found = [line for line in text.splitlines() if line.startswith(wanted)]
        lines.append(f"{daphne.name} ({status}): " + "; ".join(found))
    return "\n".join(lines)
