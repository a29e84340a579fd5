"""A client written from docs/protocol.md alone (wattline_wire.py) against a live server.

Runs only when WATTLINE_SPEC_SERVER=host:port and WATTLINE_SPEC_CA=<CA PEM> are set, against a
server hosting wattline.echo.v1.EchoService and wattline.health.v1.HealthService, e.g.:

    .build/debug/wattline-server --dev --port 17543 --metrics-port 0 &
    WATTLINE_SPEC_SERVER=127.0.0.1:17543 WATTLINE_SPEC_CA=.wattline/tls/ca.pem \
        python3 -m pytest -q Tests/python/test_wire_spec_client.py
"""
import os
import time

import pytest

from wattline_wire import Code, Connection, RpcError, Settings

SERVER = os.environ.get("WATTLINE_SPEC_SERVER")
CA = os.environ.get("WATTLINE_SPEC_CA")

pytestmark = pytest.mark.skipif(
    not (SERVER and CA),
    reason="needs a live server: set WATTLINE_SPEC_SERVER=host:port and WATTLINE_SPEC_CA=<CA PEM path>",
)

ECHO = "/wattline.echo.v1.EchoService/"
HEALTH = "/wattline.health.v1.HealthService/"


@pytest.fixture
def conn():
    host, _, port = SERVER.rpartition(":")
    connection = Connection(host, int(port), ca_file=CA, server_hostname="localhost")
    yield connection
    assert connection.closed is None, connection.closed
    assert connection.stats["protocol_violations"] == 0
    assert connection.stats["frames_after_server_status"] == 0
    connection.close()


@pytest.fixture
def pb(conn):
    return conn.pb


def test_handshake_and_server_hello(conn):
    assert conn.tls_version in ("TLSv1.3", "TLSv1.2")
    assert list(conn.server_hello.versions) == [1]
    # §1.4: wattline-server announces its own keepalive and idle timers by default.
    assert conn.remote.keepalive_interval_ms == 60_000
    assert conn.remote.idle_timeout_ms == 300_000
    assert conn.remote.max_frame_size >= 16_384


def test_health_check_serving(conn, pb):
    response = conn.unary(HEALTH + "Check", pb.health.CheckRequest(), pb.health.CheckResponse, timeout_ms=5_000)
    assert response.status == pb.health.SERVING_STATUS_SERVING


@pytest.mark.parametrize("size", [1, 200_000])
def test_echo_unary(conn, pb, size):
    payload = os.urandom(size)
    response = conn.unary(ECHO + "Echo", pb.echo.EchoRequest(payload=payload), pb.echo.EchoResponse, timeout_ms=10_000)
    assert response.payload == payload
    if size > conn.remote.initial_stream_window:
        # §5: the request outgrew the server's stream window, so the client waited for the
        # WINDOW_UPDATEs of the fragments the server buffered; the response outgrew ours, so the
        # client gave windows back; both messages crossed as several MESSAGE frames.
        assert conn.stats["message_bytes_sent"] > conn.remote.initial_stream_window
        assert conn.stats["stream_window_updates_received"] >= 1
        assert conn.stats["window_updates_sent"] >= 1
        assert conn.stats["fragmented_messages_received"] == 1
    assert conn.stats["protocol_violations"] == 0


def test_expand_server_streaming_in_order(conn, pb):
    responses = list(conn.server_stream(ECHO + "Expand", pb.echo.ExpandRequest(count=1_000, size=100),
                                        pb.echo.ExpandResponse, timeout_ms=30_000))
    assert [r.index for r in responses] == list(range(1_000))
    assert all(len(r.payload) == 100 for r in responses)
    # ~105 KB of responses through a 64 KiB stream window: the client must have given it back.
    assert conn.stats["window_updates_sent"] >= 1


