// CLIENT side of exec (meshcheck talking to a real API server). Its server counterpart, in the simulator, is
// Sources/MeshSimRuntime/ExecServerProtocol.swift.
// The two sides are written apart on purpose: the simulator is this client's judge, and a shared codec
// would share its bugs. Change this side to match real Kubernetes servers, never to match the simulator.

internal import COpenSSL
import Foundation
import Synchronization

/// Exec stream ids (first payload byte of every data message); an open set as in client-go.
package struct ExecChannel: RawRepresentable, Sendable, Equatable, Hashable, CustomStringConvertible {
    package let rawValue: UInt8
    package init(rawValue: UInt8) { self.rawValue = rawValue }

    package static let stdin = ExecChannel(rawValue: 0)
    package static let stdout = ExecChannel(rawValue: 1)
    package static let stderr = ExecChannel(rawValue: 2)
    package static let error = ExecChannel(rawValue: 3)
    package static let resize = ExecChannel(rawValue: 4)
    /// v5 only: `FF <id>` half-closes stream `<id>`.
    package static let close = ExecChannel(rawValue: 255)

    package var description: String {
        switch rawValue {
        case 0: "stdin"
        case 1: "stdout"
        case 2: "stderr"
        case 3: "error"
        case 4: "resize"
        default: "channel \(rawValue)"
        }
    }
}

/// The negotiated remote-command subprotocol.
package enum ExecProtocol: String, Sendable, Equatable {
    /// Has the stdin CLOSE signal (API server ≥ 1.30 stream translator).
    case v5 = "v5.channel.k8s.io"
    /// Exit codes via Status; no way to signal stdin EOF (kubelet/CRI WebSocket servers).
    case v4 = "v4.channel.k8s.io"
    /// No subprotocol in the 101: plain-text errors, no exit codes.
    case legacy = ""

    /// Offered in one header, in preference order (the server picks the first it supports).
    static let offer = "v5.channel.k8s.io, v4.channel.k8s.io"
}

/// Receives an exec session's output as it arrives.
///
/// Called on the I/O engine thread, one call at a time for a given session, never after
/// ``KubeClient/exec(_:consumer:)`` has returned. The buffer is only valid during the call: copy
/// or parse it there. Keep the work short (parsing, counting); heavy work stalls other sessions.
package protocol ExecOutputConsumer: AnyObject, Sendable {
    func receive(_ bytes: UnsafeRawBufferPointer, from channel: ExecChannel)
}

/// What the command produced, as far as the transport is concerned.
package struct ExecResult: Sendable, Equatable {
    /// 0 on success, the command's exit code otherwise (legacy protocol: 1 on any failure).
    package var exitCode: Int32
    package var negotiatedProtocol: ExecProtocol
    package var stdoutBytes: Int
    package var stderrBytes: Int
    /// The channel-3 message for a non-zero exit (client-go: "command terminated with ...").
    package var message: String?
}

