"""Guards on the private daphne/autobahn/Twisted attributes the chat relies on.

The chat's transport module (Wire, TransportProbe) and its shutdown module reach into
objects that are not public API. This test imports neither (they are moving between
packages): it runs tests/internals_probe.py, a real daphne Server with real loopback
sockets, and checks every name below on the installed libraries' own objects, with the
meaning the chat gives it. An upgrade that renames or changes one fails here, not in
production as a silently unbounded send buffer or a SIGTERM that drops every socket.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = Path(__file__).with_name("internals_probe.py")

# name -> expected type name, and where the chat uses it.
PROTOCOL = {
    "transport": "Server",  # twisted.internet.tcp.Server (a tcp.Connection); transport: TransportProbe (hasattr), Wire.__init__
    "sendMessage": "method",  # transport: TransportProbe recognises daphne's protocol by it
    "state": "int",  # transport: Wire.write_websocket_frame (open?); shutdown: _close_open_sockets
    "_perMessageCompress": "NoneType",  # transport: Wire.write_websocket_frame (no compression)
    "send_queue": "deque",  # transport: Wire.write_websocket_frame (nothing queued by autobahn)
    "autoFragmentSize": "int",  # transport: Wire.write_websocket_frame (frame would not be split)
    "trafficStats": "TrafficStats",  # transport: Wire.write_websocket_frame counts a message
    "serverClose": "method",  # shutdown: _close_open_sockets closes with 4001
}
PROTOCOL_CLASS = {
    "STATE_OPEN": "int",  # transport: Wire.open_state; shutdown: _close_open_sockets
}
TRAFFIC_STATS = {
    "outgoingWebSocketMessages": "int",  # transport: Wire.write_websocket_frame increments it
}
TRANSPORT = {
    "dataBuffer": "bytes",  # transport: Wire.buffered (Twisted's unsent bytes)
    "offset": "int",  # transport: Wire.buffered (sent part of dataBuffer)
    "_tempDataLen": "int",  # transport: Wire.buffered (written, not yet in dataBuffer)
    "socket": "socket",  # transport: Wire.__init__ / write_websocket_frame's direct send
    "disconnecting": "int",  # transport: Wire.write_websocket_frame (not while closing; Twisted's 0/1)
    "write": "method",  # transport: Wire.write_websocket_frame (the normal path)
}
# transport: _plain_tcp() wants twisted.internet.tcp.Connection and no true `TLS`;
# TransportProbe wants daphne's send to be functools.partial(server.handle_reply, protocol).
# shutdown: reactor.callWhenRunning/callFromThread/stop/getReaders, a reader's `factory`
# (daphne.http_protocol.HTTPFactory) with `stopListening` and `factory.server`,
# server.connections {protocol: {"disconnected": ...}}, and Twisted's SIGINT handler being a
# method of the reactor (_is_twisted_handler).


@pytest.fixture(scope="module")
def report():
    names = {
        "protocol": list(PROTOCOL),
        "protocol_class": list(PROTOCOL_CLASS),
        "transport": list(TRANSPORT),
        "traffic_stats": list(TRAFFIC_STATS),
    }
    result = subprocess.run(
        [sys.executable, str(PROBE), json.dumps(names)],
        capture_output=True, text=True, timeout=90, cwd=PROBE.parent.parent,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no report; stderr: {result.stderr[-3000:]}"
    found = json.loads(lines[-1])
    assert found["errors"] == []
    return found


def test_daphne_send__is_a_partial_of_the_websocket_protocol(report):
    assert report["send_is_partial"] == {"/buffer": True, "/close": True}
    assert report["protocol_is_websocket"] is True


@pytest.mark.parametrize(
    ("group", "expected"),
    [
        ("protocol", PROTOCOL),
        ("protocol_class", PROTOCOL_CLASS),
        ("transport", TRANSPORT),
        ("traffic_stats", TRAFFIC_STATS),
    ],
)
def test_private_attributes__exist_with_their_types(report, group, expected):
    assert report[group] == expected


def test_open_socket__state_open_no_compression_nothing_queued(report):
    assert report["state_is_open"] is True
    assert report["compress_is_none"] is True
    assert report["send_queue_len"] == 0
    assert report["auto_fragment_size"] >= 0  # 0 means never fragment
    assert report["outgoing_messages_delta"] == 1
    assert report["client_first_frame"] == "hello"


def test_transport__plain_tcp_with_a_nonblocking_socket(report):
    assert report["plain_tcp"] is True and not report["tls"]
    assert report["socket_is_socket"] is True and report["socket_peer_is_client"] is True
    assert report["socket_timeout"] == 0.0  # non-blocking: Wire's send never waits
    assert not report["disconnecting"]


def test_buffered__grows_by_each_write_and_stays_for_a_peer_that_does_not_read(report):
    # len(dataBuffer) - offset + _tempDataLen grows by exactly N after transport.write(N).
    assert report["write_growth"] == [64 * 1024]
    # The kernel takes some; the rest waits in Twisted's buffers, where Wire counts it.
    assert report["buffered_after_writes"] > report["written"] // 4


def test_shutdown__server_close_sends_4001_and_marks_the_connection_disconnected(report):
    assert report["close_frame"] == {"opcode": 8, "code": 4001}
    assert report["connections_details_is_dict"] is True
    assert report["disconnected_before_close"] is False
    assert report["disconnected_after_close"] is True


def test_shutdown__readers_are_daphnes_listening_ports(report):
    assert report["listening_readers"] == 1
    assert report["reader_has_stop_listening"] is True
    assert report["reader_factory_server_is_server"] is True
    assert report["refused_after_stop_listening"] is True


def test_shutdown__twisted_installs_its_signal_handlers_before_call_when_running(report):
    assert report["sigint_is_reactor_method"] is True
    assert report["sigterm_is_callable"] is True
    assert report["reactor_has"] == {"callFromThread": True, "stop": True, "getReaders": True}