def test_collect_more_than_the_connection_window(conn, pb):
    count, size = 3 * 1024, 1024  # 3 MiB of payload in 1 KiB messages
    chunk = os.urandom(size)
    response = conn.client_stream(ECHO + "Collect", (pb.echo.CollectRequest(payload=chunk) for _ in range(count)),
                                  pb.echo.CollectResponse, timeout_ms=120_000)
    assert response.messages == count
    assert response.bytes == count * size
    # Three connection windows went out, which is only possible after WINDOW_UPDATEs on stream 0.
    assert conn.stats["message_bytes_sent"] >= count * size >= 3 * conn.remote.initial_connection_window
    assert conn.stats["connection_window_updates_received"] >= 1


def test_chat_ping_pong(conn, pb):
    call = conn.open_call(ECHO + "Chat", kind="bidi", response_type=pb.echo.ChatResponse, timeout_ms=30_000)
    for i in range(50):
        payload = f"ping {i} ".encode() + os.urandom(i)
        assert call.send(pb.echo.ChatRequest(payload=payload))
        assert call.recv(timeout=10).payload == payload
    call.half_close()
    assert call.recv(timeout=10) is None
    assert call.status.code == Code.OK
    assert call.messages_received == 50


@pytest.mark.parametrize("client_enforces", [True, False], ids=["client-deadline", "server-deadline"])
def test_deadline_exceeded(conn, pb, client_enforces):
    call = conn.open_call(ECHO + "Expand", kind="server_stream", response_type=pb.echo.ExpandResponse,
                          timeout_ms=300, enforce_deadline=client_enforces)
    start = time.monotonic()
    call.send(pb.echo.ExpandRequest(count=100, size=10, interval_ms=100))
    call.half_close()
    received = []
    with pytest.raises(RpcError) as failure:
        for response in call:
            received.append(response.index)
    elapsed = time.monotonic() - start
    assert failure.value.code == Code.DEADLINE_EXCEEDED == 4
    # §4.2: both sides enforce it; the client's clock starts first, but on a loaded machine the
    # server's STATUS may still win the race. Without the client's timer it must be the server's.
    assert failure.value.status.source in (("client", "server") if client_enforces else ("server",))
    assert 0.25 <= elapsed < 3.0
    assert 1 <= len(received) <= 5 and received == list(range(len(received)))
    # The connection carries on.
    assert conn.unary(ECHO + "Echo", pb.echo.EchoRequest(payload=b"after"), pb.echo.EchoResponse).payload == b"after"


def test_server_respects_the_client_stream_window(conn, pb):
    """§5: a bidirectional peer that does not read stops the server at our stream window (its
    handler then stops reading, so our own sends block too); reading then drains everything."""
    call = conn.open_call(ECHO + "Chat", response_type=pb.echo.ChatResponse, timeout_ms=60_000)
    request = lambda i: pb.echo.ChatRequest(payload=i.to_bytes(4, "big") + bytes(996))  # noqa: E731
    size = request(0).ByteSize()
    sent = 0
    while sent < 10_000:
        # Send whole messages only while the server's window takes one; stop once it stays
        # closed for a second (a send timing out mid-message would cancel the call).
        give_up = time.monotonic() + 1
        while call.send_window < size and time.monotonic() < give_up:
            time.sleep(0.01)
        if call.send_window < size:
            break
        assert call.send(request(sent))
        sent += 1
    time.sleep(0.3)
    held = sum(len(message) for message, _ in call._inbox)
    assert 0 < held <= conn.local.initial_stream_window
    assert 50 < sent < 10_000
    received = [int.from_bytes(call.recv(timeout=10).payload[:4], "big") for _ in range(sent)]
    assert received == list(range(sent))
    call.half_close()
    assert call.recv(timeout=10) is None


