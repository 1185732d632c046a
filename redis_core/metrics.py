"""The Redis manager's Prometheus metrics, read at scrape time (registered by redis_core).

The names keep the chat_redis_ prefix that dashboards and the contract already use.
"""

import threading

from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from . import ManagerNotReady, RedisNotConfigured, get_manager

__all__ = ["ManagerCollector", "register"]

_lock = threading.Lock()
_registered = {}


class ManagerCollector:
    """The Redis manager's own numbers, read at scrape time: its pools per loop and readiness."""

    def describe(self):
        return []  # names are dynamic; nothing to check for clashes at registration

    def collect(self):
        try:
            stats = get_manager().stats()
        except (ManagerNotReady, RedisNotConfigured):
            return
        labels = ["role", "loop"]
        families = {
            "connections": GaugeMetricFamily(
                "chat_redis_pool_connections",
                "Connections the pool holds (idle and in use)",
                labels=labels,
            ),
            "in_use": GaugeMetricFamily(
                "chat_redis_pool_in_use",
                "Connections of the pool lent out right now",
                labels=labels,
            ),
            "max_connections": GaugeMetricFamily(
                "chat_redis_pool_max_connections", "The pool's connection limit", labels=labels
            ),
        }
        ready_family = GaugeMetricFamily(
            "chat_redis_ready",
            "1 while this loop's health monitor sees Redis answer (probed every second)",
            labels=["loop"],
        )
        loop_index = 0
        for pool in stats["pools"]:
            loop = ""
            if pool["role"] == "async":
                loop = str(loop_index)
                loop_index += 1
                ready_family.add_metric([loop], 1 if pool.get("ready") else 0)
            for key, family in families.items():
                family.add_metric([pool["role"], loop], pool[key])
        yield from families.values()
        yield ready_family
        yield CounterMetricFamily(
            "chat_redis_probe_errors",
            "Failed or slow readiness probes of the manager's health monitors",
            value=stats["errors"],
        )
        yield CounterMetricFamily(
            "chat_redis_busy_pool_probes",
            "Readiness probes that timed out waiting in the busy pool while Redis answered on "
            "the monitor's own connection (a storm, not an outage: no grace, no 4012)",
            value=stats["busy_pool_probes"],
        )
        yield CounterMetricFamily(
            "chat_redis_grace_entries",
            "Times Redis stopped answering while ready: each opens a loss grace (a failover "
            "or an outage); sockets stay open through it",
            value=stats["grace_entries"],
        )
        yield CounterMetricFamily(
            "chat_redis_primary_changes",
            "Times Redis answered with a new run_id: a failover to another primary, or a "
            "restart; rooms then catch up from the database",
            value=stats["primary_changes"],
        )
        yield GaugeMetricFamily(
            "chat_redis_last_recovery_seconds",
            "How long the latest outage lasted, from the first failed probe to the first answer "
            "(0 before any)",
            value=stats["last_recovery_seconds"] or 0,
        )
        yield GaugeMetricFamily(
            "chat_redis_loss_grace_seconds",
            "Seconds without an answering primary before sockets are closed with 4012",
            value=stats["loss_grace"],
        )
        yield CounterMetricFamily(
            "chat_redis_async_pools_created", "Async pools made (one per event loop)",
            value=stats["async_pools_created"],
        )  # fmt: skip
        yield CounterMetricFamily(
            "chat_redis_async_pools_closed", "Async pools closed with their loop",
            value=stats["async_pools_closed"],
        )  # fmt: skip


def register(registry=REGISTRY):
    """Register one ManagerCollector with registry (once; later calls return the same one).

    Its describe() names nothing, so prometheus_client cannot refuse a second copy: this
    function is what keeps the pool metrics from appearing twice.
    """
    with _lock:
        if id(registry) not in _registered:
            collector = ManagerCollector()
            registry.register(collector)
            _registered[id(registry)] = collector
        return _registered[id(registry)]
