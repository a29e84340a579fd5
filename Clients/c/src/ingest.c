/* The IngestService/Ingest call on stream 1: hello -> welcome, then queued batches with at most
 * `window` unacknowledged, one BatchAck per batch in order. Batches are read from the queue one at
 * a time into a fixed buffer; an ack removes its batch from the queue (persisted per poll round). */
#include <stdio.h>
#include <string.h>

#include "frame.h"
#include "internal.h"
#include "util.h"
#include "wattline/rpc/v1/rpc.pb-c.h"
#include "wattline/telemetry/v1/telemetry.pb-c.h"

static const char method[] = "/wattline.telemetry.v1.IngestService/Ingest";

/* A complete message that fits in one frame and both windows (the hello is a few bytes). */
static int send_small_message(wl_logger *lg, const ProtobufCMessage *msg) {
    uint8_t buf[128];
    size_t n = protobuf_c_message_get_packed_size(msg);
    if (n > sizeof buf || (int64_t)n > lg->send_conn_window || (int64_t)n > lg->send_stream_window) return WL_ETOOBIG;
    protobuf_c_message_pack(msg, buf);
    int rc = wl_conn_frame(lg, WL_F_MESSAGE, 0, WL_INGEST_STREAM, buf, n);
    if (rc == WL_OK) { lg->send_conn_window -= (int64_t)n; lg->send_stream_window -= (int64_t)n; }
    return rc;
}

int wl_ingest_start(wl_logger *lg) {
    Wattline__Rpc__V1__CallHeader ch = WATTLINE__RPC__V1__CALL_HEADER__INIT;
    ch.method = (char *)method;
    int rc = wl_conn_pack(lg, WL_F_OPEN, WL_INGEST_STREAM, &ch.base);
    lg->stream_open = 1;
    Wattline__Telemetry__V1__IngestHello hello = WATTLINE__TELEMETRY__V1__INGEST_HELLO__INIT;
    hello.firmware_version = lg->agent;
    hello.max_in_flight = lg->max_in_flight;
    Wattline__Telemetry__V1__IngestRequest req = WATTLINE__TELEMETRY__V1__INGEST_REQUEST__INIT;
    req.kind_case = WATTLINE__TELEMETRY__V1__INGEST_REQUEST__KIND_HELLO;
    req.hello = &hello;
    if (rc == WL_OK) rc = send_small_message(lg, &req.base);
    if (rc != WL_OK) wl_conn_drop(lg, rc, "ingest hello does not fit", 0);
    return WL_OK;
}

void wl_ingest_reset(wl_logger *lg) {
    lg->stream_open = lg->half_closed = 0;
    lg->msg_active = 0;
    lg->if_count = lg->if_head = 0;
    lg->mlen = 0;
}

/* IngestRequest{batch} is the tag 0x12, the length as a varint, then the stored TelemetryBatch:
 * the prefix goes into the headroom before the record, so the queue's bytes are sent as they are. */
static size_t put_prefix(uint8_t *end, uint32_t len) {
    uint8_t tmp[6];
    size_t n = 0;
    tmp[n++] = 0x12;
    do {
        uint8_t b = len & 0x7f;
        len >>= 7;
        tmp[n++] = (uint8_t)(b | (len ? 0x80 : 0));
    } while (len);
    memcpy(end - n, tmp, n);
    return n;
}

int wl_ingest_fill(wl_logger *lg) {
    while (lg->welcomed && lg->stream_open && !lg->half_closed) {
        if (!lg->msg_active) {
            if (lg->goaway) { /* draining: finish the call cleanly, the rest goes on the next connection */
                if (wl_conn_frame(lg, WL_F_HALF_CLOSE, 0, WL_INGEST_STREAM, NULL, 0) == WL_OK) lg->half_closed = 1;
                return WL_OK;
            }
            if (lg->if_count >= lg->window || lg->send_off >= lg->q.end) return WL_OK;
            uint64_t seq, next;
            uint32_t len;
            int rc = wlq_read(&lg->q, lg->send_off, lg->rec + WL_MSG_HEADROOM, lg->max_batch, &seq, &len, &next);
            if (rc < 0) return rc;
            size_t p = put_prefix(lg->rec + WL_MSG_HEADROOM, len);
            lg->msg = lg->rec + WL_MSG_HEADROOM - p;
            lg->msg_len = len + p;
            lg->msg_sent = 0;
            lg->msg_seq = seq;
            lg->msg_next = next;
            lg->msg_active = 1;
            if (lg->msg_len > lg->peer_max_message) {
                /* Cannot be sent to this server; keep it queued and say so rather than drop it. */
                char why[128];
                snprintf(why, sizeof why, "batch %llu is larger than the server's max_message_size",
                         (unsigned long long)seq);
                wl_conn_drop(lg, WL_ETOOBIG, why, 1);
                return WL_OK;
            }
        }
        /* Split into MESSAGE frames within the frame size and both send windows (§5). */
        while (lg->msg_sent < lg->msg_len) {
            int64_t n = (int64_t)(lg->msg_len - lg->msg_sent);
            int64_t room = (int64_t)wl_conn_room(lg) - WL_OBUF_RESERVE - WL_FRAME_HEADER;
            if (n > lg->send_conn_window) n = lg->send_conn_window;
            if (n > lg->send_stream_window) n = lg->send_stream_window;
            if (n > (int64_t)lg->peer_max_frame) n = lg->peer_max_frame;
            if (n > room) n = room;
            if (n <= 0) return WL_OK; /* wait for WINDOW_UPDATE or for the output to drain */
            int more = lg->msg_sent + (size_t)n < lg->msg_len;
            (void)wl_conn_frame(lg, WL_F_MESSAGE, more ? WL_FLAG_MORE : 0, WL_INGEST_STREAM, lg->msg + lg->msg_sent, (size_t)n);
            lg->msg_sent += (size_t)n;
            lg->send_conn_window -= n;
            lg->send_stream_window -= n;
        }
        uint32_t slot = (lg->if_head + lg->if_count) % lg->max_in_flight;
        lg->inflight[slot].seq = lg->msg_seq;
        lg->inflight[slot].next_off = lg->msg_next;
        lg->if_count++;
        lg->send_off = lg->msg_next;
        lg->msg_active = 0;
        lg->st.batches_sent++;
    }
    return WL_OK;
}

