#define _GNU_SOURCE
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "util.h"
#include "wattline.h"

static const unsigned char alpn[] = "\x0awattline/1";

/* --- a socket BIO that writes with MSG_NOSIGNAL: a server that closes must not SIGPIPE the logger --- */

static int bio_write(BIO *b, const char *buf, int len) {
    int fd = (int)(intptr_t)BIO_get_data(b);
    BIO_clear_retry_flags(b);
    ssize_t n = send(fd, buf, (size_t)len, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_write(b);
    return (int)n;
}

static int bio_read(BIO *b, char *buf, int len) {
    int fd = (int)(intptr_t)BIO_get_data(b);
    BIO_clear_retry_flags(b);
    ssize_t n = recv(fd, buf, (size_t)len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_read(b);
    return (int)n;
}

static int bio_puts(BIO *b, const char *s) { return bio_write(b, s, (int)strlen(s)); }

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
    (void)num;
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_C_GET_FD:
        if (ptr) *(int *)ptr = (int)(intptr_t)BIO_get_data(b);
        return (long)(intptr_t)BIO_get_data(b);
    default: return 0;
    }
}

static int bio_create(BIO *b) {
    BIO_set_init(b, 1);
    return 1;
}

static BIO_METHOD *bio_method(void) {
    static BIO_METHOD *m; /* created once, never freed: one per process */
    if (!m) {
        m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "wattline socket");
        if (!m) return NULL;
        BIO_meth_set_write(m, bio_write);
        BIO_meth_set_read(m, bio_read);
        BIO_meth_set_puts(m, bio_puts);
        BIO_meth_set_ctrl(m, bio_ctrl);
        BIO_meth_set_create(m, bio_create);
    }
    return m;
}

/* --- context --- */

void wl_tls_error(char *buf, size_t cap, const char *what) {
    unsigned long e = ERR_get_error();
    char detail[200] = "no OpenSSL detail";
    if (e) ERR_error_string_n(e, detail, sizeof detail);
    ERR_clear_error();
    snprintf(buf, cap, "%s: %s", what, detail);
}

/* Keeps the newest session: with TLS 1.3 tickets arrive after the handshake, during reads. */
static int on_new_session(SSL *ssl, SSL_SESSION *session) {
    wl_tls *t = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    if (!t) return 0;
    if (t->session) SSL_SESSION_free(t->session);
    t->session = session;
    return 1; /* we keep the reference */
}

int wl_tls_init(wl_tls *t, const char *ca_file, const char *cert_file, const char *key_file, char *err,
                size_t errcap) {
    memset(t, 0, sizeof *t);
    if (!ca_file || !cert_file || !key_file)
        return wl_fail(err, errcap, WL_EINVAL, "tls: ca_file, cert_file and key_file are required");
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (!t->ctx) return wl_tls_error(err, errcap, "tls: SSL_CTX_new"), WL_ETLS;
    SSL_CTX *c = t->ctx;
    SSL_CTX_set_app_data(c, t);
    /* TLS 1.2 only with ECDHE and an AEAD (docs/protocol.md §1); 1.3 suites are all AEAD. */
    if (SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(c, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1 ||
        SSL_CTX_set_alpn_protos(c, alpn, sizeof alpn - 1) != 0)
        return wl_tls_error(err, errcap, "tls: protocol settings"), WL_ETLS;
    SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(c, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
    if (SSL_CTX_load_verify_locations(c, ca_file, NULL) != 1)
        return wl_tls_error(err, errcap, "tls: CA file"), WL_ETLS;
    if (SSL_CTX_use_certificate_chain_file(c, cert_file) != 1)
        return wl_tls_error(err, errcap, "tls: client certificate"), WL_ETLS;
    if (SSL_CTX_use_PrivateKey_file(c, key_file, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(c) != 1)
        return wl_tls_error(err, errcap, "tls: client key"), WL_ETLS;
    /* Client sessions live in t->session only; the internal cache would never be consulted. */
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(c, on_new_session);
    return WL_OK;
}

void wl_tls_free(wl_tls *t) {
    if (t->session) SSL_SESSION_free(t->session);
    if (t->ctx) SSL_CTX_free(t->ctx);
    memset(t, 0, sizeof *t);
}

static int is_ip_literal(const char *s) {
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

int wl_tls_start(wl_tls *t, int fd, const char *name, SSL **out, char *err, size_t errcap) {
    *out = NULL;
    ERR_clear_error();
    SSL *ssl = SSL_new(t->ctx);
    BIO *bio = ssl ? BIO_new(bio_method()) : NULL;
    if (!ssl || !bio) {
        if (ssl) SSL_free(ssl);
        return wl_tls_error(err, errcap, "tls: SSL_new"), WL_ETLS;
    }
    BIO_set_data(bio, (void *)(intptr_t)fd);
    SSL_set_bio(ssl, bio, bio);
    int ok;
    if (is_ip_literal(name)) { /* no SNI for addresses (RFC 6066); verify the IP SAN */
        ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) == 1;
    } else {
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        ok = SSL_set_tlsext_host_name(ssl, name) == 1 && SSL_set1_host(ssl, name) == 1;
    }
    if (!ok) {
        SSL_free(ssl);
        return wl_tls_error(err, errcap, "tls: server name"), WL_ETLS;
    }
    if (t->session && SSL_SESSION_is_resumable(t->session)) SSL_set_session(ssl, t->session);
    *out = ssl;
    return WL_OK;
}

int wl_tls_handshake(SSL *ssl, short *events, char *err, size_t errcap) {
    int r = SSL_connect(ssl);
    if (r != 1) {
        int e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            *events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
            return 0;
        }
        long v = SSL_get_verify_result(ssl);
        if (v != X509_V_OK)
            wl_fail(err, errcap, 0, "tls: server certificate: %s", X509_verify_cert_error_string(v));
        else
            wl_tls_error(err, errcap, "tls: handshake");
        return WL_ETLS;
    }
    const unsigned char *proto = NULL;
    unsigned int plen = 0;
    SSL_get0_alpn_selected(ssl, &proto, &plen);
    if (plen != sizeof alpn - 2 || memcmp(proto, alpn + 1, plen) != 0) /* not a Wattline server (§1.1) */
        return wl_fail(err, errcap, WL_ETLS, "tls: server did not negotiate ALPN wattline/1");
    return 1;
}

void wl_tls_close(SSL *ssl, int clean) {
    if (!ssl) return;
    if (clean) (void)SSL_shutdown(ssl);
    SSL_free(ssl);
    ERR_clear_error();
}
