"""The scenarios of bench/loadtool.py: one Run per invocation, one room, one server."""

import asyncio
import json
import resource
import time
import uuid
from collections import Counter

from benchutil import cpu_seconds, rss_kb, summarize_ms
from loadclient import Collector, Conn, close_many, open_many, open_with_retry


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Run:
    def __init__(self, a):
        self.a = a
        self.col = Collector()
        sessions = {}
        if a.sessions:
            with open(a.sessions) as f:
                sessions = json.load(f)
        self.sender_keys = sessions.get("senders", [])
        wanted = a.senders if a.scenario in ("fanout", "posts") else 1
        if len(self.sender_keys) < wanted:
            raise SystemExit(
                f"{a.scenario} needs {wanted} sender session key(s) in --sessions "
                f"(got {len(self.sender_keys)}): anonymous sockets cannot post"
            )
        self.reader_keys = sessions.get("readers", []) if a.readers == "user" else []
        self.reader_key = self.reader_keys[0] if self.reader_keys else None
        self.url = f"ws://{a.host}:{a.port}/ws/chat/{a.room}/"
        self.origin = f"http://{a.host}:{a.port}"
        self.tag = uuid.uuid4().hex[:6]
        self.batch = 0
        self.out = {
            "scenario": a.scenario,
            "label": a.label,
            "room": a.room,
            "params": {k: v for k, v in vars(a).items() if k not in ("sessions",)},
        }

    def make_conns(self, n, senders, start=0):
        """n more sockets, numbered from start: a later stage continues the numbering, so
        that its sockets go to other reader users and addresses than the earlier ones."""
        conns = []
        for i in range(start, start + n):
            if i < senders:
                key = self.sender_keys[i]
            elif self.reader_keys:  # 40 sockets per reader user, under the per-user cap
                key = self.reader_keys[(i // 40) % len(self.reader_keys)]
            else:
                key = None
            conns.append(Conn(i, self.url, self.origin, key, self.col))
        return conns

    def snap(self):
        return (
            cpu_seconds(self.a.server_pid),
            cpu_seconds(self.a.redis_pid),
            time.process_time(),
        )

    def cpu_report(self, before, after, deliveries):
        names = ("server_cpu_s", "redis_cpu_s", "client_cpu_s")
        for name, b, e in zip(names, before, after):
            cpu = None if b is None or e is None else round(e - b, 3)
            self.out[name] = cpu
            key = name.replace("_cpu_s", "_us_per_delivery")
            self.out[key] = (
                round(cpu * 1e6 / deliveries, 2) if cpu is not None and deliveries else None
            )
        self.out["server_rss_kb"] = rss_kb(self.a.server_pid)

    async def ready(self):
        """Wait until the server serves a WebSocket (bounded), then close that socket."""
        conn = Conn(-1, self.url, self.origin, self.reader_key, Collector())
        fails = Counter()
        t, _ = await open_with_retry(conn, time.monotonic() + self.a.ready_timeout, fails)
        if t is None:
            raise SystemExit(f"server not ready after {self.a.ready_timeout}s: {dict(fails)}")
        await conn.close()

    async def connect_all(self, conns):
        fails = Counter()
        t0, cpu0 = time.perf_counter(), cpu_seconds(self.a.server_pid)
        times = await open_many(
            conns, self.a.concurrency, time.monotonic() + self.a.connect_timeout, fails
        )
        wall = time.perf_counter() - t0
        cpu1 = cpu_seconds(self.a.server_pid)
        self.out["connect"] = {
            "ok": len(times),
            "failed": len(conns) - len(times),
            "wall_s": round(wall, 3),
            "failures": dict(fails),
            **summarize_ms([t * 1e9 for t in times]),
        }
        if cpu0 is not None and cpu1 is not None and times:
            self.out["connect"]["server_cpu_ms_per_socket"] = round(
                (cpu1 - cpu0) * 1e3 / len(times), 2
            )
        return [c for c in conns if c.ws is not None]

    async def settle(self, quiet, limit, idle_cpu=0.1):
        """Wait until no frame arrived for `quiet` seconds and the server used less than
        `idle_cpu` of a core over the last 0.25 s (at most `limit` seconds); returns the
        seconds waited."""
        t0 = time.monotonic()
        end = t0 + limit
        prev = (t0, cpu_seconds(self.a.server_pid))
        busy = True
        while time.monotonic() < end:
            await asyncio.sleep(0.05)
            now = time.monotonic()
            if now - prev[0] >= 0.25:
                cpu = cpu_seconds(self.a.server_pid)
                busy = (
                    cpu is not None
                    and prev[1] is not None
                    and (cpu - prev[1] > idle_cpu * (now - prev[0]))
                )
                prev = (now, cpu)
            if not busy and now - self.col.last_frame >= quiet:
                break
        return round(time.monotonic() - t0, 3)

    async def wait_deliveries(self, idle_s, limit):
        """Until the target is reached, or no delivery for idle_s, or limit; returns the
        (server, redis, client) CPU reading taken when the last progress was seen."""
        col, end = self.col, time.monotonic() + limit
        count, changed, snap = col.deliveries, time.monotonic(), self.snap()
        while not col.done.is_set() and time.monotonic() < end:
            try:
                await asyncio.wait_for(col.done.wait(), 0.2)
            except TimeoutError:
                pass
            if col.deliveries != count:
                count, changed, snap = col.deliveries, time.monotonic(), self.snap()
            elif time.monotonic() - changed > idle_s:
                break
        return self.snap() if col.done.is_set() else snap

    def tally(self, conns, acked, start_ns):
        col = self.col
        seen_union = set().union(*(c.seen for c in conns)) if conns else set()
        self.out.update(
            {
                "acked": len(acked),
                "deliveries": col.deliveries,
                "expected": len(acked) * len(conns),
                "lost": sum(len(acked - c.seen) for c in conns),
                "unexpected": len(seen_union - acked),
                "duplicates": sum(c.dups for c in conns),
                "out_of_order": sum(c.out_of_order for c in conns),
                "latency_ms": summarize_ms(col.latencies),
                "close_codes": dict(col.closes),
                "errors": dict(col.errors),
                "frames": dict(col.frames),
            }
        )
        span = (col.last_delivery - start_ns) / 1e9 if col.last_delivery else None
        self.out["span_s"] = round(span, 3) if span else None
        self.out["delivered_per_s"] = round(col.deliveries / span, 1) if span else None

    async def post_all(self, senders, m):
        """Each sender posts m messages, firehose or paced; waits (bounded) for the acks."""
        rate, t0 = self.a.rate, time.monotonic()
        self.batch += 1  # client_ids unique per post: the server dedups repeated ones

        async def send(k, conn):
            conn.acks, conn.acks_wanted = {}, m
            conn.ack_event.clear()
            for i in range(m):
                if rate > 0:
                    delay = t0 + (i + k / len(senders)) / rate - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                await conn.post(f"b{self.tag}x{self.batch}s{k}m{i}")
            try:
                await asyncio.wait_for(conn.ack_event.wait(), self.a.timeout)
            except TimeoutError:
                pass

        await asyncio.gather(*(send(k, c) for k, c in enumerate(senders)))
        return {seq for c in senders for seq in c.acks.values() if isinstance(seq, int)}

    async def measure_posts(self, live, senders, m, idle_s):
        col = self.col
        col.target = len(live) * len(senders) * m
        before = self.snap()
        start_ns = time.time_ns()
        col.measuring = True
        sending = asyncio.ensure_future(self.post_all(senders, m))
        try:
            bound = 2 * self.a.timeout + m / max(self.a.rate, 1)
            acked = await asyncio.wait_for(sending, bound)
        except TimeoutError:  # a sender stuck in send(): keep the acks received so far
            acked = {s for c in senders for s in c.acks.values() if isinstance(s, int)}
            self.out["send_timeout"] = True
        after = await self.wait_deliveries(idle_s, self.a.timeout)
        col.measuring = False
        self.cpu_report(before, after, col.deliveries)
        self.tally(live, acked, start_ns)

    async def fanout(self):
        a = self.a
        await self.ready()
        conns = self.make_conns(a.clients, a.senders)
        live = await self.connect_all(conns)
        senders = [c for c in conns[: a.senders] if c.ws is not None]
        await self.settle(0.5, 20)
        if senders:
            await self.measure_posts(live, senders, a.messages, idle_s=5)
        self.out["offered_per_s"] = len(live) * len(senders) * a.rate if a.rate else None
        await close_many(conns)

    async def idle(self):
        """Idle sockets in stages (--stages 1000,5000: 1,000 first, then 4,000 more on the
        same server); per stage: RSS per socket since before the first, one message to all."""
        a = self.a
        await self.ready()
        await asyncio.sleep(0.5)
        rss0 = rss_kb(a.server_pid)
        base, stages, conns = self.out, [], []
        for n in a.stages or [a.clients]:
            self.out, self.col = {"stage": n}, Collector()
            for c in conns:
                c.col, c.seen = self.col, set()
            new = self.make_conns(n - len(conns), 0 if conns else 1, start=len(conns))
            conns += new
            await self.connect_all(new)
            live = [c for c in conns if c.ws is not None]
            self.out["settle_s"] = await self.settle(1.0, 60)
            rss1 = rss_kb(a.server_pid)
            self.out.update(rss_kb_before=rss0, rss_kb_after=rss1, sockets=len(live))
            if rss0 and rss1 and live:
                self.out["rss_kb_per_socket"] = round((rss1 - rss0) / len(live), 2)
            if conns[0].ws is not None:
                await self.measure_posts(live, [conns[0]], 1, idle_s=10)
                self.out["time_to_last_ms"] = self.out["latency_ms"]["max"]
            stages.append(self.out)
        self.out = {**base, **stages[-1], "stages": stages}
        await close_many(conns)

    async def storm(self):
        a = self.a
        conns = self.make_conns(a.clients, 1)
        fails, attempts, times = Counter(), [], []
        t0 = time.monotonic()
        deadline = t0 + a.storm_window

        async def one(conn):
            t, n = await open_with_retry(conn, deadline, fails, backoff=0.1)
            attempts.append(n)
            if t is not None:
                times.append(time.monotonic() - t0)

        await asyncio.gather(*(one(c) for c in conns))
        all_ns = time.time_ns()
        live = [c for c in conns if c.ws is not None]
        self.out["connect"] = {
            "ok": len(live),
            "failed": len(conns) - len(live),
            "failures": dict(fails),
            "attempts": sum(attempts),
            "wall_s": round(max(times), 3) if times else None,
        }
        if a.t0_ns and len(live) == len(conns):
            self.out["connect"]["since_server_start_s"] = round((all_ns - a.t0_ns) / 1e9, 3)
        await asyncio.sleep(1.0)  # hold: sockets that die now show up in close_codes
        if conns[0].ws is not None:
            await self.measure_posts(live, [conns[0]], 1, idle_s=5)
        else:
            self.tally(live, set(), time.time_ns())
        await close_many(conns)
