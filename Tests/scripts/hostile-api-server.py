#!/usr/bin/env python3
"""A hostile "API server" for meshcheck's bound tests: TLS on 127.0.0.1 only, one behaviour for every request.

    hostile-api-server.py BEHAVIOUR CERT KEY [LIFETIME_SECONDS]

Prints the port it listens on as the first line of stdout, then serves until LIFETIME_SECONDS (default 120) pass
or it is killed; every connection ends by then too, so a test can never hang on it. Behaviours:

  endless-body     200, chunked, a body that never ends (64 KiB chunks as fast as the client reads)
  trickle          200, chunked, one body byte a second
  endless-headers  a status line, then header lines without end
  silent           completes TLS, reads the request, never answers
  garbage          200 with a Content-Length body that is not JSON
  declared-huge    200 with Content-Length: 1 TiB, then body bytes without end
  silent-proxy     plain TCP (no TLS), as an HTTP proxy that reads the CONNECT request and never opens the tunnel
"""

import socket
import ssl
import sys
import threading
import time

BEHAVIOURS = {"endless-body", "trickle", "endless-headers", "silent", "garbage", "declared-huge", "silent-proxy"}


def read_request_head(conn):
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            return False
        data += chunk
    return True


def serve(conn, behaviour, deadline):
    conn.settimeout(5)
    try:
        if not read_request_head(conn):
            return
        chunked = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        if behaviour == "endless-body":
            conn.sendall(chunked)
            chunk = b"%x\r\n" % 65536 + b" " * 65536 + b"\r\n"
            while time.monotonic() < deadline:
                conn.sendall(chunk)
        elif behaviour == "trickle":
            conn.sendall(chunked)
            while time.monotonic() < deadline:
                conn.sendall(b"1\r\n \r\n")
                time.sleep(1)
        elif behaviour == "endless-headers":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
            line = b"X-Filler: " + b"a" * 1000 + b"\r\n"
            while time.monotonic() < deadline:
                conn.sendall(line * 16)
        elif behaviour in ("silent", "silent-proxy"):
            while time.monotonic() < deadline:
                time.sleep(0.2)
        elif behaviour == "garbage":
            body = b"<html>this is not an API server</html>"
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        elif behaviour == "declared-huge":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (1 << 40))
            while time.monotonic() < deadline:
                conn.sendall(b" " * 65536)
    except (OSError, ssl.SSLError):
        pass  # the client hung up: that is what the tests want
    finally:
        try:
            conn.close()
        except OSError:
            pass


def main():
    behaviour, cert, key = sys.argv[1], sys.argv[2], sys.argv[3]
    lifetime = float(sys.argv[4]) if len(sys.argv) > 4 else 120.0
    if behaviour not in BEHAVIOURS:
        sys.exit("unknown behaviour %s (one of %s)" % (behaviour, ", ".join(sorted(BEHAVIOURS))))
    deadline = time.monotonic() + lifetime
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.2)
    print(listener.getsockname()[1], flush=True)
    while time.monotonic() < deadline:
        try:
            raw, _ = listener.accept()
        except socket.timeout:
            continue
        raw.settimeout(5)
        if behaviour == "silent-proxy":
            threading.Thread(target=serve, args=(raw, behaviour, deadline), daemon=True).start()
            continue
        try:
            conn = context.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()
            continue
        threading.Thread(target=serve, args=(conn, behaviour, deadline), daemon=True).start()


if __name__ == "__main__":
    main()
