"""`check_redis_ssot --live`: Redis's CLIENT LIST grouped by the managers' client names."""

from collections import Counter

from redis.exceptions import RedisError

from . import get_manager, options

__all__ = ["group_clients", "check_live_clients"]


def group_clients(clients, max_per_process):
    """Pure: (lines per process, problems) from CLIENT LIST entries (dicts with 'name')."""
    per_process = Counter()
    rogue = []
    for entry in clients:
        name = options.ClientName.parse(entry.get("name"))
        if name is None:
            rogue.append(f"{entry.get('addr', '?')} (name {entry.get('name') or 'unset'!r})")
        else:
            per_process[(name.host, name.pid, name.role)] += 1
    processes = sorted({(host, pid) for host, pid, _ in per_process})
    lines, problems = [], []
    for host, pid in processes:
        roles = {role: n for (h, p, role), n in per_process.items() if (h, p) == (host, pid)}
        total = sum(roles.values())
        detail = ", ".join(f"{role}={n}" for role, n in sorted(roles.items()))
        lines.append(f"{host}/{pid}: {total} connections ({detail})")
        if total > max_per_process:
            problems.append(f"{host}/{pid} holds {total} connections, more than {max_per_process}")
    if rogue:
        problems.append("connections no manager named: " + ", ".join(rogue))
    return lines, problems


def check_live_clients():
    from .ssot import CheckResult

    manager = get_manager()
    try:
        clients = manager.client().client_list()
    except (RedisError, OSError) as exc:
        return CheckResult(
            "live_clients", False, f"CLIENT LIST failed ({type(exc).__name__}: {exc})"
        )
    # The checking process's own sync connection is named too; a process may hold its
    # sync pool, and one async pool per loop (daphne runs one loop).
    limit = options.SYNC_MAX_CONNECTIONS + options.ASYNC_MAX_CONNECTIONS
    lines, problems = group_clients(clients, limit)
    detail = "; ".join(lines) or "no named connections"
    if problems:
        return CheckResult("live_clients", False, "; ".join(problems) + f" | {detail}")
    return CheckResult("live_clients", True, detail)
