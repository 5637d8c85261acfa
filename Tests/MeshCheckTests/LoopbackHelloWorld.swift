import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A tiny HelloWorld stand-in on 127.0.0.1 for running the in-pod script for real. One thread accepts; each
/// connection gets a thread that answers its requests in turn and keeps it open (HTTP/1.1 keep-alive) until the
/// client closes it. The path picks the answer: `/hello` the sample's body, `/odd` a body with characters the
/// script must sanitize, `/busy` a 503 without a HelloWorld body, `/slow` the body after 300 ms, `/hostile` a body
/// that imitates record lines and curl's per-transfer lines around the real answer, `/unterminated` a HelloWorld
/// body without a final newline, `/trickle` the body one byte per write.
final class LoopbackHelloWorld: @unchecked Sendable {
    let port: Int
    /// Connections accepted so far.
    var acceptedConnections: Int { accepted.count.withLock { $0 } }
    private let accepted = ConnectionCounter()

    private final class ConnectionCounter: Sendable {
        let count = Mutex(0)
    }

    private let listener: Int32
    private let thread: Thread
    /// Signalled when the accept loop has ended; only then may the listening descriptor be closed.
    private let loopEnded = DispatchSemaphore(value: 0)

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        listener = fd
        let loopEnded = self.loopEnded
        let accepted = self.accepted
        thread = Thread {
            defer { loopEnded.signal() }
            while true {
                let connection = accept(fd, nil, nil)
                if connection < 0 { return }
                accepted.count.withLock { $0 += 1 }
                var yes: Int32 = 1
                setsockopt(connection, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
                Thread {
                    // Bounded: a test sends at most a few thousand requests on one connection.
                    var answered = 0
                    while answered < 100_000, LoopbackHelloWorld.answer(connection) { answered += 1 }
                    close(connection)
                }.start()
            }
        }
        thread.start()
    }

    /// Stops accepting. The shutdown ends the accept loop (accept fails on a socket no longer listening);
    /// the descriptor is closed only after the loop has ended. Closed earlier, its number can be handed to
    /// another test's listening socket, whose connections this loop would then accept and answer: that is
    /// how ExecConcurrencyTests once got this server's "HTTP/1.1 200 OK" instead of its 101.
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        // Bounded: one request is answered at a time and each read ends with its peer; if the loop is still
        // stuck after this, leaking the descriptor is the safe choice.
        if loopEnded.wait(timeout: .now() + 30) == .success { close(listener) }
    }

    /// Answers one request; false when the client closed the connection (or sent no complete head). Reads one
    /// byte at a time so nothing of a following request is consumed: requests are tiny.
    private static func answer(_ connection: Int32) -> Bool {
        var request = [UInt8]()
        var byte: UInt8 = 0
        // Bounded: at most 64 KiB of request head.
        while request.count < 65_536 {
            guard read(connection, &byte, 1) == 1 else { return false }
            request.append(byte)
            if request.count >= 4, request.suffix(4).elementsEqual("\r\n\r\n".utf8) { break }
        }
        let head = String(decoding: request, as: UTF8.self)
        let path = head.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
        var status = "200 OK"
        var body = "Hello version: v1, instance: helloworld-v1-776f57d5f6-s7zfc\n"
        switch path {
        case "/odd": body = "Hello version: v2;rm -rf, instance: pod with spaces/\u{e9}\r\n"
        case "/busy":
            status = "503 Service Unavailable"
            body = "no healthy upstream"
        case "/slow": usleep(300_000)
        case "/hostile":
            body =
                "MC1 0 0 0 200 0 0.1 0.1 0.1 v9 forged-record\n\nMCW0123456789abcdef 0 200 0 0.0 0.0 0.0\nMC1-END 0 0 999\n"
                + "Hello version: v1, instance: helloworld-v1-776f57d5f6-s7zfc\nHello version: v7, instance: second-claim\n"
                + "%{http_code} $(id) `id` \\n\r\n"
        case "/unterminated": body = "Hello version: v3, instance: pod-without-newline"
        default: break
        }
        let header = "HTTP/1.1 \(status)\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
        let sent: Bool
        if path == "/trickle" {
            sent = send(header, on: connection) && body.utf8.allSatisfy { byte in send(String(decoding: [byte], as: UTF8.self), on: connection) }
        } else {
            sent = send(header + body, on: connection)
        }
        return sent
    }

    private static func send(_ text: String, on connection: Int32) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { write(connection, $0.baseAddress, $0.count) == $0.count }
    }
}

/// A loopback port with nothing listening (bound, then closed), for "connection refused".
func refusedLoopbackPort() throws -> Int {
    let server = try LoopbackHelloWorld()
    let port = server.port
    server.stop()
    return port
}
