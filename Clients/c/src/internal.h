/* The logger object shared by logger.c (API, queue), conn.c (transport) and ingest.c (the call). */
#ifndef WL_INTERNAL_H
#define WL_INTERNAL_H

#include <openssl/ssl.h>
#include <protobuf-c/protobuf-c.h>

#include "backoff.h"
#include "queue.h"
#include "tls.h"
#include "wattline.h"

/* What we announce in HELLO: frames and messages from the server are small (acks, status). */
#define WL_RECV_MAX_FRAME 16384u
#define WL_RECV_MAX_MESSAGE 16384u
#define WL_RECV_STREAM_WINDOW 65535u
#define WL_RECV_CONN_WINDOW 1048576u
#define WL_ARENA_BYTES (32u * 1024u)     /* decoded control payloads and responses */
#define WL_OBUF_BYTES (WL_FRAME_HEADER_BYTES + 16384u + 512u)
#define WL_OBUF_RESERVE 128u              /* kept free for control frames (pings, window updates) */
#define WL_FRAME_HEADER_BYTES 9u
#define WL_MSG_HEADROOM 16u               /* room before a record for the IngestRequest prefix */
#define WL_INGEST_STREAM 1u
#define WL_KEEPALIVE_GRACE_MS 20000u

/* OPENING: TCP connect then TLS handshake, both non-blocking, so wl_poll never stalls the caller. */
enum { WL_DISCONNECTED = 0, WL_TCP_CONNECTING, WL_TLS_HANDSHAKE, WL_CONNECTED, WL_CLOSING };

typedef struct wl_inflight {
    uint64_t seq;
    uint64_t next_off; /* queue offset after the record */
} wl_inflight;

struct wl_logger {
    /* configuration (strings owned) */
    char *host, *server_name, *agent;
    uint16_t port;
    uint32_t max_batch, max_in_flight, connect_timeout_ms, keepalive_ms;
    void (*on_ack)(void *, const wl_ack *);
    void (*on_event)(void *, int, int, const char *);
    void *ctx;
    char err[256];

    wl_queue q;
    wl_tls tls;
    wl_backoff backoff;
    wl_stats st;

    /* fixed buffers, allocated at open */
    uint8_t *rec;       /* WL_MSG_HEADROOM + max_batch: the outgoing batch message */
    uint8_t *scratch;   /* max_batch: queue scan and encoding */
    uint8_t *ibuf;      /* received bytes: one header + one frame + slack */
    size_t ilen, icap;
    uint8_t *obuf;      /* bytes to write */
    size_t olen;
    uint8_t *mbuf;      /* one received message being reassembled */
    size_t mlen;
    uint8_t *arena;     /* bump allocator for protobuf-c unpacking, reset per payload */
    size_t arena_used;
    ProtobufCAllocator alloc;

    /* connection */
    int state, fd;
    SSL *ssl;
    int want_write;     /* the last SSL call needs the socket writable */
    uint64_t next_attempt_ms, open_deadline_ms, connected_ms, last_rx_ms, ping_sent_ms, closing_deadline_ms;
    int ping_outstanding, got_hello, got_ack;
    uint32_t peer_max_frame, peer_max_message;
    int64_t send_conn_window, send_stream_window;
    uint32_t recv_conn_left, recv_stream_left; /* what the server may still send us */
    uint32_t conn_unacked, stream_unacked;     /* consumed, not yet given back */
    int stream_open, half_closed, goaway;

    /* ingest call */
    int welcomed;
    uint32_t window;    /* negotiated in-flight limit */
    uint64_t send_off;  /* queue offset of the next record to send */
    int msg_active;     /* a batch message is being framed */
    size_t msg_len, msg_sent;
    uint8_t *msg;
    uint64_t msg_seq, msg_next;
    wl_inflight *inflight;
    uint32_t if_head, if_count;
    int acks_dirty;
};

/* logger.c */
void wl_event(wl_logger *lg, int event, int err, const char *detail);
void *wl_arena_reset(wl_logger *lg);

/* conn.c */
int wl_conn_open(wl_logger *lg);
/* Runs one round of I/O; *events gets the poll events to wait for, *progress whether it did work. */
int wl_conn_step(wl_logger *lg, short *events, int *progress, uint64_t *timer_ms);
void wl_conn_drop(wl_logger *lg, int err, const char *why, int clean);
void wl_conn_error(wl_logger *lg, int goaway_reason, const char *why);
int wl_conn_frame(wl_logger *lg, uint8_t type, uint8_t flags, uint32_t stream, const uint8_t *payload, size_t len);
int wl_conn_pack(wl_logger *lg, uint8_t type, uint32_t stream, const ProtobufCMessage *msg);
size_t wl_conn_room(const wl_logger *lg);
void wl_conn_cancel(wl_logger *lg, uint32_t code, const char *why);

/* ingest.c */
int wl_ingest_start(wl_logger *lg);
int wl_ingest_fill(wl_logger *lg);
int wl_ingest_message(wl_logger *lg, const uint8_t *msg, size_t len);
void wl_ingest_status(wl_logger *lg, uint32_t code, const char *message);
void wl_ingest_reset(wl_logger *lg);

#endif
