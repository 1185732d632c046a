"""The target table of issue 4, with a verdict per row."""

from tables import APPS, cell, ratio, stats


def bad_events(results):
    """(lost, 1011 closes or failures, out-of-order) summed over runs of one app."""
    lost = ooo = c1011 = 0
    for r in results:
        lost += r.get("lost") or 0
        ooo += r.get("out_of_order") or 0
        c1011 += (r.get("close_codes") or {}).get("1011", 0)
        for phase in ("connect", "reconnect"):
            c1011 += ((r.get(phase) or {}).get("failures") or {}).get("close_1011", 0)
    return lost, c1011, ooo


def target_rows(results, scenarios):
    """[(figure, baseline, ours, target, verdict)] for the table of issue 4."""

    def title(key):
        return scenarios.get(key, {}).get("title", key)

    big = f"{scenarios.get('idle_large', {}).get('n', 5000):,}"

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
            title("firehose") + ", delivered/s",
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
            title("paced5") + ", p99",
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
            title("paced10"),
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
            f"one message to {big} idle sockets",
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
            f"memory per idle socket ({big} sockets)",
            cell(b, "KB"),
            cell(o, "KB"),
            "≤ 35 KB",
            verdict(None if o is None else o[0] <= 35),
        )
    )
    runs = {a: [r for k in results if k != "ssot" for r in results[k].get(a, [])] for a in APPS}
    ok_runs = {a: [r for r in runs[a] if "error" not in r] for a in APPS}
    ev = {a: " / ".join(map(str, bad_events(ok_runs[a]))) if ok_runs[a] else "n/a" for a in APPS}
    failed = sum(1 for r in runs["ours"] if "error" in r)
    if failed:
        ev["ours"] += f" ({failed} failed runs)"
    rows.append(
        (
            "lost / 1011 / out-of-seq-order deliveries, all scenarios, all runs",
            ev["baseline"],
            ev["ours"],
            "0 / 0 / 0",
            verdict(None if not ok_runs["ours"] else ev["ours"] == "0 / 0 / 0"),
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
