"""chat.realtime.listening: what a draining process serves, on Twisted's test transport."""

import pytest
from twisted.internet.protocol import Protocol
from twisted.internet.testing import StringTransport

from chat.realtime.listening import REFUSAL, DrainGate, admitted


@pytest.mark.parametrize(
    "line",
    [
        b"GET /metrics HTTP/1.1",
        b"GET /healthz HTTP/1.1",
        b"GET /readyz?x=1 HTTP/1.1",
        b"POST /accounts/login/ HTTP/1.1",  # nginx never sends a POST again: served here
        b"DELETE /api/rooms/x HTTP/1.1",
    ],
)
def test_admitted__health_metrics_and_methods_nginx_does_not_retry(line):
    assert admitted(line)


@pytest.mark.parametrize(
    "line",
    [
        b"GET / HTTP/1.1",
        b"GET /ws/chat/lobby/ HTTP/1.1",  # a WebSocket handshake: to another process
        b"HEAD /metrics/x HTTP/1.1",
        b"GET /metricsx HTTP/1.1",
        b"garbage",
        b"",
    ],
)
def test_admitted__other_gets_and_malformed_lines_refused(line):
    assert not admitted(line)


class Recorder(Protocol):
    def __init__(self):
        self.received = b""
        self.made = False

    def connectionMade(self):
        self.made = True

    def dataReceived(self, data):
        self.received += data


def gate_on_transport():
    built = []

    def build(addr):
        built.append(Recorder())
        return built[-1]

    gate = DrainGate(build, ("127.0.0.1", 1))
    transport = StringTransport()
    transport.protocol = gate
    gate.makeConnection(transport)
    return gate, transport, built


def test_drain_gate__metrics_handed_to_the_real_protocol_with_every_byte():
    gate, transport, built = gate_on_transport()
    gate.dataReceived(b"GET /metr")
    assert built == []  # no request line yet
    gate.dataReceived(b"ics HTTP/1.1\r\nHost: x\r\n\r\n")
    [real] = built
    assert real.made and real.received == b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
    assert transport.protocol is real and transport.value() == b""


def test_drain_gate__a_page_gets_503_and_the_connection_closes():
    gate, transport, built = gate_on_transport()
    gate.dataReceived(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert built == [] and transport.value() == REFUSAL and transport.disconnecting
    gate.dataReceived(b"GET /metrics HTTP/1.1\r\n")  # nothing more once decided
    assert built == []


def test_drain_gate__a_request_line_that_never_ends_is_refused():
    gate, transport, built = gate_on_transport()
    gate.dataReceived(b"G" * 9000)
    assert built == [] and transport.value() == REFUSAL
