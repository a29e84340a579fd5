#include "frame.h"

#include "util.h"

void wl_frame_put_header(uint8_t out[WL_FRAME_HEADER], uint32_t length, uint8_t type, uint8_t flags,
                         uint32_t stream) {
    out[0] = (uint8_t)(length >> 16);
    out[1] = (uint8_t)(length >> 8);
    out[2] = (uint8_t)length;
    out[3] = type;
    out[4] = flags;
    wl_put_be32(out + 5, stream & WL_MAX_WINDOW);
}

int wl_frame_check_server(const uint8_t in[WL_FRAME_HEADER], uint32_t max_frame_size, wl_frame_hdr *h) {
    h->length = (uint32_t)in[0] << 16 | (uint32_t)in[1] << 8 | in[2];
    h->type = in[3];
    h->flags = in[4];
    uint32_t sid = wl_get_be32(in + 5);
    h->stream = sid & WL_MAX_WINDOW;
    /* Length first: the caller must not read a payload larger than it announced (§2). */
    if (h->length > max_frame_size) return WL_GA_FRAME_TOO_LARGE;
    if (sid & 0x80000000u) return WL_GA_PROTOCOL_ERROR;
    switch (h->type) {
    case WL_F_HELLO:
    case WL_F_GOAWAY:
        return (h->stream != 0 || h->flags != 0) ? WL_GA_PROTOCOL_ERROR : 0;
    case WL_F_PING:
        return (h->stream != 0 || (h->flags & ~WL_FLAG_ACK) || h->length != 8) ? WL_GA_PROTOCOL_ERROR : 0;
    case WL_F_WINDOW_UPDATE:
        return (h->flags != 0 || h->length != 4) ? WL_GA_PROTOCOL_ERROR : 0;
    case WL_F_MESSAGE:
        if (h->stream == 0 || (h->flags & ~WL_FLAG_MORE)) return WL_GA_PROTOCOL_ERROR;
        return ((h->flags & WL_FLAG_MORE) && h->length == 0) ? WL_GA_PROTOCOL_ERROR : 0;
    case WL_F_STATUS:
        return (h->stream == 0 || h->flags != 0) ? WL_GA_PROTOCOL_ERROR : 0;
    default: /* OPEN, HALF_CLOSE, CANCEL come only from clients; other types do not exist in v1 */
        return WL_GA_PROTOCOL_ERROR;
    }
}

int wl_frame_window_increment(const uint8_t payload[4], uint32_t *increment) {
    uint32_t v = wl_get_be32(payload);
    if (v == 0 || (v & 0x80000000u)) return WL_GA_FLOW_CONTROL_ERROR;
    *increment = v;
    return 0;
}
