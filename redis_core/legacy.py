"""Old import paths kept alive as proxies to the manager, warning at each use site.

Each legacy module declares its own deprecated names with deprecated_module(); redis_core
only keeps the registry they add themselves to, and names no module of the project.
check_redis_ssot imports the modules listed in settings.REDIS_CORE_LEGACY_MODULES and
verifies every registered name.
"""

import importlib
import warnings

__all__ = [
    "RedisCoreDeprecationWarning",
    "deprecated_module",
    "registry",
    "legacy_modules",
    "resolve",
    "manager",
    "sync_client",
]

DEFAULT_LEGACY_MODULES = ["redis_core.compat"]


class RedisCoreDeprecationWarning(DeprecationWarning):
    """An old Redis helper was used; it now forwards to redis_core's manager."""


# module name -> {attribute: (a function returning the object, what to use instead)}
_registry = {}


def manager():
    """The process's manager (a resolver for deprecated names)."""
    from . import get_manager

    return get_manager()


def sync_client():
    """The manager's sync client (a resolver for deprecated names)."""
    return manager().client()


def deprecated_module(module_name, names):
    """Register module_name's deprecated names; returns the module's __getattr__ (PEP 562).

    names maps each old attribute to (resolver, replacement): `resolver()` is the manager's
    object the old name now stands for, `replacement` what the warning tells callers to use.
    """
    entries = dict(names)
    _registry[module_name] = entries

    def __getattr__(name):
        try:
            target, instead = entries[name]
        except KeyError:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}") from None
        warnings.warn(
            f"{module_name}.{name} is deprecated. Use {instead} instead.",
            RedisCoreDeprecationWarning,
            stacklevel=2,
        )
        return target()

    return __getattr__


def registry():
    """Every registered legacy module and its names (a copy)."""
    return {module: dict(entries) for module, entries in _registry.items()}


def legacy_modules():
    """Import settings.REDIS_CORE_LEGACY_MODULES; return ({module: names}, problems).

    A listed module that cannot be imported or registers nothing is a problem; a module
    that registered itself without being listed is verified all the same.
    """
    from django.conf import settings

    problems = []
    for module_name in getattr(settings, "REDIS_CORE_LEGACY_MODULES", DEFAULT_LEGACY_MODULES):
        try:
            importlib.import_module(module_name)
        except ImportError as exc:
            problems.append(f"{module_name} cannot be imported ({exc})")
            continue
        if module_name not in _registry:
            problems.append(
                f"{module_name} declares no deprecated names "
                "(__getattr__ = redis_core.legacy.deprecated_module(__name__, {...}))"
            )
    return registry(), problems


def resolve(module_name, attribute):
    """What module.attribute resolves to, without a warning (for the check command)."""
    return _registry[module_name][attribute][0]()
