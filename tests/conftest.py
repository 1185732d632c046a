import asyncio

import pytest
from django.contrib.auth import get_user_model

from tests.redis_plugin import SERVER


@pytest.fixture
def redis_server():
    """The session's redis-server; started again after a test that stopped it."""
    if SERVER.process is None or SERVER.process.poll() is not None:
        SERVER.start()
    yield SERVER
    if SERVER.process is None or SERVER.process.poll() is not None:
        SERVER.start()


@pytest.fixture(autouse=True)
def _flush_redis(redis_server):
    from redis_core import get_manager

    get_manager().client().flushdb()
    yield


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_user(db):
    def make(name="alice"):
        return get_user_model().objects.create_user(name, password=f"pw-{name}-123456")

    return make


async def wait_until(predicate, timeout=5.0, interval=0.02):
    """Poll predicate (bounded) until it is true; returns its last value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(interval)
