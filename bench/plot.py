"""docs/benchmarks.png: fan-out latency percentiles and server CPU per delivery."""

import matplotlib.pyplot as plt
from tables import APPS, stats

COLORS = {"baseline": "#b0b0b0", "ours": "#2b6cb0"}
PCTS = ("p50", "p90", "p99", "max")


def plot(results, scenarios, path):
    plt.switch_backend("agg")
    fanout = [k for k, sc in scenarios.items() if sc["kind"] == "fanout"]
    cpu_keys = [k for k, sc in scenarios.items() if sc["kind"] in ("fanout", "idle")]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [3, 2]})
    width = 0.4
    labels, x = [], 0
    ticks = []
    for key in fanout:
        for p in PCTS:
            for i, app in enumerate(APPS):
                st = stats(results.get(key, {}).get(app, []), f"latency_ms.{p}")
                if st is None:
                    continue
                med, lo, hi, _ = st
                ax1.bar(
                    x + (i - 0.5) * width,
                    med,
                    width,
                    color=COLORS[app],
                    yerr=[[med - lo], [hi - med]],
                    capsize=2,
                    label=app if (key, p) == (fanout[0], PCTS[0]) else None,
                )
            ticks.append(x)
            labels.append(f"{p}\n{key}")
            x += 1
        x += 0.5
    ax1.set_xticks(ticks, labels, fontsize=7)
    ax1.set_yscale("log")
    ax1.set_ylabel("fan-out latency, ms (log)")
    ax1.set_title("Latency percentiles (median of runs, bars: min–max)")
    ax1.grid(axis="y", alpha=0.3)
    if ax1.get_legend_handles_labels()[0]:
        ax1.legend()
    for j, key in enumerate(cpu_keys):
        for i, app in enumerate(APPS):
            st = stats(results.get(key, {}).get(app, []), "server_us_per_delivery")
            if st is None:
                continue
            med, lo, hi, _ = st
            ax2.bar(
                j + (i - 0.5) * width,
                med,
                width,
                color=COLORS[app],
                yerr=[[med - lo], [hi - med]],
                capsize=2,
                label=app if j == 0 else None,
            )
            ax2.annotate(
                f"{med:.0f}",
                (j + (i - 0.5) * width, med),
                ha="center",
                va="bottom",
                fontsize=7,
            )
    ax2.set_xticks(range(len(cpu_keys)), cpu_keys, fontsize=8, rotation=20)
    ax2.set_ylabel("server CPU per delivered message, µs")
    ax2.set_title("Server CPU per delivery (lower is better)")
    ax2.grid(axis="y", alpha=0.3)
    if ax2.get_legend_handles_labels()[0]:
        ax2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
