"""A small synchronous client for the Wattline wire protocol, version 1.

Written from docs/protocol.md and Protos/wattline/rpc/v1/rpc.proto alone (section numbers below
refer to that document). One TLS connection, one background reader thread that parses and
validates every frame the server sends, and blocking calls for the application:

    conn = Connection("127.0.0.1", 7443, ca_file="ca.pem")
    pb = conn.pb                                      # generated protobuf modules
    reply = conn.unary("/wattline.echo.v1.EchoService/Echo",
                       pb.echo.EchoRequest(payload=b"hi"), pb.echo.EchoResponse, timeout_ms=1000)
    for msg in conn.server_stream("/wattline.echo.v1.EchoService/Expand",
                                  pb.echo.ExpandRequest(count=3, size=10), pb.echo.ExpandResponse):
        ...
    conn.close()

A `Call` is the general form (any call kind): `send()`, `half_close()`, `recv()`, `cancel()`.
A call that fails raises `RpcError`, carrying the canonical status code (§7).

Choices where the document leaves room (the report that came with this file lists them):
  * The connection waits for the server's HELLO before it opens the first call (§1.4 allows
    opening calls earlier, within the defaults, but does not say how windows already used
    against the defaults change when the HELLO announces other values).
  * The connection window of MESSAGE frames that arrive for a call already ended (after our CANCEL
    or deadline) is given back at once; otherwise the connection window would leak.
  * Fragments of one message are consecutive among that stream's frames; frames of other streams
    and control frames may come between them.
  * A server-sent HALF_CLOSE or OPEN is a PROTOCOL_ERROR (§3.1 gives the server only MESSAGE and
    STATUS); a server-sent CANCEL ends the call with its code (rpc.proto: "either side abandons a
    call").
  * A GOAWAY sent by this client on a protocol violation carries last_stream_id 0 (a client
    processes no streams the server opened).
  * Metadata is not validated locally: the server is the authority (§3.3).
"""
from __future__ import annotations

import collections
import dataclasses
import enum
import importlib
import os
import pathlib
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import types
from typing import Iterable, Iterator, Optional

PREFACE = b"WATTLINE"
ALPN = "wattline/1"
VERSION = 1
AGENT = "wattline-python-spec/1"

ROOT = pathlib.Path(__file__).resolve().parents[2]
MAX_WINDOW = 2**31 - 1


# ---------------------------------------------------------------------------------------------
# Protobuf classes, generated on the fly with protoc (as Tests/python/conftest.py does).

_PROTOS: Optional[types.SimpleNamespace] = None
_PROTOS_LOCK = threading.Lock()


def load_protos(protos_dir: os.PathLike | str | None = None) -> types.SimpleNamespace:
    """Runs `protoc --python_out` over Protos/ into a temporary directory once per process and
    returns the modules: `.rpc`, `.echo`, `.health`, and `.types` (full name → message class)."""
    global _PROTOS
    with _PROTOS_LOCK:
        if _PROTOS is not None:
            return _PROTOS
        protos = pathlib.Path(protos_dir or ROOT / "Protos")
        files = sorted(str(p.relative_to(protos)) for p in protos.rglob("*.proto"))
        out = tempfile.mkdtemp(prefix="wattline_pb2_")
        subprocess.run(["protoc", f"--proto_path={protos}", f"--python_out={out}", *files], check=True)
        sys.path.insert(0, out)
        modules = {f: importlib.import_module(f[: -len(".proto")].replace("/", ".") + "_pb2") for f in files}
        all_types = {}
        for module in modules.values():
            for name in module.DESCRIPTOR.message_types_by_name:
                cls = getattr(module, name)
                all_types[cls.DESCRIPTOR.full_name] = cls
        _PROTOS = types.SimpleNamespace(
            rpc=modules["wattline/rpc/v1/rpc.proto"],
            echo=modules["wattline/echo/v1/echo.proto"],
            health=modules["wattline/health/v1/health.proto"],
            types=all_types,
        )
        return _PROTOS


# ---------------------------------------------------------------------------------------------
# Constants of §2 and §7.

class FrameType(enum.IntEnum):
    HELLO = 0x00
    OPEN = 0x01
    MESSAGE = 0x02
    HALF_CLOSE = 0x03
    STATUS = 0x04
    CANCEL = 0x05
    WINDOW_UPDATE = 0x06
    PING = 0x07
    GOAWAY = 0x08


