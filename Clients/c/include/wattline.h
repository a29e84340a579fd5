/* wattline.h: the Wattline C logger SDK (C99).
 *
 * A logger appends columnar batches of readings to a bounded on-disk queue (store-and-forward)
 * and a single-threaded poll loop streams them over mutual TLS to IngestService/Ingest
 * (docs/protocol.md, Protos/wattline/telemetry/v1/telemetry.proto). A batch leaves the queue only
 * when the server acknowledged it, so a reading survives power loss, kill -9 and reconnects.
 *
 * Threading: a wl_logger is not thread-safe; call every function from one thread.
 * Memory: all buffers are allocated in wl_logger_open, sized by the config; enqueueing and
 * streaming allocate nothing per batch or sample (OpenSSL allocates per handshake).
 */
#ifndef WATTLINE_H
#define WATTLINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Return codes: 0 or a negative WL_E* value. wl_strerror() names them; wl_last_error() has detail. */
enum {
    WL_OK = 0,
    WL_EINVAL = -1,    /* bad argument or configuration */
    WL_EFULL = -2,     /* the queue has no room for the batch; nothing was written */
    WL_EIO = -3,       /* file-system error (queue) */
    WL_ECORRUPT = -4,  /* queue files fail their checks in a way a torn write cannot explain */
    WL_ETOOBIG = -5,   /* a batch or message exceeds a configured or negotiated limit */
    WL_ENOMEM = -6,    /* allocation failed (only in wl_logger_open) */
    WL_ETLS = -7,      /* TLS setup, handshake or certificate verification failed */
    WL_EPROTO = -8,    /* the peer broke docs/protocol.md */
    WL_ECLOSED = -9,   /* the connection closed */
    WL_ETIMEOUT = -10, /* a timer expired (connect, keepalive, flush) */
    WL_ESTATUS = -11,  /* the call ended with a non-OK status */
    WL_ENET = -12      /* name resolution or socket error */
};

/* Outcome of one batch, as in BatchOutcome. */
enum { WL_STORED = 1, WL_DUPLICATE = 2, WL_REJECTED = 3 };

typedef struct wl_ack {
    uint64_t sequence;
    int outcome;             /* WL_STORED, WL_DUPLICATE or WL_REJECTED */
    uint32_t code;           /* canonical status code when REJECTED, else 0 */
    const char *message;     /* REJECTED: why (valid during the callback only) */
    uint32_t stored_samples;
    uint32_t flagged_samples;
} wl_ack;

/* Connection events, for logs and diagnostics. */
enum { WL_EV_CONNECTED = 1, WL_EV_DISCONNECTED = 2, WL_EV_GOAWAY = 3, WL_EV_STATUS = 4 };

typedef struct wl_config {
    const char *host;            /* address to connect to (name or IP literal) */
    uint16_t port;
    const char *server_name;     /* SNI and the name verified in the server certificate; NULL = host */
    const char *ca_file;         /* PEM CA bundle the server certificate must chain to */
    const char *cert_file;       /* the logger's client certificate (PEM) */
    const char *key_file;        /* its private key (PEM) */
    const char *queue_dir;       /* directory of the on-disk queue (created if missing) */
    uint64_t queue_max_bytes;    /* bound of the queue file; 0 = 16 MiB */
    uint32_t max_batch_bytes;    /* largest encoded batch; 0 = 256 KiB (at most 4 MiB - 16) */
    uint32_t max_in_flight;      /* batches sent but not acknowledged; 0 = 8 (server may lower) */
    uint32_t backoff_initial_ms; /* reconnect backoff: 0 = 100 ms, x1.6 per failure ... */
    uint32_t backoff_max_ms;     /* ... up to this; 0 = 10 s; full jitter */
    uint32_t connect_timeout_ms; /* TCP + TLS + HELLO; 0 = 10 s */
    uint32_t keepalive_ms;       /* ping after this long without a frame; 0 = 30 s, min 5 s */
    const char *agent;           /* HELLO agent and IngestHello.firmware_version; NULL = "wattline-c/1" */
    uint64_t rng_seed;           /* backoff jitter seed; 0 = from getrandom() */
    void (*on_ack)(void *ctx, const wl_ack *ack);
    void (*on_event)(void *ctx, int event, int err, const char *detail);
    void *ctx;
} wl_config;

/* One columnar batch, as TelemetryBatch (without the sequence, which the queue assigns).
 * Series i is channel_ids[i], starting at series_start_ms[i], and owns the next sample_counts[i]
 * entries of the sample columns. A sample's time is the previous one's (or the series start)
 * plus its delta. qualities may be NULL (all good). The arrays are only read. */
typedef struct wl_batch {
    size_t n_series;
    const uint64_t *channel_ids;
    const int64_t *series_start_ms;
    const uint32_t *sample_counts;
    size_t n_samples;
    const int32_t *time_deltas_ms;
    const double *values;
    const uint32_t *qualities;
} wl_batch;

typedef struct wl_stats {
    uint64_t last_sequence;     /* highest sequence ever assigned (survives restarts) */
    uint64_t acked_sequence;    /* every batch up to this one is acknowledged */
    uint64_t queued_batches;    /* in the queue, not yet acknowledged */
    uint64_t queued_bytes;
    uint64_t queue_file_bytes;  /* bytes in the queue file, acknowledged prefix included */
    uint64_t torn_bytes;        /* torn tail dropped when the queue was opened */
    uint64_t acked_stored, acked_duplicate, rejected, acked_by_welcome;
    uint64_t batches_sent;      /* sends, resends included */
    uint64_t handshakes, resumed_handshakes;
    uint64_t connects;          /* streams that got their welcome */
    uint64_t reconnects;        /* connects after the first */
    uint64_t connect_failures;
} wl_stats;

typedef struct wl_logger wl_logger;

/* Opens (or recovers) the queue and prepares TLS; does not connect yet. */
int wl_logger_open(const wl_config *config, wl_logger **out);
/* Closes the connection (close_notify) and the queue; unacknowledged batches stay queued. */
void wl_logger_close(wl_logger *logger);

/* Assigns the next sequence, encodes the batch and appends it to the queue with fsync before
 * returning: on WL_OK the batch survives a crash. WL_EFULL when the queue is full (the caller
 * keeps its readings and retries after acks freed room). sequence may be NULL. */
int wl_enqueue_batch(wl_logger *logger, const wl_batch *batch, uint64_t *sequence);

/* Does the I/O that is due (connect after the backoff, send, receive, acks, pings) and waits for
 * at most timeout_ms for more. Network trouble is handled inside (reconnect with backoff) and
 * reported through on_event; the return value is an error only for the queue (WL_EIO ...). */
int wl_poll(wl_logger *logger, int timeout_ms);
/* wl_poll until every queued batch is acknowledged: WL_OK, WL_ETIMEOUT, or a wl_poll error. */
int wl_flush(wl_logger *logger, int timeout_ms);
/* Closes the current connection (close_notify); the next wl_poll reconnects after the backoff.
 * Unacknowledged batches are resent on the next connection. */
void wl_disconnect(wl_logger *logger);

void wl_get_stats(const wl_logger *logger, wl_stats *stats);
const char *wl_strerror(int err);
/* Detail of the last error or disconnect (never NULL). */
const char *wl_last_error(const wl_logger *logger);

/* Encodes a batch as TelemetryBatch with the given sequence into buf (for tests and tools). */
int wl_encode_batch(const wl_batch *batch, uint64_t sequence, uint8_t *buf, size_t cap, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
