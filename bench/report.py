"""Turn the raw results of bench/run.py into docs/benchmarks.md and docs/benchmarks.png."""

from benchutil import median

APPS = ("baseline", "ours")

# (label, key, unit, better) per scenario kind; key is a path into a loadtool result.
FANOUT_ROWS = [
    ("server CPU per delivery", "server_us_per_delivery", "µs", "low"),
    ("delivered/s", "delivered_per_s", "/s", "high"),
    ("delivered / offered", "delivered_ratio", "", "high"),
    ("latency p50", "latency_ms.p50", "ms", "low"),
    ("latency p90", "latency_ms.p90", "ms", "low"),
    ("latency p99", "latency_ms.p99", "ms", "low"),
    ("latency max", "latency_ms.max", "ms", "low"),
    ("lost", "lost", "", "low"),
    ("duplicated", "duplicates", "", "low"),
    ("out of seq order", "out_of_order", "", "low"),
    ("connect + hello p50 (≤ 100 handshakes in flight)", "connect.p50", "ms", "low"),
    ("connect + hello p99", "connect.p99", "ms", "low"),
    ("Redis CPU per delivery", "redis_us_per_delivery", "µs", "low"),
    ("load client CPU per delivery", "client_us_per_delivery", "µs", "low"),
    ("server RSS at end", "server_rss_kb", "KB", "low"),
]
IDLE_ROWS = [
    ("server RSS per socket", "rss_kb_per_socket", "KB", "low"),
    ("one message to all: time until the last", "time_to_last_ms", "ms", "low"),
    ("one message to all: p50", "latency_ms.p50", "ms", "low"),
    ("server CPU per delivery of it", "server_us_per_delivery", "µs", "low"),
    ("all sockets connected after", "connect.wall_s", "s", "low"),
    ("connect p99", "connect.p99", "ms", "low"),
    ("sockets connected", "connect.ok", "", "high"),
    ("lost", "lost", "", "low"),
    ("server RSS before", "rss_kb_before", "KB", "low"),
    ("server RSS after", "rss_kb_after", "KB", "low"),
]
STORM_ROWS = [
    ("clients connected", "connect.ok", "", "high"),
    ("all connected, from tool start", "connect.wall_s", "s", "low"),
    ("all connected, from server spawn", "connect.since_server_start_s", "s", "low"),
    ("connection attempts", "connect.attempts", "", "low"),
    ("one message to all: time until the last", "latency_ms.max", "ms", "low"),
    ("lost", "lost", "", "low"),
]
COMMAND_ROWS = [
    ("wall time", "wall_s", "s", "low"),
    ("exit status", "returncode", "", "low"),
]
ROWS = {
    "fanout": FANOUT_ROWS,
    "idle": IDLE_ROWS,
    "storm": STORM_ROWS,
    "command": COMMAND_ROWS,
}


def get(result, path):
    if path == "delivered_ratio":
        d, o = result.get("delivered_per_s"), result.get("offered_per_s")
        return round(d / o, 3) if d and o else None
    cur = result
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur if isinstance(cur, (int, float)) and not isinstance(cur, bool) else None


def stats(results, path):
    vals = [
        v for v in (get(r, path) for r in results if "error" not in r) if v is not None
    ]
    if not vals:
        return None
    return median(vals), min(vals), max(vals), len(vals)


def fmt(v):
    if v is None:
        return "n/a"
    if isinstance(v, int) or float(v).is_integer() and abs(v) >= 10:
        return f"{int(v):,}"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}" if abs(v) < 1 else f"{v:.2f}"


def cell(st, unit=""):
    if st is None:
        return "n/a"
    med, lo, hi, _ = st
    u = f" {unit}" if unit and unit != "/s" else ""
    return fmt(med) + u if lo == hi else f"{fmt(med)}{u} ({fmt(lo)}–{fmt(hi)})"


def ratio(sb, so):
    if sb is None or so is None or not sb[0]:
        return "n/a"
    return f"{so[0] / sb[0]:.2f}×"


def counters(results, *keys):
    """Sum dict-valued fields (close codes, failures) over runs: 'code: n, ...'."""
    total = {}
    for r in results:
        for key in keys:
            cur = r
            for part in key.split("."):
                cur = cur.get(part, {}) if isinstance(cur, dict) else {}
            for k, v in (cur or {}).items():
                total[k] = total.get(k, 0) + v
    return ", ".join(f"{k}: {v}" for k, v in sorted(total.items())) or "none"


def scenario_table(sc, res):
    lines = [f"### {sc['title']}", ""]
    if sc.get("note"):
        lines += [sc["note"], ""]
    lines += ["| figure | baseline | ours | ours / baseline |", "|---|---|---|---|"]
    for label, path, unit, _ in ROWS[sc["kind"]]:
        sb, so = (stats(res.get(a, []), path) for a in APPS)
        if sb is None and so is None:
            continue
        lines.append(
            f"| {label} | {cell(sb, unit)} | {cell(so, unit)} | {ratio(sb, so)} |"
        )
    if sc["kind"] != "command":
        lines.append(
            "| close codes seen (sum of runs) | "
            + " | ".join(counters(res.get(a, []), "close_codes") for a in APPS)
            + " | |"
        )
        lines.append(
            "| connect failures (sum of runs) | "
            + " | ".join(counters(res.get(a, []), "connect.failures") for a in APPS)
            + " | |"
        )
        lines.append(
            "| error frames (sum of runs) | "
            + " | ".join(counters(res.get(a, []), "errors") for a in APPS)
            + " | |"
        )
    errors = [
        f"{a} run {i + 1}: {r['error']}"
        for a in APPS
        for i, r in enumerate(res.get(a, []))
        if "error" in r
    ]
    if errors:
        lines += ["", "Failed runs: " + "; ".join(errors)]
    runs = {a: len(res.get(a, [])) for a in APPS}
    lines += ["", f"Runs: baseline {runs['baseline']}, ours {runs['ours']}.", ""]
    return lines


