"""The target table of issue 12, with a verdict per row (ratios from the same run)."""

from tables import cell, ratio, stats
from targets import bad_events

CONNECT_LABELS = {
    "connect_history_user": "logged-in, 50 messages of history",
    "connect_empty_user": "logged-in, empty room",
    "connect_history_anon": "anonymous, 50 messages of history",
    "connect_empty_anon": "anonymous, empty room",
}


def verdict(ok):
    return "n/a" if ok is None else ("**met**" if ok else "**not met**")


def target_rows(results, scenarios):
    """[(figure, reference, ours, target, verdict)]; reference is the baseline, or the
    minimal server for the posts rows."""

    def s(key, app, path):
        return stats(results.get(key, {}).get(app, []), path)

    def pair(key, path, ref="baseline"):
        return s(key, ref, path), s(key, "ours", path)

    def n(key, default):
        return f"{scenarios.get(key, {}).get('n', default):,}"

    rows = []
    for key, label in CONNECT_LABELS.items():
        if key not in scenarios:
            continue
        b, o = pair(key, "connect.server_cpu_ms_per_socket")
        ok = None if not (b and o) else o[0] <= 0.7 * b[0]
        rows.append(
            (
                f"server CPU per connect, {label}",
                cell(b, "ms"),
                cell(o, "ms"),
                f"≤ 0.7× baseline (ratio {ratio(b, o)})",
                verdict(ok),
            )
        )
    if "reconnect" in scenarios:
        b, o = pair("reconnect", "reconnect.time_to_last_hello_s")
        runs = [r for r in results["reconnect"].get("ours", []) if "error" not in r]
        all_back = all(
            (r.get("reconnect") or {}).get("failed") == 0
            and not r.get("http_500")
            and not r.get("close_1011")
            for r in runs
        )
        ok = None if not (b and o and runs) else all_back and o[0] <= 0.5 * b[0]
        cpu = s("reconnect", "ours", "reconnect.server_ms_per_reconnect")
        bcpu = s("reconnect", "baseline", "reconnect.server_ms_per_reconnect")
        rows.append(
            (
                "reconnect storm, time to the last hello (all back, no 1011, no HTTP 500)",
                f"{cell(b, 's')}; {cell(bcpu, 'ms')} CPU each",
                f"{cell(o, 's')}; {cell(cpu, 'ms')} CPU each"
                + ("" if all_back else " (not all back)"),
                f"≤ 0.5× baseline (ratio {ratio(b, o)}), all back",
                verdict(ok),
            )
        )
    if "idle_cpu" in scenarios:
        b, o = pair("idle_cpu", "rss_kb_per_socket")
        big = scenarios["idle_cpu"]["args"][2]
        rows.append(
            (
                f"memory per idle socket (RSS growth, {big:,} sockets, fresh server)",
                cell(b, "KB"),
                cell(o, "KB"),
                "≤ 16 KB",
                verdict(None if o is None else o[0] <= 16),
            )
        )
        b, o = pair("idle_cpu", "idle_us_per_socket_s")
        rows.append(
            (
                "server CPU per idle socket per second",
                cell(b, "µs"),
                cell(o, "µs"),
                "≤ 5 µs/s",
                verdict(None if o is None else o[0] <= 5),
            )
        )
    if "firehose" in scenarios:
        b, o = pair("firehose", "server_us_per_delivery")
        rows.append(
            (
                "server CPU per delivery (firehose)",
                cell(b, "µs"),
                cell(o, "µs"),
                f"≤ 10 µs (ratio {ratio(b, o)})",
                verdict(None if o is None else o[0] <= 10),
            )
        )
    if "fanout10k" in scenarios:
        b, o = pair("fanout10k", "time_to_last_ms")
        rows.append(
            (
                f"one message to {n('fanout10k', 10000)} idle sockets, last delivery",
                cell(b, "ms"),
                cell(o, "ms"),
                "≤ 500 ms",
                verdict(None if o is None else o[0] <= 500),
            )
        )
    if "posts" in scenarios:
        m, o = pair("posts", "acked_per_s", ref="minimal")
        ok = None if not (m and o) else o[0] >= 0.7 * m[0]
        rows.append(
            (
                "stored and acked messages/s, 50 senders, PostgreSQL (reference: minimal)",
                cell(m),
                cell(o),
                f"≥ 0.7× minimal (ratio {ratio(m, o)})",
                verdict(ok),
            )
        )
    if "posts_paced" in scenarios:
        m, o = pair("posts_paced", "ack_ms.p99", ref="minimal")
        off = s("posts_paced", "ours", "offered_per_s")
        rows.append(
            (
                f"ack p99 at half the minimal's rate offered ({cell(off)}/s)",
                cell(m, "ms"),
                cell(o, "ms"),
                "≤ 100 ms",
                verdict(None if o is None else o[0] <= 100),
            )
        )
    ev = {}
    for app in ("baseline", "ours", "minimal"):
        runs = [
            r for k in results if k != "ssot" for r in results[k].get(app, []) if "error" not in r
        ]
        ev[app] = " / ".join(map(str, bad_events(runs))) if runs else "n/a"
    rows.append(
        (
            "lost / 1011 / out of order, every scenario (minimal: " + ev["minimal"] + ")",
            ev["baseline"],
            ev["ours"],
            "0 / 0 / 0",
            verdict(None if ev["ours"] == "n/a" else ev["ours"] == "0 / 0 / 0"),
        )
    )
    return rows
