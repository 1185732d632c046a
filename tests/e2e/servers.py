"""Real servers for end-to-end tests: one redis-server, one database, N daphne processes.

The API, all of it (tests/e2e/conftest.py wraps it in the `stack`, `pg_stack` and
`db_stack` fixtures; tests/e2e/clients.py has a JSON WebSocket client):

    stack = Stack(folder, database="sqlite")   # or "postgresql" (a server of its own)
    stack.start()                              # Redis, database, `migrate` and `collectstatic` once
    stack.fresh_database()                     # a new copy of the migrated database (per test)
    a, b = stack.start_daphne(2, CHAT_MESSAGE_RATE="0")  # env overrides; ready on free ports
    cookies = stack.sessions(["alice", "bob"]) # users + logged-in session ids {name: sessionid}
    ws = await websockets.connect(a.ws_url("lobby"), **a.ws_options(cookies["alice"]))
    a.get_json("/readyz")                      # (status, body); a.get(path) -> (status, bytes)
    stack.manage("check_redis_ssot", "--json", check=False)  # manage.py with the stack's env
    stack.redis_client()                       # a plain redis-py client, to inspect keys
    a.terminate(); a.wait(15)                  # SIGTERM by PID; a.log_text() reads its output
    a.restart()                                # stop by PID, start again on the same port
    stack.stop()                               # every process it started, by PID

Every wait is bounded; only processes started here are signalled, by their PID; loopback only.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from scripts.redis_server import RedisServer, free_port

__all__ = ["Stack", "Daphne", "PostgresServer", "ROOT", "postgres_binaries"]

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0


class Daphne:
    """One `daphne chatproject.asgi:application` process on 127.0.0.1:port."""

    def __init__(self, env, folder, name):
        self.env = env
        self.name = name
        self.port = None
        self.process = None
        self.log_path = Path(folder) / f"{name}.log"

    @property
    def pid(self):
        return self.process.pid

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, room, query=""):
        return f"ws://127.0.0.1:{self.port}/ws/chat/{room}/" + (f"?{query}" if query else "")

    def ws_options(self, sessionid=None):
        """Keyword arguments for websockets.connect: the Origin a browser sends, the cookie."""
        options = {"origin": self.url, "open_timeout": 10, "close_timeout": 5}
        if sessionid:
            options["additional_headers"] = {"Cookie": f"sessionid={sessionid}"}
        return options

    def _spawn(self):
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
                 "chatproject.asgi:application"],
                cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            )  # fmt: skip

    def start(self, timeout=START_TIMEOUT, port=None):
        """Start on a free port, or on port (a restart behind a proxy that names it)."""
        for _attempt in range(3):  # a free port can be taken between probing and binding
            self.port = port or free_port()
            self._spawn()
            if self.wait_healthy(timeout):
                return self
            if self.process.poll() is None:
                self.kill()
                break
        raise RuntimeError(f"daphne {self.name} did not serve /healthz:\n{self.log_tail()}")

    def restart(self, timeout=START_TIMEOUT):
        """Stop the process (SIGTERM by PID, bounded) and start a new one on the same port,
        so that clients come back to the address they knew."""
        self.stop()
        self._spawn()
        if not self.wait_healthy(timeout):
            raise RuntimeError(f"daphne {self.name} did not restart:\n{self.log_tail()}")
        return self

    def wait_healthy(self, timeout):
        """True once GET /healthz answers 200; False when the process exits or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if self.get("/healthz", timeout=1)[0] == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def get(self, path, timeout=5, headers=None):
        """(status, body bytes) of GET path; HTTP errors are returned, not raised."""
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def get_json(self, path, timeout=5):
        status, body = self.get(path, timeout)
        return status, json.loads(body)

    def terminate(self):
        """SIGTERM (graceful: sockets are closed with 4001 first)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout=STOP_TIMEOUT):
        """The exit status; raises subprocess.TimeoutExpired after timeout seconds."""
        return self.process.wait(timeout)

    def kill(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, wait (bounded), SIGKILL when it does not exit."""
        if self.process is None or self.process.poll() is not None:
            return
        self.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_text(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, chars=4000):
        return self.log_text()[-chars:]


def postgres_binaries():
    """(initdb, postgres) paths, or None when PostgreSQL is not installed."""
    found = [shutil.which(name) for name in ("initdb", "postgres")]
    if all(found):
        return tuple(found)
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / "initdb").exists() and (folder / "postgres").exists():
            return str(folder / "initdb"), str(folder / "postgres")
    return None