def test_server_honours_client_settings(pb):
    """The server sends within the windows our HELLO announced (a tiny stream window here); the
    client would fail the connection with FLOW_CONTROL_ERROR otherwise."""
    host, _, port = SERVER.rpartition(":")
    settings = Settings(initial_stream_window=1_000, initial_connection_window=65_535, max_message_size=100_000)
    with Connection(host, int(port), ca_file=CA, settings=settings) as small:
        responses = list(small.server_stream(ECHO + "Expand", pb.echo.ExpandRequest(count=30, size=20_000),
                                             pb.echo.ExpandResponse, timeout_ms=30_000))
        assert [len(r.payload) for r in responses] == [20_000] * 30
        assert small.stats["fragmented_messages_received"] == 30
        assert small.stats["protocol_violations"] == 0
        # A response above our max_message_size is refused (§3.2).
        with pytest.raises(RpcError) as failure:
            list(small.server_stream(ECHO + "Expand", pb.echo.ExpandRequest(count=1, size=200_000),
                                     pb.echo.ExpandResponse, timeout_ms=30_000))
        assert failure.value.code == Code.RESOURCE_EXHAUSTED


def test_cancel_mid_stream_then_connection_works(conn, pb):
    call = conn.open_call(ECHO + "Expand", kind="server_stream", response_type=pb.echo.ExpandResponse)
    call.send(pb.echo.ExpandRequest(count=1_000_000, size=100))
    call.half_close()
    assert [call.recv(timeout=10).index for _ in range(10)] == list(range(10))
    call.cancel()
    with pytest.raises(RpcError) as failure:
        call.recv()
    assert failure.value.code == Code.CANCELLED

    # A PING round trip orders after the CANCEL: what the server sent on the stream before it
    # noticed has arrived by the time further pings return, and nothing follows.
    conn.ping()
    time.sleep(0.3)
    conn.ping()
    late = dict(call.late_frames)
    time.sleep(0.3)
    conn.ping()
    assert dict(call.late_frames) == late, "the server kept sending after CANCEL"
    assert late.get("STATUS", 0) == 0, "§3.1: no STATUS after CANCEL"
    # At most what the stream window let the server have in flight.
    assert late.get("MESSAGE bytes", 0) <= conn.local.initial_stream_window

    # The connection still works, and its window survived the discarded frames: 2 MB more.
    assert conn.unary(ECHO + "Echo", pb.echo.EchoRequest(payload=b"still"), pb.echo.EchoResponse).payload == b"still"
    responses = list(conn.server_stream(ECHO + "Expand", pb.echo.ExpandRequest(count=20, size=100_000),
                                        pb.echo.ExpandResponse, timeout_ms=30_000))
    assert [r.index for r in responses] == list(range(20))
    assert all(len(r.payload) == 100_000 for r in responses)
    assert conn.stats["protocol_violations"] == 0


@pytest.mark.parametrize("method", [ECHO + "NoSuchMethod", "/no.such.v1.Service/Call"])
def test_unknown_method_unimplemented(conn, pb, method):
    with pytest.raises(RpcError) as failure:
        conn.unary(method, pb.echo.EchoRequest(payload=b"x"), timeout_ms=5_000)
    assert failure.value.code == Code.UNIMPLEMENTED == 12
    assert failure.value.status.source == "server"
    assert conn.unary(ECHO + "Echo", pb.echo.EchoRequest(payload=b"ok"), pb.echo.EchoResponse).payload == b"ok"


def test_ping_acknowledged_with_same_bytes(conn):
    payloads = [bytes(range(8)), b"\xff" * 8, os.urandom(8)]
    for payload in payloads:
        assert conn.ping(payload) < 5
    assert conn.ping_acks == payloads


def test_bad_metadata_key_invalid_argument(conn, pb):
    with pytest.raises(RpcError) as failure:
        conn.unary(ECHO + "Echo", pb.echo.EchoRequest(payload=b"x"), pb.echo.EchoResponse,
                   metadata=[("X-Upper-Case", "value")], timeout_ms=5_000)
    assert failure.value.code == Code.INVALID_ARGUMENT == 3
    assert failure.value.status.source == "server"
    # Well-formed metadata (text and binary) is accepted.
    response = conn.unary(ECHO + "Echo", pb.echo.EchoRequest(payload=b"y"), pb.echo.EchoResponse,
                          metadata=[("x-trace.id_1", "abc"), ("x-blob-bin", b"\x00\xff")], timeout_ms=5_000)
    assert response.payload == b"y"
