"""docs/benchmarks.md from the raw results of bench/run.py."""

from tables import scenario_table
from targets import target_rows
from targets12 import target_rows as target_rows_12

METHOD = [
    (
        "- Each scenario runs on a fresh daphne process (the three fan-out scenarios share one), "
        "baseline first, then ours, repetition after repetition; both apps use one private "
        '`redis-server` (`--save "" --appendonly no`) and SQLite databases in a temporary '
        "directory, with `CHAT_MESSAGE_RATE=0`, `DJANGO_DEBUG=0`."
    ),
    (
        "- Senders log in with a session cookie; readers share one logged-in reader account "
        "(so presence changes once, not per socket). Every client sends `Origin`."
    ),
    (
        "- Fan-out latency: each message's text is `t=<send time in ns>`; the receiving socket, "
        "in the same client process, subtracts it from its receive time."
    ),
    (
        "- Lost: acked seqs a connected socket never received; duplicated: a seq received twice; "
        "out of order: a seq lower than one already received on that socket."
    ),
    (
        "- Server CPU: utime+stime of the daphne pid from `/proc/<pid>/stat`, from the first "
        "send until the last delivery, divided by the deliveries (sockets × messages). Redis and "
        "load-client CPU are measured the same way, to show when the client is the bottleneck."
    ),
    "- Delivered/s: deliveries divided by the time from the first send to the last delivery.",
    (
        "- Where the server's time goes, before and after the delivery path was changed "
        "(py-spy): [profiling.md](profiling.md)."
    ),
    (
        "- Idle sockets: server RSS (`VmRSS`) after one warm-up socket, then after all sockets "
        "are open and quiet; the difference divided by the sockets. Then one message to all. "
        "The larger stage's figure counts every socket since the warm-up, on a server that "
        "already delivered the first stage's message; the issue 12 memory figure is the idle "
        "CPU scenario's (a fresh server, no message)."
    ),
    (
        "- Startup storm: daphne is spawned and at the same moment all clients start "
        "connecting, each retrying (100 ms ± 50 %) for up to 10 s; then one message to all."
    ),
    (
        "- Posts (PostgreSQL): `bench/run.py` starts a throwaway PostgreSQL (the tests' "
        "`PostgresServer`: initdb, a free loopback port, `fsync=off`, `synchronous_commit=off`) "
        "and gives each app a database of its own. 50 logged-in senders, each a different user "
        "and all of them the room's only members, post as fast as acks allow with at most 10 "
        "unacked each (a window, not a pure firehose) for the stated time; acked/s is the acks "
        "received divided by the time from the first send to the last ack. Ack latency: send "
        "to ack on the sender's socket. Server CPU per post includes its 50 deliveries. The "
        "paced variant sends on a fixed schedule (open loop) at half the rate the minimal "
        "server reached in the same repetition, so both apps are offered the same load."
    ),
    (
        "- Minimal: bench/minimal/server.py, the protocol core on asyncio + websockets + "
        "psycopg (async pool) + redis-py: `hello` with the latest 50, `message` stored with "
        "seq = last_seq + 1 under `SELECT ... FOR UPDATE` in one transaction (client_id "
        "idempotent), `ack`, PUBLISH, a PSUBSCRIBE per process delivering to its sockets. Its "
        "user is the `sessionid` cookie's value taken as a name (no Django session). It runs "
        "the posts scenarios only; the baseline, which stores nothing, does not run them."
    ),
    (
        "- Reconnect storm: N sockets (readers over reader users, 200 per loopback address, "
        "under the shipped per-address and per-user caps) open and get one message; then "
        "every socket is aborted on the client side (no close frame), the server is left to "
        "notice (quiet), a sender posts 5 messages, and all N reconnect at the same moment "
        "with `?since=<last seq seen>`, each retrying (200 ms ± 50 %, 30 s per attempt) for "
        "up to 120 s. Time to the last hello from the moment they start; server CPU from "
        "then to the last hello, divided by the clients back. The baseline ignores `since`."
    ),
    (
        "- Idle CPU: a fresh server; its CPU over up to 10 s with no socket, then N idle "
        "sockets opened and left quiet, RSS read (that is the memory-per-socket figure of "
        "issue 12: RSS growth divided by the sockets, on a fresh server, before any message "
        "is sent), then server CPU over the stated time divided by sockets and seconds. "
        "daphne pings every socket every 20 s, so runs shorter than that miss the pings."
    ),
    (
        "- Connect cost: N sockets (≤ 100 handshakes in flight) into four rooms in turn: one "
        "with 50 messages posted just before, one empty, each with logged-in readers and "
        "with anonymous sockets; server CPU from the first handshake to the last hello, per "
        "socket; sockets closed (and the server quiet) between rooms."
    ),
    (
        "- `check_redis_ssot`: wall time of the whole command (`python manage.py "
        "check_redis_ssot`), interpreter start-up included, against the same Redis."
    ),
    (
        "- Search: bench/search.py fills a database of its own (PostgreSQL: a new database "
        "on the throwaway cluster, loaded with COPY, the GIN index built after the load; "
        "SQLite: a file, executemany in one transaction, the FTS5 triggers indexing row by "
        "row) with the stated number of messages over 50 rooms (10 private, sizes ∝ 1/rank), "
        "200 users, 1-24 words each drawn by Zipf (s = 1.1) from 30,000 words, plus a private "
        "team's word in 10 % of the messages of the 7 private rooms the searching user is not "
        "in (nowhere else) and a 20-message room of rare words; ANALYZE; then "
        "100 queries per kind after 5 warm-ups, with a bearer token of a user in 3 of the "
        "private rooms (or anonymous), through Django's test client in the bench's process. "
        "Common words: Zipf ranks 1-20 (the commonest is in most messages); middling "
        "200-2,000; rare 10,000-30,000 (about 10-40 messages each). Run once per `make bench`."
    ),
]