class PostgresServer:
    """A throwaway PostgreSQL cluster on a free loopback port, in its own folder.

    PostgreSQL refuses to run as root; as root the server runs as the `postgres` user
    that Debian's package creates, in a folder of its own under /tmp.
    """

    USER = "chat"

    def __init__(self, database="chat"):
        self.database = database
        self.port = None
        self.folder = None
        self.process = None

    @property
    def url(self):
        return f"postgres://{self.USER}@127.0.0.1:{self.port}/{self.database}"

    def _run_as(self):
        return (
            {"user": "postgres", "group": "postgres", "extra_groups": []}
            if os.geteuid() == 0
            else {}
        )

    def start(self, timeout=START_TIMEOUT):
        binaries = postgres_binaries()
        if binaries is None:
            raise RuntimeError("PostgreSQL is not installed: run scripts/ensure_postgresql.sh.")
        initdb, postgres = binaries
        import tempfile

        self.folder = Path(tempfile.mkdtemp(prefix="chat-test-pg-"))
        as_user = self._run_as()
        if as_user:
            shutil.chown(self.folder, "postgres", "postgres")
        data = self.folder / "data"
        subprocess.run(
            [initdb, "-D", str(data), "-U", self.USER, "-A", "trust", "-E", "UTF8",
             "--no-locale", "--no-sync", "--no-instructions"],
            check=True, capture_output=True, timeout=120, cwd=self.folder, **as_user,
        )  # fmt: skip
        self.port = free_port()
        with open(self.folder / "postgres.log", "ab") as log:
            self.process = subprocess.Popen(
                [postgres, "-D", str(data), "-p", str(self.port),
                 "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.folder}",
                 "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                 "-c", "max_connections=200"],
                cwd=self.folder, stdin=subprocess.DEVNULL, stdout=log, stderr=log, **as_user,
            )  # fmt: skip
        self._wait_ready(timeout)
        self._create_database()
        return self

    def _connect(self, dbname):
        import psycopg

        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.USER, dbname=dbname, connect_timeout=2,
            autocommit=True,
        )  # fmt: skip

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited:\n{self.log_tail()}")
            try:
                self._connect("postgres").close()
                return
            except Exception:  # not accepting yet
                time.sleep(0.1)
        raise RuntimeError(f"postgres did not accept connections within {timeout} s")

    def _create_database(self):
        self.create_database(self.database)

    def create_database(self, name, template=None):
        """CREATE DATABASE name (a copy of template when given); returns its URL."""
        with self._connect("postgres") as connection:
            copy = f' TEMPLATE "{template}"' if template else ""
            connection.execute(f'CREATE DATABASE "{name}"{copy}')
        return f"postgres://{self.USER}@127.0.0.1:{self.port}/{name}"

    def log_tail(self, chars=3000):
        path = self.folder / "postgres.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGINT is PostgreSQL's fast shutdown; SIGKILL only if it does not exit in time."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


class Stack:
    """One Redis and one database shared by the daphne processes started from it."""

    def __init__(self, folder, database="sqlite", env=None):
        self.folder = Path(folder)
        self.kind = database
        self.redis = RedisServer(self.folder / "redis")
        self.postgres = (
            PostgresServer(database="chat_template") if database == "postgresql" else None
        )
        self.extra_env = dict(env or {})
        self.daphnes = []
        self.started = 0
        self.databases = 0
        self.database_url = None  # the template's once started, then a fresh copy per test

    def _template_url(self):
        if self.postgres is not None:
            return self.postgres.url
        return f"sqlite:///{self.folder / 'template.sqlite3'}"

    def fresh_database(self):
        """Point the stack (and daphne processes started from now on) at a new database:
        a copy of the one migrated at start. Returns its URL."""
        self.databases += 1
        name = f"chat_{self.databases}"
        if self.postgres is not None:
            self.database_url = self.postgres.create_database(name, template="chat_template")
        else:
            import sqlite3

            path = self.folder / f"{name}.sqlite3"
            source = sqlite3.connect(self.folder / "template.sqlite3")
            target = sqlite3.connect(path)
            try:
                source.backup(target)
            finally:
                target.close()
                source.close()
            self.database_url = f"sqlite:///{path}"
        return self.database_url

    def environment(self, **overrides):
        """The environment of every process of the stack (the operating contract's variables)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        env.update(
            REDIS_URL=self.redis.url,
            DATABASE_URL=self.database_url,
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY="test",
            DJANGO_SETTINGS_MODULE="chatproject.settings",
            CHAT_VAR_DIR=str(self.folder / "var"),
            CHAT_STATIC_MANIFEST="1",  # hashed names, as deployed: needs collectstatic (start)
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        env.update({k: str(v) for k, v in overrides.items()})
        return env

    def start(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "var").mkdir(exist_ok=True)
        self.redis.start()
        if self.postgres is not None:
            self.postgres.start()
        self.database_url = self._template_url()
        self.manage("migrate", "--noinput")  # into the template; each test gets a copy
        self.manage("collectstatic", "--noinput", "-v", "0")  # the manifest pages need
        self.fresh_database()
        return self

    def manage(self, *args, check=True, timeout=120, **env):
        """Run `manage.py args` with the stack's environment; returns CompletedProcess."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.environment(**env),
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        if check and result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result

    def start_daphne(self, count=1, **env):
        """Start count daphne processes (environment overrides in env); returns them, ready."""
        started = []
        for _ in range(count):
            self.started += 1  # log files are never reused across tests
            daphne = Daphne(self.environment(**env), self.folder, f"daphne-{self.started}")
            self.daphnes.append(daphne)
            started.append(daphne.start())
        return started

    def sessions(self, names):
        """Create users (unusable passwords) and a logged-in session each: {name: sessionid}."""
        script = _SESSIONS_SCRIPT.replace("NAMES", json.dumps(list(names)))
        result = self.manage("shell", "-v", "0", "-c", script)
        return json.loads(result.stdout.strip().splitlines()[-1])

    def redis_client(self):
        """A plain redis-py client on the stack's Redis, for a test to inspect keys.

        It sets no client name, so check_redis_ssot --live counts it as unnamed: close it.
        """
        import redis

        return redis.Redis.from_url(self.redis.url, socket_timeout=5)

    def flush_redis(self):
        """Empty the stack's Redis (between tests)."""
        client = self.redis_client()
        try:
            client.flushall()
        finally:
            client.close()

    def stop_daphnes(self):
        for daphne in self.daphnes:
            daphne.stop()
        self.daphnes = []

    def stop(self):
        self.stop_daphnes()
        self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()


_SESSIONS_SCRIPT = """
import json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
cookies = {}
for name in NAMES:
    user, created = get_user_model().objects.get_or_create(username=name)
    if created:
        user.set_unusable_password()
        user.save()
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    cookies[name] = session.session_key
print(json.dumps(cookies))
"""
