/* wattline-logger-sim: a simulated logger that replays a gen_telemetry.py --format bin recording
 * (32-byte little-endian rows: u64 logger, u64 channel, i64 time ms, f64 value) through the SDK.
 *
 * The file's channels (of its first logger, sorted) map in order onto --channels, the real channel
 * ids. Consecutive rows are cut into batches of --batch-samples; batch i (from 0) gets sequence
 * i + 1 in a fresh queue, so a restarted simulator skips the batches its queue already assigned
 * (wl_stats.last_sequence) and never enqueues a reading twice. --rebase-to-now shifts all times so
 * the last sample is now; the shift is kept in QUEUE_DIR/sim-rebase-ms so a restart continues on
 * the same clock. The last line printed is a JSON summary. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "wattline.h"

typedef struct row { uint64_t channel; int64_t t; double v; } row;

static int verbose;
static uint64_t acks_seen;

static void on_ack(void *ctx, const wl_ack *a) {
    (void)ctx;
    acks_seen++;
    if (a->outcome == WL_REJECTED)
        fprintf(stderr, "sim: batch %" PRIu64 " rejected: code %u %s\n", a->sequence, a->code, a->message);
    else if (verbose > 1)
        fprintf(stderr, "sim: batch %" PRIu64 " %s (%u samples)\n", a->sequence,
                a->outcome == WL_STORED ? "stored" : "duplicate", a->stored_samples);
}

static void on_event(void *ctx, int event, int err, const char *detail) {
    (void)ctx;
    if (verbose) fprintf(stderr, "sim: event %d (%s): %s\n", event, wl_strerror(err), detail);
}

static uint64_t get_le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Rows of the file's first logger (smallest id), channels mapped onto `map`. */
static row *load(const char *path, const uint64_t *map, size_t nmap, size_t *nrows) {
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "sim: %s: %s\n", path, strerror(errno)); return NULL; }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size % 32 != 0 || st.st_size == 0) {
        fprintf(stderr, "sim: %s is not a non-empty file of 32-byte rows\n", path);
        fclose(f);
        return NULL;
    }
    size_t n = (size_t)st.st_size / 32;
    uint8_t *raw = malloc((size_t)st.st_size);
    row *rows = malloc(n * sizeof *rows);
    uint64_t *chans = malloc(n * sizeof *chans);
    if (!raw || !rows || !chans || fread(raw, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        fprintf(stderr, "sim: cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
    uint64_t logger = UINT64_MAX;
    for (size_t i = 0; i < n; i++) if (get_le64(raw + 32 * i) < logger) logger = get_le64(raw + 32 * i);
    size_t m = 0, nc = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = raw + 32 * i;
        if (get_le64(p) != logger) continue;
        uint64_t bits = get_le64(p + 24);
        rows[m].channel = get_le64(p + 8);
        rows[m].t = (int64_t)get_le64(p + 16);
        memcpy(&rows[m].v, &bits, sizeof bits);
        chans[nc++] = rows[m].channel;
        m++;
    }
    qsort(chans, nc, sizeof *chans, cmp_u64);
    size_t distinct = 0;
    for (size_t i = 0; i < nc; i++) if (i == 0 || chans[i] != chans[i - 1]) chans[distinct++] = chans[i];
    if (distinct > nmap) {
        fprintf(stderr, "sim: the file's logger has %zu channels; --channels maps %zu\n", distinct, nmap);
        exit(2);
    }
    for (size_t i = 0; i < m; i++) {
        uint64_t *hit = bsearch(&rows[i].channel, chans, distinct, sizeof *chans, cmp_u64);
        rows[i].channel = map[hit - chans];
    }
    free(raw);
    free(chans);
    *nrows = m;
    return rows;
}

/* Columns of one batch, allocated once for the largest batch. */
typedef struct cols {
    uint64_t *ch; int64_t *start; uint32_t *count; int32_t *delta; double *val;
} cols;

/* Rows [from, to) grouped into one series per channel (in first-appearance order), each in time
 * order; a gap beyond int32 milliseconds starts a new series. */
static void build(const row *r, size_t from, size_t to, cols *c, wl_batch *b) {
    size_t ns = 0, k = 0;
    for (size_t i = from; i < to; i++) {
        int seen = 0;
        for (size_t j = from; j < i && !seen; j++) seen = r[j].channel == r[i].channel;
        if (seen) continue;
        int64_t prev = 0;
        int open = 0;
        for (size_t j = i; j < to; j++) {
            if (r[j].channel != r[i].channel) continue;
            int64_t d = r[j].t - prev;
            if (!open || d > INT32_MAX || d < INT32_MIN) {
                c->ch[ns] = r[j].channel;
                c->start[ns] = r[j].t;
                c->count[ns] = 0;
                ns++;
                d = 0;
                open = 1;
            }
            c->delta[k] = (int32_t)d;
            c->val[k] = r[j].v;
            c->count[ns - 1]++;
            prev = r[j].t;
            k++;
        }
    }
    b->n_series = ns;
    b->channel_ids = c->ch;
    b->series_start_ms = c->start;
    b->sample_counts = c->count;
    b->n_samples = k;
    b->time_deltas_ms = c->delta;
    b->values = c->val;
    b->qualities = NULL;
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The rebase shift is chosen once per queue and kept beside it (written before any batch). */
static int64_t rebase_shift(const char *dir, int64_t last_t, int create) {
    char path[4096];
    snprintf(path, sizeof path, "%s/sim-rebase-ms", dir);
    FILE *f = fopen(path, "r");
    long long shift;
    if (f) {
        int ok = fscanf(f, "%lld", &shift) == 1;
        fclose(f);
        if (ok) return shift;
    }
    if (!create) { fprintf(stderr, "sim: no %s\n", path); exit(2); }
    mkdir(dir, 0700);
    shift = now_ms() - last_t;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char text[32];
    int n = snprintf(text, sizeof text, "%lld\n", shift);
    if (fd < 0 || write(fd, text, (size_t)n) != n || fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "sim: cannot write %s\n", path);
        exit(1);
    }
    return shift;
}

static void usage(void) {
    fprintf(stderr,
            "usage: wattline-logger-sim --file FILE.bin --queue-dir DIR --channels ID,ID,... [options]\n"
            "  --host H (127.0.0.1) --port P (7443) --server-name N (localhost) --ca PEM --cert PEM --key PEM\n"
            "  --batch-samples N (70) --rate BATCHES_PER_S (0 = unpaced) --in-flight K (8)\n"
            "  --queue-max-bytes N --rebase-to-now --drop-every ACKS --timeout S (60) --verbose (twice: per ack)\n"
            "  --dump-batches: print 'sequence samples sha256' of every batch (no network) and exit\n");
    exit(2);
}

int main(int argc, char **argv) {
    static const struct option opts[] = {
        {"file", 1, 0, 'f'}, {"queue-dir", 1, 0, 'q'}, {"channels", 1, 0, 'c'}, {"host", 1, 0, 'h'},
        {"port", 1, 0, 'p'}, {"server-name", 1, 0, 'n'}, {"ca", 1, 0, 'a'}, {"cert", 1, 0, 'C'},
        {"key", 1, 0, 'k'}, {"batch-samples", 1, 0, 'b'}, {"rate", 1, 0, 'r'}, {"in-flight", 1, 0, 'i'},
        {"queue-max-bytes", 1, 0, 'm'}, {"rebase-to-now", 0, 0, 'R'}, {"drop-every", 1, 0, 'd'},
        {"timeout", 1, 0, 't'}, {"verbose", 0, 0, 'v'}, {"dump-batches", 0, 0, 'D'}, {0, 0, 0, 0}};
    wl_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.host = "127.0.0.1";
    cfg.port = 7443;
    cfg.server_name = "localhost";
    cfg.agent = "wattline-logger-sim/1";
    const char *file = NULL, *channels = NULL;
    size_t batch_samples = 70;
    double rate = 0, timeout_s = 60;
    int rebase = 0, dump = 0;
    uint64_t drop_every = 0;
    for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (o) {
        case 'f': file = optarg; break;
        case 'q': cfg.queue_dir = optarg; break;
        case 'c': channels = optarg; break;
        case 'h': cfg.host = optarg; break;
        case 'p': cfg.port = (uint16_t)atoi(optarg); break;
        case 'n': cfg.server_name = optarg; break;
        case 'a': cfg.ca_file = optarg; break;
        case 'C': cfg.cert_file = optarg; break;
        case 'k': cfg.key_file = optarg; break;
        case 'b': batch_samples = (size_t)atol(optarg); break;
        case 'r': rate = atof(optarg); break;
        case 'i': cfg.max_in_flight = (uint32_t)atoi(optarg); break;
        case 'm': cfg.queue_max_bytes = (uint64_t)atoll(optarg); break;
        case 'R': rebase = 1; break;
        case 'd': drop_every = (uint64_t)atoll(optarg); break;
        case 't': timeout_s = atof(optarg); break;
        case 'v': verbose++; break;
        case 'D': dump = 1; break;
        default: usage();
        }
    }
    if (!file || !cfg.queue_dir || !channels || batch_samples == 0 || batch_samples > 100000) usage();
    uint64_t map[4096];
    size_t nmap = 0;
    for (char *s = (char *)channels; *s && nmap < 4096;) {
        map[nmap++] = strtoull(s, &s, 10);
        if (*s == ',') s++;
    }
    size_t nrows = 0;
    row *rows = load(file, map, nmap, &nrows);
    if (!rows) return 1;
    if (rebase) {
        int64_t last = rows[0].t;
        for (size_t i = 0; i < nrows; i++) if (rows[i].t > last) last = rows[i].t;
        int64_t shift = rebase_shift(cfg.queue_dir, last, !dump);
        for (size_t i = 0; i < nrows; i++) rows[i].t += shift;
    }
    size_t nbatches = (nrows + batch_samples - 1) / batch_samples;
    cols c = {malloc(batch_samples * 8), malloc(batch_samples * 8), malloc(batch_samples * 4),
              malloc(batch_samples * 4), malloc(batch_samples * 8)};
    if (!c.ch || !c.start || !c.count || !c.delta || !c.val) return 1;
    wl_batch b;

    if (dump) { /* what each batch is, as the server hashes it (content_sha256 of the TelemetryBatch) */
        size_t cap = 64 + batch_samples * 40;
        uint8_t *buf = malloc(cap);
        for (size_t i = 0; i < nbatches; i++) {
            size_t to = (i + 1) * batch_samples < nrows ? (i + 1) * batch_samples : nrows, len;
            build(rows, i * batch_samples, to, &c, &b);
            if (!buf || wl_encode_batch(&b, i + 1, buf, cap, &len) != WL_OK) return 1;
            unsigned char md[32];
            unsigned int mdlen = 0;
            EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL);
            printf("%zu %zu ", i + 1, b.n_samples);
            for (unsigned j = 0; j < mdlen; j++) printf("%02x", md[j]);
            printf("\n");
        }
        return 0;
    }

    cfg.on_ack = on_ack;
    cfg.on_event = on_event;
    wl_logger *lg;
    int rc = wl_logger_open(&cfg, &lg);
    if (rc != WL_OK) {
        fprintf(stderr, "sim: open: %s\n", wl_strerror(rc));
        return 1;
    }
    wl_stats st;
    wl_get_stats(lg, &st);
    uint64_t already = st.last_sequence, queued_at_start = st.queued_batches;
    if (already > nbatches) {
        fprintf(stderr, "sim: the queue has assigned %" PRIu64 " sequences, the file has only %zu batches\n", already, nbatches);
        return 1;
    }
    if (verbose)
        fprintf(stderr, "sim: %zu rows, %zu batches; queue has %" PRIu64 " assigned, %" PRIu64 " unacknowledged, %" PRIu64 " torn bytes dropped\n",
                nrows, nbatches, already, st.queued_batches, st.torn_bytes);
    uint64_t next = already, enqueued = 0, samples = 0, last_drop = 0;
    int64_t start = now_ms(), deadline = start + (int64_t)(timeout_s * 1000);
    int ok = 1;
    while (next < nbatches || st.queued_batches) {
        int64_t now = now_ms();
        if (now >= deadline) { ok = 0; fprintf(stderr, "sim: timed out: %s\n", wl_last_error(lg)); break; }
        int wait = 100;
        if (next < nbatches) {
            int64_t due = rate > 0 ? start + (int64_t)((double)(next - already) * 1000.0 / rate) : now;
            if (now >= due) {
                size_t to = (next + 1) * batch_samples < nrows ? (next + 1) * batch_samples : nrows;
                build(rows, next * batch_samples, to, &c, &b);
                uint64_t seq;
                rc = wl_enqueue_batch(lg, &b, &seq);
                if (rc == WL_OK) {
                    if (seq != next + 1) { fprintf(stderr, "sim: got sequence %" PRIu64 " for batch %" PRIu64 "\n", seq, next + 1); return 1; }
                    next++;
                    enqueued++;
                    samples += b.n_samples;
                    wait = 0;
                } else if (rc != WL_EFULL) {
                    fprintf(stderr, "sim: enqueue: %s: %s\n", wl_strerror(rc), wl_last_error(lg));
                    return 1;
                }
            } else {
                wait = (int)(due - now);
            }
        }
        rc = wl_poll(lg, wait > 100 ? 100 : wait);
        if (rc != WL_OK) { fprintf(stderr, "sim: poll: %s: %s\n", wl_strerror(rc), wl_last_error(lg)); return 1; }
        if (drop_every && acks_seen >= last_drop + drop_every) { /* test hook: lose the link */
            last_drop = acks_seen;
            wl_disconnect(lg);
        }
        wl_get_stats(lg, &st);
    }
    wl_get_stats(lg, &st);
    printf("{\"batches_in_file\":%zu,\"resumed_from_sequence\":%" PRIu64 ",\"enqueued\":%" PRIu64 ",\"samples_enqueued\":%" PRIu64
           ",\"acked_stored\":%" PRIu64 ",\"acked_duplicate\":%" PRIu64 ",\"rejected\":%" PRIu64 ",\"acked_by_welcome\":%" PRIu64
           ",\"batches_sent\":%" PRIu64 ",\"handshakes\":%" PRIu64 ",\"resumed_handshakes\":%" PRIu64 ",\"reconnects\":%" PRIu64
           ",\"connect_failures\":%" PRIu64 ",\"torn_bytes\":%" PRIu64 ",\"last_sequence\":%" PRIu64 ",\"acked_sequence\":%" PRIu64
           ",\"pending\":%" PRIu64 ",\"queued_at_start\":%" PRIu64 ",\"ok\":%s}\n",
           nbatches, already, enqueued, samples, st.acked_stored, st.acked_duplicate, st.rejected, st.acked_by_welcome,
           st.batches_sent, st.handshakes, st.resumed_handshakes, st.reconnects, st.connect_failures, st.torn_bytes,
           st.last_sequence, st.acked_sequence, st.queued_batches, queued_at_start, ok ? "true" : "false");
    fflush(stdout);
    wl_logger_close(lg);
    free(rows);
    free(c.ch); free(c.start); free(c.count); free(c.delta); free(c.val);
    return ok ? 0 : 1;
}
