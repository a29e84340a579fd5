/* Backoff: ceilings grow x1.6 up to the cap, delays are full jitter within them, reset works. */
#include "backoff.h"
#include "check.h"

int main(void) {
    wl_backoff b;
    wl_backoff_init(&b, 100, 10000, 42);
    const uint32_t want[] = {100, 160, 256, 409, 654, 1046, 1673, 2676, 4281, 6849, 10000, 10000};
    for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++) {
        CHECK_EQ(wl_backoff_ceiling(&b), want[i]);
        uint32_t d = wl_backoff_next(&b);
        CHECK(d <= want[i]);
    }
    for (int i = 0; i < 1000; i++) CHECK(wl_backoff_next(&b) <= 10000); /* saturates, never overflows */
    wl_backoff_reset(&b);
    CHECK_EQ(wl_backoff_ceiling(&b), 100);

    /* Full jitter: over many draws at the cap, the whole range is used, mean near the middle. */
    wl_backoff_init(&b, 10000, 10000, 7);
    double sum = 0;
    uint32_t lo = 10000, hi = 0;
    for (int i = 0; i < 20000; i++) {
        uint32_t d = wl_backoff_next(&b);
        sum += d;
        if (d < lo) lo = d;
        if (d > hi) hi = d;
    }
    CHECK(lo < 100 && hi > 9900);
    CHECK(sum / 20000 > 4800 && sum / 20000 < 5200);

    /* Same seed, same delays (tests are reproducible); different seeds differ. */
    wl_backoff a, c;
    wl_backoff_init(&a, 100, 10000, 5);
    wl_backoff_init(&c, 100, 10000, 5);
    for (int i = 0; i < 20; i++) CHECK_EQ(wl_backoff_next(&a), wl_backoff_next(&c));
    wl_backoff_init(&a, 100, 10000, 5);
    wl_backoff_init(&c, 100, 10000, 6);
    int differ = 0;
    for (int i = 0; i < 20; i++) differ |= wl_backoff_next(&a) != wl_backoff_next(&c);
    CHECK(differ);
    CHECK(wl_random_seed() != 0);
    DONE("test_backoff");
}
