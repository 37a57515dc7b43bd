/*
 * tlsshim.c -- the one OpenSSL symbol Debian 12's civetweb cannot find.
 *
 * civetweb 1.15 loads OpenSSL at run time (dlopen "libssl.so") and asks
 * for SSL_get_peer_certificate, which OpenSSL 3 keeps only as a macro
 * for SSL_get1_peer_certificate, so TLS listeners fail to start.  This
 * file is built as a tiny "libssl.so" that depends on the real libssl:
 * civetweb's lookups find every other symbol through that dependency
 * and this one here.  cofferd puts its directory first on the library
 * path (main.c) only when a listener uses TLS.
 */
#include <openssl/ssl.h>

#undef SSL_get_peer_certificate

X509	*SSL_get_peer_certificate(const SSL *);

X509 *
SSL_get_peer_certificate(const SSL *s)
{
	return SSL_get1_peer_certificate(s);
}
