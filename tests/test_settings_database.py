"""Database settings: a bounded pool on PostgreSQL, no persistent connections anywhere."""

import json
import os
import subprocess
import sys

from django.conf import settings


def database_settings(**env):
    """settings.DATABASES["default"] of a fresh interpreter with env (reads nothing else)."""
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.DATABASES['default'], default=str))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=settings.BASE_DIR, capture_output=True, text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "chatproject.settings", **env}, timeout=60,
    )  # fmt: skip
    return result.returncode, result.stdout, result.stderr


def test_postgresql__pool_sized_from_the_environment_and_no_persistent_connections():
    code, out, err = database_settings(
        DATABASE_URL="postgres://chat@127.0.0.1:5432/chat", DATABASE_POOL_MAX="7"
    )
    assert code == 0, err
    default = json.loads(out)
    assert default["CONN_MAX_AGE"] == 0  # Django refuses a pool with persistent connections
    assert default["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 7, "timeout": 10}


def test_postgresql__pool_min_above_max__refused_with_the_fix():
    code, _, err = database_settings(
        DATABASE_URL="postgres://chat@127.0.0.1:5432/chat",
        DATABASE_POOL_MIN="5",
        DATABASE_POOL_MAX="2",
    )
    assert code != 0 and "DATABASE_POOL_MIN <= DATABASE_POOL_MAX" in err


def test_sqlite__connections_closed_after_each_request():
    default = settings.DATABASES["default"]
    assert default["ENGINE"] == "django.db.backends.sqlite3"
    assert default["CONN_MAX_AGE"] == 0 and "pool" not in default["OPTIONS"]
