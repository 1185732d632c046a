"""`check_redis_ssot --live`: Redis's CLIENT LIST grouped by the managers' client names.

Every connection a manager opens announces `chat/<host>/<pid>/<role>` (CLIENT SETNAME);
anything else connected to the chat's Redis was built beside the managers and is flagged.
"""

import os
import time
from collections import Counter
from dataclasses import dataclass, field

from redis.exceptions import RedisError

from . import get_manager, options

__all__ = [
    "ProcessConnections",
    "LiveReport",
    "group_clients",
    "read_clients",
    "live_results",
    "live_checks",
    "check_live_clients",
    "ROLE_LIMITS",
]

# What one process may hold per role: its sync pool, and the async pool of its one event
# loop (daphne runs one; a pubsub connection is taken from that same pool).
ROLE_LIMITS = {"sync": options.SYNC_MAX_CONNECTIONS, "async": options.ASYNC_MAX_CONNECTIONS}


@dataclass
class ProcessConnections:
    """The connections of one server process, counted by role."""

    host: str
    pid: int
    roles: Counter = field(default_factory=Counter)

    @property
    def total(self):
        return sum(self.roles.values())

    @property
    def label(self):
        return f"{self.host}/{self.pid}"

    def over_limit(self, limits=ROLE_LIMITS):
        """['role: n > limit', ...] for each role holding more than its pool allows."""
        over = []
        for role, count in sorted(self.roles.items()):
            limit = limits.get(role, sum(limits.values()))
            if count > limit:
                over.append(f"{role}: {count} > {limit}")
        return over

    def describe(self):
        roles = ", ".join(f"{role}={n}" for role, n in sorted(self.roles.items()))
        return f"{self.label}: {self.total} connections ({roles})"


@dataclass
class LiveReport:
    """CLIENT LIST, grouped: server processes, unnamed connections, Redis's own links."""

    processes: list
    unnamed: list  # CLIENT LIST entries (dicts) that no manager named
    internal: int  # replication links and Sentinel's own connections (not clients of ours)


def _is_internal(entry):
    flags = entry.get("flags", "")
    return "S" in flags or "M" in flags or (entry.get("name") or "").startswith("sentinel-")


def group_clients(clients):
    """Pure: a LiveReport from CLIENT LIST entries (dicts with 'name', 'addr', 'flags', ...)."""
    processes, unnamed, internal = {}, [], 0
    for entry in clients:
        if _is_internal(entry):
            internal += 1
            continue
        name = options.ClientName.parse(entry.get("name"))
        if name is None:
            unnamed.append(entry)
            continue
        key = (name.host, name.pid)
        processes.setdefault(key, ProcessConnections(name.host, name.pid)).roles[name.role] += 1
    return LiveReport([processes[key] for key in sorted(processes)], unnamed, internal)


def describe_unnamed(entry):
    name = entry.get("name") or "unset"
    lib = entry.get("lib-name") or "unknown client"
    return (
        f"{entry.get('addr', '?')} (id {entry.get('id', '?')}, name {name!r}, {lib}, "
        f"last command {entry.get('cmd', '?')!r}, age {entry.get('age', '?')} s)"
    )


def read_clients():
    """(CLIENT LIST entries, milliseconds it took) through the manager's sync client: with
    a Sentinel URL, of the primary the sentinels name now."""
    started = time.perf_counter()
    clients = get_manager().client().client_list()
    return clients, (time.perf_counter() - started) * 1000


def _primary():
    """' of primary host:port' when the sentinels named the primary read, else ''."""
    pool = get_manager().client().connection_pool
    address = getattr(pool, "master_address", None)
    return f" of primary {address[0]}:{address[1]}" if address else ""


def _results(report, ms):
    from .ssot import CheckResult

    me = (options.client_name("sync").host, os.getpid())
    results = []
    for process in report.processes:
        over = process.over_limit()
        this = " (this command)" if (process.host, process.pid) == me else ""
        if over:
            detail = f"{process.describe()}{this}: more than its pools allow ({'; '.join(over)})"
        else:
            detail = process.describe() + this
        results.append(CheckResult(f"live_process {process.label}", not over, detail))
    if report.unnamed:
        detail = (
            f"{len(report.unnamed)} connection(s) no manager named (a competing client): "
            + "; ".join(describe_unnamed(e) for e in report.unnamed)
        )
        results.append(CheckResult("live_unnamed", False, detail))
    else:
        results.append(CheckResult("live_unnamed", True, "every connection was named by a manager"))
    servers = len([p for p in report.processes if (p.host, p.pid) != me])
    summary = (
        f"CLIENT LIST{_primary()} in {ms:.1f} ms: {sum(p.total for p in report.processes)} named connections "
        f"from {servers} server process(es) and this command, {len(report.unnamed)} unnamed"
    )
    if report.internal:
        summary += f", {report.internal} replication/Sentinel link(s) ignored"
    ok = all(r.ok for r in results)
    return [CheckResult("live_clients", ok, summary), *results]


def _unreachable(exc):
    from .ssot import CheckResult

    return CheckResult(
        "live_clients",
        False,
        f"CLIENT LIST failed ({type(exc).__name__}: {exc}). Start Redis or fix REDIS_URL; "
        "a managed Redis may need CLIENT allowed for this user.",
    )


def live_results():
    """[summary, one per server process, unnamed] as CheckResults, from one CLIENT LIST."""
    try:
        clients, ms = read_clients()
    except (RedisError, OSError) as exc:
        return [_unreachable(exc)]
    return _results(group_clients(clients), ms)


def live_checks():
    """Zero-argument checks for run_checks(extra=...): CLIENT LIST is read once, now."""
    return [lambda result=result: result for result in live_results()]


def check_live_clients():
    """One CheckResult for all of --live: the summary, each process, then any failure."""
    summary, *details = live_results()
    lines = [r.detail for r in details if r.name.startswith("live_process")]
    lines += [r.detail for r in details if not r.ok and not r.name.startswith("live_process")]
    return type(summary)("live_clients", summary.ok, "; ".join([summary.detail, *lines]))
