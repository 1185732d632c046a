"""ASGI entry point of the benchmark baseline (as in the Channels tutorial)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baseline_project.settings")


def build():
    django_asgi_app = get_asgi_application()  # sets Django up before the rest is imported
    from channels.auth import AuthMiddlewareStack
    from channels.routing import ProtocolTypeRouter, URLRouter
    from channels.security.websocket import AllowedHostsOriginValidator
    from django.urls import re_path

    from baseline_project.consumers import ChatConsumer

    websocket_urlpatterns = [
        re_path(r"^ws/chat/(?P<room>[a-z0-9][a-z0-9_-]{0,63})/$", ChatConsumer.as_asgi()),
    ]
    return ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": AllowedHostsOriginValidator(
                AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
            ),
        }
    )


application = build()
