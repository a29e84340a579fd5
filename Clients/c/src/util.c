#define _POSIX_C_SOURCE 200809L
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "wattline.h"

uint32_t wl_crc32(uint32_t crc, const void *data, size_t n) {
    /* Nibble table: 64 bytes of ROM instead of 1 KiB, fast enough for a logger's batches. */
    static const uint32_t table[16] = {
        0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
        0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c, 0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c};
    const uint8_t *p = data;
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ table[crc & 15];
        crc = (crc >> 4) ^ table[crc & 15];
    }
    return ~crc;
}

uint64_t wl_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int64_t wl_wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int wl_fail(char *buf, size_t cap, int err, const char *fmt, ...) {
    if (buf && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, cap, fmt, ap);
        va_end(ap);
    }
    return err;
}

const char *wl_strerror(int err) {
    switch (err) {
    case WL_OK: return "ok";
    case WL_EINVAL: return "invalid argument";
    case WL_EFULL: return "queue full";
    case WL_EIO: return "queue I/O error";
    case WL_ECORRUPT: return "queue corrupt";
    case WL_ETOOBIG: return "too big";
    case WL_ENOMEM: return "out of memory";
    case WL_ETLS: return "TLS error";
    case WL_EPROTO: return "protocol error";
    case WL_ECLOSED: return "connection closed";
    case WL_ETIMEOUT: return "timed out";
    case WL_ESTATUS: return "call ended with an error status";
    case WL_ENET: return "network error";
    default: return "unknown error";
    }
}
