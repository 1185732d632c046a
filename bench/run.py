#!/usr/bin/env python
"""`make bench`: the chat against the tutorial baseline, side by side, interleaved.

Starts a private redis-server, prepares both apps (migrate, users, sessions), then for each
repetition and scenario runs the baseline and ours in turn, each on a fresh daphne process,
with bench/loadtool.py as the client. Writes docs/benchmarks.md, docs/benchmarks.png and the
raw results to bench/results/.
"""

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import inbox
import report
import servers
import tables
from benchutil import machine_info
from loadmore import CONNECT_STAGES

try:
    import plot
except ImportError:  # matplotlib missing: the markdown is still written
    plot = None

ROOT = servers.ROOT
LOADTOOL = ROOT / "bench" / "loadtool.py"
SIZES = {  # full and --quick
    False: {
        "reps": 3,
        "n": 200,
        "m": 100,
        "paced_s": 6,
        "idle": (1000, 5000),
        "storm": 300,
        "posts_s": 15,
        "reconnect": 5000,
        "idle_cpu": (5000, 60),
        "fanout10k": 10000,
        "connect": 500,
        "search": 1_000_000,
        "inbox": (5000, 20),
    },
    True: {
        "reps": 1,
        "n": 50,
        "m": 20,
        "paced_s": 3,
        "idle": (200, 500),
        "storm": 100,
        "posts_s": 5,
        "reconnect": 500,
        "idle_cpu": (1000, 10),
        "fanout10k": 2000,
        "connect": 200,
        "search": 100_000,
        "inbox": (500, 5),
    },
}
DEFAULT_APPS = ("baseline", "ours")  # a scenario's "apps" key overrides
POST_SENDERS, POST_WINDOW = 50, 10
tables.ROWS.setdefault("inbox", inbox.ROWS)  # bench/inbox.py's figures


def fanout(title, n, m, rate):
    args = ["fanout", "-n", n, "-s", 2, "-m", m, "--rate", rate]
    return {"title": title, "kind": "fanout", "group": "fanout", "args": args}


def issue12_scenarios(z):
    secs, n_rc, (n_idle, idle_s), n_fan, n_conn = (
        z["posts_s"],
        z["reconnect"],
        z["idle_cpu"],
        z["fanout10k"],
        z["connect"],
    )
    posts = ["posts", "-s", POST_SENDERS, "--duration", secs]
    sc = {
        "posts": {
            "title": f"Posts: {POST_SENDERS} logged-in senders who are the room's members, "
            f"{POST_WINDOW} unacked each, PostgreSQL, {secs} s",
            "kind": "posts",
            "group": "posts",
            "db": "postgresql",
            "apps": ("minimal", "ours"),
            "args": [*posts, "--window", POST_WINDOW],
        },
        "posts_paced": {
            "title": "Posts paced at half the minimal server's rate of the same repetition "
            f"({POST_SENDERS} senders, PostgreSQL, {secs} s)",
            "kind": "posts",
            "group": "posts",
            "db": "postgresql",
            "apps": ("minimal", "ours"),
            "args": posts,
            "paced_from": "posts",
        },
        "reconnect": {
            "title": f"Reconnect storm: {n_rc:,} clients dropped at once, back at once "
            "with `?since=`",
            "kind": "reconnect",
            "group": "reconnect",
            "args": ["reconnect", "-n", n_rc, "--storm-window", 120],
            "timeout": 900,
        },
        "idle_cpu": {
            "title": f"{n_idle:,} idle sockets for {idle_s} s on a fresh server",
            "kind": "idle_cpu",
            "group": "idle_cpu",
            "args": ["idle_cpu", "-n", n_idle, "--duration", idle_s],
            "timeout": 600,
        },
        "fanout10k": {
            "title": f"One message to {n_fan:,} idle sockets in one room",
            "kind": "idle",
            "group": "fanout10k",
            "n": n_fan,
            "args": ["idle", "--stages", n_fan, "--connect-timeout", 400],
            "timeout": 900,
        },
    }
    parts = tuple(f"connect_{label}" for label, _, _ in CONNECT_STAGES)
    for i, (_label, history, user) in enumerate(CONNECT_STAGES):
        who = "logged-in" if user else "anonymous"
        room = f"{history} messages of history" if history else "an empty room"
        sc[parts[i]] = {
            "title": f"Connect cost: {n_conn} {who} sockets, {room}",
            "kind": "connect",
            "group": "connect",
            "n": n_conn,
        }
    sc[parts[0]].update(args=["connect", "-n", n_conn], split=parts)
    return sc


