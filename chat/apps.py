from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.backends.signals import connection_created

        from . import follows, signals

        signals.connect()
        follows.connect()
        connection_created.connect(_count_connection, dispatch_uid="chat.db_connections")


def _count_connection(sender, connection, **kwargs):
    from . import metrics

    metrics.db_connections_opened.inc()
