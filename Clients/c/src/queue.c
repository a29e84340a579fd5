#define _GNU_SOURCE
#include "queue.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util.h"
#include "wattline.h"

#define LOG_NAME "queue.log"
#define LOG_TMP "queue.log.tmp"
#define STATE_NAME "queue.state"
#define STATE_TMP "queue.state.tmp"
#define REC_MAGIC 0x52514c57u   /* "WLQR" little-endian */
#define STATE_MAGIC 0x53514c57u /* "WLQS" */
#define STATE_VERSION 1u
#define STATE_SIZE 32

static int io_fail(wl_queue *q, const char *what) {
    return wl_fail(q->err, q->errcap, WL_EIO, "queue: %s: %s", what, strerror(errno));
}

static int read_full(int fd, void *buf, size_t n, uint64_t off) {
    uint8_t *p = buf;
    while (n) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r; n -= (size_t)r; off += (uint64_t)r;
    }
    return 0;
}

static int write_full(int fd, const void *buf, size_t n, uint64_t off) {
    const uint8_t *p = buf;
    while (n) {
        ssize_t r = pwrite(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r; n -= (size_t)r; off += (uint64_t)r;
    }
    return 0;
}

static uint32_t record_crc(const uint8_t hdr[WLQ_RECORD_HEADER], const uint8_t *payload, uint32_t len) {
    return wl_crc32(wl_crc32(0, hdr + 4, 12), payload, len); /* length and sequence, then payload */
}

/* The state file is small and replaced atomically: a reader sees the old or the new one whole. */
static int save_state(wl_queue *q, uint64_t acked, uint64_t floor) {
    uint8_t s[STATE_SIZE] = {0};
    wl_put_le32(s, STATE_MAGIC);
    wl_put_le32(s + 4, STATE_VERSION);
    wl_put_le64(s + 8, acked);
    wl_put_le64(s + 16, floor);
    wl_put_le32(s + 24, wl_crc32(0, s, 24));
    int fd = openat(q->dir_fd, STATE_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return io_fail(q, "create " STATE_TMP);
    if (write_full(fd, s, sizeof s, 0) != 0 || fsync(fd) != 0) {
        int e = io_fail(q, "write " STATE_TMP);
        close(fd);
        return e;
    }
    close(fd);
    if (renameat(q->dir_fd, STATE_TMP, q->dir_fd, STATE_NAME) != 0) return io_fail(q, "rename " STATE_TMP);
    if (fsync(q->dir_fd) != 0) return io_fail(q, "fsync queue directory");
    q->saved_acked = acked;
    q->floor = floor;
    q->saved_head = q->head;
    return WL_OK;
}

static int load_state(wl_queue *q) {
    int fd = openat(q->dir_fd, STATE_NAME, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT) return io_fail(q, "open " STATE_NAME);
        q->acked = q->floor = 0;
        return save_state(q, 0, 0);
    }
    uint8_t s[STATE_SIZE + 1];
    ssize_t n = read(fd, s, sizeof s);
    close(fd);
    if (n != STATE_SIZE || wl_get_le32(s) != STATE_MAGIC || wl_get_le32(s + 4) != STATE_VERSION ||
        wl_get_le32(s + 24) != wl_crc32(0, s, 24))
        return wl_fail(q->err, q->errcap, WL_ECORRUPT, "queue: %s is not a valid state file", STATE_NAME);
    q->acked = q->saved_acked = wl_get_le64(s + 8);
    q->floor = wl_get_le64(s + 16);
    return WL_OK;
}

/* Checks every record; a bad one at the end is a torn append and is cut off. A bad record with
 * more than one append's worth of bytes after it is not a torn tail but damage: refuse. */
static int scan(wl_queue *q, uint8_t *scratch) {
    struct stat st;
    if (fstat(q->log_fd, &st) != 0) return io_fail(q, "stat " LOG_NAME);
    uint64_t size = (uint64_t)st.st_size, off = 0, prev = 0;
    int have_head = 0;
    q->head = 0;
    q->pending = 0;
    while (off < size) {
        uint8_t h[WLQ_RECORD_HEADER];
        uint64_t left = size - off;
        int torn = 1;
        uint32_t len = 0;
        uint64_t seq = 0;
        if (left >= WLQ_RECORD_HEADER && read_full(q->log_fd, h, sizeof h, off) == 0) {
            len = wl_get_le32(h + 4);
            seq = wl_get_le64(h + 8);
            if (wl_get_le32(h) == REC_MAGIC && len <= q->max_record && len <= left - WLQ_RECORD_HEADER &&
                read_full(q->log_fd, scratch, len, off + WLQ_RECORD_HEADER) == 0 &&
                record_crc(h, scratch, len) == wl_get_le32(h + 16))
                torn = 0;
        }
        if (torn) {
            if (left > (uint64_t)WLQ_RECORD_HEADER + q->max_record)
                return wl_fail(q->err, q->errcap, WL_ECORRUPT,
                               "queue: bad record at offset %llu with %llu bytes after it",
                               (unsigned long long)off, (unsigned long long)left);
            if (ftruncate(q->log_fd, (off_t)off) != 0 || fdatasync(q->log_fd) != 0)
                return io_fail(q, "truncate torn tail");
            q->torn_bytes = left;
            break;
        }
        /* Sequences only grow; the first one after the frontier must follow it (nothing unacknowledged
         * may be missing). A raised floor can leave a jump between records. */
        if (seq <= prev || seq == 0)
            return wl_fail(q->err, q->errcap, WL_ECORRUPT, "queue: sequence %llu after %llu",
                           (unsigned long long)seq, (unsigned long long)prev);
        if (seq > q->acked) {
            if (!have_head && seq != q->acked + 1 && seq <= q->floor)
                return wl_fail(q->err, q->errcap, WL_ECORRUPT, "queue: first unacknowledged record is %llu, expected %llu",
                               (unsigned long long)seq, (unsigned long long)q->acked + 1);
            if (!have_head) q->head = off;
            have_head = 1;
            q->pending++;
        }
        prev = seq;
        off += WLQ_RECORD_HEADER + (uint64_t)len;
    }
    q->end = off;
    if (!have_head) q->head = off;
    q->saved_head = q->head;
    q->tail_seq = prev;
    q->last_seq = q->acked > q->floor ? q->acked : q->floor;
    if (prev > q->last_seq) q->last_seq = prev;
    return WL_OK;
}

int wlq_open(wl_queue *q, const char *dir, uint64_t max_bytes, uint32_t max_record, uint8_t *scratch,
             char *err, size_t errcap) {
    memset(q, 0, sizeof *q);
    q->dir_fd = q->log_fd = -1;
    q->err = err;
    q->errcap = errcap;
    q->max_bytes = max_bytes;
    q->max_record = max_record;
    if (max_bytes < (uint64_t)WLQ_RECORD_HEADER + max_record)
        return wl_fail(err, errcap, WL_EINVAL, "queue: max bytes %llu below one record of %u",
                       (unsigned long long)max_bytes, max_record);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) return io_fail(q, "mkdir");
    q->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (q->dir_fd < 0) return io_fail(q, "open directory");
    unlinkat(q->dir_fd, LOG_TMP, 0); /* leftovers of a compaction or state write cut short */
    unlinkat(q->dir_fd, STATE_TMP, 0);
    int rc = load_state(q);
    if (rc) return rc;
    q->log_fd = openat(q->dir_fd, LOG_NAME, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (q->log_fd < 0) return io_fail(q, "open " LOG_NAME);
    if (fsync(q->dir_fd) != 0) return io_fail(q, "fsync queue directory");
    return scan(q, scratch);
}

void wlq_close(wl_queue *q) {
    if (q->log_fd >= 0) close(q->log_fd);
    if (q->dir_fd >= 0) close(q->dir_fd);
    q->log_fd = q->dir_fd = -1;
}

/* Drops the persisted acknowledged prefix: truncation when nothing is pending, else a copy of the
 * pending suffix into a new file renamed over the old one. Either file is consistent with the
 * state at any crash point, since the state already covers everything dropped. */
static int compact(wl_queue *q) {
    uint64_t cut = q->saved_head;
    if (cut <= q->file_base) return WL_OK;
    if (cut == q->end) {
        if (ftruncate(q->log_fd, 0) != 0 || fdatasync(q->log_fd) != 0) return io_fail(q, "truncate " LOG_NAME);
        q->file_base = cut;
        return WL_OK;
    }
    int fd = openat(q->dir_fd, LOG_TMP, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return io_fail(q, "create " LOG_TMP);
    uint8_t buf[4096];
    uint64_t from = cut - q->file_base, to = q->end - q->file_base, out = 0;
    while (from < to) {
        size_t n = to - from < sizeof buf ? (size_t)(to - from) : sizeof buf;
        if (read_full(q->log_fd, buf, n, from) != 0 || write_full(fd, buf, n, out) != 0) {
            int e = io_fail(q, "copy into " LOG_TMP);
            close(fd);
            unlinkat(q->dir_fd, LOG_TMP, 0);
            return e;
        }
        from += n;
        out += n;
    }
    if (fsync(fd) != 0 || renameat(q->dir_fd, LOG_TMP, q->dir_fd, LOG_NAME) != 0) {
        int e = io_fail(q, "replace " LOG_NAME);
        close(fd);
        unlinkat(q->dir_fd, LOG_TMP, 0);
        return e;
    }
    close(q->log_fd);
    q->log_fd = fd;
    q->file_base = cut;
    if (fsync(q->dir_fd) != 0) return io_fail(q, "fsync queue directory");
    return WL_OK;
}

int wlq_append(wl_queue *q, uint64_t seq, const uint8_t *payload, uint32_t len) {
    if (seq <= q->last_seq || len > q->max_record)
        return wl_fail(q->err, q->errcap, WL_EINVAL, "queue: bad append of sequence %llu (%u bytes)",
                       (unsigned long long)seq, len);
    uint64_t rec = WLQ_RECORD_HEADER + (uint64_t)len;
    if (q->end - q->head + rec > q->max_bytes)
        return wl_fail(q->err, q->errcap, WL_EFULL, "queue: full (%llu bytes pending, bound %llu)",
                       (unsigned long long)(q->end - q->head), (unsigned long long)q->max_bytes);
    if (q->end - q->file_base + rec > q->max_bytes) {
        int rc = wlq_commit(q);
        if (rc) return rc;
        if (q->end - q->file_base + rec > q->max_bytes) {
            rc = compact(q);
            if (rc) return rc;
        }
    }
    uint8_t h[WLQ_RECORD_HEADER];
    wl_put_le32(h, REC_MAGIC);
    wl_put_le32(h + 4, len);
    wl_put_le64(h + 8, seq);
    wl_put_le32(h + 16, record_crc(h, payload, len));
    struct iovec iov[2] = {{h, sizeof h}, {(void *)payload, len}};
    uint64_t at = q->end - q->file_base;
    ssize_t w = pwritev(q->log_fd, iov, 2, (off_t)at);
    if (w != (ssize_t)rec || fdatasync(q->log_fd) != 0) {
        int e = io_fail(q, "append");
        /* Leave no partial record behind; if even this fails, open() treats it as a torn tail. */
        if (ftruncate(q->log_fd, (off_t)at) == 0) (void)fdatasync(q->log_fd);
        return e;
    }
    if (q->pending == 0) q->head = q->end;
    q->end += rec;
    q->last_seq = q->tail_seq = seq;
    q->pending++;
    return WL_OK;
}

int wlq_read(wl_queue *q, uint64_t off, uint8_t *buf, uint32_t cap, uint64_t *seq, uint32_t *len, uint64_t *next) {
    if (off >= q->end) return 1;
    if (off < q->file_base) return wl_fail(q->err, q->errcap, WL_EINVAL, "queue: offset compacted away");
    uint8_t h[WLQ_RECORD_HEADER];
    uint64_t at = off - q->file_base;
    if (read_full(q->log_fd, h, sizeof h, at) != 0) return io_fail(q, "read record header");
    uint32_t n = wl_get_le32(h + 4);
    if (wl_get_le32(h) != REC_MAGIC || n > q->max_record || n > cap || off + WLQ_RECORD_HEADER + n > q->end)
        return wl_fail(q->err, q->errcap, WL_ECORRUPT, "queue: bad record header at %llu", (unsigned long long)off);
    if (read_full(q->log_fd, buf, n, at + WLQ_RECORD_HEADER) != 0) return io_fail(q, "read record");
    if (record_crc(h, buf, n) != wl_get_le32(h + 16))
        return wl_fail(q->err, q->errcap, WL_ECORRUPT, "queue: record at %llu fails its CRC", (unsigned long long)off);
    *seq = wl_get_le64(h + 8);
    *len = n;
    *next = off + WLQ_RECORD_HEADER + n;
    return WL_OK;
}

void wlq_ack(wl_queue *q, uint64_t seq, uint64_t next_off) {
    if (seq <= q->acked) return;
    q->acked = seq;
    q->head = next_off;
    if (q->pending) q->pending--;
}

int wlq_commit(wl_queue *q) {
    if (q->acked != q->saved_acked) {
        int rc = save_state(q, q->acked, q->floor > q->acked ? q->floor : q->acked);
        if (rc) return rc;
    }
    /* Compact once the dead prefix is half the bound, or when nothing is pending (cheap truncate). */
    uint64_t dead = q->saved_head - q->file_base;
    if (dead > 0 && (q->saved_head == q->end || dead >= q->max_bytes / 2)) return compact(q);
    return WL_OK;
}

int wlq_raise_floor(wl_queue *q, uint64_t seq) {
    if (seq <= q->last_seq) return WL_OK;
    int rc = save_state(q, q->acked, seq);
    if (rc) return rc;
    q->last_seq = seq;
    return WL_OK;
}
