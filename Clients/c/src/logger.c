/* Public API: open/close, enqueue (encode + durable append), the poll loop and statistics. */
#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "internal.h"
#include "util.h"
#include "wattline/telemetry/v1/telemetry.pb-c.h"

#define DEFAULT_QUEUE_BYTES (16ull << 20)
#define DEFAULT_BATCH_BYTES (256u << 10)
#define MAX_BATCH_BYTES ((4u << 20) - WL_MSG_HEADROOM) /* the protocol's smallest max_message_size */
#define MAX_IN_FLIGHT 1024u

void wl_event(wl_logger *lg, int event, int err, const char *detail) {
    if (lg->on_event) lg->on_event(lg->ctx, event, err, detail);
}

/* protobuf-c allocates decoded messages from a fixed arena: no malloc per message, and a hostile
 * payload cannot make the decoder use more than WL_ARENA_BYTES. */
static void *arena_alloc(void *data, size_t size) {
    wl_logger *lg = data;
    size = (size + 15) & ~(size_t)15;
    if (size > WL_ARENA_BYTES - lg->arena_used) return NULL;
    void *p = lg->arena + lg->arena_used;
    lg->arena_used += size;
    return p;
}
static void arena_free(void *data, void *p) { (void)data; (void)p; }

void *wl_arena_reset(wl_logger *lg) {
    lg->arena_used = 0;
    return &lg->alloc;
}

static char *dup_or(const char *s, const char *fallback) {
    const char *v = s ? s : fallback;
    return v ? strdup(v) : NULL;
}

int wl_logger_open(const wl_config *c, wl_logger **out) {
    *out = NULL;
    if (!c || !c->host || !c->port || !c->queue_dir) return WL_EINVAL;
    if (c->max_batch_bytes > MAX_BATCH_BYTES || c->max_in_flight > MAX_IN_FLIGHT) return WL_EINVAL;
    if (c->keepalive_ms && c->keepalive_ms < 5000) return WL_EINVAL; /* §1.4: 0 or at least 5 s */
    wl_logger *lg = calloc(1, sizeof *lg);
    if (!lg) return WL_ENOMEM;
    lg->fd = -1;
    lg->q.dir_fd = lg->q.log_fd = -1;
    lg->port = c->port;
    lg->max_batch = c->max_batch_bytes ? c->max_batch_bytes : DEFAULT_BATCH_BYTES;
    lg->max_in_flight = c->max_in_flight ? c->max_in_flight : 8;
    lg->connect_timeout_ms = c->connect_timeout_ms ? c->connect_timeout_ms : 10000;
    lg->keepalive_ms = c->keepalive_ms ? c->keepalive_ms : 30000;
    lg->on_ack = c->on_ack;
    lg->on_event = c->on_event;
    lg->ctx = c->ctx;
    lg->host = strdup(c->host);
    lg->server_name = dup_or(c->server_name, c->host);
    lg->agent = dup_or(c->agent, "wattline-c/1");
    lg->icap = WL_FRAME_HEADER + WL_RECV_MAX_FRAME + 4096;
    lg->rec = malloc(WL_MSG_HEADROOM + (size_t)lg->max_batch);
    lg->scratch = malloc(lg->max_batch);
    lg->ibuf = malloc(lg->icap);
    lg->obuf = malloc(WL_OBUF_BYTES);
    lg->mbuf = malloc(WL_RECV_MAX_MESSAGE);
    lg->arena = malloc(WL_ARENA_BYTES);
    lg->inflight = calloc(lg->max_in_flight, sizeof *lg->inflight);
    lg->alloc.alloc = arena_alloc;
    lg->alloc.free = arena_free;
    lg->alloc.allocator_data = lg;
    if (!lg->host || !lg->server_name || !lg->agent || !lg->rec || !lg->scratch || !lg->ibuf || !lg->obuf ||
        !lg->mbuf || !lg->arena || !lg->inflight) {
        wl_logger_close(lg);
        return WL_ENOMEM;
    }
    uint64_t qmax = c->queue_max_bytes ? c->queue_max_bytes : DEFAULT_QUEUE_BYTES;
    int rc = wlq_open(&lg->q, c->queue_dir, qmax, lg->max_batch, lg->scratch, lg->err, sizeof lg->err);
    if (rc == WL_OK) rc = wl_tls_init(&lg->tls, c->ca_file, c->cert_file, c->key_file, lg->err, sizeof lg->err);
    if (rc != WL_OK) {
        if (c->on_event) c->on_event(c->ctx, WL_EV_DISCONNECTED, rc, lg->err);
        wl_logger_close(lg);
        return rc;
    }
    wl_backoff_init(&lg->backoff, c->backoff_initial_ms ? c->backoff_initial_ms : 100,
                    c->backoff_max_ms ? c->backoff_max_ms : 10000, c->rng_seed ? c->rng_seed : wl_random_seed());
    lg->st.torn_bytes = lg->q.torn_bytes;
    *out = lg;
    return WL_OK;
}

