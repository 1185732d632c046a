"""The baseline's one consumer: the Channels tutorial's chat, speaking just enough of the
wire contract for bench/loadtool.py.

One ``group_add`` per socket, one ``group_send`` per message, and every member JSON-encodes
the message itself, as in the tutorial. The room's ``seq`` comes from a Redis INCR; no
message is stored anywhere.
"""

import asyncio
import json
from datetime import UTC, datetime

import redis.asyncio as aioredis
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

_clients = {}  # one client per event loop, made lazily (the baseline may build its own)


def _redis():
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = _clients[loop] = aioredis.Redis.from_url(settings.REDIS_URL)
    return client


def _now_iso():
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


class ChatConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.room = self.scope["url_route"]["kwargs"]["room"]
        self.group = f"chat_{self.room}"
        user = self.scope.get("user")
        self.username = user.username if user is not None and user.is_authenticated else None
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        seq = int(await _redis().get(f"baseline:seq:{self.room}") or 0)
        await self.send_json(
            {
                "type": "hello",
                "room": self.room,
                "user": self.username,
                "seq": seq,
                "history": [],
                "complete": True,
            }
        )

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def send_json(self, obj):
        await self.send(text_data=json.dumps(obj))

    async def error(self, code, detail):
        await self.send_json({"type": "error", "code": code, "detail": detail})

    async def receive(self, text_data=None, bytes_data=None):
        try:
            data = json.loads(text_data) if text_data is not None else None
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return await self.error("bad_json", "Frames must be JSON objects.")
        kind = data.get("type")
        if kind == "ping":
            return await self.send_json({"type": "pong"})
        if kind != "message":
            return await self.error("bad_type", "Unknown type.")
        text, client_id = data.get("text"), data.get("client_id")
        if not isinstance(text, str):
            return await self.error("bad_field", "text must be a string.")
        if self.username is None:
            return await self.error("auth_required", "Log in to post.")
        text = text.strip()
        if not text:
            return await self.error("empty", "Empty message.")
        if len(text) > 4000:
            return await self.error("too_long", "Message over 4000 characters.")
        seq = await _redis().incr(f"baseline:seq:{self.room}")
        message = {
            "type": "message",
            "room": self.room,
            "seq": seq,
            "user": self.username,
            "text": text,
            "ts": _now_iso(),
            "client_id": client_id,
        }
        await self.send_json({"type": "ack", "client_id": client_id, "seq": seq})
        await self.channel_layer.group_send(
            self.group, {"type": "chat.message", "message": message}
        )

    async def chat_message(self, event):
        await self.send(text_data=json.dumps(event["message"]))
