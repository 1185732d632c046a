"""Run by tests/test_internals_guard.py as a script: a real daphne Server in this process.

It serves two WebSocket connections from raw loopback sockets and prints one JSON document
of what it found on daphne's, autobahn's and Twisted's real objects. It imports nothing of
the chat (its modules may move); the test names the attributes and says where each is used.

Usage: python tests/internals_probe.py '<json: {"protocol": [...], "transport": [...]}>'
"""

import asyncio
import base64
import functools
import json
import os
import signal
import socket
import struct
import sys
import threading

import daphne.server  # installs Twisted's asyncio reactor, as daphne's CLI does
from daphne.http_protocol import HTTPFactory
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import reactor, tcp

NAMES = json.loads(sys.argv[1])
WRITE_SIZE = 64 * 1024
WRITES = 256  # 16 MiB: more than loopback's kernel buffers hold for a peer that does not read
report = {"errors": []}
state = {"server": None, "port": None}
client_read_first = threading.Event()


def attributes(obj, names):
    return {
        name: type(getattr(obj, name)).__name__ if hasattr(obj, name) else None for name in names
    }


def handshake(port, path, rcvbuf=None):
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(20)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def read_frame(sock):
    """(opcode, payload) of one unmasked server frame."""

    def exact(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    first, second = exact(2)
    length = second & 0x7F
    if length == 126:
        length = struct.unpack("!H", exact(2))[0]
    elif length == 127:
        length = struct.unpack("!Q", exact(8))[0]
    return first & 0x0F, exact(length)


def buffer_client(port):
    # A small receive buffer and no reads after the first frame: a slow reader.
    sock = handshake(port, "/buffer", rcvbuf=4096)
    report["client_first_frame"] = read_frame(sock)[1].decode()
    client_read_first.set()
    state["buffer_socket"] = sock  # kept open, never read again


def close_client(port):
    sock = handshake(port, "/close")
    opcode, payload = read_frame(sock)
    report["close_frame"] = {"opcode": opcode, "code": struct.unpack("!H", payload[:2])[0]}
    sock.close()


def buffered(transport):
    return len(transport.dataBuffer) - transport.offset + transport._tempDataLen


async def app(scope, receive, send):
    try:
        await serve(scope, receive, send)
    except Exception as exc:  # reported, never lost in daphne's logs
        report["errors"].append(f"{scope.get('path')}: {type(exc).__name__}: {exc}")
        raise


async def serve(scope, receive, send):
    assert scope["type"] == "websocket"
    assert (await receive())["type"] == "websocket.connect"
    report.setdefault("send_is_partial", {})[scope["path"]] = isinstance(send, functools.partial)
    protocol = send.args[0]
    await send({"type": "websocket.accept"})
    await asyncio.sleep(0.05)
    if scope["path"] == "/buffer":
        await buffer_checks(protocol)
    else:
        close_checks(protocol)


async def buffer_checks(protocol):
    transport = protocol.transport
    report["protocol_is_websocket"] = isinstance(protocol, WebSocketProtocol)
    report["protocol"] = attributes(protocol, NAMES["protocol"])
    report["protocol_class"] = attributes(type(protocol), NAMES["protocol_class"])
    report["transport"] = attributes(transport, NAMES["transport"])
    report["traffic_stats"] = attributes(protocol.trafficStats, NAMES["traffic_stats"])
    report["state_is_open"] = protocol.state == type(protocol).STATE_OPEN
    report["compress_is_none"] = protocol._perMessageCompress is None
    report["send_queue_len"] = len(protocol.send_queue)
    report["auto_fragment_size"] = protocol.autoFragmentSize
    report["plain_tcp"] = isinstance(transport, tcp.Connection)
    report["tls"] = getattr(transport, "TLS", False)
    report["socket_is_socket"] = isinstance(transport.socket, socket.socket)
    report["socket_timeout"] = transport.socket.gettimeout()
    report["socket_peer_is_client"] = transport.socket.getpeername()[0] == "127.0.0.1"
    report["disconnecting"] = transport.disconnecting
    before = protocol.trafficStats.outgoingWebSocketMessages
    protocol.sendMessage(b"hello", False)
    report["outgoing_messages_delta"] = protocol.trafficStats.outgoingWebSocketMessages - before
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, client_read_first.wait, 10)
    await asyncio.sleep(0.1)
    growth = []
    for _ in range(WRITES):
        start = buffered(transport)
        transport.write(b"x" * WRITE_SIZE)
        growth.append(buffered(transport) - start)
        await asyncio.sleep(0)  # let Twisted flush what the kernel takes
    await asyncio.sleep(0.5)
    report["write_growth"] = sorted(set(growth))
    report["buffered_after_writes"] = buffered(transport)
    report["written"] = WRITE_SIZE * WRITES
    threading.Thread(target=close_client, args=(state["port"],), daemon=True).start()


def close_checks(protocol):
    server = state["server"]
    details = server.connections.get(protocol)
    report["connections_details_is_dict"] = isinstance(details, dict)
    report["disconnected_before_close"] = "disconnected" in (details or {"disconnected": 1})
    protocol.serverClose(code=4001)
    reactor.callLater(1.0, finish, details)


def finish(details):
    server = state["server"]
    # The same dict: daphne may already have dropped a finished, disconnected connection.
    report["disconnected_after_close"] = "disconnected" in details
    readers = [
        r for r in reactor.getReaders() if isinstance(getattr(r, "factory", None), HTTPFactory)
    ]
    report["listening_readers"] = len(readers)
    report["reader_has_stop_listening"] = all(hasattr(r, "stopListening") for r in readers)
    report["reader_factory_server_is_server"] = all(r.factory.server is server for r in readers)
    for reader in readers:
        reader.stopListening()
    reactor.callLater(0.2, refused_then_stop)


def refused_then_stop():
    try:
        socket.create_connection(("127.0.0.1", state["port"]), timeout=2).close()
        report["refused_after_stop_listening"] = False
    except OSError:
        report["refused_after_stop_listening"] = True
    print(json.dumps(report, default=repr), flush=True)
    reactor.stop()


def when_running():
    # What chat/realtime/shutdown.py finds in its reactor.callWhenRunning hook.
    report["sigint_is_reactor_method"] = (
        getattr(signal.getsignal(signal.SIGINT), "__self__", None) is reactor
    )
    report["sigterm_is_callable"] = callable(signal.getsignal(signal.SIGTERM))
    report["reactor_has"] = {
        n: hasattr(reactor, n) for n in ("callFromThread", "stop", "getReaders")
    }
    ports = [
        r for r in reactor.getReaders() if isinstance(getattr(r, "factory", None), HTTPFactory)
    ]
    state["port"] = ports[0].getHost().port
    threading.Thread(target=buffer_client, args=(state["port"],), daemon=True).start()


def main():
    assert daphne.server  # imported for its reactor installation
    server = daphne.server.Server(app, endpoints=["tcp:port=0:interface=127.0.0.1"], verbosity=0)
    state["server"] = server
    reactor.callWhenRunning(when_running)
    reactor.callLater(60, reactor.stop)  # never hang the test
    server.run()


if __name__ == "__main__":
    main()
