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

import report
import servers
from benchutil import machine_info

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
    },
    True: {"reps": 1, "n": 50, "m": 20, "paced_s": 3, "idle": (200, 500), "storm": 100},
}


def fanout(title, n, m, rate):
    args = ["fanout", "-n", n, "-s", 2, "-m", m, "--rate", rate]
    return {"title": title, "kind": "fanout", "group": "fanout", "args": args}


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


def run_group(app, group, todo, rep, redis_pid, sessions):
    """Start `app`, run the scenarios of one group on it, stop it; {key: result}."""
    if group == "ssot":
        wall, r = timed(app, "check_redis_ssot")
        ref, _ = timed(app, "check")
        text = (r.stdout + r.stderr).strip().splitlines()
        out = {"wall_s": round(wall, 3), "reference_wall_s": round(ref, 3)}
        return {"ssot": {**out, "returncode": r.returncode, "output": text[-40:]}}
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
            res = run_tool(app, sc["args"], label, redis_pid, sessions[app.name])
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


def prepare(names, workdir, redis_port, results):
    """Migrate each app and create its users and sessions; {name: App}, {name: file}."""
    apps, sessions = {}, {}
    for n in names:
        app = servers.App(n, workdir, redis_port)
        try:
            app.migrate()
            sessions[n] = app.make_sessions(2)
            apps[n] = app
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            print(f"bench: {n} cannot run: {e}", file=sys.stderr)
            for runs in results.values():
                runs[n].append({"error": f"setup failed: {str(e)[-300:]}"})
    return apps, sessions


def run_all(scs, names, reps, workdir):
    """Every repetition of every scenario group, baseline then ours; the raw results."""
    results = {k: {n: [] for n in names} for k in scs}
    redis, redis_port = servers.start_redis(workdir)
    try:
        apps, sessions = prepare(names, workdir, redis_port, results)
        groups = {}
        for key, sc in scs.items():
            groups.setdefault(sc["group"], {})[key] = sc
        for rep in range(reps):
            for group, todo in groups.items():
                for n, app in apps.items():
                    mine = {k: v for k, v in todo.items() if n in v.get("apps", (n,))}
                    if not mine:
                        continue
                    print(f"bench: rep {rep + 1}/{reps} {group} {n}", file=sys.stderr)
                    done = run_group(app, group, mine, rep, redis.pid, sessions)
                    for key, res in done.items():
                        results[key][n].append(res)
    finally:
        servers.stop(redis)
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
    p.add_argument("--apps", default="baseline,ours")
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
