/* The client side of one Wattline connection (docs/protocol.md): TCP + TLS, preface and HELLO,
 * frame parsing and validation, flow-control windows in both directions, PING, GOAWAY and the
 * bounded close. The single call on it (stream 1) is ingest.c's. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame.h"
#include "internal.h"
#include "util.h"
#include "wattline/rpc/v1/rpc.pb-c.h"

size_t wl_conn_room(const wl_logger *lg) { return WL_OBUF_BYTES - lg->olen; }

int wl_conn_frame(wl_logger *lg, uint8_t type, uint8_t flags, uint32_t stream, const uint8_t *payload, size_t len) {
    if (WL_FRAME_HEADER + len > wl_conn_room(lg)) return WL_ETOOBIG;
    wl_frame_put_header(lg->obuf + lg->olen, (uint32_t)len, type, flags, stream);
    if (len) memcpy(lg->obuf + lg->olen + WL_FRAME_HEADER, payload, len);
    lg->olen += WL_FRAME_HEADER + len;
    return WL_OK;
}

/* Packs a control payload straight into the output buffer behind its header. */
int wl_conn_pack(wl_logger *lg, uint8_t type, uint32_t stream, const ProtobufCMessage *msg) {
    size_t n = protobuf_c_message_get_packed_size(msg);
    if (WL_FRAME_HEADER + n > wl_conn_room(lg) || n > 16384) return WL_ETOOBIG;
    wl_frame_put_header(lg->obuf + lg->olen, (uint32_t)n, type, 0, stream);
    protobuf_c_message_pack(msg, lg->obuf + lg->olen + WL_FRAME_HEADER);
    lg->olen += WL_FRAME_HEADER + n;
    return WL_OK;
}

static int flush(wl_logger *lg) {
    lg->want_write = 0;
    if (!lg->olen) return WL_OK;
    int r = SSL_write(lg->ssl, lg->obuf, (int)lg->olen);
    if (r > 0) {
        lg->olen = 0; /* SSL_write without partial writes reports all or nothing */
        return 1;
    }
    int e = SSL_get_error(lg->ssl, r);
    if (e == SSL_ERROR_WANT_WRITE) { lg->want_write = 1; return WL_OK; }
    if (e == SSL_ERROR_WANT_READ) return WL_OK;
    char why[256];
    wl_tls_error(why, sizeof why, "write");
    wl_conn_drop(lg, WL_ECLOSED, why, 0);
    return WL_OK;
}

void wl_conn_drop(wl_logger *lg, int err, const char *why, int clean) {
    if (lg->state == WL_DISCONNECTED) return;
    if (lg->acks_dirty) { /* keep what was acknowledged even if the commit must wait for the next poll */
        if (wlq_commit(&lg->q) == WL_OK) lg->acks_dirty = 0;
    }
    wl_tls_close(lg->ssl, clean);
    lg->ssl = NULL;
    close(lg->fd);
    lg->fd = -1;
    lg->state = WL_DISCONNECTED;
    wl_ingest_reset(lg);
    uint64_t now = wl_now_ms();
    /* A connection that carried acks (or lived a while) was a success: start the backoff over.
     * One that failed early keeps growing it, so a server refusing us is not hammered. */
    if (lg->got_ack || (lg->welcomed && now - lg->connected_ms > 10000)) wl_backoff_reset(&lg->backoff);
    lg->welcomed = 0;
    uint32_t delay = wl_backoff_next(&lg->backoff);
    lg->next_attempt_ms = now + delay;
    snprintf(lg->err, sizeof lg->err, "%s", why);
    char detail[320];
    snprintf(detail, sizeof detail, "%s; reconnect in %u ms", why, delay);
    wl_event(lg, WL_EV_DISCONNECTED, err, detail);
}

/* A connection error we detected (§7): GOAWAY with the reason, then keep reading and discarding
 * for up to a second so the server reads the GOAWAY before the TCP close. */
