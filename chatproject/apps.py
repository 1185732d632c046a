"""App configs of third-party apps, where their own would cost every command start-up time."""

from django.apps import AppConfig

__all__ = ["DaphneConfig"]


class DaphneConfig(AppConfig):
    """daphne's app (its `runserver`, serving HTTP and WebSocket), without importing its server.

    daphne's own config imports `daphne.server` (Twisted, about 0.5 s) in every process,
    `manage.py check_redis_ssot` included; its `runserver` command imports the server itself
    when it runs. Listed first in INSTALLED_APPS so that command wins over staticfiles' one.
    """

    name = "daphne"
    label = "daphne"
    verbose_name = "Daphne"

    def ready(self):
        _log_access_through_logging()


def _log_access_through_logging():
    """daphne writes its access log straight to stdout in NCSA format; send it through the
    `daphne.access` logger instead, so it has the same key=value format as every other line."""
    import logging

    from daphne.access import AccessLogGenerator  # small: no Twisted

    from .logfmt import quote

    log = logging.getLogger("daphne.access")

    def write_entry(self, host, date, request, status=None, length=None, ident=None, user=None):
        log.info(
            "event=access client=%s request=%s status=%s size=%s",
            host, quote(request), status or "-", length or "-",
        )  # fmt: skip

    AccessLogGenerator.write_entry = write_entry
