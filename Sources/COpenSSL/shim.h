#ifndef MESHCHECK_COPENSSL_SHIM_H
#define MESHCHECK_COPENSSL_SHIM_H
// OpenSSL's libcrypto gives KubeClient the WebSocket handshake digest (SHA-1 of key + GUID) and
// cryptographically strong random bytes for the handshake key and frame masks.
#include <openssl/sha.h>
#include <openssl/rand.h>
#endif