void wl_logger_close(wl_logger *lg) {
    if (!lg) return;
    if (lg->state != WL_DISCONNECTED) {
        if (lg->stream_open && lg->state == WL_CONNECTED) {
            /* Tell the server we are going (CANCEL), then close_notify. */
            uint8_t cancel[2] = {0x08, 0x01}; /* Cancel{code: 1 CANCELLED} */
            (void)wl_conn_frame(lg, WL_F_CANCEL, 0, WL_INGEST_STREAM, cancel, sizeof cancel);
            (void)SSL_write(lg->ssl, lg->obuf, (int)lg->olen);
        }
        lg->on_event = NULL;
        wl_conn_drop(lg, WL_ECLOSED, "closed", 1);
    }
    if (lg->acks_dirty) (void)wlq_commit(&lg->q);
    wlq_close(&lg->q);
    wl_tls_free(&lg->tls);
    free(lg->host); free(lg->server_name); free(lg->agent);
    free(lg->rec); free(lg->scratch); free(lg->ibuf); free(lg->obuf); free(lg->mbuf); free(lg->arena);
    free(lg->inflight);
    free(lg);
}

int wl_encode_batch(const wl_batch *b, uint64_t seq, uint8_t *buf, size_t cap, size_t *len) {
    if (!b || !buf || !len || seq == 0 || b->n_series == 0 || b->n_samples == 0 || !b->channel_ids ||
        !b->series_start_ms || !b->sample_counts || !b->time_deltas_ms || !b->values)
        return WL_EINVAL;
    /* The server rejects inconsistent columns; catching them here keeps them out of the queue. */
    uint64_t total = 0;
    for (size_t i = 0; i < b->n_series; i++) {
        if (b->sample_counts[i] == 0) return WL_EINVAL;
        total += b->sample_counts[i];
    }
    if (total != b->n_samples) return WL_EINVAL;
    /* protobuf-c only reads through these pointers while packing. */
    Wattline__Telemetry__V1__TelemetryBatch m = WATTLINE__TELEMETRY__V1__TELEMETRY_BATCH__INIT;
    m.sequence = seq;
    m.n_series_start_ms = m.n_channel_ids = m.n_sample_counts = b->n_series;
    m.series_start_ms = (int64_t *)b->series_start_ms;
    m.channel_ids = (uint64_t *)b->channel_ids;
    m.sample_counts = (uint32_t *)b->sample_counts;
    m.n_time_deltas_ms = m.n_values = b->n_samples;
    m.time_deltas_ms = (int32_t *)b->time_deltas_ms;
    m.values = (double *)b->values;
    if (b->qualities) {
        m.n_qualities = b->n_samples;
        m.qualities = (uint32_t *)b->qualities;
    }
    size_t n = wattline__telemetry__v1__telemetry_batch__get_packed_size(&m);
    if (n > cap) return WL_ETOOBIG;
    *len = wattline__telemetry__v1__telemetry_batch__pack(&m, buf);
    return WL_OK;
}

