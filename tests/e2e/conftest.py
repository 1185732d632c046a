"""Fixtures for end-to-end tests on real daphne processes (see tests/e2e/servers.py).

- `stack`: the SQLite stack (one redis-server, one SQLite file, migrated once), shared by
  the session. Each test gets a fresh copy of the migrated database and an empty Redis;
  after it, the daphne processes it started are stopped (by PID).
- `pg_stack`: the same on a PostgreSQL server that the session starts itself.
- `cluster`: a Sentinel-guarded Redis of the test's own (primary, replica, 3 sentinels).
- `db_stack`: parametrized over both, for tests that must hold on either database.
"""

import pytest

from tests.e2e.servers import Stack
from tests.e2e.topology import SentinelCluster


def _session_stack(tmp_path_factory, database):
    stack = Stack(tmp_path_factory.mktemp(f"e2e-{database}"), database=database)
    try:
        stack.start()
    except BaseException:
        stack.stop()
        raise
    return stack


def _per_test(stack):
    stack.fresh_database()
    yield stack
    stack.stop_daphnes()
    if stack.redis.process is None or stack.redis.process.poll() is not None:
        stack.redis.start()  # a test stopped it
    stack.flush_redis()


@pytest.fixture(scope="session")
def _sqlite_stack(tmp_path_factory):
    stack = _session_stack(tmp_path_factory, "sqlite")
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def _postgres_stack(tmp_path_factory):
    stack = _session_stack(tmp_path_factory, "postgresql")
    yield stack
    stack.stop()


@pytest.fixture
def stack(_sqlite_stack):
    yield from _per_test(_sqlite_stack)


@pytest.fixture
def pg_stack(_postgres_stack):
    yield from _per_test(_postgres_stack)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_stack(request):
    name = "_sqlite_stack" if request.param == "sqlite" else "_postgres_stack"
    yield from _per_test(request.getfixturevalue(name))


@pytest.fixture
def cluster(tmp_path):
    """A primary, a replica and three sentinels of its own (tests/e2e/topology.py)."""
    cluster = SentinelCluster(tmp_path / "sentinel")
    try:
        yield cluster.start()
    finally:
        cluster.stop()
