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
