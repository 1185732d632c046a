"""Small helpers shared by the benchmark tools: /proc readings, percentiles, ports."""

import os
import platform
import socket
import subprocess

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of a process, in seconds (None when it is gone or unknown)."""
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_kb(pid):
    """Resident set size of a process in KiB (VmRSS), None when unknown."""
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def percentile(sorted_values, q):
    """Nearest-rank percentile (q in 0..100) of an already sorted list; None if empty."""
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def summarize_ms(values_ns):
    """p50/p90/p99/max in milliseconds of a list of nanosecond durations."""
    vals = sorted(values_ns)
    out = {"count": len(vals)}
    for name, q in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100)):
        v = percentile(vals, q)
        out[name] = None if v is None else round(v / 1e6, 3)
    return out


def median(values):
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return None
    mid = len(vals) // 2
    return vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine_info():
    """CPU model, core count, memory, kernel and Python, for the report."""
    model, mhz = "unknown", None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model == "unknown":
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("cpu MHz") and mhz is None:
                    mhz = line.split(":", 1)[1].strip()
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split(":", 1)[1].split()[0])
            mem = f"{kb / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    nproc = subprocess.run(["nproc"], check=False, capture_output=True, text=True).stdout.strip()
    return {
        "cpu": model,
        "mhz": mhz,
        "nproc": nproc,
        "mem": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }
