"""redis_core.metrics: the manager's pool metrics, registered once by redis_core itself."""

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

import redis_core
from redis_core import metrics


def test_register__redis_core_registered_one_collector_at_ready():
    assert metrics.register() is metrics.register()
    names = [line for line in generate_latest(REGISTRY).decode().splitlines()]
    assert sum(line.startswith("# TYPE chat_redis_pool_connections ") for line in names) == 1


def test_collect__describes_the_managers_pools(redis_server):
    redis_core.get_manager().client().ping()
    registry = CollectorRegistry()
    metrics.register(registry)
    found = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in registry.collect()
        for s in f.samples
    }
    sync = (("loop", ""), ("role", "sync"))
    assert found[("chat_redis_pool_connections", sync)] >= 1
    assert ("chat_redis_async_pools_created_total", ()) in found


def test_collect__a_bad_redis_url_yields_nothing_instead_of_failing_the_scrape(settings):
    settings.REDIS_URL = "http://127.0.0.1:6379/0"
    assert list(metrics.ManagerCollector().collect()) == []