/// Everything that can go wrong with an exec, before or after the 101.
package struct ExecError: Error, Sendable, CustomStringConvertible {
    package enum Code: Sendable {
        /// The API server refused the upgrade with a Status: pod missing (NotFound), container
        /// missing/invalid (BadRequest), RBAC (Forbidden), credentials (Unauthorized).
        case rejected(KubeAPIError)
        /// 403 with an empty body: the server side does not speak the WebSocket subprotocols offered.
        case protocolNotSupported(httpStatus: Int)
        /// A non-101 answer without a Status body.
        case upgradeFailed(httpStatus: Int, excerpt: String)
        /// The 101 was wrong (bad Sec-WebSocket-Accept, protocol not offered, not a WebSocket).
        case invalidHandshake(String)
        /// The server broke RFC 6455 or the channel protocol.
        case protocolViolation(String)
        /// The connection ended before the exit status arrived.
        case streamBroken(String)
        /// After the 101, the server reported a failure on channel 3 (e.g. container not running).
        case remoteFailure(KubeAPIError)
        case timedOut(ExecTimeout)
        case transport(KubeTransportError)
        /// stdout and stderr together passed the request's `maxOutputBytes`; the session was stopped there.
        case outputTooLarge(limit: Int)
    }

    package enum ExecTimeout: String, Sendable { case connect, idle, total }

    package let code: Code
    package let context: String?
    package let pod: String

    package var description: String {
        let target = (context.map { "context \($0): " } ?? "") + "exec in pod \(pod): "
        switch code {
        case .rejected(let error):
            return target + "\(error.reason) (HTTP \(error.httpStatus)): \(error.message)"
                + (error.reason == .forbidden ? " — grant get and create on pods/exec" : "")
        case .protocolNotSupported(let status):
            return target + "the server refused the WebSocket subprotocols \(ExecProtocol.offer) (HTTP \(status), empty body); "
                + "it needs Kubernetes ≥ 1.30 (or a kubelet with v4 WebSocket support)"
        case .upgradeFailed(let status, let excerpt):
            return target + "upgrade to WebSocket failed with HTTP \(status)" + (excerpt.isEmpty ? "" : ": \(excerpt)")
        case .invalidHandshake(let reason):
            return target + "invalid WebSocket handshake: \(reason)"
        case .protocolViolation(let reason):
            return target + "protocol error: \(reason)"
        case .streamBroken(let reason):
            return target + "stream broken: \(reason); output may be incomplete"
        case .remoteFailure(let error):
            return target + "\(error.reason): \(error.message)"
        case .timedOut(let phase):
            return target + "\(phase.rawValue) timeout expired"
        case .transport(let error):
            return target + error.descriptionWithoutContext
        case .outputTooLarge(let limit):
            return target + "the output passed \(KubeTransportError.format(bytes: limit)), far more than the command prints, "
                + "and the session was stopped — something other than the command is writing to this stream: check what "
                + "runs in the container and any proxy in front of the API server"
        }
    }
}

/// Sec-WebSocket-Accept for a key: base64(SHA-1(key + GUID)), RFC 6455 §4.2.2.
func webSocketAccept(forKey key: String) -> String {
    let input = Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8)
    var digest = [UInt8](repeating: 0, count: Int(SHA_DIGEST_LENGTH))
    _ = input.withUnsafeBufferPointer { source in
        digest.withUnsafeMutableBufferPointer { SHA1(source.baseAddress, source.count, $0.baseAddress) }
    }
    return Data(digest).base64EncodedString()
}

/// Unpredictable bytes for handshake keys and frame masks (RFC 6455 requires a strong source).
func secureRandomBytes(_ count: Int) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    let status = bytes.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
    if status != 1 {
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = generator.next() }
    }
    return bytes
}

/// A consumer that keeps stdout and stderr in memory, for short commands whose output is small.
package final class ExecOutputCollector: ExecOutputConsumer, Sendable {
    private let buffers = Mutex<(stdout: [UInt8], stderr: [UInt8])>(([], []))
    /// Output beyond this many bytes of stdout (``stderrLimit`` of stderr) is dropped (and counted in ``droppedBytes``).
    package let limit: Int
    package let stderrLimit: Int
    private let dropped = Mutex(0)

    package init(limit: Int = 16 * 1024 * 1024, stderrLimit: Int? = nil) {
        self.limit = limit
        self.stderrLimit = stderrLimit ?? limit
    }

    package func receive(_ bytes: UnsafeRawBufferPointer, from channel: ExecChannel) {
        buffers.withLock { buffers in
            switch channel {
            case .stdout: append(bytes, to: &buffers.stdout, limit: limit)
            case .stderr: append(bytes, to: &buffers.stderr, limit: stderrLimit)
            default: break
            }
        }
    }

    private func append(_ bytes: UnsafeRawBufferPointer, to buffer: inout [UInt8], limit: Int) {
        let room = max(0, limit - buffer.count)
        buffer.append(contentsOf: bytes.prefix(room))
        if bytes.count > room { dropped.withLock { $0 += bytes.count - room } }
    }

    package var stdout: [UInt8] { buffers.withLock { $0.stdout } }
    package var stderr: [UInt8] { buffers.withLock { $0.stderr } }
    package var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    package var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    package var droppedBytes: Int { dropped.withLock { $0 } }
}