def bad_events(results):
    """(lost, 1011 closes or failures, out-of-order) summed over runs of one app."""
    lost = ooo = c1011 = 0
    for r in results:
        lost += r.get("lost") or 0
        ooo += r.get("out_of_order") or 0
        c1011 += (r.get("close_codes") or {}).get("1011", 0)
        c1011 += ((r.get("connect") or {}).get("failures") or {}).get("close_1011", 0)
    return lost, c1011, ooo


def target_rows(results, scenarios):
    """[(figure, baseline, ours, target, verdict)] for the table of issue 4."""

    def s(key, app, path):
        return stats(results.get(key, {}).get(app, []), path)

    def med(st):
        return None if st is None else st[0]

    def verdict(ok):
        return "n/a" if ok is None else ("**met**" if ok else "**not met**")

    rows = []
    b, o = (
        s("firehose", "baseline", "server_us_per_delivery"),
        s("firehose", "ours", "server_us_per_delivery"),
    )
    ok = None if not (b and o) else o[0] <= b[0] / 5
    rows.append(
        (
            "server CPU per delivered message (firehose)",
            cell(b, "µs"),
            cell(o, "µs"),
            f"≤ 1/5 of baseline (ratio {ratio(b, o)})",
            verdict(ok),
        )
    )
    b, o = (
        s("firehose", "baseline", "delivered_per_s"),
        s("firehose", "ours", "delivered_per_s"),
    )
    ok = None if not (b and o) else o[0] >= 3 * b[0]
    rows.append(
        (
            scenarios["firehose"]["title"] + ", delivered/s",
            cell(b),
            cell(o),
            f"≥ 3× baseline (ratio {ratio(b, o)})",
            verdict(ok),
        )
    )
    b, o = (
        s("paced5", "baseline", "latency_ms.p99"),
        s("paced5", "ours", "latency_ms.p99"),
    )
    rows.append(
        (
            scenarios["paced5"]["title"] + ", p99",
            cell(b, "ms"),
            cell(o, "ms"),
            "≤ 50 ms",
            verdict(None if o is None else o[0] <= 50),
        )
    )
    bp, op = (
        s("paced10", "baseline", "latency_ms.p99"),
        s("paced10", "ours", "latency_ms.p99"),
    )
    br, orr = (
        s("paced10", "baseline", "delivered_ratio"),
        s("paced10", "ours", "delivered_ratio"),
    )
    ok = None if not (op and orr) else (orr[0] >= 0.95 and op[0] <= 100)
    rows.append(
        (
            scenarios["paced10"]["title"],
            f"{cell(br)} of offered, p99 {cell(bp, 'ms')}",
            f"{cell(orr)} of offered, p99 {cell(op, 'ms')}",
            "≥ 95 % of offered, p99 ≤ 100 ms",
            verdict(ok),
        )
    )
    b, o = (
        s("idle_large", "baseline", "time_to_last_ms"),
        s("idle_large", "ours", "time_to_last_ms"),
    )
    rows.append(
        (
            f"one message to {scenarios['idle_large']['n']:,} idle sockets",
            cell(b, "ms"),
            cell(o, "ms"),
            "≤ 500 ms",
            verdict(None if o is None else o[0] <= 500),
        )
    )
    b, o = (
        s("idle_large", "baseline", "rss_kb_per_socket"),
        s("idle_large", "ours", "rss_kb_per_socket"),
    )
    rows.append(
        (
            f"memory per idle socket ({scenarios['idle_large']['n']:,} sockets)",
            cell(b, "KB"),
            cell(o, "KB"),
            "≤ 35 KB",
            verdict(None if o is None else o[0] <= 35),
        )
    )
    ev = {
        a: bad_events([r for k in results for r in results[k].get(a, [])]) for a in APPS
    }
    have_ours = any(results[k].get("ours") for k in results if k != "ssot")
    rows.append(
        (
            "lost / 1011 / out-of-seq-order deliveries, all scenarios, all runs",
            " / ".join(map(str, ev["baseline"])),
            " / ".join(map(str, ev["ours"])),
            "0 / 0 / 0",
            verdict(sum(ev["ours"]) == 0 if have_ours else None),
        )
    )
    o = s("ssot", "ours", "wall_s")
    rc = [r.get("returncode") for r in results.get("ssot", {}).get("ours", [])]
    ok = None if o is None else (o[0] < 1 and all(c == 0 for c in rc))
    rows.append(
        (
            "`check_redis_ssot` wall time",
            "—",
            cell(o, "s") + f" (exit {rc})",
            "< 1 s, exit 0",
            verdict(ok),
        )
    )
    return rows


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
    lines += [
        "",
        "![latency percentiles and CPU per delivery](benchmarks.png)",
        "",
        "## Scenarios",
        "",
    ]
    for key, sc in scenarios.items():
        lines += scenario_table(sc, results.get(key, {}))
    lines += (
        ["## How it is measured", ""] + meta["method"] + ["", "## Commands", "", "```"]
    )
    lines += meta["commands"] + ["```", ""]
    return "\n".join(lines)
