/* Small shared helpers: byte order, CRC-32, clocks, error strings. */
#ifndef WL_UTIL_H
#define WL_UTIL_H

#include <stddef.h>
#include <stdint.h>

static inline void wl_put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline uint32_t wl_get_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void wl_put_le32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t wl_get_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void wl_put_le64(uint8_t *p, uint64_t v) {
    wl_put_le32(p, (uint32_t)v); wl_put_le32(p + 4, (uint32_t)(v >> 32));
}
static inline uint64_t wl_get_le64(const uint8_t *p) {
    return (uint64_t)wl_get_le32(p) | (uint64_t)wl_get_le32(p + 4) << 32;
}

/* CRC-32 (IEEE 802.3, as zlib): wl_crc32(0, p, n); chain by passing the previous result. */
uint32_t wl_crc32(uint32_t crc, const void *data, size_t n);

/* Monotonic milliseconds (timers) and wall-clock milliseconds since the epoch. */
uint64_t wl_now_ms(void);
int64_t wl_wall_ms(void);

/* snprintf into a fixed error buffer; returns err so callers can `return wl_fail(...)`. */
int wl_fail(char *buf, size_t cap, int err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

#endif
