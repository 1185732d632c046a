"""Tables of docs/benchmarks.md: medians with (min–max) per scenario and app."""

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
    ("server CPU per connect", "connect.server_cpu_ms_per_socket", "ms", "low"),
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
    ("server CPU per connect", "connect.server_cpu_ms_per_socket", "ms", "low"),
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
POSTS_ROWS = [
    ("stored and acked messages/s", "acked_per_s", "/s", "high"),
    ("offered messages/s (paced)", "offered_per_s", "/s", "high"),
    ("ack p50", "ack_ms.p50", "ms", "low"),
    ("ack p90", "ack_ms.p90", "ms", "low"),
    ("ack p99", "ack_ms.p99", "ms", "low"),
    ("ack max", "ack_ms.max", "ms", "low"),
    ("server CPU per post (its 50 deliveries included)", "server_ms_per_post", "ms", "low"),
    ("messages acked", "acked", "", "high"),
    ("posted, never acked", "unacked", "", "low"),
    ("delivery to the members p99", "latency_ms.p99", "ms", "low"),
    ("lost", "lost", "", "low"),
    ("out of seq order", "out_of_order", "", "low"),
    ("Redis CPU", "redis_cpu_s", "s", "low"),
    ("load client CPU", "client_cpu_s", "s", "low"),
]
RECONNECT_ROWS = [
    ("clients back (hello)", "reconnect.ok", "", "high"),
    ("of clients", "reconnect.clients", "", "high"),
    ("time to the last hello", "reconnect.time_to_last_hello_s", "s", "low"),
    ("time to hello p50", "reconnect.p50", "ms", "low"),
    ("server CPU per reconnect", "reconnect.server_ms_per_reconnect", "ms", "low"),
    ("connection attempts", "reconnect.attempts", "", "low"),
    ("HTTP 500 answers", "http_500", "", "low"),
    ("1011 closes while connecting", "close_1011", "", "low"),
    ("clients whose hello lacked what they missed", "resume_incomplete", "", "low"),
    ("server CPU per dropped socket", "server_ms_per_drop", "ms", "low"),
    ("one message to all afterwards: time until the last", "latency_ms.max", "ms", "low"),
    ("lost", "lost", "", "low"),
    ("initial connect: server CPU per connect", "connect.server_cpu_ms_per_socket", "ms", "low"),
]
IDLE_CPU_ROWS = [
    ("server CPU per idle socket per second", "idle_us_per_socket_s", "µs", "low"),
    ("server CPU, all sockets", "idle_cpu_us_per_s", "µs/s", "low"),
    ("server CPU before any socket", "empty_cpu_us_per_s", "µs/s", "low"),
    ("server RSS growth per socket", "rss_kb_per_socket", "KB", "low"),
    ("sockets open", "sockets", "", "high"),
    ("sockets still open at the end", "sockets_at_end", "", "high"),
    ("server CPU per connect", "connect.server_cpu_ms_per_socket", "ms", "low"),
    ("server RSS before", "rss_kb_before", "KB", "low"),
    ("server RSS after", "rss_kb_after", "KB", "low"),
]
CONNECT_ROWS = [
    ("server CPU per connect", "connect.server_cpu_ms_per_socket", "ms", "low"),
    ("connect + hello p50 (≤ 100 handshakes in flight)", "connect.p50", "ms", "low"),
    ("connect + hello p99", "connect.p99", "ms", "low"),
    ("all connected after", "connect.wall_s", "s", "low"),
    ("sockets connected", "connect.ok", "", "high"),
    ("messages in hello (mean)", "hello_history", "", "high"),
    ("anonymous in hello", "anonymous", "", "high"),
]
COMMAND_ROWS = [
    ("wall time", "wall_s", "s", "low"),
    ("reference: `manage.py check` wall time", "reference_wall_s", "s", "low"),
    ("exit status", "returncode", "", "low"),
]
ROWS = {
    "fanout": FANOUT_ROWS,
    "idle": IDLE_ROWS,
    "storm": STORM_ROWS,
    "posts": POSTS_ROWS,
    "reconnect": RECONNECT_ROWS,
    "idle_cpu": IDLE_CPU_ROWS,
    "connect": CONNECT_ROWS,
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
    vals = [v for v in (get(r, path) for r in results if "error" not in r) if v is not None]
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


def columns(sc):
    """(reference app, ours): the minimal server for posts, the baseline otherwise."""
    apps = sc.get("apps", APPS)
    return (apps[0] if apps[0] != "ours" else "baseline"), "ours"


def search_rows(res):
    """The search scenario's rows: its worst p95, then p50 and p95 of each kind of query
    (the kinds bench/search.py measured, in its order)."""
    first = next((r for runs in res.values() for r in runs if "kinds" in r), {"kinds": {}})
    rows = [("worst p95 of all kinds (target < 100 ms)", "worst_p95", "ms", "low")]
    for kind in first["kinds"]:
        rows.append((f"{kind}: p50", f"kinds.{kind}.p50", "ms", "low"))
        rows.append((f"{kind}: p95", f"kinds.{kind}.p95", "ms", "low"))
    rows.append(("bulk load of the messages, index included", "load_s", "s", "low"))
    return rows


def scenario_table(sc, res):
    lines = [f"### {sc['title']}", ""]
    if sc.get("note"):
        lines += [sc["note"], ""]
    if sc.get("how"):
        lines += [sc["how"], ""]
    ref, _ = cols = columns(sc)
    lines += [f"| figure | {ref} | ours | ours / {ref} |", "|---|---|---|---|"]
    rows = search_rows(res) if sc["kind"] == "search" else ROWS[sc["kind"]]
    for label, path, unit, _ in rows:
        sb, so = (stats(res.get(a, []), path) for a in cols)
        if sb is None and so is None:
            continue
        lines.append(f"| {label} | {cell(sb, unit)} | {cell(so, unit)} | {ratio(sb, so)} |")
    if sc["kind"] not in ("command", "search"):
        lines.append(
            "| close codes seen (sum of runs) | "
            + " | ".join(counters(res.get(a, []), "close_codes") for a in cols)
            + " | |"
        )
        lines.append(
            "| connect failures (sum of runs) | "
            + " | ".join(
                counters(res.get(a, []), "connect.failures", "reconnect.failures") for a in cols
            )
            + " | |"
        )
        lines.append(
            "| error frames (sum of runs) | "
            + " | ".join(counters(res.get(a, []), "errors") for a in cols)
            + " | |"
        )
    errors = [
        f"{a} run {i + 1}: {r['error']}"
        for a in cols
        for i, r in enumerate(res.get(a, []))
        if "error" in r
    ]
    if errors:
        lines += ["", "Failed runs: " + "; ".join(errors)]
    runs = {a: len(res.get(a, [])) for a in cols}
    lines += ["", f"Runs: {ref} {runs[ref]}, ours {runs['ours']}.", ""]
    return lines
