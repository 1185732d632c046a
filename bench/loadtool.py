#!/usr/bin/env python
"""Load client for the chat wire contract (docs: docs/benchmarks.md, issue 4).

Scenarios (one room, a fresh one per run unless --room is given):
  fanout  N clients, S of them senders posting M messages each, firehose (--rate 0) or
          paced at --rate messages/s per sender; fan-out latency, throughput, loss, order.
  idle    N idle sockets: server RSS per socket, then one message to all of them.
  storm   N clients connecting at once (meant to start together with the server),
          each retrying for --storm-window seconds; then one message to all.
  posts   -s logged-in senders, all members: stored-and-acked messages/s for --duration s,
          --window unacked per sender (--rate 0) or paced (--rate, --total-rate); ack latency.
  reconnect  N sockets dropped at once client-side, then all back at once with ?since=.
  idle_cpu   N idle sockets: server CPU per socket per second over --duration s; RSS/socket.
  connect    server CPU per connect: 50 messages of history or empty, logged-in or anon.

Senders log in with a session cookie (--sessions JSON file: {"senders": [...], "readers": [...]});
readers use the reader sessions, 40 sockets each (--readers user), or none (--readers anon).
The JSON result goes to stdout, a readable summary to stderr.
"""

import argparse
import asyncio
import json
import os
import sys
import time
import uuid

from loadmore import MoreRun
from loadrun import raise_nofile

EXTRA = (  # figures of the issue 12 scenarios, printed when present
    "acked_per_s",
    "ack_ms",
    "server_ms_per_post",
    "refused",
    "unacked",
    "reconnect",
    "resume_incomplete",
    "server_ms_per_drop",
    "idle_us_per_socket_s",
    "empty_cpu_us_per_s",
    "sockets_at_end",
    "hello_history",
)


def summary(o):
    c = o.get("connect", {})
    lat = o.get("latency_ms") or {}
    lines = [
        f"[{o['label'] or o['scenario']}] room={o['room']}"
        + (f" stage={o['stage']} sockets" if "stage" in o else ""),
        (
            f"  connect: ok={c.get('ok')} failed={c.get('failed')} wall={c.get('wall_s')}s "
            f"p50={c.get('p50')}ms p99={c.get('p99')}ms failures={c.get('failures')}"
        ),
        (
            f"  latency ms: p50={lat.get('p50')} p90={lat.get('p90')} p99={lat.get('p99')} "
            f"max={lat.get('max')} (n={lat.get('count')})"
        ),
        (
            f"  deliveries={o.get('deliveries')}/{o.get('expected')} "
            f"delivered/s={o.get('delivered_per_s')} offered/s={o.get('offered_per_s')}"
        ),
        (
            f"  lost={o.get('lost')} dup={o.get('duplicates')} "
            f"unexpected={o.get('unexpected')} out_of_order={o.get('out_of_order')} "
            f"closes={o.get('close_codes')} errors={o.get('errors')}"
        ),
        (
            f"  server cpu={o.get('server_cpu_s')}s ({o.get('server_us_per_delivery')} "
            f"us/deliv) rss={o.get('server_rss_kb')}KB; redis "
            f"{o.get('redis_us_per_delivery')} us/deliv; client "
            f"{o.get('client_us_per_delivery')} us/deliv"
        ),
    ]
    if "rss_kb_per_socket" in o:
        lines.append(
            f"  rss per socket={o['rss_kb_per_socket']}KB time_to_last={o.get('time_to_last_ms')}ms"
        )
    extra = {k: o[k] for k in EXTRA if k in o}
    if extra:
        lines.append(f"  {json.dumps(extra)}")
    return "\n".join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "scenario", choices=("fanout", "idle", "storm", "posts", "reconnect", "idle_cpu", "connect")
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--room", default=None, help="default: a fresh bench-<random> room")
    p.add_argument("-n", "--clients", type=int, default=200)
    p.add_argument("-s", "--senders", type=int, default=2)
    p.add_argument("-m", "--messages", type=int, default=100)
    p.add_argument("--rate", type=float, default=0, help="msg/s per sender; 0 = firehose")
    p.add_argument("--window", type=int, default=10, help="posts: unacked per sender")
    p.add_argument("--duration", type=float, default=10, help="posts, idle_cpu: seconds")
    p.add_argument("--total-rate", type=float, default=0, help="posts: msg/s over all senders")
    p.add_argument("--sessions", help='JSON file {"senders": [keys], "readers": [keys]}')
    p.add_argument("--stages", default="", help="idle: socket counts, e.g. 1000,5000")
    p.add_argument("--readers", choices=("user", "anon"), default="user")
    p.add_argument("--server-pid", type=int, default=None)
    p.add_argument("--redis-pid", type=int, default=None)
    p.add_argument("--concurrency", type=int, default=100, help="handshakes in flight")
    p.add_argument("--connect-timeout", type=float, default=120)
    p.add_argument("--ready-timeout", type=float, default=30)
    p.add_argument("--timeout", type=float, default=30, help="bound on each wait")
    p.add_argument("--storm-window", type=float, default=10)
    p.add_argument("--t0-ns", type=int, default=None, help="server start, time.time_ns()")
    p.add_argument("--label", default="")
    a = p.parse_args(argv)
    a.stages = [int(x) for x in a.stages.split(",") if x.strip()]
    if a.stages:
        a.clients = max(a.stages)
    a.room = a.room or f"bench-{uuid.uuid4().hex[:10]}"
    if a.total_rate:
        a.rate = a.total_rate / a.senders
    return a


def main(argv=None):
    a = parse_args(argv)
    raise_nofile(a.clients + 1024)
    run = MoreRun(a)
    t0 = time.perf_counter()
    asyncio.run(getattr(run, a.scenario)())
    run.out["wall_s"] = round(time.perf_counter() - t0, 3)
    for part in run.out.get("stages") or [run.out]:
        print(summary({**run.out, **part}), file=sys.stderr)
    print(json.dumps(run.out))
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown of thousands of closed sockets


if __name__ == "__main__":
    main()
