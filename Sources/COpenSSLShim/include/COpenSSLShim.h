// Function-like OpenSSL macros that Swift cannot import, exposed as inline functions.
// Only what Wattline calls belongs here; everything else is imported directly from COpenSSL.
#ifndef WATTLINE_COPENSSL_SHIM_H
#define WATTLINE_COPENSSL_SHIM_H

#include <openssl/ssl.h>
#include <openssl/crypto.h>

static inline int wl_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}

static inline int wl_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}

static inline int wl_SSL_CTX_get_min_proto_version(SSL_CTX *ctx) {
    return (int)SSL_CTX_get_min_proto_version(ctx);
}

static inline long wl_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_mode(ctx, mode);
}

static inline long wl_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_session_cache_mode(ctx, mode);
}

static inline long wl_SSL_CTX_set_tlsext_ticket_keys(SSL_CTX *ctx, void *keys, long length) {
    return SSL_CTX_set_tlsext_ticket_keys(ctx, keys, length);
}

static inline int wl_SSL_CTX_set1_groups_list(SSL_CTX *ctx, const char *groups) {
    return (int)SSL_CTX_set1_groups_list(ctx, groups);
}

static inline int wl_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

static inline void wl_OPENSSL_free(void *pointer) {
    OPENSSL_free(pointer);
}

#endif