void wl_conn_error(wl_logger *lg, int reason, const char *why) {
    if (lg->state != WL_CONNECTED) return;
    Wattline__Rpc__V1__GoAway ga = WATTLINE__RPC__V1__GO_AWAY__INIT;
    ga.last_stream_id = 0; /* a client processes no server streams */
    ga.reason = (Wattline__Rpc__V1__GoAwayReason)reason;
    ga.message = (char *)why;
    lg->olen = 0; /* nothing else matters now; an unfinished TLS write is retried with this */
    if (wl_conn_pack(lg, WL_F_GOAWAY, 0, &ga.base) != WL_OK) lg->olen = 0;
    snprintf(lg->err, sizeof lg->err, "%s", why);
    lg->state = WL_CLOSING;
    lg->closing_deadline_ms = wl_now_ms() + 1000;
}

void wl_conn_cancel(wl_logger *lg, uint32_t code, const char *why) {
    if (!lg->stream_open) return;
    Wattline__Rpc__V1__Cancel c = WATTLINE__RPC__V1__CANCEL__INIT;
    c.code = code;
    c.message = (char *)why;
    (void)wl_conn_pack(lg, WL_F_CANCEL, WL_INGEST_STREAM, &c.base);
    lg->stream_open = 0;
    (void)flush(lg);
    /* One call per connection: a new one starts on a new connection with the queue's state. */
    wl_conn_drop(lg, WL_EPROTO, why, 1);
}

static int open_failed(wl_logger *lg, int rc) {
    if (lg->ssl) SSL_free(lg->ssl);
    lg->ssl = NULL;
    if (lg->fd >= 0) close(lg->fd);
    lg->fd = -1;
    lg->state = WL_DISCONNECTED;
    lg->st.connect_failures++;
    uint32_t delay = wl_backoff_next(&lg->backoff);
    lg->next_attempt_ms = wl_now_ms() + delay;
    char detail[320];
    snprintf(detail, sizeof detail, "%s; retry in %u ms", lg->err, delay);
    wl_event(lg, WL_EV_DISCONNECTED, rc, detail);
    return rc;
}

/* Starts a connection attempt: name resolution (getaddrinfo, blocking) and a non-blocking TCP
 * connect; wl_conn_step carries on with the TLS handshake without blocking. */
int wl_conn_open(wl_logger *lg) {
    lg->open_deadline_ms = wl_now_ms() + lg->connect_timeout_ms;
    char port[8];
    snprintf(port, sizeof port, "%u", lg->port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(lg->host, port, &hints, &res);
    if (rc != 0) {
        wl_fail(lg->err, sizeof lg->err, 0, "resolve %s: %s", lg->host, gai_strerror(rc));
        return open_failed(lg, WL_ENET);
    }
    int fd = -1, saved = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) { saved = errno; continue; }
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        wl_fail(lg->err, sizeof lg->err, 0, "connect %s:%u: %s", lg->host, lg->port, strerror(saved));
        return open_failed(lg, WL_ENET);
    }
    lg->fd = fd;
    lg->state = WL_TCP_CONNECTING;
    return WL_OK;
}

static void start_session(wl_logger *lg);

