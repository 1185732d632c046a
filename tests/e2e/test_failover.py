"""A Sentinel failover under paced traffic drops nobody; no primary within the grace: 4012.

Real processes: a primary, a replica and three sentinels (deploy/redis/), two daphne
processes on a Sentinel REDIS_URL with the shipped defaults (loss grace 10 s, message rate
30/10), 200 clients in 10 rooms, 2 posters per room posting every 0.5 s.
"""

import asyncio
import time

import pytest

from tests.e2e.topology import sentinel_env
from tests.e2e.traffic import Member, post_paced

pytestmark = pytest.mark.e2e

ROOMS = 10
PER_ROOM = 20
POSTERS = 2  # per room
PACE = 0.5  # seconds between one poster's messages


async def test_failover__nobody_dropped_then_no_primary_closes_4012_within_the_grace(
    stack, cluster
):
    env = sentinel_env(cluster)
    daphnes = stack.start_daphne(2, **env)
    names = [f"p{r}-{i}" for r in range(ROOMS) for i in range(POSTERS)]
    cookies = stack.sessions(names)
    members, posters = [], []
    for r in range(ROOMS):
        for i in range(PER_ROOM):
            daphne = daphnes[(r * PER_ROOM + i) % 2]
            url = f"ws://127.0.0.1:{daphne.port}"
            name = f"p{r}-{i}" if i < POSTERS else None
            member = Member(url, daphne.url, f"fo{r}", cookies.get(name))
            members.append(member)
            if name:
                posters.append((member, name))
    await asyncio.gather(*(m.open() for m in members))
    stop, acked = asyncio.Event(), {}
    traffic = [asyncio.ensure_future(post_paced(m, n, stop, acked, PACE)) for m, n in posters]
    try:
        await asyncio.sleep(2)
        old = cluster.kill_primary()
        killed = time.monotonic()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, cluster.wait_promoted, old)
        promoted = time.monotonic()
        for member in members:
            member.mark()
        await asyncio.sleep(4)  # traffic goes on against the new primary
    finally:
        stop.set()
        await asyncio.gather(*traffic)
    every = {room: sorted(seqs) for room, seqs in acked.items()}
    arrived = await asyncio.gather(*(m.wait_for(every[m.room], 20) for m in members))
    closes = [code for m in members for code in m.closes]
    unavailable = sum(m.unavailable for m in members)
    firsts = [m.first_after for m in members if m.first_after]
    recover = (min(firsts) - promoted) if firsts else float("nan")
    total = sum(len(seqs) for seqs in every.values())
    print(
        f"failover: primary killed, promoted after {promoted - killed:.2f} s; first delivery "
        f"{recover:.2f} s after promotion; {total} messages acked, {unavailable} `unavailable` "
        f"refusals retried; closes {closes}"
    )
    assert closes == []
    assert all(arrived), f"{arrived.count(False)} members are missing acked messages"
    for member in members:
        assert member.duplicates == 0 and member.out_of_order == 0
        seqs = [s for s in member.seqs if s >= every[member.room][0]]
        assert seqs == list(range(seqs[0], every[member.room][-1] + 1))  # gap-free, in order
    metrics = daphnes[0].get("/metrics")[1].decode()
    assert "chat_redis_primary_changes_total 1.0" in metrics
    assert "chat_redis_grace_entries_total 1.0" in metrics

    # No replica left: the next kill leaves no primary, and the grace runs out.
    cluster.kill_primary()
    lost = time.monotonic()
    for member in members:
        member.closes.clear()
    deadline = lost + 10 + 5 + 3  # the grace, the contract's 5 s, and slack for the probe
    while time.monotonic() < deadline and not all(m.closes for m in members):
        await asyncio.sleep(0.1)
    elapsed = time.monotonic() - lost
    codes = {code for m in members for code in m.closes}
    print(f"no primary: {sum(bool(m.closes) for m in members)} sockets closed {codes} "
          f"{elapsed:.2f} s after the kill")  # fmt: skip
    assert all(m.closes for m in members) and codes == {4012}
    assert 10 <= elapsed <= 10 + 5 + 1
    await asyncio.gather(*(m.close() for m in members))
