"""The listening side of a graceful shutdown (chat.realtime.shutdown) under daphne.

Prometheus scrapes each process directly, so a process that stopped listening at SIGTERM
could not show its own drain (`chat_draining`, its sockets closing). Instead, from the
SIGTERM on (`gate`), a new connection is read up to its request line: `/metrics`,
`/healthz` and `/readyz` are served, and so is any method but GET and HEAD (nginx never
sends a POST again, so it is served here and waited for); every other GET or HEAD,
WebSocket handshakes included, gets 503 with `Connection: close`, which nginx takes as
"try the next process" (`proxy_next_upstream http_503`) and counts against this one
(`max_fails`). Connections opened before are closed after their response when busy, and
when idle after IDLE_GRACE (`close_keepalive`): an idle one may hold a request already on its
way (a connection just accepted, a keep-alive one nginx just reused), which is read and served
meanwhile instead of cut. What comes next goes through the gate.
Requests in flight are waited for (`wait_requests`) before the port closes (`stop`): none
is cut by the reactor's stop.
"""

import asyncio

from twisted.internet.protocol import Protocol

__all__ = [
    "SERVED", "admitted", "DrainGate", "gate", "close_keepalive", "requests_in_flight",
    "wait_requests", "stop",
]  # fmt: skip

SERVED = frozenset({b"/metrics", b"/healthz", b"/readyz"})
RETRIED = frozenset({b"GET", b"HEAD"})  # what nginx sends to the next process on a 503
MAX_REQUEST_LINE = 8192
REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n"
    b"Connection: close\r\n\r\n"
)
POLL = 0.05
IDLE_GRACE = 0.5  # seconds an idle connection accepted before the SIGTERM stays open


def admitted(request_line):
    """True when a connection opened while draining is served, from its request line."""
    parts = request_line.split(b" ")
    if len(parts) != 3:
        return False
    method, target, _version = parts
    return method not in RETRIED or target.split(b"?", 1)[0] in SERVED


class DrainGate(Protocol):
    """A connection accepted while draining: handed to daphne's protocol, or refused."""

    def __init__(self, build, addr):
        self._build = build
        self._addr = addr
        self._buffer = b""
        self._decided = False

    def dataReceived(self, data):
        if self._decided:
            return
        self._buffer += data
        line, found, _rest = self._buffer.partition(b"\r\n")
        if not found and len(self._buffer) <= MAX_REQUEST_LINE:
            return
        self._decided = True
        if found and admitted(line):
            protocol = self._build(self._addr)
            self.transport.protocol = protocol  # Twisted's tcp.Server reads through it
            protocol.makeConnection(self.transport)
            protocol.dataReceived(self._buffer)
        else:
            self.transport.write(REFUSAL)
            self.transport.loseConnection()


def _listening_ports(reactor):
    from daphne.http_protocol import HTTPFactory

    for reader in list(reactor.getReaders()):
        factory = getattr(reader, "factory", None)
        if isinstance(factory, HTTPFactory) and hasattr(reader, "stopListening"):
            yield reader, factory


def gate(reactor):
    """Put a DrainGate in front of daphne's listening ports and close the keep-alive
    connections opened before; returns daphne's Servers."""
    servers = []
    for _port, factory in _listening_ports(reactor):
        if "buildProtocol" not in vars(factory):  # once
            factory.buildProtocol = _gated(factory.buildProtocol)
        if factory.server not in servers:
            servers.append(factory.server)
    close_keepalive(reactor, idle=False)
    reactor.callLater(IDLE_GRACE, close_keepalive, reactor)
    return servers


def _gated(build):
    return lambda addr: DrainGate(build, addr)


def close_keepalive(reactor, idle=True):
    """Close busy HTTP connections after their response, and (idle) idle ones now; returns
    how many were closed now."""
    from twisted.web.http import HTTPChannel

    closed = 0
    for reader in list(reactor.getReaders()):
        protocol = getattr(reader, "protocol", None)
        if isinstance(protocol, HTTPChannel):  # a WebSocket's transport has another protocol
            if protocol.requests:
                protocol.persistent = False  # closed once its response is written
            elif idle:
                reader.loseConnection()
                closed += 1
    return closed


def stop(reactor):
    """Stop listening (the last step before the reactor stops)."""
    for port, _factory in list(_listening_ports(reactor)):
        port.stopListening()


def requests_in_flight(servers):
    """HTTP requests daphne is serving (its application not finished)."""
    from daphne.http_protocol import WebRequest

    return sum(
        1
        for server in servers
        for protocol, details in list(server.connections.items())
        if isinstance(protocol, WebRequest) and not details.get("disconnected")
    )


async def wait_requests(servers, timeout):
    """Wait, at most timeout seconds, for the requests in flight; returns those left."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (left := requests_in_flight(servers)) and loop.time() < deadline:
        await asyncio.sleep(POLL)
    return left