FLAG_MORE = 0x01  # MESSAGE
FLAG_ACK = 0x01   # PING
_ALLOWED_FLAGS = {FrameType.MESSAGE: FLAG_MORE, FrameType.PING: FLAG_ACK}
_CONNECTION_TYPES = {FrameType.HELLO, FrameType.PING, FrameType.GOAWAY}
_CALL_TYPES = {FrameType.OPEN, FrameType.MESSAGE, FrameType.HALF_CLOSE, FrameType.STATUS, FrameType.CANCEL}


class Code(enum.IntEnum):
    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


class GoAwayReason(enum.IntEnum):  # wattline.rpc.v1.GoAwayReason
    UNSPECIFIED = 0
    NO_ERROR = 1
    PROTOCOL_ERROR = 2
    FLOW_CONTROL_ERROR = 3
    FRAME_TOO_LARGE = 4
    IDLE_TIMEOUT = 5
    ENHANCE_YOUR_CALM = 6
    UNSUPPORTED_VERSION = 7
    INTERNAL_ERROR = 8
    KEEPALIVE_TIMEOUT = 9
    CONNECTION_LIMIT = 10


def encode_frame(ftype: int, stream_id: int, payload: bytes = b"", flags: int = 0) -> bytes:
    """The 9-byte header (24-bit length, type, flags, R + 31-bit stream id), then the payload."""
    if len(payload) >= 1 << 24 or not 0 <= stream_id <= MAX_WINDOW:
        raise ValueError("frame length or stream id out of range")
    return struct.pack(">I", len(payload))[1:] + bytes((ftype, flags)) + struct.pack(">I", stream_id) + payload


# ---------------------------------------------------------------------------------------------
# Settings (§1.4).

@dataclasses.dataclass(frozen=True)
class Settings:
    """Effective settings: zeros of the wire already replaced by the defaults."""
    max_frame_size: int = 16_384
    max_message_size: int = 4_194_304
    initial_stream_window: int = 65_535
    initial_connection_window: int = 1_048_576
    max_concurrent_streams: int = 100
    max_metadata_size: int = 8_192
    keepalive_interval_ms: int = 0
    idle_timeout_ms: int = 0

    # Allowed range of a non-zero value (0 always means the default).
    RANGES = {
        "max_frame_size": (16_384, 16_777_215),
        "max_message_size": (1, MAX_WINDOW),
        "initial_stream_window": (1, MAX_WINDOW),
        "initial_connection_window": (65_535, MAX_WINDOW),
        "max_concurrent_streams": (1, MAX_WINDOW),
        "max_metadata_size": (1, 2**32 - 1),  # the document gives no upper bound
        "keepalive_interval_ms": (5_000, 2**32 - 1),
        "idle_timeout_ms": (1_000, 2**32 - 1),
    }

    @classmethod
    def from_proto(cls, msg) -> "Settings":
        """Validates a received `wattline.rpc.v1.Settings`; raises ValueError outside a range."""
        values = {}
        for field in dataclasses.fields(cls):
            value = getattr(msg, field.name)
            if value == 0:
                continue
            low, high = cls.RANGES[field.name]
            if not low <= value <= high:
                raise ValueError(f"setting {field.name}={value} outside {low}…{high}")
            values[field.name] = value
        return cls(**values)

    def to_proto(self, pb):
        return pb.rpc.Settings(**{f.name: getattr(self, f.name) for f in dataclasses.fields(self)})


# ---------------------------------------------------------------------------------------------
# Errors.

@dataclasses.dataclass
class Status:
    code: int
    message: str = ""
    details: tuple = ()
    trailers: tuple = ()
    source: str = "server"  # "server" (STATUS/CANCEL frame), "client" (this library), "connection"
    retryable: bool = False  # the server said it did not process the call (§7)

    @property
    def name(self) -> str:
        try:
            return Code(self.code).name
        except ValueError:
            return f"CODE_{self.code}"


class RpcError(Exception):
    def __init__(self, status: Status):
        super().__init__(f"{status.name} ({status.code}) from {status.source}: {status.message}")
        self.status = status

    @property
    def code(self) -> int:
        return self.status.code


class ProtocolViolation(Exception):
    """The server broke the protocol: a connection error (§7)."""

    def __init__(self, reason: GoAwayReason, message: str):
        super().__init__(f"{reason.name}: {message}")
        self.reason = reason


# ---------------------------------------------------------------------------------------------
# TLS over memory BIOs: the reader thread and the callers never use one SSL object concurrently.

