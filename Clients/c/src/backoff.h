/* Reconnect backoff: exponential (x1.6 per failure, as the Swift SDK) with full jitter, so a fleet
 * that lost its server spreads its reconnects over the whole interval instead of returning in waves. */
#ifndef WL_BACKOFF_H
#define WL_BACKOFF_H

#include <stdint.h>

typedef struct wl_backoff {
    uint32_t initial_ms, max_ms;
    uint32_t attempt;   /* failures since the last success */
    uint64_t rng;       /* xorshift64* state, never 0 */
} wl_backoff;

void wl_backoff_init(wl_backoff *b, uint32_t initial_ms, uint32_t max_ms, uint64_t seed);
/* The ceiling of the next delay: min(max, initial * 1.6^attempt). */
uint32_t wl_backoff_ceiling(const wl_backoff *b);
/* A delay uniform in [0, ceiling], then one more failure counted. */
uint32_t wl_backoff_next(wl_backoff *b);
void wl_backoff_reset(wl_backoff *b);
uint64_t wl_random_seed(void);

#endif
