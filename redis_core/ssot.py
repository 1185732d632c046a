"""The checks behind `manage.py check_redis_ssot`: each returns a CheckResult."""

import asyncio
import gc
import importlib
import time
import warnings
from dataclasses import asdict, dataclass

from django.conf import settings
from redis.exceptions import RedisError

from . import get_manager, legacy
from .layers import SharedRedisChannelLayer
from .manager import RedisManager
from .scan import scan_tree

__all__ = ["CheckResult", "run_checks"]

ROUND_TRIP_TIMEOUT = 3.0


@dataclass
class CheckResult:
    name: str
    ok: bool
    detail: str

    def as_dict(self):
        return asdict(self)


def check_single_manager():
    gc.collect()  # count live managers only, not garbage awaiting collection
    managers = list(RedisManager.instances)
    current = get_manager()
    if managers == [current]:
        return CheckResult("single_manager", True, f"one manager in the process: {current!r}")
    return CheckResult(
        "single_manager",
        False,
        f"{len(managers)} RedisManager objects in the process ({managers!r}); only "
        "redis_core.get_manager() may create one.",
    )


def check_legacy_paths():
    modules, problems = legacy.legacy_modules()
    count = 0
    for module_name, entries in modules.items():
        module = importlib.import_module(module_name)
        for attribute in entries:
            count += 1
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                value = getattr(module, attribute)
            expected = legacy.resolve(module_name, attribute)
            warned = any(issubclass(w.category, legacy.RedisCoreDeprecationWarning) for w in caught)
            if value is not expected:
                problems.append(f"{module_name}.{attribute} is not the manager's object")
            if not warned:
                problems.append(f"{module_name}.{attribute} does not warn")
    if problems:
        return CheckResult("legacy_paths", False, "; ".join(problems))
    return CheckResult(
        "legacy_paths",
        True,
        f"{count} legacy names in {len(modules)} modules resolve to the manager's objects and warn",
    )


def check_channel_layer():
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if not isinstance(layer, SharedRedisChannelLayer):
        backend = settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND")
        return CheckResult(
            "channel_layer",
            False,
            f"CHANNEL_LAYERS['default'] is {backend!r}; set it to "
            "'redis_core.layers.SharedRedisChannelLayer'.",
        )

    async def same_connection():
        return layer.connection(0) is get_manager().async_client()

    if not asyncio.run(same_connection()):
        return CheckResult("channel_layer", False, "the layer's connection is not the manager's")
    return CheckResult("channel_layer", True, "the default layer borrows the manager's pool")


def check_source_scan():
    hits = scan_tree(settings.BASE_DIR)
    if hits:
        return CheckResult(
            "source_scan",
            False,
            "Redis built outside redis_core (use redis_core.get_manager()): " + "; ".join(hits),
        )
    return CheckResult("source_scan", True, "no Redis construction outside redis_core")


def check_redis_answers():
    manager = get_manager()
    try:
        started = time.perf_counter()
        manager.client().ping()
        rtt = (time.perf_counter() - started) * 1000
        version = manager.client().info("server").get("redis_version")
    except (RedisError, OSError) as exc:
        return CheckResult(
            "redis_answers",
            False,
            f"Redis at {manager.safe_url} does not answer ({type(exc).__name__}: {exc}). "
            "Start it or fix REDIS_URL.",
        )
    return CheckResult("redis_answers", True, f"PING {rtt:.2f} ms, Redis {version}")


def check_layer_round_trip():
    from channels.layers import get_channel_layer

    layer = get_channel_layer()

    async def round_trip():
        channel = await layer.new_channel("ssot-check.")
        started = time.perf_counter()
        await layer.send(channel, {"type": "ssot.check", "sent": started})
        message = await layer.receive(channel)
        return message, (time.perf_counter() - started) * 1000

    async def bounded():
        return await asyncio.wait_for(round_trip(), ROUND_TRIP_TIMEOUT)

    try:
        message, ms = asyncio.run(bounded())
    except (TimeoutError, RedisError, OSError) as exc:
        return CheckResult(
            "layer_round_trip",
            False,
            f"channel-layer send/receive failed ({type(exc).__name__}: {exc or 'timeout'}).",
        )
    if message.get("type") != "ssot.check":
        return CheckResult("layer_round_trip", False, f"received the wrong message: {message!r}")
    return CheckResult("layer_round_trip", True, f"send and receive in {ms:.2f} ms")


CHECKS = [
    check_single_manager,
    check_legacy_paths,
    check_channel_layer,
    check_source_scan,
    check_redis_answers,
    check_layer_round_trip,
]


def run_checks(extra=()):
    results = []
    for check in [*CHECKS, *extra]:
        try:
            results.append(check())
        except Exception as exc:  # a crashing check is a failed check, not a traceback
            results.append(CheckResult(check.__name__.removeprefix("check_"), False, repr(exc)))
    return results