def search_scenarios(count):
    """bench/search.py on each database, once per run (it fills a database of its own)."""
    sc = {}
    for key, db, name in (
        ("search", "postgresql", "PostgreSQL"),
        ("search_sqlite", "sqlite", "SQLite"),
    ):
        sc[key] = {
            "title": f"Search: GET /api/search on {count:,} stored messages, {name}",
            "kind": "search",
            "group": key,
            "db": db,
            "apps": ("ours",),
            "reps": 1,
            "messages": count,
            "timeout": 3600,
            "note": "Through the real view in-process (Django's test client: URL resolver, "
            "middleware, bearer token, view, SQL, JSON; no HTTP socket); 100 queries per "
            "kind, each with other words; figures in ms. Issue 14's target: p95 under "
            "100 ms on 1,000,000 messages (PostgreSQL).",
        }
    return sc


def issue14_scenarios(z):
    n, m = z["inbox"]
    return {
        "inbox": {
            "title": f"One message to a room of {n:,} idle members who each hold an inbox "
            f"socket ({m} messages, PostgreSQL)",
            "kind": "inbox",
            "group": "inbox",
            "db": "postgresql",
            "apps": ("ours",),
            "n": n,
            "m": m,
            "how": inbox.HOW,
            "timeout": 1800,
        }
    }


def scenarios(quick):
    z = SIZES[quick]
    n, m, secs = z["n"], z["m"], z["paced_s"]
    small, large = z["idle"]
    sc = {"firehose": fanout(f"Firehose N{n} S2 M{m}", n, m, 0)}
    for rate in (5, 10):
        title = (
            f"Paced N{n} S2 at {rate} msg/s per sender "
            f"({n * 2 * rate:,} deliveries/s offered, {secs} s)"
        )
        sc[f"paced{rate}"] = fanout(title, n, rate * secs, rate)
    idle_args = ["idle", "--stages", f"{small},{large}"]
    sc["idle_small"] = {
        "title": f"{small:,} idle sockets",
        "kind": "idle",
        "group": "idle",
        "n": small,
        "args": idle_args,
        "split": ("idle_small", "idle_large"),
    }
    sc["idle_large"] = {
        "title": f"{large:,} idle sockets",
        "kind": "idle",
        "group": "idle",
        "n": large,
        "note": f"Same server and sockets as the {small:,}-socket stage, "
        f"{large - small:,} more added; connect figures are for the added sockets.",
    }
    sc["storm"] = {
        "title": f"Startup storm, {z['storm']} clients",
        "kind": "storm",
        "group": "storm",
        "args": ["storm", "-n", z["storm"]],
    }
    sc.update(issue12_scenarios(z))
    sc.update(search_scenarios(z["search"]))
    sc.update(issue14_scenarios(z))
    sc["ssot"] = {
        "title": "`python manage.py check_redis_ssot` wall time",
        "kind": "command",
        "group": "ssot",
        "apps": ("ours",),
        "note": "Reference: `python manage.py check` is the same interpreter and Django "
        "start-up without the command's own work.",
    }
    return sc


def run_tool(app, args, label, redis_pid, sessions, timeout=300):
    cmd = [
        sys.executable,
        str(LOADTOOL),
        *map(str, args),
        "--port",
        str(app.port),
        "--server-pid",
        str(app.proc.pid),
        "--redis-pid",
        str(redis_pid),
        "--sessions",
        str(sessions),
        "--label",
        label,
    ]
    if args[0] == "storm":
        cmd += ["--t0-ns", str(app.started_ns)]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"load tool timed out after {timeout}s"}
    sys.stderr.write(r.stderr[-3000:])
    lines = r.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        return {"error": f"load tool exit {r.returncode}: {r.stderr.strip()[-300:]}"}


