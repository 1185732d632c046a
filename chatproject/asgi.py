"""ASGI entry point: HTTP through Django, WebSocket through origin check, auth (an API
token or the session), routing."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings")
django_asgi_app = get_asgi_application()  # sets Django up before the consumers import

from channels.routing import ProtocolTypeRouter, URLRouter

from chat.realtime import shutdown, startup
from chat.realtime.origin import SameOriginValidator
from chat.realtime.routing import websocket_urlpatterns
from chat.realtime.tokenauth import TokenOrSessionAuth
from chat.realtime.transport import TransportProbe

# Under daphne, SIGTERM closes every socket with 4001 before the process exits (nothing
# is installed by importing a module: this is the entry point's own decision).
shutdown.install()
# Under daphne, the Redis health monitor runs from the start, not from the first socket:
# chat_redis_ready is exported (and 1) on a process that has not served anyone yet.
startup.install()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # The probe is outermost: it must see daphne's own send callable.
        "websocket": TransportProbe(
            SameOriginValidator(TokenOrSessionAuth(URLRouter(websocket_urlpatterns)))
        ),
    }
)