/* Advances the TCP connect and the TLS handshake as far as the socket allows. */
static void open_step(wl_logger *lg, short *events, int *progress) {
    if (wl_now_ms() >= lg->open_deadline_ms) {
        wl_fail(lg->err, sizeof lg->err, 0, "%s timed out",
                lg->state == WL_TCP_CONNECTING ? "TCP connect" : "TLS handshake");
        open_failed(lg, WL_ETIMEOUT);
        return;
    }
    if (lg->state == WL_TCP_CONNECTING) {
        struct pollfd p = {lg->fd, POLLOUT, 0};
        if (poll(&p, 1, 0) == 0) { *events = POLLOUT; return; }
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        getsockopt(lg->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (soerr) {
            wl_fail(lg->err, sizeof lg->err, 0, "connect %s:%u: %s", lg->host, lg->port, strerror(soerr));
            open_failed(lg, WL_ENET);
            return;
        }
        int one = 1;
        setsockopt(lg->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int rc = wl_tls_start(&lg->tls, lg->fd, lg->server_name, &lg->ssl, lg->err, sizeof lg->err);
        if (rc) { open_failed(lg, rc); return; }
        lg->state = WL_TLS_HANDSHAKE;
        *progress = 1;
    }
    int r = wl_tls_handshake(lg->ssl, events, lg->err, sizeof lg->err);
    if (r < 0) { open_failed(lg, r); return; }
    if (r == 0) return;
    *progress = 1;
    start_session(lg);
}

/* TLS is up: preface + HELLO, then the ingest call's OPEN and hello (§1, §3). */
static void start_session(wl_logger *lg) {
    lg->st.handshakes++;
    if (SSL_session_reused(lg->ssl)) lg->st.resumed_handshakes++;
    lg->state = WL_CONNECTED;
    lg->connected_ms = lg->last_rx_ms = wl_now_ms();
    lg->ilen = lg->olen = lg->mlen = 0;
    lg->want_write = lg->ping_outstanding = lg->got_hello = lg->got_ack = lg->goaway = 0;
    lg->half_closed = 0;
    /* Until the server's HELLO, the protocol defaults apply (§1.4). */
    lg->peer_max_frame = 16384;
    lg->peer_max_message = 4u << 20;
    lg->send_conn_window = 1048576;
    lg->send_stream_window = 65535;
    lg->recv_conn_left = WL_RECV_CONN_WINDOW;
    lg->recv_stream_left = WL_RECV_STREAM_WINDOW;
    lg->conn_unacked = lg->stream_unacked = 0;

    memcpy(lg->obuf, WL_PREFACE, WL_PREFACE_LEN);
    lg->olen = WL_PREFACE_LEN;
    uint32_t versions[1] = {1};
    Wattline__Rpc__V1__Settings s = WATTLINE__RPC__V1__SETTINGS__INIT;
    s.max_frame_size = WL_RECV_MAX_FRAME;
    s.max_message_size = WL_RECV_MAX_MESSAGE;
    s.initial_stream_window = WL_RECV_STREAM_WINDOW;
    s.initial_connection_window = WL_RECV_CONN_WINDOW;
    s.max_concurrent_streams = 1; /* the server never opens streams in version 1 */
    s.keepalive_interval_ms = lg->keepalive_ms;
    Wattline__Rpc__V1__Hello h = WATTLINE__RPC__V1__HELLO__INIT;
    h.n_versions = 1;
    h.versions = versions;
    h.settings = &s;
    h.agent = lg->agent;
    if (wl_conn_pack(lg, WL_F_HELLO, 0, &h.base) != WL_OK) {
        wl_conn_drop(lg, WL_EINVAL, "HELLO does not fit", 0);
        return;
    }
    (void)wl_ingest_start(lg);
}

static int check_setting(uint32_t v, uint32_t lo, uint32_t hi) { return v == 0 || (v >= lo && v <= hi); }

static int on_hello(wl_logger *lg, const uint8_t *p, size_t n) {
    Wattline__Rpc__V1__Hello *h = wattline__rpc__v1__hello__unpack(wl_arena_reset(lg), n, p);
    if (!h) return wl_conn_error(lg, WL_GA_PROTOCOL_ERROR, "undecodable HELLO"), 0;
    if (h->n_versions != 1 || h->versions[0] != 1)
        return wl_conn_error(lg, WL_GA_PROTOCOL_ERROR, "server HELLO does not select version 1"), 0;
    Wattline__Rpc__V1__Settings def = WATTLINE__RPC__V1__SETTINGS__INIT, *s = h->settings ? h->settings : &def;
    const uint32_t max = WL_MAX_WINDOW;
    if (!check_setting(s->max_frame_size, 16384, 16777215) || !check_setting(s->max_message_size, 1, max) ||
        !check_setting(s->initial_stream_window, 1, max) || !check_setting(s->initial_connection_window, 65535, max) ||
        !check_setting(s->max_concurrent_streams, 1, max) || !check_setting(s->max_metadata_size, 1, max) ||
        !check_setting(s->keepalive_interval_ms, 5000, max) || !check_setting(s->idle_timeout_ms, 1000, max))
        return wl_conn_error(lg, WL_GA_PROTOCOL_ERROR, "server HELLO setting out of range"), 0;
    if (s->max_frame_size) lg->peer_max_frame = s->max_frame_size;
    if (s->max_message_size) lg->peer_max_message = s->max_message_size;
    /* Windows already used against the defaults grow (or shrink) by the difference. */
    if (s->initial_connection_window) lg->send_conn_window += (int64_t)s->initial_connection_window - 1048576;
    if (s->initial_stream_window && lg->stream_open) lg->send_stream_window += (int64_t)s->initial_stream_window - 65535;
    lg->got_hello = 1;
    return 0;
}

static int on_goaway(wl_logger *lg, const uint8_t *p, size_t n) {
    Wattline__Rpc__V1__GoAway *g = wattline__rpc__v1__go_away__unpack(wl_arena_reset(lg), n, p);
    if (!g) return wl_conn_error(lg, WL_GA_PROTOCOL_ERROR, "undecodable GOAWAY"), 0;
    char detail[200];
    snprintf(detail, sizeof detail, "GOAWAY reason %d last_stream_id %u: %.120s", (int)g->reason,
             g->last_stream_id, g->message ? g->message : "");
    wl_event(lg, WL_EV_GOAWAY, 0, detail);
    lg->goaway = 1;
    if (g->reason == WATTLINE__RPC__V1__GO_AWAY_REASON__GO_AWAY_REASON_NO_ERROR &&
        g->last_stream_id >= WL_INGEST_STREAM && lg->stream_open)
        return 0; /* drain: ingest.c half-closes, collects the acks and the STATUS */
    wl_conn_drop(lg, WL_ECLOSED, detail, 1);
    return 0;
}

/* Gives window back for consumed MESSAGE bytes once half the initial window is used (§5). */
static void give_back(wl_logger *lg, uint32_t n, int stream) {
    lg->conn_unacked += n;
    if (lg->conn_unacked >= WL_RECV_CONN_WINDOW / 2) {
        uint8_t inc[4];
        wl_put_be32(inc, lg->conn_unacked);
        if (wl_conn_frame(lg, WL_F_WINDOW_UPDATE, 0, 0, inc, 4) == WL_OK) {
            lg->recv_conn_left += lg->conn_unacked;
            lg->conn_unacked = 0;
        }
    }
    if (!stream || !lg->stream_open) return;
    lg->stream_unacked += n;
    if (lg->stream_unacked >= WL_RECV_STREAM_WINDOW / 2) {
        uint8_t inc[4];
        wl_put_be32(inc, lg->stream_unacked);
        if (wl_conn_frame(lg, WL_F_WINDOW_UPDATE, 0, WL_INGEST_STREAM, inc, 4) == WL_OK) {
            lg->recv_stream_left += lg->stream_unacked;
            lg->stream_unacked = 0;
        }
    }
}

static int on_frame(wl_logger *lg, const wl_frame_hdr *h, const uint8_t *p) {
    lg->last_rx_ms = wl_now_ms();
    lg->ping_outstanding = 0; /* any frame proves the peer alive */
    if (!lg->got_hello && h->type != WL_F_HELLO && h->type != WL_F_GOAWAY)
        return wl_conn_error(lg, WL_GA_PROTOCOL_ERROR, "first server frame is not HELLO"), 0;
    /* Stream 1 is the only one we open; any other call stream was never opened. */
    if (h->stream > WL_INGEST_STREAM)
        return wl_conn_error(lg, WL_GA_PROTOCOL_ERROR, "frame on a stream never opened"), 0;
    switch (h->type) {
    case WL_F_HELLO:
        if (lg->got_hello) return wl_conn_error(lg, WL_GA_PROTOCOL_ERROR, "second HELLO"), 0;
        return on_hello(lg, p, h->length);
    case WL_F_GOAWAY: return on_goaway(lg, p, h->length);
    case WL_F_PING:
        if (!(h->flags & WL_FLAG_ACK)) return wl_conn_frame(lg, WL_F_PING, WL_FLAG_ACK, 0, p, 8), 0;
        return 0;
    case WL_F_WINDOW_UPDATE: {
        uint32_t inc;
        if (wl_frame_window_increment(p, &inc)) return wl_conn_error(lg, WL_GA_FLOW_CONTROL_ERROR, "bad WINDOW_UPDATE increment"), 0;
        int64_t *w = h->stream == 0 ? &lg->send_conn_window : &lg->send_stream_window;
        if (h->stream != 0 && !lg->stream_open) return 0; /* ended stream: ignored */
        *w += inc;
        if (*w > (int64_t)WL_MAX_WINDOW) return wl_conn_error(lg, WL_GA_FLOW_CONTROL_ERROR, "send window above 2^31-1"), 0;
        return 0;
    }
    case WL_F_MESSAGE:
        if (h->length > lg->recv_conn_left) return wl_conn_error(lg, WL_GA_FLOW_CONTROL_ERROR, "MESSAGE beyond the connection window"), 0;
        lg->recv_conn_left -= h->length;
        if (!lg->stream_open) { give_back(lg, h->length, 0); return 0; } /* ended call: discard, connection window back */
        if (h->length > lg->recv_stream_left) return wl_conn_error(lg, WL_GA_FLOW_CONTROL_ERROR, "MESSAGE beyond the stream window"), 0;
        lg->recv_stream_left -= h->length;
        if (lg->mlen + h->length > WL_RECV_MAX_MESSAGE) {
            give_back(lg, h->length, 0);
            wl_conn_cancel(lg, 8, "response larger than max_message_size");
            return 0;
        }
        memcpy(lg->mbuf + lg->mlen, p, h->length);
        lg->mlen += h->length;
        if (h->flags & WL_FLAG_MORE) { give_back(lg, h->length, 1); return 0; }
        {
            size_t n = lg->mlen;
            lg->mlen = 0;
            int rc = wl_ingest_message(lg, lg->mbuf, n);
            if (lg->state == WL_CONNECTED) give_back(lg, h->length, 1);
            return rc;
        }
    case WL_F_STATUS: {
        if (!lg->stream_open) return 0;
        Wattline__Rpc__V1__CallStatus *s = wattline__rpc__v1__call_status__unpack(wl_arena_reset(lg), h->length, p);
        uint32_t code = 2;
        const char *msg = "status too large to decode";
        if (s) {
            code = s->code;
            msg = s->message ? s->message : "";
        } else if (lg->arena_used < WL_ARENA_BYTES / 2) {
            return wl_conn_error(lg, WL_GA_PROTOCOL_ERROR, "undecodable STATUS"), 0;
        }
        lg->stream_open = 0;
        wl_ingest_status(lg, code, msg);
        return 0;
    }
    default:
        return wl_conn_error(lg, WL_GA_PROTOCOL_ERROR, "unexpected frame"), 0;
    }
}

static int parse_frames(wl_logger *lg, int *progress) {
    size_t pos = 0;
    int rc = WL_OK;
    while (lg->state == WL_CONNECTED && lg->ilen - pos >= WL_FRAME_HEADER && wl_conn_room(lg) >= WL_OBUF_RESERVE) {
        wl_frame_hdr h;
        int reason = wl_frame_check_server(lg->ibuf + pos, WL_RECV_MAX_FRAME, &h);
        if (reason) {
            char why[96];
            snprintf(why, sizeof why, "bad frame header (type %u, flags %u, length %u)", h.type, h.flags, h.length);
            wl_conn_error(lg, reason, why);
            break;
        }
        if (lg->ilen - pos < WL_FRAME_HEADER + (size_t)h.length) break;
        rc = on_frame(lg, &h, lg->ibuf + pos + WL_FRAME_HEADER);
        pos += WL_FRAME_HEADER + h.length;
        *progress = 1;
        if (rc) break;
    }
    if (lg->state == WL_DISCONNECTED) { lg->ilen = 0; return rc; }
    memmove(lg->ibuf, lg->ibuf + pos, lg->ilen - pos);
    lg->ilen -= pos;
    return rc;
}

static void receive(wl_logger *lg, int *progress) {
    while (lg->state != WL_DISCONNECTED && lg->ilen < lg->icap) {
        int r = SSL_read(lg->ssl, lg->ibuf + lg->ilen, (int)(lg->icap - lg->ilen));
        if (r > 0) {
            *progress = 1;
            if (lg->state == WL_CLOSING) continue; /* discarding until close */
            lg->ilen += (size_t)r;
            continue;
        }
        int e = SSL_get_error(lg->ssl, r);
        if (e == SSL_ERROR_WANT_READ) return;
        if (e == SSL_ERROR_WANT_WRITE) { lg->want_write = 1; return; }
        if (lg->state == WL_CLOSING) { wl_conn_drop(lg, WL_EPROTO, lg->err, 1); return; }
        char why[256];
        if (e == SSL_ERROR_ZERO_RETURN) snprintf(why, sizeof why, "server closed the connection");
        else wl_tls_error(why, sizeof why, "read");
        wl_conn_drop(lg, WL_ECLOSED, why, e == SSL_ERROR_ZERO_RETURN);
        return;
    }
}

static void timers(wl_logger *lg, uint64_t now, uint64_t *timer) {
    if (lg->state == WL_CLOSING) {
        if (now >= lg->closing_deadline_ms) wl_conn_drop(lg, WL_EPROTO, lg->err, 1);
        else if (lg->closing_deadline_ms < *timer) *timer = lg->closing_deadline_ms;
        return;
    }
    if (!lg->welcomed && now >= lg->connected_ms + lg->connect_timeout_ms) {
        wl_conn_drop(lg, WL_ETIMEOUT, "no welcome from the server in time", 0);
        return;
    }
    if (!lg->welcomed && lg->connected_ms + lg->connect_timeout_ms < *timer) *timer = lg->connected_ms + lg->connect_timeout_ms;
    if (lg->ping_outstanding) {
        uint64_t limit = lg->ping_sent_ms + WL_KEEPALIVE_GRACE_MS;
        if (now >= limit) { wl_conn_error(lg, WL_GA_KEEPALIVE_TIMEOUT, "no answer to keepalive"); return; }
        if (limit < *timer) *timer = limit;
    } else {
        uint64_t due = lg->last_rx_ms + lg->keepalive_ms;
        if (now >= due && wl_conn_room(lg) >= 32) {
            uint8_t opaque[8];
            wl_put_le64(opaque, now);
            (void)wl_conn_frame(lg, WL_F_PING, 0, 0, opaque, 8);
            lg->ping_outstanding = 1;
            lg->ping_sent_ms = now;
            due = now + WL_KEEPALIVE_GRACE_MS;
        }
        if (due < *timer) *timer = due;
    }
}

int wl_conn_step(wl_logger *lg, short *events, int *progress, uint64_t *timer) {
    int rc = WL_OK;
    *progress = 0;
    *events = 0;
    if (lg->state == WL_TCP_CONNECTING || lg->state == WL_TLS_HANDSHAKE) {
        open_step(lg, events, progress);
        if (lg->state != WL_CONNECTED) {
            if (lg->state != WL_DISCONNECTED && lg->open_deadline_ms < *timer) *timer = lg->open_deadline_ms;
            return WL_OK;
        }
    }
    if (lg->state == WL_CONNECTED) rc = wl_ingest_fill(lg);
    if (rc) return rc;
    if (lg->state != WL_DISCONNECTED && flush(lg) == 1) *progress = 1;
    if (lg->state != WL_DISCONNECTED && wl_conn_room(lg) >= WL_OBUF_RESERVE) receive(lg, progress);
    if (lg->state == WL_CONNECTED) rc = parse_frames(lg, progress);
    if (rc) return rc;
    if (lg->acks_dirty) {
        rc = wlq_commit(&lg->q);
        if (rc) return rc;
        lg->acks_dirty = 0;
    }
    if (lg->state != WL_DISCONNECTED) timers(lg, wl_now_ms(), timer);
    if (lg->state == WL_CLOSING && lg->olen) (void)flush(lg);
    *events = 0;
    if (lg->state != WL_DISCONNECTED) {
        *events = POLLIN;
        if (lg->want_write || lg->olen) *events |= POLLOUT;
        if (SSL_pending(lg->ssl) > 0 && wl_conn_room(lg) >= WL_OBUF_RESERVE && lg->ilen < lg->icap) *progress = 1;
    }
    return WL_OK;
}
