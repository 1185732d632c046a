from django.apps import AppConfig


class RedisCoreConfig(AppConfig):
    name = "redis_core"
    verbose_name = "Redis core"

    def ready(self):
        # No I/O here: ready() runs for every manage.py command and before daphne's loop.
        from . import RedisNotConfigured, checks, get_manager, metrics  # noqa: F401 - checks registers itself

        metrics.register()
        try:
            get_manager()  # built now, in the main thread, before any request races for it
        except RedisNotConfigured:
            # Not fatal here, so that `manage.py check` reports redis_core.E001 with its hint
            # instead of a start-up traceback; get_manager() raises it (with its cause) on use.
            pass
