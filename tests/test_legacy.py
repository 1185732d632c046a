import importlib

import pytest

import redis_core
from redis_core import legacy
from redis_core.legacy import RedisCoreDeprecationWarning

# The modules listed in settings.REDIS_CORE_LEGACY_MODULES register themselves on import.
MODULES, PROBLEMS = legacy.legacy_modules()
CASES = [(module, name) for module, names in MODULES.items() for name in names]


def test_registry__every_listed_module_declares_its_names():
    assert PROBLEMS == []
    assert set(MODULES) >= {"chat.redis_client", "chatproject.redis", "redis_core.compat"}


def test_listed_module_without_names__is_a_problem(settings):
    settings.REDIS_CORE_LEGACY_MODULES = ["redis_core.options"]
    _, problems = legacy.legacy_modules()
    assert len(problems) == 1 and "redis_core.options declares no deprecated names" in problems[0]


def test_listed_module_that_does_not_exist__is_a_problem(settings):
    settings.REDIS_CORE_LEGACY_MODULES = ["nowhere.redis"]
    _, problems = legacy.legacy_modules()
    assert len(problems) == 1 and problems[0].startswith("nowhere.redis cannot be imported")


def test_deprecated_module__registers_and_warns_with_djangos_format():
    module_getattr = legacy.deprecated_module("tests.fake_legacy", {"R": (lambda: 42, "X()")})
    try:
        assert legacy.registry()["tests.fake_legacy"]["R"][1] == "X()"
        with pytest.warns(
            RedisCoreDeprecationWarning,
            match=r"^tests\.fake_legacy\.R is deprecated\. Use X\(\) instead\.$",
        ):
            assert module_getattr("R") == 42
    finally:
        legacy._registry.pop("tests.fake_legacy")


@pytest.mark.parametrize(("module_name", "attribute"), CASES)
def test_legacy_path__is_the_managers_object_and_warns(module_name, attribute):
    module = importlib.import_module(module_name)
    with pytest.warns(
        RedisCoreDeprecationWarning, match=rf"{module_name}\.{attribute} is deprecated"
    ):
        value = getattr(module, attribute)
    manager = redis_core.get_manager()
    expected = {
        "redis": manager.client(),
        "redis_client": manager.client(),
        "REDIS": manager.client(),
        "POOL": manager.client().connection_pool,
        "redis_manager": manager,
        "get_redis_connection": redis_core.client,
        "get_manager": redis_core.get_manager,
    }[attribute]
    assert value is expected


def test_warning_points_at_the_caller():
    import chat.redis_client

    with pytest.warns(RedisCoreDeprecationWarning) as record:
        chat.redis_client.redis  # noqa: B018
    assert record[0].filename == __file__


def test_unknown_attribute__raises_attribute_error():
    import chatproject.redis

    with pytest.raises(AttributeError):
        chatproject.redis.nothing_here  # noqa: B018
