from django.urls import re_path

from .consumer import ChatConsumer
from .inbox import InboxConsumer

# The room pattern is loose on purpose: an invalid name is accepted, then closed with
# 4404, so that a browser can read the code.
websocket_urlpatterns = [
    re_path(r"^ws/inbox/$", InboxConsumer.as_asgi()),
    re_path(r"^ws/chat/(?P<room>[^/]*)/$", ChatConsumer.as_asgi()),
    re_path(r"^", ChatConsumer.as_asgi()),
]
