/* Frame header codec of docs/protocol.md §2: 24-bit length, type, flags, R bit + 31-bit stream id,
 * all big-endian. Validation here covers everything that can be judged from the 9 header bytes
 * (and the 4-byte WINDOW_UPDATE payload); stream state is the connection's job. */
#ifndef WL_FRAME_H
#define WL_FRAME_H

#include <stdint.h>

#define WL_FRAME_HEADER 9
#define WL_PREFACE "WATTLINE"
#define WL_PREFACE_LEN 8
#define WL_MAX_WINDOW 0x7fffffffu

enum {
    WL_F_HELLO = 0x00, WL_F_OPEN = 0x01, WL_F_MESSAGE = 0x02, WL_F_HALF_CLOSE = 0x03,
    WL_F_STATUS = 0x04, WL_F_CANCEL = 0x05, WL_F_WINDOW_UPDATE = 0x06, WL_F_PING = 0x07,
    WL_F_GOAWAY = 0x08
};
#define WL_FLAG_MORE 0x01 /* MESSAGE */
#define WL_FLAG_ACK 0x01  /* PING */

/* GoAwayReason values the client may send (rpc.proto). */
enum {
    WL_GA_NO_ERROR = 1, WL_GA_PROTOCOL_ERROR = 2, WL_GA_FLOW_CONTROL_ERROR = 3,
    WL_GA_FRAME_TOO_LARGE = 4, WL_GA_KEEPALIVE_TIMEOUT = 9
};

typedef struct wl_frame_hdr {
    uint32_t length;
    uint8_t type;
    uint8_t flags;
    uint32_t stream;
} wl_frame_hdr;

void wl_frame_put_header(uint8_t out[WL_FRAME_HEADER], uint32_t length, uint8_t type, uint8_t flags,
                         uint32_t stream);

/* Decodes and checks a header the server sent. Returns 0, or the GOAWAY reason of the connection
 * error (WL_GA_PROTOCOL_ERROR, WL_GA_FRAME_TOO_LARGE). max_frame_size is what we announced. */
int wl_frame_check_server(const uint8_t in[WL_FRAME_HEADER], uint32_t max_frame_size, wl_frame_hdr *out);

/* WINDOW_UPDATE payload: 0 and *increment, or WL_GA_FLOW_CONTROL_ERROR (0 or high bit set). */
int wl_frame_window_increment(const uint8_t payload[4], uint32_t *increment);

#endif
