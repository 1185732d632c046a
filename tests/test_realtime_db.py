"""chat.realtime.db: the real-time side keeps its database connection while it is usable."""

import pytest
from django.db import OperationalError, connection

from chat.realtime.db import database_call, release_if_unusable

pytestmark = pytest.mark.django_db(transaction=True)


def _raw_connection():
    connection.ensure_connection()
    return connection.connection


async def test_database_call__keeps_the_connection_between_calls():
    first = await database_call(_raw_connection)()
    second = await database_call(_raw_connection)()
    assert first is second


async def test_database_call__a_failed_query_on_a_usable_connection_keeps_it():
    def failing():
        with connection.cursor() as cursor:
            cursor.execute("SELECT no_such_column FROM no_such_table")

    before = await database_call(_raw_connection)()
    with pytest.raises(OperationalError):
        await database_call(failing)()
    assert await database_call(lambda: connection.errors_occurred)() is False
    assert await database_call(_raw_connection)() is before


# The test database is in memory, where Django ignores close(): these two use a file.


@pytest.fixture
def file_database(tmp_path, settings):
    from django.db.backends.sqlite3.base import DatabaseWrapper

    wrapper = DatabaseWrapper({**settings.DATABASES["default"], "NAME": str(tmp_path / "x.db")})
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def test_release_if_unusable__a_transaction_left_open_is_not_carried_over(file_database):
    file_database.set_autocommit(False)
    with file_database.cursor() as cursor:
        cursor.execute("SELECT 1")
    release_if_unusable([file_database])
    assert file_database.connection is None  # closed: the next call opens a fresh one
    file_database.ensure_connection()
    assert file_database.get_autocommit() is True


def test_release_if_unusable__a_healthy_connection_stays(file_database):
    raw = file_database.connection
    file_database.errors_occurred = True  # an error that left it usable
    release_if_unusable([file_database])
    assert file_database.connection is raw and not file_database.errors_occurred
