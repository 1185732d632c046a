import functools

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from chat.realtime.transport import TransportProbe, Wire, websocket_frame


def parse(data):
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        return done.value
    raise AssertionError("incomplete frame")


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 70000])
def test_websocket_frame__a_valid_unmasked_text_frame(size):
    text = ("é" * size)[:size]
    frame = parse(websocket_frame(text))
    assert frame.opcode == Opcode.TEXT and frame.fin
    assert frame.data.decode("utf-8") == text


async def test_probe__finds_daphnes_protocol_behind_a_partial():
    class Protocol:
        transport = object()

        def sendMessage(self, payload, binary):
            pass

    protocol = Protocol()
    seen = {}

    async def inner(scope, receive, send):
        seen.update(scope)

    async def handle_reply(proto, message):
        pass

    await TransportProbe(inner)(
        {"type": "websocket"}, None, functools.partial(handle_reply, protocol)
    )
    assert seen["chat.protocol"] is protocol
    await TransportProbe(inner)({"type": "websocket"}, None, handle_reply)
    assert seen["chat.protocol"] is None


def test_wire__unknown_transport_reports_nothing_buffered():
    class Bare:
        transport = object()

    assert Wire(Bare()).buffered() == 0
