#ifndef MESHCHECK_CCURL_SHIM_H
#define MESHCHECK_CCURL_SHIM_H
// libcurl's option setters are variadic C functions, which Swift cannot call. These typed,
// non-variadic wrappers are the only way the KubeClient module sets options.
#include <curl/curl.h>

static inline CURLcode mc_easy_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode mc_easy_setopt_off_t(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode mc_easy_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode mc_easy_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode mc_easy_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode mc_easy_setopt_blob(CURL *h, CURLoption o, struct curl_blob *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode mc_easy_setopt_write_callback(CURL *h, size_t (*f)(char *, size_t, size_t, void *)) { return curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, f); }
static inline CURLcode mc_easy_setopt_header_callback(CURL *h, size_t (*f)(char *, size_t, size_t, void *)) { return curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, f); }
static inline CURLcode mc_easy_setopt_read_callback(CURL *h, size_t (*f)(char *, size_t, size_t, void *)) { return curl_easy_setopt(h, CURLOPT_READFUNCTION, f); }
static inline CURLcode mc_easy_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode mc_easy_getinfo_socket(CURL *h, CURLINFO i, curl_socket_t *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode mc_easy_getinfo_double(CURL *h, CURLINFO i, double *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode mc_easy_getinfo_pointer(CURL *h, CURLINFO i, void **v) { return curl_easy_getinfo(h, i, v); }
static inline CURLMcode mc_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return curl_multi_setopt(m, o, v); }
static inline CURLMcode mc_multi_setopt_pointer(CURLM *m, CURLMoption o, void *v) { return curl_multi_setopt(m, o, v); }

// The multi interface's event hooks: the I/O engine owns the poll loop and libcurl tells it which
// sockets to watch (socket callback) and when to call back on a timer (timer callback).
typedef int (*mc_multi_socket_callback)(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp);
typedef int (*mc_multi_timer_callback)(CURLM *multi, long timeout_ms, void *userp);
static inline CURLMcode mc_multi_setopt_socket_callback(CURLM *m, mc_multi_socket_callback f) { return curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, f); }
static inline CURLMcode mc_multi_setopt_timer_callback(CURLM *m, mc_multi_timer_callback f) { return curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, f); }

// OpenSSL keeps a read and a write buffer (about 34 KiB) per TLS connection for its whole life; a paced exec
// session is idle most of the time, so ask OpenSSL to free them between records (SSL_MODE_RELEASE_BUFFERS), set
// from libcurl's SSL_CTX hook because libcurl has no option for it.
#include <openssl/ssl.h>
static inline CURLcode mc_release_idle_tls_buffers(CURL *h, void *ssl_ctx, void *userp) {
    (void)h;
    (void)userp;
    SSL_CTX_set_mode((SSL_CTX *)ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
    return CURLE_OK;
}
static inline CURLcode mc_easy_setopt_release_idle_tls_buffers(CURL *h) {
    return curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, mc_release_idle_tls_buffers);
}

// CURLMsg keeps the result in a union, which Swift imports awkwardly; read it here.
static inline CURLcode mc_msg_result(const CURLMsg *m) { return m->data.result; }

// Macros are not importable; expose the ones the engine compares against.
static inline curl_socket_t mc_socket_timeout(void) { return CURL_SOCKET_TIMEOUT; }
static inline curl_socket_t mc_socket_bad(void) { return CURL_SOCKET_BAD; }

#endif