def timed(app, *args):
    t0 = time.perf_counter()
    r = app.manage(*args, timeout=120)
    return time.perf_counter() - t0, r


def run_search(app, sc):
    """bench/search.py's figures; on PostgreSQL in a database of its own on the app's server."""
    cmd = [sys.executable, str(ROOT / "bench" / "search.py"), "--json"]
    cmd += ["--messages", str(sc["messages"]), "--database", sc["db"]]
    if sc["db"] == "postgresql":
        cmd += ["--database-url", app.env["DATABASE_URL"]]
    try:
        r = subprocess.run(
            cmd, capture_output=True, text=True, timeout=sc["timeout"], check=False, cwd=ROOT
        )
    except subprocess.TimeoutExpired:
        return {"error": f"bench/search.py timed out after {sc['timeout']}s"}
    sys.stderr.write(r.stderr[-3000:])
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"error": f"bench/search.py exit {r.returncode}: {r.stderr.strip()[-300:]}"}


def paced_args(sc, rep, app, out, done):
    """A paced posts scenario's arguments: half the rate the minimal server reached in the
    same repetition (the same offered load for every app), else half this app's own."""
    key = sc["paced_from"]
    ref = done.get(("minimal", key, rep)) or out.get(key) or {}
    rate = ref.get("acked_per_s")
    if not rate:
        return None
    return [*sc["args"], "--total-rate", round(rate / 2, 1)]


def run_group(app, group, todo, rep, redis_pid, sessions, done):
    """Start `app`, run the scenarios of one group on it, stop it; {key: result}.
    `done` holds the results so far by (app, key, rep)."""
    if group == "ssot":
        wall, r = timed(app, "check_redis_ssot")
        ref, _ = timed(app, "check")
        text = (r.stdout + r.stderr).strip().splitlines()
        out = {"wall_s": round(wall, 3), "reference_wall_s": round(ref, 3)}
        return {"ssot": {**out, "returncode": r.returncode, "output": text[-40:]}}
    if group in ("search", "search_sqlite"):
        return {group: run_search(app, todo[group])}
    if group == "inbox":  # bench/inbox.py: users of its own, daphne with the shipped settings
        return {
            key: inbox.run_on(app, sc["n"], sc["m"], timeout=sc["timeout"], rep=rep)
            for key, sc in todo.items()
        }
    try:
        app.start(wait=group != "storm")
    except RuntimeError as e:
        return {key: {"error": str(e)} for key in todo}
    out = {}
    try:
        for key, sc in todo.items():
            if "args" not in sc:
                continue  # filled by another scenario's stages
            label = f"{app.name}/{key}/rep{rep + 1}"
            args = paced_args(sc, rep, app, out, done) if "paced_from" in sc else sc["args"]
            if args is None:
                out[key] = {"error": f"no rate measured by {sc['paced_from']} to pace from"}
                continue
            timeout = sc.get("timeout", 300)
            res = run_tool(app, args, label, redis_pid, sessions[app.tag], timeout)
            if app.proc.poll() is not None:
                res.setdefault("error", f"server exited with {app.proc.returncode}")
            for i, part in enumerate(sc.get("split", (key,))):
                if part in todo:
                    stages = res.get("stages") or []
                    stage = stages[i] if i < len(stages) else {}
                    out[part] = {**res, **stage}
            if "error" in res:
                break
    finally:
        app.stop()
    return out


def loadavg():
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def runs_on(sc, name):
    return name in sc.get("apps", DEFAULT_APPS)


def prepare(scs, names, workdir, redis_port, postgres):
    """Migrate each (app, database) that some scenario needs and create its users and
    sessions; {(name, database): App}, {tag: sessions file}, {(name, database): error}."""
    apps, sessions, failed = {}, {}, {}
    for n in names:
        for db in ("sqlite", "postgresql"):
            if not any(runs_on(sc, n) and sc.get("db", "sqlite") == db for sc in scs.values()):
                continue
            try:
                if db == "postgresql" and postgres is None:
                    raise RuntimeError("PostgreSQL is not installed (scripts/ensure_postgresql.sh)")
                url = postgres.create_database(f"bench_{n}") if db == "postgresql" else None
                app = servers.make_app(n, workdir, redis_port, url)
                app.migrate()
                sessions[app.tag] = app.make_sessions(POST_SENDERS)
                apps[n, db] = app
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                print(f"bench: {n} on {db} cannot run: {e}", file=sys.stderr)
                failed[n, db] = f"setup failed: {str(e)[-300:]}"
    return apps, sessions, failed


