from django.conf import settings

from redis_core.scan import scan_source, scan_tree


def test_project_tree__builds_redis_only_in_redis_core():
    assert scan_tree(settings.BASE_DIR) == []


def test_scan_source__finds_each_kind_of_construction():
    source = """
import redis
import redis.asyncio as aioredis
from redis import Redis, ConnectionPool
from redis.asyncio import from_url
import aioredis
a = redis.Redis(host="x")
b = redis.StrictRedis.from_url("redis://x")
c = Redis()
d = ConnectionPool(max_connections=3)
e = from_url("redis://x")
f = redis.asyncio.BlockingConnectionPool.from_url("redis://x")
"""
    lines = [line for line, _ in scan_source(source)]
    assert set(lines) == {6, 7, 8, 9, 10, 11, 12}


def test_scan_source__ignores_the_managers_api_and_unrelated_names():
    source = """
from redis_core import get_manager
client = get_manager().client()
pool = other.ConnectionPool()
"""
    assert scan_source(source) == []