int wl_enqueue_batch(wl_logger *lg, const wl_batch *b, uint64_t *sequence) {
    uint64_t seq = lg->q.last_seq + 1;
    size_t len = 0;
    int rc = wl_encode_batch(b, seq, lg->scratch, lg->max_batch, &len);
    if (rc == WL_EINVAL) return wl_fail(lg->err, sizeof lg->err, rc, "batch: inconsistent columns");
    if (rc == WL_ETOOBIG) return wl_fail(lg->err, sizeof lg->err, rc, "batch: encodes to more than max_batch_bytes (%u)", lg->max_batch);
    rc = wlq_append(&lg->q, seq, lg->scratch, (uint32_t)len);
    if (rc == WL_OK && sequence) *sequence = seq;
    return rc;
}

int wl_poll(wl_logger *lg, int timeout_ms) {
    uint64_t deadline = wl_now_ms() + (timeout_ms > 0 ? (uint64_t)timeout_ms : 0);
    for (int rounds = 0;; rounds++) {
        uint64_t now = wl_now_ms();
        if (lg->state == WL_DISCONNECTED) {
            if (now >= lg->next_attempt_ms) {
                (void)wl_conn_open(lg);
                if (lg->state != WL_DISCONNECTED) continue;
                now = wl_now_ms();
            }
            if (now >= deadline) return WL_OK;
            uint64_t until = lg->next_attempt_ms < deadline ? lg->next_attempt_ms : deadline;
            if (until > now) poll(NULL, 0, (int)(until - now));
            continue;
        }
        short events = 0;
        int progress = 0;
        uint64_t timer = deadline;
        int rc = wl_conn_step(lg, &events, &progress, &timer);
        if (rc) return rc;
        now = wl_now_ms();
        if (progress && rounds < 256) continue;
        if (now >= deadline) return WL_OK;
        if (lg->state == WL_DISCONNECTED) continue;
        uint64_t until = timer < deadline ? timer : deadline;
        struct pollfd p = {lg->fd, events, 0};
        poll(&p, 1, until > now ? (int)(until - now) : 0);
        rounds = 0;
    }
}

int wl_flush(wl_logger *lg, int timeout_ms) {
    uint64_t deadline = wl_now_ms() + (timeout_ms > 0 ? (uint64_t)timeout_ms : 0);
    while (lg->q.pending) {
        uint64_t now = wl_now_ms();
        if (now >= deadline) return WL_ETIMEOUT;
        uint64_t left = deadline - now;
        int rc = wl_poll(lg, left > 100 ? 100 : (int)left);
        if (rc) return rc;
    }
    return WL_OK;
}

void wl_disconnect(wl_logger *lg) {
    if (lg->state == WL_DISCONNECTED) return;
    if (lg->stream_open && lg->state == WL_CONNECTED) {
        uint8_t cancel[2] = {0x08, 0x01};
        if (wl_conn_frame(lg, WL_F_CANCEL, 0, WL_INGEST_STREAM, cancel, sizeof cancel) == WL_OK)
            (void)SSL_write(lg->ssl, lg->obuf, (int)lg->olen);
        lg->olen = 0;
    }
    wl_conn_drop(lg, WL_ECLOSED, "disconnected by the application", 1);
}

void wl_get_stats(const wl_logger *lg, wl_stats *s) {
    *s = lg->st;
    s->last_sequence = lg->q.last_seq;
    s->acked_sequence = lg->q.acked;
    s->queued_batches = lg->q.pending;
    s->queued_bytes = lg->q.end - lg->q.head;
    s->queue_file_bytes = lg->q.end - lg->q.file_base;
    s->torn_bytes = lg->q.torn_bytes;
}

const char *wl_last_error(const wl_logger *lg) { return lg ? lg->err : "no logger"; }
