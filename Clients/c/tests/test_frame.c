/* Frame header codec: the worked example of docs/protocol.md §8, every rule a header alone can
 * break, and batch encoding checks. */
#include <string.h>

#include "check.h"
#include "frame.h"
#include "wattline.h"
#include "wattline/rpc/v1/rpc.pb-c.h"

static int check_bytes(const uint8_t *h, wl_frame_hdr *out) { return wl_frame_check_server(h, 16384, out); }

static int verdict(uint32_t len, uint8_t type, uint8_t flags, uint32_t stream_raw) {
    uint8_t h[9];
    wl_frame_put_header(h, len, type, flags, 0);
    h[5] = (uint8_t)(stream_raw >> 24); h[6] = (uint8_t)(stream_raw >> 16);
    h[7] = (uint8_t)(stream_raw >> 8); h[8] = (uint8_t)stream_raw;
    wl_frame_hdr f;
    return check_bytes(h, &f);
}

int main(void) {
    /* §8: HELLO versions=[1] agent="example/1" and the OPEN header. */
    uint32_t versions[1] = {1};
    Wattline__Rpc__V1__Hello hello = WATTLINE__RPC__V1__HELLO__INIT;
    hello.n_versions = 1;
    hello.versions = versions;
    hello.agent = "example/1";
    uint8_t buf[64];
    size_t n = wattline__rpc__v1__hello__pack(&hello, buf);
    const uint8_t want_hello[] = {0x0a, 0x01, 0x01, 0x1a, 0x09, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '/', '1'};
    CHECK_EQ(n, sizeof want_hello);
    CHECK(memcmp(buf, want_hello, n) == 0);
    uint8_t h[9];
    wl_frame_put_header(h, (uint32_t)n, WL_F_HELLO, 0, 0);
    const uint8_t want_hdr[] = {0x00, 0x00, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    CHECK(memcmp(h, want_hdr, 9) == 0);
    wl_frame_put_header(h, 0x2c, WL_F_OPEN, 0, 1);
    const uint8_t want_open[] = {0x00, 0x00, 0x2c, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01};
    CHECK(memcmp(h, want_open, 9) == 0);

    /* Round trip of the server frames in §8. */
    const uint8_t status[] = {0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x01};
    wl_frame_hdr f;
    CHECK_EQ(check_bytes(status, &f), 0);
    CHECK_EQ(f.type, WL_F_STATUS);
    CHECK_EQ(f.stream, 1);
    CHECK_EQ(f.length, 0);
    wl_frame_put_header(h, 0xabcdef, WL_F_MESSAGE, WL_FLAG_MORE, 0x7fffffff);
    CHECK_EQ(wl_frame_check_server(h, 16777215, &f), 0);
    CHECK_EQ(f.length, 0xabcdef);
    CHECK_EQ(f.stream, 0x7fffffff);
    CHECK_EQ(f.flags, WL_FLAG_MORE);

    /* Valid server frames. */
    CHECK_EQ(verdict(7, WL_F_HELLO, 0, 0), 0);
    CHECK_EQ(verdict(8, WL_F_PING, 0, 0), 0);
    CHECK_EQ(verdict(8, WL_F_PING, WL_FLAG_ACK, 0), 0);
    CHECK_EQ(verdict(4, WL_F_WINDOW_UPDATE, 0, 0), 0);
    CHECK_EQ(verdict(4, WL_F_WINDOW_UPDATE, 0, 1), 0);
    CHECK_EQ(verdict(0, WL_F_MESSAGE, 0, 1), 0); /* zero-length message */
    CHECK_EQ(verdict(10, WL_F_GOAWAY, 0, 0), 0);
    CHECK_EQ(verdict(16384, WL_F_MESSAGE, 0, 1), 0);

    /* Each rule of §2. */
    CHECK_EQ(verdict(16385, WL_F_MESSAGE, 0, 1), WL_GA_FRAME_TOO_LARGE);
    CHECK_EQ(verdict(0xffffff, WL_F_HELLO, 0, 0), WL_GA_FRAME_TOO_LARGE);
    CHECK_EQ(verdict(0, WL_F_MESSAGE, 0, 0x80000001u), WL_GA_PROTOCOL_ERROR); /* reserved bit */
    CHECK_EQ(verdict(0, WL_F_OPEN, 0, 1), WL_GA_PROTOCOL_ERROR);              /* client-only types */
    CHECK_EQ(verdict(0, WL_F_HALF_CLOSE, 0, 1), WL_GA_PROTOCOL_ERROR);
    CHECK_EQ(verdict(2, WL_F_CANCEL, 0, 1), WL_GA_PROTOCOL_ERROR);
    for (unsigned t = 9; t < 256; t++) CHECK_EQ(verdict(0, (uint8_t)t, 0, 0), WL_GA_PROTOCOL_ERROR);
    CHECK_EQ(verdict(7, WL_F_HELLO, 0, 1), WL_GA_PROTOCOL_ERROR);       /* stream-0 type on a stream */
    CHECK_EQ(verdict(8, WL_F_PING, 0, 3), WL_GA_PROTOCOL_ERROR);
    CHECK_EQ(verdict(5, WL_F_GOAWAY, 0, 1), WL_GA_PROTOCOL_ERROR);
    CHECK_EQ(verdict(1, WL_F_MESSAGE, 0, 0), WL_GA_PROTOCOL_ERROR);     /* call type on stream 0 */
    CHECK_EQ(verdict(0, WL_F_STATUS, 0, 0), WL_GA_PROTOCOL_ERROR);
    CHECK_EQ(verdict(7, WL_F_PING, 0, 0), WL_GA_PROTOCOL_ERROR);        /* PING is 8 bytes */
    CHECK_EQ(verdict(9, WL_F_PING, 0, 0), WL_GA_PROTOCOL_ERROR);
    CHECK_EQ(verdict(3, WL_F_WINDOW_UPDATE, 0, 0), WL_GA_PROTOCOL_ERROR); /* 4 bytes */
    CHECK_EQ(verdict(0, WL_F_MESSAGE, WL_FLAG_MORE, 1), WL_GA_PROTOCOL_ERROR); /* empty MORE fragment */
    for (unsigned fl = 1; fl < 256; fl++) { /* undefined flags */
        CHECK_EQ(verdict(7, WL_F_HELLO, (uint8_t)fl, 0), WL_GA_PROTOCOL_ERROR);
        CHECK_EQ(verdict(0, WL_F_STATUS, (uint8_t)fl, 1), WL_GA_PROTOCOL_ERROR);
        if (fl != WL_FLAG_MORE) CHECK_EQ(verdict(1, WL_F_MESSAGE, (uint8_t)fl, 1), WL_GA_PROTOCOL_ERROR);
        if (fl != WL_FLAG_ACK) CHECK_EQ(verdict(8, WL_F_PING, (uint8_t)fl, 0), WL_GA_PROTOCOL_ERROR);
    }

    uint32_t inc = 0;
    const uint8_t zero[4] = {0, 0, 0, 0}, high[4] = {0x80, 0, 0, 1}, max[4] = {0x7f, 0xff, 0xff, 0xff};
    CHECK_EQ(wl_frame_window_increment(zero, &inc), WL_GA_FLOW_CONTROL_ERROR);
    CHECK_EQ(wl_frame_window_increment(high, &inc), WL_GA_FLOW_CONTROL_ERROR);
    CHECK_EQ(wl_frame_window_increment(max, &inc), 0);
    CHECK_EQ(inc, 0x7fffffff);

    /* Batch encoding refuses inconsistent columns and small buffers. */
    uint64_t ch[2] = {1, 2};
    int64_t start[2] = {1000, 1000};
    uint32_t counts[2] = {2, 1};
    int32_t deltas[3] = {0, 10, 0};
    double values[3] = {1.5, 2.5, 3.5};
    wl_batch b = {2, ch, start, counts, 3, deltas, values, NULL};
    size_t len = 0;
    CHECK_EQ(wl_encode_batch(&b, 1, buf, sizeof buf, &len), WL_OK);
    CHECK(len > 0 && buf[0] == 0x08 && buf[1] == 0x01); /* sequence is field 1 */
    CHECK_EQ(wl_encode_batch(&b, 1, buf, 10, &len), WL_ETOOBIG);
    CHECK_EQ(wl_encode_batch(&b, 0, buf, sizeof buf, &len), WL_EINVAL);
    b.n_samples = 4;
    CHECK_EQ(wl_encode_batch(&b, 1, buf, sizeof buf, &len), WL_EINVAL);
    b.n_samples = 3;
    counts[1] = 0;
    counts[0] = 3;
    CHECK_EQ(wl_encode_batch(&b, 1, buf, sizeof buf, &len), WL_EINVAL); /* empty series */
    CHECK(strcmp(wl_strerror(WL_EFULL), "queue full") == 0);
    DONE("test_frame");
}
