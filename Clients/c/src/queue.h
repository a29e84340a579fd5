/* Bounded on-disk store-and-forward queue of encoded batches, one directory per logger.
 *
 *   queue.log    append-only records: "WLQR" | u32 length | u64 sequence | u32 CRC-32 of
 *                (length, sequence, payload) | payload; little-endian. Each append is fdatasync'd
 *                before it returns, so only the last record can be torn by a crash; open() checks
 *                every record and truncates a torn tail (never more than one record's worth).
 *   queue.state  32 bytes replaced atomically (write temp, fsync, rename, fsync dir): "WLQS" |
 *                u32 version | u64 acked (every sequence <= it is done) | u64 floor (every
 *                sequence <= it has been used) | u32 CRC-32 | u32 0.
 *
 * Offsets are logical (they do not change when compaction drops the acknowledged prefix of the
 * file), so the sender can hold them across compactions. */
#ifndef WL_QUEUE_H
#define WL_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#define WLQ_RECORD_HEADER 20

typedef struct wl_queue {
    int dir_fd, log_fd;
    uint64_t max_bytes;       /* bound of the log file */
    uint32_t max_record;      /* largest payload */
    uint64_t acked;           /* acknowledged frontier (in memory; persisted by commit) */
    uint64_t saved_acked;     /* what queue.state holds */
    uint64_t floor;           /* persisted sequence floor */
    uint64_t last_seq;        /* highest sequence assigned */
    uint64_t tail_seq;        /* sequence of the last record in the file, 0 if none */
    uint64_t file_base;       /* logical offset of the file's first byte */
    uint64_t head;            /* logical offset of the first record after `acked` */
    uint64_t saved_head;      /* head as of the persisted state (compaction never passes it) */
    uint64_t end;             /* logical end of the file */
    uint64_t pending;         /* records after `acked` */
    uint64_t torn_bytes;      /* dropped from the tail at open */
    char *err;                /* error message buffer (the owner's) */
    size_t errcap;
} wl_queue;

/* Opens or recovers the queue in dir (created 0700 if missing). scratch: max_record bytes. */
int wlq_open(wl_queue *q, const char *dir, uint64_t max_bytes, uint32_t max_record, uint8_t *scratch,
             char *err, size_t errcap);
void wlq_close(wl_queue *q);

/* Appends the record of sequence last_seq + 1 and fdatasyncs it. WL_EFULL if the unacknowledged
 * records plus this one would exceed max_bytes (after compacting the acknowledged prefix). */
int wlq_append(wl_queue *q, uint64_t seq, const uint8_t *payload, uint32_t len);

/* Reads the record at logical offset off (payload into buf, at most cap bytes) and checks its
 * CRC. Returns WL_OK, or 1 when off is the end (no record). */
int wlq_read(wl_queue *q, uint64_t off, uint8_t *buf, uint32_t cap, uint64_t *seq, uint32_t *len,
             uint64_t *next);

/* Marks the record of sequence seq (the first unacknowledged one) done; the next one starts at
 * next_off. In memory only; wlq_commit persists it (one rename for any number of acks). */
void wlq_ack(wl_queue *q, uint64_t seq, uint64_t next_off);
/* Persists the frontier if it moved, then compacts when the acknowledged prefix is large. */
int wlq_commit(wl_queue *q);
/* Never assign a sequence <= seq again (the server has stored it); persisted. */
int wlq_raise_floor(wl_queue *q, uint64_t seq);

#endif