class _Tls:
    def __init__(self, host, port, context: ssl.SSLContext, server_hostname: str, timeout: float):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_side=False, server_hostname=server_hostname)
        self.lock = threading.Lock()
        self.clean_close = False
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                data = self.sock.recv(65_536)
                if not data:
                    raise ConnectionError("server closed the connection during the TLS handshake")
                self.incoming.write(data)
        self._flush()
        self.sock.settimeout(None)

    def _flush(self):
        data = self.outgoing.read()
        if data:
            self.sock.sendall(data)

    def send(self, data: bytes):
        with self.lock:
            self.tls.write(data)
            self._flush()

    def recv(self) -> bytes:
        """Decrypted bytes; b"" once the server closed (see `clean_close` for close_notify)."""
        while True:
            with self.lock:
                try:
                    data = self.tls.read(65_536)
                    if not data:  # SSLObject.read returns b"" once close_notify arrived
                        self.clean_close = True
                        return b""
                except ssl.SSLWantReadError:
                    if self.incoming.eof:  # TCP closed without close_notify
                        return b""
                    data = None
                except ssl.SSLZeroReturnError:
                    self.clean_close = True
                    return b""
                except ssl.SSLEOFError:
                    return b""
                self._flush()  # TLS 1.3 may answer, e.g. a key update
            if data:
                return data
            raw = self.sock.recv(65_536)
            with self.lock:
                if raw:
                    self.incoming.write(raw)
                else:
                    self.incoming.write_eof()

    def close(self):
        """Sends close_notify (§6) and closes the socket."""
        with self.lock:
            try:
                self.tls.unwrap()
            except (ssl.SSLError, OSError):
                pass
            try:
                self._flush()
            except OSError:
                pass
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes a reader blocked in recv
        except OSError:
            pass
        self.sock.close()


# ---------------------------------------------------------------------------------------------
# Calls.

