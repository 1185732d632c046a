"""`make run`: a development Redis (unless REDIS_URL is set), migrations, static files, daphne."""

import os
import signal
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent


def main():
    env = dict(os.environ)
    env.setdefault("DJANGO_DEBUG", "1")
    var = Path(env.get("CHAT_VAR_DIR") or ROOT / "var")  # settings.py reads the same variable
    redis = None
    if not env.get("REDIS_URL"):
        folder = var / "redis"
        redis = RedisServer(folder, unix_socket=folder / "redis.sock")
        if redis.ping():
            print(f"Using the development Redis already running at {redis.url}")
            redis = None
        else:
            redis.start()
            print(f"Started the development Redis at {redis.url} (pid {redis.process.pid})")
    python = sys.executable
    try:
        subprocess.run([python, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True)
        # Hashed names when DJANGO_DEBUG=0: pages need the manifest collectstatic writes.
        subprocess.run(
            [python, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=ROOT, env=env, check=True,
        )  # fmt: skip
        host, port = env.get("CHAT_HOST", "127.0.0.1"), env.get("CHAT_PORT", "8000")
        print(f"Serving the chat on http://{host}:{port}/ (Ctrl+C stops it)")
        daphne = subprocess.Popen(
            [python, "-m", "daphne", "-b", host, "-p", port, "chatproject.asgi:application"],
            cwd=ROOT,
            env=env,
        )
        signal.signal(signal.SIGTERM, lambda *_: daphne.terminate())
        try:
            daphne.wait()
        except KeyboardInterrupt:
            daphne.terminate()
            daphne.wait(30)
    finally:
        if redis is not None:
            redis.stop()
            print("Stopped the development Redis")


if __name__ == "__main__":
    main()