def command_lines(scs):
    lines = [
        "make bench    # = .venv/bin/python bench/run.py  (--quick: smoke variant)",
        "# each server: (ulimit -n 20000; exec daphne -b 127.0.0.1 -p PORT APP)",
        "#   ours:     cwd ., APP = chatproject.asgi:application",
        "#   baseline: cwd bench/baseline, APP = baseline_project.asgi:application",
        (
            "# env: REDIS_URL=redis://127.0.0.1:PORT/0 DATABASE_URL=sqlite:////tmp/.../X.sqlite3"
            " DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost CHAT_MESSAGE_RATE=0 DJANGO_DEBUG=0"
            " DJANGO_SECRET_KEY=bench"
        ),
    ]
    for key, sc in scs.items():
        if "args" in sc:
            args = " ".join(map(str, sc["args"]))
            lines.append(
                f".venv/bin/python bench/loadtool.py {args} --port PORT "
                f"--server-pid PID --redis-pid PID --sessions FILE   # {key}"
            )
    lines.append("python manage.py check_redis_ssot   # ssot")
    for key, sc in scs.items():
        if sc["kind"] == "search":
            url = " --database-url <the cluster>" if sc["db"] == "postgresql" else ""
            lines.append(
                f".venv/bin/python bench/search.py --json --messages {sc['messages']} "
                f"--database {sc['db']}{url}   # {key}"
            )
    lines += [
        "# posts, posts_paced: DATABASE_URL=postgres://chat@127.0.0.1:PORT/bench_<app> of a "
        "throwaway cluster;",
        "#   posts_paced adds --total-rate <half the minimal server's acked/s of that repetition>",
        "# minimal: (cd bench/minimal; python server.py --port PORT --database-url URL "
        "--redis-url URL)",
    ]
    return lines


def markdown(results, scenarios, meta):
    m = meta["machine"]
    lines = [
        "# Benchmarks",
        "",
        (
            f"Generated by `{meta['command']}` on {meta['date']} in {meta['duration_s']:.0f} s"
            f" ({meta['reps']} interleaved repetition(s): baseline, ours, baseline, ours ...)."
        ),
        (
            "Figures are medians with (min–max) over the repetitions; every ratio is ours / "
            "baseline measured side by side in the same run, on the same Redis."
        ),
        "",
        (
            f"Machine: {m['cpu']}, {m['nproc']} cores (nproc), {m['mem']} RAM, Linux "
            f"{m['kernel']}, Python {m['python']}. One daphne process per app; the load "
            "client, Redis and the server share these cores over loopback."
        ),
        "",
    ]
    if meta.get("loadavg"):
        before, after = meta["loadavg"]
        lines += [
            f"1-minute load average at the start {before}, at the end {after} (other work "
            "on the machine adds noise; compare ratios, not absolute figures).",
            "",
        ]
    if meta.get("quick"):
        lines += [
            (
                "**Quick smoke run: small sizes, one repetition. The target verdicts below "
                "are indicative only; run `make bench` for the real figures.**"
            ),
            "",
        ]
    lines += [
        "## Targets of issue 4",
        "",
        "| figure | baseline | ours | target | verdict |",
        "|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in target_rows(results, scenarios)]
    rows12 = target_rows_12(results, scenarios)
    if len(rows12) > 1:
        lines += [
            "",
            "## Targets of issue 12",
            "",
            "The posts rows compare with the minimal asyncio server (bench/minimal/), the "
            "others with the baseline.",
            "",
            "| figure | reference | ours | target | verdict |",
            "|---|---|---|---|---|",
        ]
        lines += ["| " + " | ".join(r) + " |" for r in rows12]
    lines += [
        "",
        "![latency percentiles and CPU per delivery](benchmarks.png)",
        "",
        "## Scenarios",
        "",
    ]
    for key, sc in scenarios.items():
        lines += scenario_table(sc, results.get(key, {}))
    lines += ["## How it is measured", ""] + meta["method"] + ["", "## Commands", "", "```"]
    lines += meta["commands"] + ["```", ""]
    return "\n".join(lines)