static int on_welcome(wl_logger *lg, const Wattline__Telemetry__V1__IngestWelcome *w) {
    lg->window = w->max_in_flight ? w->max_in_flight : 1;
    if (lg->window > lg->max_in_flight) lg->window = lg->max_in_flight;
    /* The server stored everything up to last_stored_sequence: those batches are done even if
     * their acks were lost with the previous connection; the stream resumes after them. */
    uint64_t last = w->last_stored_sequence;
    while (lg->q.pending && lg->q.acked < last) {
        uint64_t seq, next;
        uint32_t len;
        int rc = wlq_read(&lg->q, lg->q.head, lg->scratch, lg->max_batch, &seq, &len, &next);
        if (rc < 0) return rc;
        if (rc == 1 || seq > last) break;
        wlq_ack(&lg->q, seq, next);
        lg->st.acked_by_welcome++;
        lg->acks_dirty = 1;
    }
    if (last > lg->q.last_seq) {
        /* The server knows more than this queue (its state was lost): never reuse those numbers. */
        int rc = wlq_raise_floor(&lg->q, last);
        if (rc) return rc;
    }
    lg->send_off = lg->q.head;
    lg->welcomed = 1;
    lg->st.connects++;
    if (lg->st.connects > 1) lg->st.reconnects++;
    char detail[160];
    snprintf(detail, sizeof detail, "welcome: last stored %llu, window %u, %s handshake",
             (unsigned long long)last, lg->window, SSL_session_reused(lg->ssl) ? "resumed" : "full");
    wl_event(lg, WL_EV_CONNECTED, 0, detail);
    return WL_OK;
}

static int on_ack(wl_logger *lg, const Wattline__Telemetry__V1__BatchAck *a) {
    if (lg->if_count == 0 || a->sequence != lg->inflight[lg->if_head].seq) {
        char why[128];
        snprintf(why, sizeof why, "ack for batch %llu out of order", (unsigned long long)a->sequence);
        wl_conn_cancel(lg, 13, why); /* INTERNAL: the server broke the contract */
        return WL_OK;
    }
    wl_ack ack = {a->sequence, (int)a->outcome, a->code, a->message ? a->message : "", a->stored_samples,
                  a->flagged_samples};
    switch (a->outcome) {
    case WATTLINE__TELEMETRY__V1__BATCH_OUTCOME__BATCH_OUTCOME_STORED: lg->st.acked_stored++; break;
    case WATTLINE__TELEMETRY__V1__BATCH_OUTCOME__BATCH_OUTCOME_DUPLICATE: lg->st.acked_duplicate++; break;
    case WATTLINE__TELEMETRY__V1__BATCH_OUTCOME__BATCH_OUTCOME_REJECTED: lg->st.rejected++; break;
    default:
        wl_conn_cancel(lg, 13, "ack without a known outcome");
        return WL_OK;
    }
    wl_inflight f = lg->inflight[lg->if_head];
    lg->if_head = (lg->if_head + 1) % lg->max_in_flight;
    lg->if_count--;
    wlq_ack(&lg->q, f.seq, f.next_off);
    lg->acks_dirty = 1;
    lg->got_ack = 1;
    if (lg->on_ack) lg->on_ack(lg->ctx, &ack);
    return WL_OK;
}

int wl_ingest_message(wl_logger *lg, const uint8_t *msg, size_t len) {
    Wattline__Telemetry__V1__IngestResponse *r =
        wattline__telemetry__v1__ingest_response__unpack(wl_arena_reset(lg), len, msg);
    if (!r) return wl_conn_cancel(lg, 13, "undecodable IngestResponse"), WL_OK;
    int welcome = r->kind_case == WATTLINE__TELEMETRY__V1__INGEST_RESPONSE__KIND_WELCOME;
    int ack = r->kind_case == WATTLINE__TELEMETRY__V1__INGEST_RESPONSE__KIND_ACK;
    if (!lg->welcomed) {
        if (!welcome) return wl_conn_cancel(lg, 13, "first ingest response is not a welcome"), WL_OK;
        return on_welcome(lg, r->welcome);
    }
    if (!ack) return wl_conn_cancel(lg, 13, "ingest response is not an ack"), WL_OK;
    return on_ack(lg, r->ack);
}

void wl_ingest_status(wl_logger *lg, uint32_t code, const char *message) {
    char detail[240];
    snprintf(detail, sizeof detail, "ingest call ended: status %u %.180s", code, message);
    wl_event(lg, WL_EV_STATUS, code ? WL_ESTATUS : 0, detail);
    /* One call per connection: reconnect (after the backoff) and resume from the welcome. */
    wl_conn_drop(lg, code ? WL_ESTATUS : WL_ECLOSED, detail, 1);
}
