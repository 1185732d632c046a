from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_migrate

        from . import follows, signals

        signals.connect()
        follows.connect()
        connection_created.connect(_count_connection, dispatch_uid="chat.db_connections")
        post_migrate.connect(_search_index, sender=self, dispatch_uid="chat.search_index")


def _count_connection(sender, connection, **kwargs):
    from . import metrics

    metrics.db_connections_opened.inc()


def _search_index(using, **kwargs):
    """After `migrate`: the search index's triggers, should a migration have dropped them."""
    from django.db import connections

    from . import search_index

    search_index.ensure(connections[using])
