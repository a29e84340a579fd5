/* OpenSSL client side: mutual TLS (1.2 floor with ECDHE+AEAD, 1.3 preferred), server certificate
 * verified against the CA file and the server name, ALPN "wattline/1", and session resumption
 * with the newest session (TLS 1.3 ticket) kept in memory across reconnects. */
#ifndef WL_TLS_H
#define WL_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

typedef struct wl_tls {
    SSL_CTX *ctx;
    SSL_SESSION *session; /* newest resumable session, offered on the next connect */
} wl_tls;

int wl_tls_init(wl_tls *t, const char *ca_file, const char *cert_file, const char *key_file, char *err,
                size_t errcap);
void wl_tls_free(wl_tls *t);

/* Prepares the client SSL on a connected non-blocking socket (SNI, name check, session offer). */
int wl_tls_start(wl_tls *t, int fd, const char *server_name, SSL **out, char *err, size_t errcap);
/* One step of the handshake: 1 done (ALPN checked), 0 in progress (*events: POLLIN or POLLOUT to
 * wait for), or WL_ETLS with the reason in err. Never blocks. */
int wl_tls_handshake(SSL *ssl, short *events, char *err, size_t errcap);
/* Sends close_notify when clean (one non-blocking attempt; it also keeps the session resumable)
 * and frees the SSL. */
void wl_tls_close(SSL *ssl, int clean);
/* Describes the last OpenSSL error into buf. */
void wl_tls_error(char *buf, size_t cap, const char *what);

#endif