class Call:
    """One stream (§3). Not for use from several threads at once."""

    KINDS = ("unary", "server_stream", "client_stream", "bidi")

    def __init__(self, conn: "Connection", stream_id: int, method: str, timeout_ms: int, kind: str, response_type,
                 enforce_deadline: bool = True):
        self.conn = conn
        self.stream_id = stream_id
        self.method = method
        self.kind = kind
        self.response_type = response_type
        # §4.2: the client enforces the deadline too (counted from sending OPEN, so it fires no
        # later than the server's, which counts from receiving it).
        self.deadline = time.monotonic() + timeout_ms / 1000 if timeout_ms and enforce_deadline else None
        # Send side (§5): starts at the server's initial_stream_window.
        self.send_window = conn.remote.initial_stream_window
        # Receive side: the window we granted, and what was consumed but not yet given back.
        self.recv_window = conn.local.initial_stream_window
        self.recv_unacked = 0
        self._fragments = bytearray()
        self._fragment_frames = 0
        self._inbox: collections.deque = collections.deque()  # (payload, window still to give back)
        self.messages_received = 0
        self.half_closed = False
        self.ended = False          # STATUS or CANCEL received, CANCEL sent, or connection failed
        self.cancelled_by_client = False
        self.status: Optional[Status] = None
        self.late_frames: collections.Counter = collections.Counter()  # frame types after the end

    # -- application side ---------------------------------------------------------------------

    def send(self, message, timeout: Optional[float] = None) -> bool:
        """Sends one message (bytes or a protobuf message), fragmented by the server's
        max_frame_size and by the windows, waiting for WINDOW_UPDATEs as needed. Returns False if
        the server already ended the call with OK (the message is dropped, §3.1); raises RpcError
        if the call ended otherwise, TimeoutError after `timeout` (cancelling the call if part of
        the message had gone out)."""
        data = message if isinstance(message, (bytes, bytearray, memoryview)) else message.SerializeToString()
        data = bytes(data)
        conn = self.conn
        if self.half_closed:
            raise RuntimeError("send after half_close")
        if len(data) > conn.remote.max_message_size:
            self.cancel(Code.RESOURCE_EXHAUSTED, "request larger than the server's max_message_size")
            raise RpcError(self.status)
        give_up = time.monotonic() + timeout if timeout is not None else None
        if not data:  # a zero-length message is one empty MESSAGE frame and needs no window
            with conn._cond:
                if self._ended_result():
                    return False
            conn._send(encode_frame(FrameType.MESSAGE, self.stream_id))
            return True
        offset = 0
        while offset < len(data):
            with conn._cond:
                waited = False
                while True:
                    if self._ended_result():
                        return False
                    if self.send_window > 0 and conn._send_conn_window > 0:
                        break
                    waited = True
                    try:
                        self._wait(give_up)
                    except TimeoutError:
                        if offset:  # half a message is on the wire: the stream cannot go on
                            conn._cond.release()
                            try:
                                self.cancel(Code.CANCELLED, "send timed out inside a message")
                            finally:
                                conn._cond.acquire()
                        raise
                if waited:
                    conn.stats["send_waits"] += 1
                n = min(len(data) - offset, conn.remote.max_frame_size, self.send_window, conn._send_conn_window)
                self.send_window -= n
                conn._send_conn_window -= n
                conn.stats["message_bytes_sent"] += n
            more = offset + n < len(data)
            conn._send(encode_frame(FrameType.MESSAGE, self.stream_id, data[offset:offset + n], FLAG_MORE if more else 0))
            offset += n
        return True

    def half_close(self):
        with self.conn._cond:
            if self.half_closed:
                return
            self.half_closed = True
            if self.ended:
                return
        self.conn._send(encode_frame(FrameType.HALF_CLOSE, self.stream_id))

    def recv(self, timeout: Optional[float] = None):
        """The next response message (decoded if the call has a response type), or None once the
        call ended with OK. Raises RpcError for any other end, TimeoutError after `timeout`."""
        conn = self.conn
        give_up = time.monotonic() + timeout if timeout is not None else None
        with conn._cond:
            while True:
                if self._inbox and not self.cancelled_by_client:
                    payload, unreturned = self._inbox.popleft()
                    frames = conn._consumed(self, unreturned)
                    break
                if self.ended:
                    if self.status.code == Code.OK:
                        return None
                    raise RpcError(self.status)
                self._wait(give_up)
        conn._send(b"".join(frames))
        if self.response_type is None:
            return payload
        try:
            return self.response_type.FromString(payload)
        except Exception as error:  # §3.2: an undecodable response is INTERNAL on the client
            self.cancel(Code.INTERNAL, f"response does not decode: {error}")
            raise RpcError(self.status) from None

    def __iter__(self) -> Iterator:
        while (message := self.recv()) is not None:
            yield message

    def finish(self, timeout: Optional[float] = None) -> Status:
        """Waits for the end of the call without reading messages further; returns its status."""
        give_up = time.monotonic() + timeout if timeout is not None else None
        with self.conn._cond:
            while not self.ended:
                self._wait(give_up)
            return self.status

    def cancel(self, code: int = Code.CANCELLED, message: str = ""):
        """Sends CANCEL (§4.3); the call then reports `code`."""
        conn = self.conn
        with conn._cond:
            if self.ended:
                return
            self._end(Status(int(code), message or "cancelled by the client", source="client"))
            self.cancelled_by_client = True
            # Messages we hold for this call will never be consumed: give their connection window
            # back (the window of buffered fragments was given back when they arrived).
            held = sum(unreturned for _, unreturned in self._inbox)
            self._inbox.clear()
            frames = conn._consumed(None, held)
            conn.stats["cancels_sent"] += 1
        cancel = conn.pb.rpc.Cancel(code=int(code), message=message)
        conn._send(encode_frame(FrameType.CANCEL, self.stream_id, cancel.SerializeToString()) + b"".join(frames))

    # -- internals (called with conn._cond held) --------------------------------------------------

    def _ended_result(self) -> bool:
        if not self.ended:
            return False
        if self.status.code == Code.OK:
            return True
        raise RpcError(self.status)

    def _wait(self, give_up: Optional[float]):
        """One wait on the connection's condition, bounded by the deadline and `give_up`;
        enforces the deadline (§4.2) by cancelling with DEADLINE_EXCEEDED."""
        now = time.monotonic()
        if self.deadline is not None and now >= self.deadline and not self.ended:
            self.conn._cond.release()
            try:
                self.cancel(Code.DEADLINE_EXCEEDED, "deadline exceeded")
                self.conn.stats["deadlines_enforced_by_client"] += 1
            finally:
                self.conn._cond.acquire()
            return
        if give_up is not None and now >= give_up:
            raise TimeoutError(f"stream {self.stream_id}: nothing within the timeout")
        limits = [t - now for t in (self.deadline, give_up) if t is not None]
        self.conn._cond.wait(min(limits) if limits else None)

    def _end(self, status: Status):
        self.ended = True
        self.status = status
        self.conn._cond.notify_all()


# ---------------------------------------------------------------------------------------------
# The connection.

