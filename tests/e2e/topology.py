"""The production topology on loopback, from the files in deploy/ (ports filled in).

    cluster = SentinelCluster(folder).start()   # primary, replica, 3 sentinels (deploy/redis/)
    cluster.url                                  # redis+sentinel://:pw@127.0.0.1:p1,.../chat/0
    cluster.primary_port()                       # what the sentinels say now
    cluster.kill_primary()                       # SIGKILL, by PID
    cluster.stop()

A deploy file is used as shipped except for the values `fill` replaces, each of which must
appear in it exactly once: a test can never run a copy that drifted from the shipped file.
"""

import time
from pathlib import Path

import redis

from scripts.redis_server import RedisServer, free_port

__all__ = [
    "DEPLOY",
    "fill",
    "SentinelCluster",
    "sentinel_env",
    "PRIMARY_PASSWORD",
    "SENTINEL_PASSWORD",
]

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PRIMARY_PASSWORD = "change-me-primary-password"  # the shipped placeholders, kept
SENTINEL_PASSWORD = "change-me-sentinel-password"
SERVICE = "chat"
# Detection in the tests: 1 s instead of the shipped 3 s (the shipped value is what the
# default grace of 10 s is sized for; a shorter one only makes the test faster).
DOWN_AFTER_MS = 1000


def fill(path, replacements):
    """The text of deploy file path with each key replaced by its value (each key once)."""
    text = Path(path).read_text()
    for old, new in replacements.items():
        count = text.count(old)
        if count != 1:
            raise AssertionError(f"{path}: {old!r} appears {count} times, expected once")
        text = text.replace(old, new)
    return text


class SentinelCluster:
    """A primary, a replica and three sentinels on free loopback ports, all ours (by PID)."""

    def __init__(self, folder, sentinels=3):
        self.folder = Path(folder)
        self.count = sentinels
        self.nodes = []  # RedisServer: the primary first, then the replica
        self.sentinels = []

    def _node(self, name, replica_of=None):
        folder = self.folder / name
        folder.mkdir(parents=True, exist_ok=True)
        port = free_port()
        conf = folder / "chat.conf"
        conf.write_text(
            fill(
                DEPLOY / "redis" / "redis.conf",
                {"bind 0.0.0.0": "bind 127.0.0.1", "port 6379": f"port {port}"},
            )
            + (f"replicaof 127.0.0.1 {replica_of}\n" if replica_of else "")
        )
        return RedisServer(folder, port=port, config=conf)

    def _sentinel(self, index, primary_port):
        folder = self.folder / f"sentinel-{index}"
        folder.mkdir(parents=True, exist_ok=True)
        port = free_port()
        conf = folder / "sentinel.conf"  # sentinel rewrites it: a copy of its own
        conf.write_text(
            fill(
                DEPLOY / "redis" / "sentinel.conf",
                {
                    "port 26379": f"port {port}",
                    "bind 0.0.0.0": "bind 127.0.0.1",
                    "dir /var/lib/redis": f"dir {folder}",
                    "chat 10.0.0.21 6379 2": f"chat 127.0.0.1 {primary_port} 2",
                    "down-after-milliseconds chat 3000": f"down-after-milliseconds chat {DOWN_AFTER_MS}",
                    "failover-timeout chat 10000": "failover-timeout chat 4000",
                },
            )
        )
        return RedisServer(folder, port=port, config=conf, extra_args=["--sentinel"])

    @property
    def addresses(self):
        return ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)

    @property
    def url(self):
        return f"redis+sentinel://:{PRIMARY_PASSWORD}@{self.addresses}/{SERVICE}/0"

    def start(self, timeout=20.0):
        primary = self._node("primary").start()
        replica = self._node("replica", replica_of=primary.port).start()
        self.nodes = [primary, replica]
        self.sentinels = [self._sentinel(i, primary.port).start() for i in range(self.count)]
        self.wait_settled(timeout)
        return self

    def sentinel_client(self, index=0):
        return redis.Redis(
            host="127.0.0.1", port=self.sentinels[index].port, password=SENTINEL_PASSWORD,
            socket_timeout=2, decode_responses=True,
        )  # fmt: skip

    def master_state(self):
        """SENTINEL MASTER chat from the first sentinel that answers, as a dict."""
        for index, server in enumerate(self.sentinels):
            if server.process is None or server.process.poll() is not None:
                continue
            client = self.sentinel_client(index)
            try:
                return client.sentinel_master(SERVICE)
            except redis.RedisError:
                continue
            finally:
                client.close()
        return None

    def primary_port(self):
        state = self.master_state()
        return int(state["port"]) if state else None

    def node_on(self, port):
        return next((n for n in self.nodes if n.port == port), None)

    def wait_settled(self, timeout):
        """Until every sentinel knows the others and the primary has its replicas."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.master_state()
            replicas = sum(1 for n in self.nodes if n.process.poll() is None) - 1
            if (
                state
                and int(state["num-other-sentinels"]) >= self.count - 1
                and int(state["num-slaves"]) >= replicas
                and "s_down" not in state["flags"]
            ):
                return state
            time.sleep(0.1)
        raise RuntimeError(
            f"the sentinels did not settle within {timeout} s: {self.master_state()}"
        )

    def primary_client(self):
        """A plain client on the current primary (no name: --live counts it as unnamed)."""
        return redis.Redis(
            host="127.0.0.1", port=self.primary_port(), password=PRIMARY_PASSWORD, socket_timeout=2
        )

    def kill_primary(self):
        """SIGKILL the current primary; returns its port."""
        port = self.primary_port()
        self.node_on(port).kill()
        return port

    def wait_promoted(self, old_port, timeout=20.0):
        """The port of the new primary once the sentinels name one other than old_port."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            port = self.primary_port()
            if port and port != old_port:
                return port
            time.sleep(0.05)
        raise RuntimeError(f"no new primary within {timeout} s: {self.master_state()}")

    def stop(self):
        for server in [*self.sentinels, *self.nodes]:
            server.stop()


