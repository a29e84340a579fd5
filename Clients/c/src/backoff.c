#define _GNU_SOURCE
#include "backoff.h"

#include <sys/random.h>
#include <time.h>
#include <unistd.h>

void wl_backoff_init(wl_backoff *b, uint32_t initial_ms, uint32_t max_ms, uint64_t seed) {
    b->initial_ms = initial_ms ? initial_ms : 1;
    b->max_ms = max_ms < b->initial_ms ? b->initial_ms : max_ms;
    b->attempt = 0;
    b->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
}

uint32_t wl_backoff_ceiling(const wl_backoff *b) {
    uint64_t c = b->initial_ms;
    for (uint32_t i = 0; i < b->attempt && c < b->max_ms; i++) c = c * 8 / 5;
    return c > b->max_ms ? b->max_ms : (uint32_t)c;
}

static uint64_t next_random(wl_backoff *b) {
    uint64_t x = b->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    b->rng = x;
    return x * 0x2545f4914f6cdd1dull;
}

uint32_t wl_backoff_next(wl_backoff *b) {
    uint32_t ceiling = wl_backoff_ceiling(b);
    if (b->attempt < 64) b->attempt++;
    return (uint32_t)(next_random(b) % ((uint64_t)ceiling + 1));
}

void wl_backoff_reset(wl_backoff *b) { b->attempt = 0; }

uint64_t wl_random_seed(void) {
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed || seed == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^ 1;
    }
    return seed;
}
