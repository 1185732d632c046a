"""The scenarios of issue 12 for bench/loadtool.py: posts, reconnect, idle_cpu, connect.

They reuse Run's sockets, counters and CPU readings (bench/loadrun.py).
"""

import asyncio
import time
from collections import Counter

from benchutil import cpu_seconds, rss_kb, summarize_ms
from loadclient import Collector, close_many, open_with_retry
from loadrun import Run

# The connect scenario's stages: (label, messages of history, logged-in readers?)
CONNECT_STAGES = (
    ("history_user", 50, True),
    ("empty_user", 0, True),
    ("history_anon", 50, False),
    ("empty_anon", 0, False),
)


class MoreRun(Run):
    def cpu_delta(self, cpu0, count, per=1e3):
        """Server CPU since cpu0 per item (ms by default), None when unknown."""
        cpu1 = cpu_seconds(self.a.server_pid)
        if cpu0 is None or cpu1 is None or not count:
            return None
        return round((cpu1 - cpu0) * per / count, 3)

    # -- posts -------------------------------------------------------------------------

    async def posts(self):
        """Every socket is a logged-in sender and a member: for --duration seconds each one
        posts, either as fast as acks allow with at most --window unacked (--rate 0), or at
        --rate msg/s (open loop: on schedule, whatever the acks). Stored-and-acked messages
        per second, ack latency, server CPU per post, and every member's deliveries."""
        a = self.a
        await self.ready()
        conns = self.make_conns(a.senders, a.senders)
        live = await self.connect_all(conns)
        await self.settle(0.5, 20)
        col = self.col
        sent, ack_ns, refused = {}, [], Counter()
        self.batch += 1
        window = asyncio.Semaphore(a.window) if not a.rate else None
        state = {"last_ack": None, "first_send": None}

        def on_ack(conn):
            def handler(client_id, seq, now):
                t = sent.pop(client_id, None)
                if t is None:
                    return
                ack_ns.append(now - t)
                state["last_ack"] = now
                if window is not None:
                    conn.slots.release()

            return handler

        def on_error(conn):
            def handler(code):
                refused[code] += 1
                if window is not None:
                    conn.slots.release()  # refused, not stored: its slot is free again

            return handler

        async def sender(k, conn):
            conn.acks_wanted = 1 << 62
            if window is not None:
                conn.slots = asyncio.Semaphore(a.window)
            conn.on_ack, conn.on_error = on_ack(conn), on_error(conn)
            t0 = time.monotonic()
            end = t0 + a.duration
            i = 0
            while time.monotonic() < end and conn.ws is not None:
                if window is not None:
                    try:
                        await asyncio.wait_for(conn.slots.acquire(), end - time.monotonic())
                    except TimeoutError:
                        break
                else:
                    delay = t0 + (i + k / len(live)) / a.rate - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    if time.monotonic() >= end:
                        break
                cid = f"p{self.tag}x{self.batch}s{k}m{i}"
                now = time.time_ns()
                state["first_send"] = state["first_send"] or now
                sent[cid] = now
                try:
                    await conn.post(cid)
                except Exception:  # the socket closed under us: counted in close_codes
                    sent.pop(cid, None)
                    break
                i += 1
            return i

        before = self.snap()
        start_ns = time.time_ns()
        col.measuring = True
        counts = await asyncio.gather(*(sender(k, c) for k, c in enumerate(live)))
        end = time.monotonic() + a.timeout
        while len(sent) > refused.total() and time.monotonic() < end:  # acks in flight
            await asyncio.sleep(0.05)
        acked = {s for c in live for s in c.acks.values() if isinstance(s, int)}
        col.target = len(acked) * len(live)
        if col.deliveries >= col.target:
            col.done.set()
        after = await self.wait_deliveries(5, a.timeout)
        col.measuring = False
        self.cpu_report(before, after, col.deliveries)
        self.tally(live, acked, start_ns)
        span = (state["last_ack"] - state["first_send"]) / 1e9 if state["last_ack"] else None
        server_cpu = self.out.get("server_cpu_s")
        self.out.update(
            {
                "posted": sum(counts),
                "unacked": len(sent),
                "refused": dict(refused),
                "ack_ms": summarize_ms(ack_ns),
                "acked_per_s": round(len(acked) / span, 1) if span else None,
                "offered_per_s": a.rate * len(live) if a.rate else None,
                "window": None if a.rate else a.window,
                "server_ms_per_post": (
                    round(server_cpu * 1e3 / len(acked), 3) if server_cpu and acked else None
                ),
            }
        )
        await close_many(conns)

    # -- reconnect ---------------------------------------------------------------------

    async def reconnect(self):
        """N sockets open, one message to all, then every socket lost at once on the client
        side (no close frame), the server left to notice, then all reconnect at once with
        ?since=<the last seq each saw>, each retrying until --storm-window; then one more
        message to all."""
        a = self.a
        await self.ready()
        conns = self.make_conns(a.clients, 1)
        live = await self.connect_all(conns)
        await self.settle(1.0, 60)
        if conns[0].ws is None:
            self.out["error"] = "the sender did not connect"
            await close_many(conns)
            return
        await self.measure_posts(live, [conns[0]], 1, idle_s=10)
        self.out["first_post"] = {k: self.out.pop(k) for k in ("lost", "acked", "latency_ms")}
        cpu0 = cpu_seconds(a.server_pid)
        for c in live:
            c.drop()
        self.out["drop_settle_s"] = await self.settle(1.0, 60)
        self.out["server_ms_per_drop"] = self.cpu_delta(cpu0, len(live))
        missed = await self.seed(5)  # posted while every client is away
        self.col = Collector()
        fails, finished, attempts = Counter(), [], []
        t0 = time.monotonic()
        deadline = t0 + a.storm_window
        cpu0 = cpu_seconds(a.server_pid)

        async def one(conn):
            conn.col, conn.seen, conn.closing = self.col, set(), False
            conn.url = f"{self.url}?since={conn.max_seq}"
            t, n = await open_with_retry(conn, deadline, fails, backoff=0.2, max_timeout=30)
            attempts.append(n)
            if t is not None:
                finished.append(time.monotonic() - t0)

        await asyncio.gather(*(one(c) for c in live))
        back = [c for c in live if c.ws is not None]
        got = [{m.get("seq") for m in c.hello.get("history") or []} for c in back]
        self.out["resume_incomplete"] = sum(1 for g in got if not missed <= g)
        self.out["reconnect"] = {
            "clients": len(live),
            "ok": len(back),
            "failed": len(live) - len(back),
            "failures": dict(fails),
            "attempts": sum(attempts),
            "time_to_last_hello_s": round(max(finished), 3) if finished else None,
            "server_ms_per_reconnect": self.cpu_delta(cpu0, len(back)),
            **summarize_ms([t * 1e9 for t in finished]),
        }
        self.out["http_500"] = fails.get("http_500", 0)
        self.out["close_1011"] = fails.get("close_1011", 0)
        await asyncio.sleep(1.0)  # hold: sockets that die now show up in close_codes
        if conns[0].ws is not None:
            await self.measure_posts(back, [conns[0]], 1, idle_s=10)
        else:
            self.tally(back, set(), time.time_ns())
        await close_many(conns)

    # -- idle_cpu ----------------------------------------------------------------------

    async def idle_cpu(self):
        """Server CPU of a process holding N idle sockets over --duration seconds, per
        socket per second; the same process's CPU over the same time before any socket
        (its own timers) is reported beside it. RSS growth per socket on this fresh server,
        read once the sockets are open and the server quiet, before any message."""
        a = self.a
        await self.ready()
        await asyncio.sleep(0.5)
        empty_s = min(a.duration, 10)
        cpu0 = cpu_seconds(a.server_pid)
        await asyncio.sleep(empty_s)
        self.out["empty_cpu_us_per_s"] = self.cpu_delta(cpu0, empty_s, per=1e6)
        rss0 = rss_kb(a.server_pid)
        conns = self.make_conns(a.clients, 0)
        live = await self.connect_all(conns)
        self.out["settle_s"] = await self.settle(1.0, 60)
        rss1 = rss_kb(a.server_pid)
        self.out.update(rss_kb_before=rss0, rss_kb_after=rss1, sockets=len(live))
        if rss0 and rss1 and live:
            self.out["rss_kb_per_socket"] = round((rss1 - rss0) / len(live), 2)
        cpu0, t0 = cpu_seconds(a.server_pid), time.monotonic()
        await asyncio.sleep(a.duration)
        wall = time.monotonic() - t0
        still = [c for c in live if c.ws is not None]
        self.out["sockets_at_end"] = len(still)
        if still:
            total = self.cpu_delta(cpu0, wall, per=1e6)  # µs of server CPU per second
            self.out["idle_cpu_us_per_s"] = total
            self.out["idle_us_per_socket_s"] = (
                None if total is None else round(total / len(still), 3)
            )
        self.tally(live, set(), time.time_ns())
        await close_many(conns)

    # -- connect -----------------------------------------------------------------------

    async def connect(self):
        """Server CPU per connect (handshake to hello) in four rooms: 50 messages of history
        or empty, logged-in readers or anonymous; N sockets each, closed between stages."""
        a = self.a
        await self.ready()
        base, stages = self.out, []
        for k, (label, history, user) in enumerate(CONNECT_STAGES):
            self.out, self.col = {"stage": label}, Collector()
            self.url = f"ws://{a.host}:{a.port}/ws/chat/{a.room}-{label}/"
            if history:
                await self.seed(history)
            keys = self.reader_keys
            if not user:
                self.reader_keys = []
            conns = self.make_conns(a.clients, 0)
            self.reader_keys = keys
            for c in conns:  # each stage from addresses of its own (per-address caps)
                c.idx += (k + 1) * a.clients
            live = await self.connect_all(conns)
            sizes = [len(c.hello.get("history") or []) for c in live]
            self.out["hello_history"] = round(sum(sizes) / len(sizes), 1) if sizes else None
            self.out["anonymous"] = sum(1 for c in live if c.hello.get("user") is None)
            self.tally(live, set(), time.time_ns())
            await close_many(conns)
            self.out["close_settle_s"] = await self.settle(0.5, 30)
            stages.append(self.out)
        self.out = {**base, "stages": stages}

    async def seed(self, m):
        """One logged-in sender posts m messages to the current room, then leaves; the seqs
        acked."""
        conn = self.make_conns(1, 1)[0]
        conn.idx = -1
        t, _ = await open_with_retry(conn, time.monotonic() + 30, Counter())
        if t is None:
            return set()
        acked = await self.post_all([conn], m)
        await conn.close()
        await self.settle(0.5, 10)
        return acked