class Connection:
    """One Wattline connection over TLS. The constructor connects, sends the preface and HELLO,
    and waits for the server's HELLO (validated, §1)."""

    def __init__(self, host: str, port: int, *, ca_file: str, server_hostname: str = "localhost",
                 cert_file: Optional[str] = None, key_file: Optional[str] = None,
                 settings: Optional[Settings] = None, agent: str = AGENT, timeout: float = 10.0):
        self.pb = load_protos()
        self.local = settings or Settings()   # limits we announce: what the server may send us
        self.remote = Settings()              # the server's limits: defaults until its HELLO
        self.server_hello = None
        self.goaway = None                    # the GoAway received, if any
        self.closed: Optional[str] = None     # why the connection is gone
        self.stats: collections.Counter = collections.Counter()
        self.ping_acks: list[bytes] = []
        self._cond = threading.Condition()
        self._streams: dict[int, Call] = {}
        self._last_stream_id = 0
        self._send_conn_window = self.remote.initial_connection_window
        self._recv_conn_window = self.local.initial_connection_window
        self._recv_conn_unacked = 0
        self._buffer = bytearray()

        context = ssl.create_default_context(cafile=ca_file)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers("ECDHE+AESGCM:ECDHE+CHACHA20")  # TLS 1.2 floor: ECDHE with an AEAD
        context.set_alpn_protocols([ALPN])
        if cert_file:
            context.load_cert_chain(cert_file, key_file)
        self._tls = _Tls(host, port, context, server_hostname, timeout)
        if self._tls.tls.selected_alpn_protocol() != ALPN:
            self._tls.close()
            raise ConnectionError(f"server negotiated ALPN {self._tls.tls.selected_alpn_protocol()!r}, not {ALPN}")
        self.tls_version = self._tls.tls.version()

        hello = self.pb.rpc.Hello(versions=[VERSION], settings=self.local.to_proto(self.pb), agent=agent)
        self._send(PREFACE + encode_frame(FrameType.HELLO, 0, hello.SerializeToString()))
        self._reader = threading.Thread(target=self._read_loop, name="wattline-reader", daemon=True)
        self._reader.start()

        give_up = time.monotonic() + timeout
        with self._cond:
            while self.server_hello is None and self.closed is None and self.goaway is None:
                if time.monotonic() >= give_up:
                    break
                self._cond.wait(give_up - time.monotonic())
            problem = None
            if self.goaway is not None and self.server_hello is None:
                problem = f"server sent GOAWAY {GoAwayReason(self.goaway.reason).name}: {self.goaway.message}"
            elif self.server_hello is None:
                problem = self.closed or "no HELLO from the server"
        if problem:
            self.close()
            raise ConnectionError(problem)

    # -- calls ------------------------------------------------------------------------------------

    def open_call(self, method: str, *, timeout_ms: int = 0, metadata: Iterable = (), authorization: str = "",
                  kind: str = "bidi", response_type=None, enforce_deadline: bool = True) -> Call:
        """Sends OPEN on the next odd stream id. `metadata` is (key, value) pairs: str values are
        sent as text, bytes as binary. `kind` (Call.KINDS) lets the call check the number of
        response messages (§3.1). `enforce_deadline=False` leaves the deadline to the server alone
        (for testing the server)."""
        if kind not in Call.KINDS:
            raise ValueError(kind)
        entries = []
        for key, value in metadata:
            if isinstance(value, (bytes, bytearray)):
                entries.append(self.pb.rpc.MetadataEntry(key=key, binary=bytes(value)))
            else:
                entries.append(self.pb.rpc.MetadataEntry(key=key, text=value))
        header = self.pb.rpc.CallHeader(method=method, timeout_ms=timeout_ms, metadata=entries,
                                        authorization=authorization).SerializeToString()
        if len(header) > self.remote.max_frame_size:
            raise ValueError("call header does not fit in one frame")
        with self._cond:
            if self.closed is not None:
                raise RpcError(Status(Code.UNAVAILABLE, self.closed, source="connection"))
            if self.goaway is not None:
                raise RpcError(Status(Code.UNAVAILABLE, "the server sent GOAWAY", source="connection", retryable=True))
            if sum(1 for c in self._streams.values() if not c.ended) >= self.remote.max_concurrent_streams:
                raise RpcError(Status(Code.RESOURCE_EXHAUSTED, "max_concurrent_streams reached", source="client"))
            stream_id = self._last_stream_id + 2 if self._last_stream_id else 1
            self._last_stream_id = stream_id
            call = Call(self, stream_id, method, timeout_ms, kind, response_type, enforce_deadline)
            self._streams[stream_id] = call
            # Sent under the lock so that OPENs leave in increasing stream order.
            self._send(encode_frame(FrameType.OPEN, stream_id, header))
        return call

    def unary(self, method: str, request, response_type=None, **options):
        call = self.open_call(method, kind="unary", response_type=response_type, **options)
        call.send(request)
        call.half_close()
        response = call.recv()
        call.recv()  # None with OK; a second message would have ended the call with INTERNAL
        return response

    def server_stream(self, method: str, request, response_type=None, **options) -> Iterator:
        call = self.open_call(method, kind="server_stream", response_type=response_type, **options)
        call.send(request)
        call.half_close()
        return iter(call)

    def client_stream(self, method: str, requests: Iterable, response_type=None, **options):
        call = self.open_call(method, kind="client_stream", response_type=response_type, **options)
        for request in requests:
            if not call.send(request):
                break
        call.half_close()
        response = call.recv()
        call.recv()
        return response

    def ping(self, payload: Optional[bytes] = None, timeout: float = 5.0) -> float:
        """Sends a PING and waits for its ACK with the same 8 bytes (§6); returns the round trip."""
        payload = os.urandom(8) if payload is None else payload
        if len(payload) != 8:
            raise ValueError("a PING carries exactly 8 bytes")
        start = time.monotonic()
        with self._cond:
            seen = len(self.ping_acks)
        self._send(encode_frame(FrameType.PING, 0, payload))
        with self._cond:
            while payload not in self.ping_acks[seen:]:
                if self.closed is not None:
                    raise ConnectionError(self.closed)
                left = start + timeout - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no PING ACK")
                self._cond.wait(left)
        return time.monotonic() - start

    def close(self):
        """Cancels open calls and ends the connection with TLS close_notify (§6)."""
        with self._cond:
            open_calls = [c for c in self._streams.values() if not c.ended]
        for call in open_calls:
            try:
                call.cancel(Code.CANCELLED, "connection closed by the client")
            except OSError:
                pass
        with self._cond:
            already = self.closed is not None
            if not already:
                self.closed = "closed by the client"
        self._tls.close()
        if self._reader.is_alive() and threading.current_thread() is not self._reader:
            self._reader.join(5)
        with self._cond:
            self._fail_calls(lambda c: True, Status(Code.UNAVAILABLE, self.closed, source="connection"))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- sending ----------------------------------------------------------------------------------

    def _send(self, data: bytes):
        if data:
            self._tls.send(data)

    def _consumed(self, call: Optional[Call], n: int) -> list:
        """Records n consumed MESSAGE bytes; returns the WINDOW_UPDATE frames due: a window is
        topped up once at least half of it was consumed (§5). Called with _cond held."""
        frames = []
        if n <= 0:
            return frames
        if call is not None and not call.ended:
            call.recv_unacked += n
            if call.recv_unacked >= max(1, self.local.initial_stream_window // 2):
                frames.append(encode_frame(FrameType.WINDOW_UPDATE, call.stream_id, struct.pack(">I", call.recv_unacked)))
                call.recv_window += call.recv_unacked
                call.recv_unacked = 0
        self._recv_conn_unacked += n
        if self._recv_conn_unacked >= max(1, self.local.initial_connection_window // 2):
            frames.append(encode_frame(FrameType.WINDOW_UPDATE, 0, struct.pack(">I", self._recv_conn_unacked)))
            self._recv_conn_window += self._recv_conn_unacked
            self._recv_conn_unacked = 0
        self.stats["window_updates_sent"] += len(frames)
        return frames

    # -- the reader -------------------------------------------------------------------------------

    def _read_exact(self, n: int) -> Optional[bytes]:
        while len(self._buffer) < n:
            data = self._tls.recv()
            if not data:
                if self._buffer:
                    raise ConnectionError("connection closed in the middle of a frame")
                return None
            self._buffer += data
        chunk = bytes(self._buffer[:n])
        del self._buffer[:n]
        return chunk

    def _read_loop(self):
        reason = "the server closed the connection"
        try:
            while True:
                header = self._read_exact(9)
                if header is None:
                    reason += " (close_notify)" if self._tls.clean_close else " (without close_notify)"
                    break
                length = int.from_bytes(header[0:3], "big")
                ftype, flags = header[3], header[4]
                stream_id = int.from_bytes(header[5:9], "big")
                # §2: the length is checked before the payload is read.
                if length > self.local.max_frame_size:
                    raise ProtocolViolation(GoAwayReason.FRAME_TOO_LARGE, f"frame of {length} bytes")
                payload = self._read_exact(length) if length else b""
                if payload is None:
                    raise ConnectionError("connection closed in the middle of a frame")
                self.stats["frames_received"] += 1
                self._handle(ftype, flags, stream_id, payload)
        except ProtocolViolation as violation:
            reason = f"server broke the protocol: {violation}"
            self.stats["protocol_violations"] += 1
            try:
                goaway = self.pb.rpc.GoAway(last_stream_id=0, reason=int(violation.reason), message=str(violation))
                self._send(encode_frame(FrameType.GOAWAY, 0, goaway.SerializeToString()))
                self._tls.close()
            except OSError:
                pass
        except OSError as error:  # includes ssl.SSLError
            reason = f"connection lost: {error!r}"
        except Exception as error:  # a bug here: fail the calls rather than leave them hanging
            reason = f"client reader failed: {error!r}"
            self._tls.close()
        with self._cond:
            if self.closed is None:
                self.closed = reason
            # §6/§7: the open calls fail with UNAVAILABLE.
            self._fail_calls(lambda c: True, Status(Code.UNAVAILABLE, self.closed, source="connection"))
            self._cond.notify_all()

    def _decode(self, cls, payload: bytes):
        try:
            return cls.FromString(payload)
        except Exception as error:
            raise ProtocolViolation(GoAwayReason.PROTOCOL_ERROR, f"bad {cls.DESCRIPTOR.name} payload: {error}")

    def _handle(self, ftype: int, flags: int, stream_id: int, payload: bytes):
        violation = lambda text: ProtocolViolation(GoAwayReason.PROTOCOL_ERROR, text)  # noqa: E731
        if stream_id & 0x8000_0000:
            raise violation("reserved bit set")
        if ftype not in FrameType._value2member_map_:
            raise violation(f"unknown frame type {ftype:#x}")
        ftype = FrameType(ftype)
        if flags & ~_ALLOWED_FLAGS.get(ftype, 0):
            raise violation(f"flags {flags:#x} on {ftype.name}")
        if ftype in _CONNECTION_TYPES and stream_id != 0:
            raise violation(f"{ftype.name} on stream {stream_id}")
        if ftype in _CALL_TYPES and stream_id == 0:
            raise violation(f"{ftype.name} on stream 0")
        if self.server_hello is None and ftype not in (FrameType.HELLO, FrameType.GOAWAY):
            raise violation(f"{ftype.name} before the server's HELLO")

        if ftype == FrameType.HELLO:
            self._on_hello(payload)
            return
        if ftype == FrameType.PING:
            if len(payload) != 8:
                raise violation("PING payload is not 8 bytes")
            if flags & FLAG_ACK:
                with self._cond:
                    self.ping_acks.append(payload)
                    self._cond.notify_all()
            else:
                self.stats["pings_answered"] += 1
                self._send(encode_frame(FrameType.PING, 0, payload, FLAG_ACK))
            return
        if ftype == FrameType.GOAWAY:
            self._on_goaway(self._decode(self.pb.rpc.GoAway, payload))
            return
        if ftype == FrameType.OPEN:
            raise violation("the server opened a stream")
        if ftype == FrameType.HALF_CLOSE:
            raise violation("HALF_CLOSE from the server")  # also covers one with a payload
        if ftype == FrameType.WINDOW_UPDATE:
            self._on_window_update(stream_id, payload)
            return

        with self._cond:
            call = self._streams.get(stream_id)
        if call is None:  # even, or above every id we opened
            raise violation(f"{ftype.name} on stream {stream_id}, which the client never opened")
        if ftype == FrameType.MESSAGE:
            self._on_message(call, flags, payload)
        elif ftype == FrameType.STATUS:
            status = self._decode(self.pb.rpc.CallStatus, payload)
            with self._cond:
                if call.ended:
                    self._count_late(call, ftype.name)
                    return
                code, text = status.code, status.message
                if call._fragments:
                    code, text = Code.INTERNAL, f"STATUS inside a fragmented message ({status.code}: {status.message})"
                elif code == Code.OK and call.kind in ("unary", "client_stream") and call.messages_received != 1:
                    code, text = Code.INTERNAL, f"{call.messages_received} response messages for a {call.kind} call"
                call._end(Status(code, text, tuple(status.details), tuple(status.trailers), source="server"))
        elif ftype == FrameType.CANCEL:
            cancel = self._decode(self.pb.rpc.Cancel, payload)
            with self._cond:
                if call.ended:
                    self._count_late(call, ftype.name)
                    return
                call._end(Status(cancel.code, cancel.message or "cancelled by the server", source="server"))

    def _on_hello(self, payload: bytes):
        hello = self._decode(self.pb.rpc.Hello, payload)
        with self._cond:
            if self.server_hello is not None:
                raise ProtocolViolation(GoAwayReason.PROTOCOL_ERROR, "second HELLO")
            if list(hello.versions) != [VERSION]:
                raise ProtocolViolation(GoAwayReason.PROTOCOL_ERROR, f"HELLO versions {list(hello.versions)}, expected [1]")
            try:
                self.remote = Settings.from_proto(hello.settings)
            except ValueError as error:
                raise ProtocolViolation(GoAwayReason.PROTOCOL_ERROR, str(error))
            # No call is open yet (the constructor waits for this HELLO), so the send windows
            # simply start at the server's values.
            self._send_conn_window = self.remote.initial_connection_window
            self.server_hello = hello
            self._cond.notify_all()

    def _on_goaway(self, goaway):
        with self._cond:
            self.goaway = goaway
            self.stats["goaways_received"] += 1
            # §6: calls above last_stream_id were not processed (retryable); with an error reason
            # the connection is closing, and the rest fail when it does.
            self._fail_calls(lambda c: c.stream_id > goaway.last_stream_id,
                             Status(Code.UNAVAILABLE, f"GOAWAY {goaway.reason}: {goaway.message}",
                                    source="connection", retryable=True))
            self._cond.notify_all()

    def _on_window_update(self, stream_id: int, payload: bytes):
        if len(payload) != 4:
            raise ProtocolViolation(GoAwayReason.PROTOCOL_ERROR, "WINDOW_UPDATE payload is not 4 bytes")
        increment = int.from_bytes(payload, "big")
        if increment == 0 or increment > MAX_WINDOW:
            raise ProtocolViolation(GoAwayReason.PROTOCOL_ERROR, f"WINDOW_UPDATE increment {increment}")
        with self._cond:
            if stream_id == 0:
                self.stats["connection_window_updates_received"] += 1
                self._send_conn_window += increment
                if self._send_conn_window > MAX_WINDOW:
                    raise ProtocolViolation(GoAwayReason.FLOW_CONTROL_ERROR, "connection window above 2^31-1")
            else:
                call = self._streams.get(stream_id)
                if call is None:
                    raise ProtocolViolation(GoAwayReason.PROTOCOL_ERROR, f"WINDOW_UPDATE on unopened stream {stream_id}")
                if call.ended:
                    return  # §5: ignored
                self.stats["stream_window_updates_received"] += 1
                call.send_window += increment
                if call.send_window > MAX_WINDOW:
                    raise ProtocolViolation(GoAwayReason.FLOW_CONTROL_ERROR, f"stream {stream_id} window above 2^31-1")
            self._cond.notify_all()

    def _on_message(self, call: Call, flags: int, payload: bytes):
        n = len(payload)
        frames = []
        with self._cond:
            if n > self._recv_conn_window:
                raise ProtocolViolation(GoAwayReason.FLOW_CONTROL_ERROR, f"{n} bytes, connection window {self._recv_conn_window}")
            self._recv_conn_window -= n
            if call.ended:
                # In flight when we cancelled: drop it, give the connection window back.
                self._count_late(call, "MESSAGE")
                call.late_frames["MESSAGE bytes"] += n
                frames = self._consumed(None, n)
            else:
                if n > call.recv_window:
                    raise ProtocolViolation(GoAwayReason.FLOW_CONTROL_ERROR,
                                            f"{n} bytes, stream {call.stream_id} window {call.recv_window}")
                call.recv_window -= n
                call._fragments += payload
                call._fragment_frames += 1
                if len(call._fragments) > self.local.max_message_size:
                    self._cond.release()
                    try:  # §3.2: a client cancels a response larger than its max_message_size
                        call.cancel(Code.RESOURCE_EXHAUSTED, "response larger than max_message_size")
                    finally:
                        self._cond.acquire()
                    frames = self._consumed(None, n)  # earlier fragments were given back already
                    call._fragments.clear()
                elif flags & FLAG_MORE:
                    frames = self._consumed(call, n)  # §5: a buffered fragment's window comes back at once
                else:
                    message = bytes(call._fragments)
                    call._fragments.clear()
                    if call._fragment_frames > 1:
                        self.stats["fragmented_messages_received"] += 1
                    call._fragment_frames = 0
                    call.messages_received += 1
                    call._inbox.append((message, n))
                    self._cond.notify_all()
                    if call.kind in ("unary", "client_stream") and call.messages_received > 1:
                        self._cond.release()
                        try:  # §3.1: the server violated the call kind; report INTERNAL
                            call.cancel(Code.INTERNAL, "more than one response message")
                        finally:
                            self._cond.acquire()
        self._send(b"".join(frames))

    def _count_late(self, call: Call, kind: str):
        """A frame for a call that already ended. Expected in flight after our CANCEL; after the
        server's own STATUS or CANCEL it breaks §3.1 ("the server sends nothing more"), which is
        counted (not fatal: the document does not name it a connection error)."""
        call.late_frames[kind] += 1
        if call.status.source == "server":
            self.stats["frames_after_server_status"] += 1

    def _fail_calls(self, which, status: Status):
        for call in self._streams.values():
            if not call.ended and which(call):
                call._end(dataclasses.replace(status))
