/* The on-disk queue: persistence across reopen, acknowledged frontier, torn-tail recovery,
 * corruption refused, bounding with compaction, sequence numbers never reused. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "queue.h"
#include "wattline.h"

#define MAXREC 64
static char dir[256], err[256];
static uint8_t scratch[MAXREC];

static void reopen(wl_queue *q, uint64_t max_bytes) {
    wlq_close(q);
    int rc = wlq_open(q, dir, max_bytes, MAXREC, scratch, err, sizeof err);
    if (rc) fprintf(stderr, "open: %s\n", err);
    CHECK_EQ(rc, WL_OK);
}

static void append(wl_queue *q, uint8_t fill, uint32_t len) {
    uint8_t p[MAXREC];
    memset(p, fill, len);
    CHECK_EQ(wlq_append(q, q->last_seq + 1, p, len), WL_OK);
}

static off_t log_size(void) {
    char path[300];
    struct stat st;
    snprintf(path, sizeof path, "%s/queue.log", dir);
    CHECK(stat(path, &st) == 0);
    return st.st_size;
}

static void log_write(const void *bytes, size_t n, off_t at, int truncate_to) {
    char path[300];
    snprintf(path, sizeof path, "%s/queue.log", dir);
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    if (truncate_to >= 0) CHECK(ftruncate(fd, truncate_to) == 0);
    if (n) CHECK(pwrite(fd, bytes, n, at) == (ssize_t)n);
    close(fd);
}

/* Reads every pending record from the head and checks sequences and contents. */
static void expect_pending(wl_queue *q, uint64_t first, uint64_t count) {
    uint64_t off = q->head, seq, next;
    uint32_t len;
    uint8_t buf[MAXREC];
    for (uint64_t i = 0; i < count; i++) {
        CHECK_EQ(wlq_read(q, off, buf, sizeof buf, &seq, &len, &next), WL_OK);
        CHECK_EQ(seq, first + i);
        CHECK(len == 0 || buf[0] == (uint8_t)seq);
        off = next;
    }
    CHECK_EQ(wlq_read(q, off, buf, sizeof buf, &seq, &len, &next), 1);
    CHECK_EQ(q->pending, count);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/wl-test-queue-%d", (int)getpid());
    wl_queue q;
    memset(&q, 0, sizeof q);
    q.dir_fd = q.log_fd = -1;

    /* Fresh queue, three records, reopened: all pending, sequence continues. */
    reopen(&q, 1 << 20);
    CHECK_EQ(q.last_seq, 0);
    for (int i = 1; i <= 3; i++) append(&q, (uint8_t)i, 10);
    CHECK_EQ(wlq_append(&q, 2, scratch, 1), WL_EINVAL); /* sequence reuse is refused */
    reopen(&q, 1 << 20);
    CHECK_EQ(q.last_seq, 3);
    expect_pending(&q, 1, 3);

    /* Acknowledge two, commit, reopen: only the third is pending. */
    uint64_t seq, next;
    uint32_t len;
    uint8_t buf[MAXREC];
    CHECK_EQ(wlq_read(&q, q.head, buf, sizeof buf, &seq, &len, &next), WL_OK);
    wlq_ack(&q, seq, next);
    CHECK_EQ(wlq_read(&q, next, buf, sizeof buf, &seq, &len, &next), WL_OK);
    wlq_ack(&q, seq, next);
    CHECK_EQ(wlq_commit(&q), WL_OK);
    reopen(&q, 1 << 20);
    CHECK_EQ(q.acked, 2);
    expect_pending(&q, 3, 1);

    /* Torn tail: every cut inside a fresh fourth record is detected and dropped, never misread;
     * the number it had is reassigned (it was never acknowledged to the caller nor sent). */
    off_t whole = log_size();
    append(&q, 4, 30);
    off_t with4 = log_size();
    for (off_t cut = whole + 1; cut < with4; cut++) {
        log_write(NULL, 0, 0, (int)cut);
        reopen(&q, 1 << 20);
        CHECK_EQ(q.torn_bytes, (uint64_t)(cut - whole));
        CHECK_EQ(log_size(), whole);
        CHECK_EQ(q.last_seq, 3);
        expect_pending(&q, 3, 1);
        append(&q, 4, 30);
    }
    /* A flipped payload byte in the last record, and zeros past the end (delayed allocation). */
    log_write("\xff", 1, with4 - 1, -1);
    reopen(&q, 1 << 20);
    CHECK(q.torn_bytes > 0);
    expect_pending(&q, 3, 1);
    append(&q, 4, 30);
    uint8_t zeros[40] = {0};
    log_write(zeros, sizeof zeros, with4, -1);
    reopen(&q, 1 << 20);
    CHECK_EQ(q.torn_bytes, sizeof zeros);
    expect_pending(&q, 3, 2);

    /* Damage with more than one record's worth after it is not a torn tail: refused. */
    for (int i = 5; i <= 8; i++) append(&q, (uint8_t)i, 40);
    log_write("\x00", 1, whole + 25, -1); /* inside record 4 */
    wlq_close(&q);
    CHECK_EQ(wlq_open(&q, dir, 1 << 20, MAXREC, scratch, err, sizeof err), WL_ECORRUPT);
    CHECK(strstr(err, "bad record") != NULL);
    wlq_close(&q);

    /* A damaged state file is refused too (it is replaced atomically, so this is not a crash). */
    char path[300];
    snprintf(path, sizeof path, "%s/queue.state", dir);
    FILE *f = fopen(path, "r+");
    CHECK(f != NULL);
    fseek(f, 9, SEEK_SET);
    fputc(0x55, f);
    fclose(f);
    CHECK_EQ(wlq_open(&q, dir, 1 << 20, MAXREC, scratch, err, sizeof err), WL_ECORRUPT);
    wlq_close(&q);

    /* Bounding: a fresh queue of 400 bytes takes records of 20 + 60 bytes until full; a full
     * queue writes nothing; acknowledgements free room through compaction; the file never
     * exceeds the bound. */
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    reopen(&q, 400);
    int n = 0;
    while (wlq_append(&q, q.last_seq + 1, buf, 60) == WL_OK) n++;
    CHECK_EQ(n, 5);
    CHECK_EQ(wlq_append(&q, q.last_seq + 1, buf, 60), WL_EFULL);
    CHECK_EQ(log_size(), 400);
    CHECK_EQ(q.last_seq, 5);
    uint64_t off = q.head;
    for (uint64_t total = 0; total < 200; total++) {
        /* Acknowledge the oldest, append a new one: a steady stream through a full queue. */
        CHECK_EQ(wlq_read(&q, off, buf, sizeof buf, &seq, &len, &next), WL_OK);
        wlq_ack(&q, seq, next);
        off = next;
        CHECK_EQ(wlq_commit(&q), WL_OK);
        buf[0] = (uint8_t)(q.last_seq + 1);
        CHECK_EQ(wlq_append(&q, q.last_seq + 1, buf, 60), WL_OK);
        CHECK(log_size() <= 400);
        CHECK_EQ(q.pending, 5);
    }
    CHECK_EQ(q.last_seq, 205);
    reopen(&q, 400);
    CHECK_EQ(q.acked, 200);
    CHECK_EQ(q.last_seq, 205);
    CHECK_EQ(q.pending, 5);

    /* All acknowledged: the log is truncated, the sequence still survives a reopen. */
    off = q.head;
    while (wlq_read(&q, off, buf, sizeof buf, &seq, &len, &next) == WL_OK) { wlq_ack(&q, seq, next); off = next; }
    CHECK_EQ(wlq_commit(&q), WL_OK);
    CHECK_EQ(log_size(), 0);
    reopen(&q, 400);
    CHECK_EQ(q.last_seq, 205);
    CHECK_EQ(q.pending, 0);

    /* A raised floor (the server stored more than this queue knows) is never reused. */
    CHECK_EQ(wlq_raise_floor(&q, 1000), WL_OK);
    reopen(&q, 400);
    CHECK_EQ(q.last_seq, 1000);
    append(&q, 1, 10);
    CHECK_EQ(q.last_seq, 1001);
    reopen(&q, 400);
    CHECK_EQ(q.last_seq, 1001);
    CHECK_EQ(q.pending, 1);

    /* A record larger than max_record is refused before anything is written. */
    uint8_t big[MAXREC + 1] = {0};
    CHECK_EQ(wlq_append(&q, q.last_seq + 1, big, sizeof big), WL_EINVAL);
    wlq_close(&q);
    CHECK(system(cmd) == 0);
    DONE("test_queue");
}
