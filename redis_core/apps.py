from django.apps import AppConfig


class RedisCoreConfig(AppConfig):
    name = "redis_core"
    verbose_name = "Redis core"

    def ready(self):
        # No I/O here: ready() runs for every manage.py command and before daphne's loop.
        from django.conf import settings

        from . import build_manager, checks  # noqa: F401 - checks registers itself

        try:
            build_manager(settings.REDIS_URL)
        except ValueError:
            # Reported by the system check redis_core.E001 (and by get_manager()), so that
            # `manage.py check` can say what is wrong instead of a traceback at start-up.
            pass