def sentinel_env(cluster, **overrides):
    """The environment of a server process on cluster's Sentinel URL (overrides win)."""
    return {"REDIS_URL": cluster.url, "REDIS_SENTINEL_PASSWORD": SENTINEL_PASSWORD, **overrides}


class Nginx:
    """nginx in front of daphne processes, from deploy/nginx/chat.conf with the ports filled
    in, inside a minimal main configuration (events, http) written here."""

    SITE = DEPLOY / "nginx" / "chat.conf"
    SHIPPED_UPSTREAMS = ("10.0.0.11:8001", "10.0.0.12:8001", "10.0.0.13:8001")

    def __init__(self, folder, upstream_ports, static_root):
        self.folder = Path(folder)
        self.upstream_ports = list(upstream_ports)
        self.static_root = Path(static_root)
        self.port = None
        self.process = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def site_text(self):
        if len(self.upstream_ports) != len(self.SHIPPED_UPSTREAMS):
            raise ValueError(f"the shipped site names {len(self.SHIPPED_UPSTREAMS)} upstreams")
        replacements = {
            f"server {shipped} ": f"server 127.0.0.1:{port} "
            for shipped, port in zip(self.SHIPPED_UPSTREAMS, self.upstream_ports)
        }
        replacements["listen 80;"] = f"listen 127.0.0.1:{self.port};"
        replacements["alias /srv/chat/var/static/;"] = f"alias {self.static_root}/;"
        return fill(self.SITE, replacements)

    def main_config(self):
        import os

        user = "user root;\n" if os.geteuid() == 0 else ""  # workers read the test's files
        temp = self.folder / "temp"
        return (
            f"{user}daemon off;\nworker_processes 1;\npid {self.folder}/nginx.pid;\n"
            f"error_log {self.folder}/error.log warn;\n"
            "events { worker_connections 4096; }\n"
            "http {\n"
            "    include /etc/nginx/mime.types;\n"
            f"    access_log {self.folder}/access.log;\n"
            f"    client_body_temp_path {temp}/body;\n    proxy_temp_path {temp}/proxy;\n"
            f"    fastcgi_temp_path {temp}/fastcgi;\n    uwsgi_temp_path {temp}/uwsgi;\n"
            f"    scgi_temp_path {temp}/scgi;\n"
            f"    include {self.folder}/site.conf;\n"
            "}\n"
        )

    def write(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "temp").mkdir(exist_ok=True)
        self.port = self.port or free_port()
        (self.folder / "site.conf").write_text(self.site_text())
        (self.folder / "nginx.conf").write_text(self.main_config())
        return self.folder / "nginx.conf"

    def test_config(self):
        """`nginx -t` on the written configuration: (returncode, output)."""
        import subprocess

        result = subprocess.run(
            [nginx_binary(), "-t", "-c", str(self.write()), "-p", str(self.folder)],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        return result.returncode, result.stdout + result.stderr

    def start(self, timeout=10.0):
        import subprocess
        import urllib.request

        config = self.write()
        log = open(self.folder / "nginx.out", "ab")
        self.process = subprocess.Popen(
            [nginx_binary(), "-c", str(config), "-p", str(self.folder)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {(self.folder / 'error.log').read_text()}")
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not answer within {timeout} s")

    def stop(self, timeout=10.0):
        """SIGTERM (fast shutdown: open WebSockets would hold a graceful one), SIGKILL when
        it does not exit in time; by PID."""
        import signal
        import subprocess

        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)


def nginx_binary():
    import shutil

    return shutil.which("nginx") or "/usr/sbin/nginx"