def run_all(scs, names, reps, workdir):
    """Every repetition of every scenario group, app after app; the raw results."""
    results = {k: {n: [] for n in names if runs_on(sc, n)} for k, sc in scs.items()}
    done = {}
    redis, redis_port = servers.start_redis(workdir)
    needs_pg = any(sc.get("db") == "postgresql" for sc in scs.values())
    postgres = servers.start_postgres() if needs_pg else None
    try:
        apps, sessions, failed = prepare(scs, names, workdir, redis_port, postgres)
        groups = {}
        for key, sc in scs.items():
            groups.setdefault(sc["group"], {})[key] = sc
        for rep in range(reps):
            for group, todo in groups.items():
                db = next(iter(todo.values())).get("db", "sqlite")
                if rep >= next(iter(todo.values())).get("reps", reps):
                    continue  # a scenario measured once per run (search)
                for n in names:
                    mine = {k: v for k, v in todo.items() if runs_on(v, n)}
                    if not mine:
                        continue
                    if (n, db) not in apps:
                        for key in mine:
                            results[key][n].append({"error": failed.get((n, db), "no app")})
                        continue
                    print(f"bench: rep {rep + 1}/{reps} {group} {n}", file=sys.stderr)
                    out = run_group(apps[n, db], group, mine, rep, redis.pid, sessions, done)
                    for key, res in out.items():
                        results[key][n].append(res)
                        done[n, key, rep] = res
    finally:
        servers.stop(redis)
        if postgres is not None:
            postgres.stop()
    return results


def write_outputs(results, scs, meta, out):
    raw = ROOT / "bench" / "results"
    raw.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for path in (raw / f"{stamp}.json", raw / "latest.json"):
        path.write_text(json.dumps({"meta": meta, "scenarios": scs, "results": results}))
    out.write_text(report.markdown(results, scs, meta))
    if plot is None:
        print("bench: matplotlib is not installed: no PNG", file=sys.stderr)
    else:
        plot.plot(results, scs, out.with_suffix(".png"))
    print(f"bench: wrote {out}, its PNG and {raw / 'latest.json'}", file=sys.stderr)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes, one repetition")
    p.add_argument("--reps", type=int, default=None)
    p.add_argument("--apps", default="minimal,baseline,ours", help="minimal runs posts only")
    p.add_argument("--only", default="", help="comma-separated scenario keys")
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    p.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    a = p.parse_args(argv)
    t_start, load_before = time.time(), loadavg()
    scs = scenarios(a.quick)
    if a.only:
        scs = {k: v for k, v in scs.items() if k in a.only.split(",")}
    reps = a.reps or SIZES[a.quick]["reps"]
    names = [n for n in a.apps.split(",") if n in servers.APPS]
    workdir = Path(tempfile.mkdtemp(prefix="chatbench-"))
    print(f"bench: work directory (daphne logs) {workdir}", file=sys.stderr)
    results = run_all(scs, names, reps, workdir)
    meta = {
        "command": " ".join([".venv/bin/python bench/run.py", *map(shlex.quote, sys.argv[1:])]),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "quick": a.quick,
        "duration_s": time.time() - t_start,
        "reps": reps,
        "machine": machine_info(),
        "loadavg": [load_before, loadavg()],
        "method": report.METHOD,
        "commands": report.command_lines(scs),
    }
    write_outputs(results, scs, meta, Path(a.out))
    failed = any("error" in r for runs in results.values() for rs in runs.values() for r in rs)
    if a.keep or failed:
        print(f"bench: logs kept in {workdir}", file=sys.stderr)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"bench: done in {time.time() - t_start:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
