import importlib

import pytest

import redis_core
from redis_core.legacy import LEGACY_PATHS, RedisCoreDeprecationWarning

CASES = [(module, name) for module, names in LEGACY_PATHS.items() for name in names]


def test_registry_lists_at_least_three_old_modules():
    assert len(LEGACY_PATHS) >= 3


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
