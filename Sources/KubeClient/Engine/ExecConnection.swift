// CLIENT side of exec (meshcheck talking to a real API server). Its server counterpart, in the simulator, is
// Sources/MeshSimRuntime/ExecServerSession.swift.
// The two sides are written apart on purpose: the simulator is this client's judge, and a shared codec
// would share its bugs. Change this side to match real Kubernetes servers, never to match the simulator.

internal import CCurl
import Foundation

/// What an exec session needs, as plain values built on the caller's task.
struct ExecLaunch: Sendable {
    var id: UInt64
    var contextName: String
    var pod: String
    var cluster: ClusterConnection
    var clientCertificate: ClientCertificate?
    /// The complete HTTP/1.1 upgrade request.
    var requestHead: [UInt8]
    var key: String
    var stdin: [UInt8]?
    var timeouts: ExecTimeouts
    var maxOutputBytes: Int?
    var consumer: any ExecOutputConsumer
    var completion: @Sendable (Result<ExecResult, any Error>) -> Void
}

/// Connect, idle and total limits of one exec session.
package struct ExecTimeouts: Sendable {
    /// TCP + TLS + proxy + the upgrade response.
    package var connect: Duration
    /// Longest silence from the server once upgraded; nil = unlimited.
    package var idle: Duration?
    /// Whole session; nil = unlimited.
    package var total: Duration?

    package init(connect: Duration = .seconds(30), idle: Duration? = .seconds(300), total: Duration? = nil) {
        self.connect = connect
        self.idle = idle
        self.total = total
    }
}

/// One exec session on the engine thread: owns its easy and multi handles, its socket's send
/// queue and the pure ``ExecClientMachine``; feeds received bytes straight to the consumer.
final class ExecConnection {
    let id: UInt64
    let contextName: String
    let pod: String
    let cluster: ClusterConnection
    let easy: CurlEasy
    let multi: MultiDriver
    private(set) var socket: Int32 = -1
    private var machine: ExecClientMachine
    private var outbound: [[UInt8]] = []
    private var outboundOffset = 0
    private(set) var wantsWrite = false
    /// TLS may hold decrypted bytes the socket no longer shows as readable: read again before polling.
    private(set) var hasBufferedInput = false
    private let consumer: any ExecOutputConsumer
    private var stdin: [UInt8]?
    private let timeouts: ExecTimeouts
    private let maxOutputBytes: Int?
    /// stdout and stderr payload bytes delivered to the consumer so far.
    private var outputBytes = 0
    /// Set inside the machine's callback when output passed `maxOutputBytes`; acted on once it returns.
    private var outputLimitPassed = false
    private let startedAt = ContinuousClock.now
    private var lastActivity = ContinuousClock.now
    private var pendingOutcome: Result<ExecResult, any Error>?
    private var lingerDeadline: ContinuousClock.Instant?
    private var completion: (@Sendable (Result<ExecResult, any Error>) -> Void)?

    /// Per wake-up read budget, so one fast session cannot starve the others.
    static let readBudget = 1 << 20
    /// How long a finished session may take to flush its close frame before it is dropped.
    static let linger: Duration = .seconds(2)

    init(_ launch: ExecLaunch) throws(CurlError) {
        id = launch.id
        contextName = launch.contextName
        pod = launch.pod
        cluster = launch.cluster
        consumer = launch.consumer
        stdin = launch.stdin
        timeouts = launch.timeouts
        maxOutputBytes = launch.maxOutputBytes
        completion = launch.completion
        machine = ExecClientMachine(key: launch.key)
        outbound = [launch.requestHead]
        multi = try MultiDriver(multiplexing: false)
        easy = try CurlEasy()
        try ConnectionSettings.apply(
            to: easy, cluster: cluster, clientCertificate: launch.clientCertificate, path: "/",
            connectTimeout: launch.timeouts.connect, forceHTTP1: true
        )
        try easy.set(CURLOPT_CONNECT_ONLY, 1)
        try easy.set(CURLOPT_BUFFERSIZE, 1024) // curl_easy_recv reads into our buffer, not libcurl's
        if cluster.server.scheme == "https" {
            try easy.check(mc_easy_setopt_release_idle_tls_buffers(easy.handle), "curl_easy_setopt(SSL_CTX_FUNCTION)")
        }
        if case .proxy = cluster.proxy { try easy.set(CURLOPT_HTTPPROXYTUNNEL, 1) }
    }

    private func error(_ code: ExecError.Code) -> ExecError { ExecError(code: code, context: contextName, pod: pod) }

    // MARK: Events from the engine

    func connected(_ code: CURLcode, loop: EngineLoop) {
        do {
            try easy.check(code, "connect")
            socket = try easy.activeSocket()
        } catch {
            fail(.transport(KubeTransportError.from(error, cluster: cluster, context: contextName)), loop: loop)
            return
        }
        lastActivity = .now
        flush(loop: loop)
    }

    func readAvailable(loop: EngineLoop) {
        guard completion != nil, socket >= 0 else { return }
        hasBufferedInput = false
        var budget = Self.readBudget
        let buffer = loop.receiveBuffer
        while budget > 0 {
            var received = 0
            let code = curl_easy_recv(easy.handle, buffer.baseAddress, buffer.count, &received)
            if code == CURLE_AGAIN { return }
            if code != CURLE_OK {
                if pendingOutcome != nil {
                    finalize(loop: loop)
                    return
                }
                let detail = easy.lastErrorText.isEmpty ? String(cString: curl_easy_strerror(code)) : easy.lastErrorText
                deliver(.finished(machine.receiveEOF()), loop: loop, brokenDetail: detail)
                return
            }
            if received == 0 {
                if pendingOutcome != nil {
                    finalize(loop: loop)
                    return
                }
                deliver(.finished(machine.receiveEOF()), loop: loop, brokenDetail: nil)
                return
            }
            lastActivity = .now
            budget -= received
            if pendingOutcome != nil {
                // The result is decided and only our close frame may still be going out: the machine has
                // ended, so what the server sends now is dropped unread.
                flush(loop: loop)
                return
            }
            let progress = machine.receive(UnsafeRawBufferPointer(rebasing: buffer[0..<received])) { action in
                handle(action)
            }
            if outputLimitPassed, let maxOutputBytes {
                fail(.outputTooLarge(limit: maxOutputBytes), loop: loop)
                return
            }
            deliver(progress, loop: loop, brokenDetail: nil)
            if completion == nil || pendingOutcome != nil { return }
        }
        hasBufferedInput = true
    }

    private func handle(_ action: ExecClientMachine.Action) {
        switch action {
        case .output(let channel, let bytes):
            guard !outputLimitPassed else { return }
            outputBytes += bytes.count
            if let maxOutputBytes, outputBytes > maxOutputBytes {
                outputLimitPassed = true
                return
            }
            consumer.receive(bytes, from: channel)
        case .send(let frame):
            enqueue(frame)
        case .upgraded(let negotiated):
            // Runs inside machine.receive: must not touch `machine` (exclusive access).
            if let data = stdin {
                stdin = nil
                for frame in ExecClientMachine.stdinFrames(data) { enqueue(frame) }
                // v5 can signal EOF; on v4 stdin stays open until the command exits on its own.
                if let close = ExecClientMachine.stdinClose(for: negotiated) { enqueue(close) }
            }
        }
    }

    private func enqueue(_ frame: ClientOutboundFrame) {
        let mask = secureRandomBytes(4)
        outbound.append(ClientFrameEncoder.frame(opcode: frame.opcode, payload: frame.payload, maskKey: (mask[0], mask[1], mask[2], mask[3])))
    }

    private func deliver(_ progress: ExecClientMachine.Progress, loop: EngineLoop, brokenDetail: String?) {
        guard case .finished(let outcome) = progress else {
            flush(loop: loop)
            return
        }
        switch outcome {
        case .exited(let result):
            pendingOutcome = .success(result)
        case .failed(let kind):
            var code = Self.code(for: kind)
            if case .streamBroken(let reason) = kind, let brokenDetail { code = .streamBroken("\(reason) (\(brokenDetail))") }
            pendingOutcome = .failure(error(code))
        }
        lingerDeadline = .now + Self.linger
        flush(loop: loop)
        if outbound.isEmpty { finalize(loop: loop) }
    }

    private static func code(for kind: ExecClientMachine.FailureKind) -> ExecError.Code {
        switch kind {
        case .rejected(let status, let body, let excerpt):
            return .rejected(KubeAPIError(httpStatus: status, status: body, fallbackMessage: excerpt))
        case .protocolNotSupported(let status): return .protocolNotSupported(httpStatus: status)
        case .upgradeFailed(let status, let excerpt): return .upgradeFailed(httpStatus: status, excerpt: excerpt)
        case .invalidHandshake(let reason): return .invalidHandshake(reason)
        case .protocolViolation(let reason): return .protocolViolation(reason)
        case .streamBroken(let reason): return .streamBroken(reason)
        case .remoteFailure(let status): return .remoteFailure(KubeAPIError(httpStatus: status.code ?? 500, status: status))
        }
    }

    /// Writes as much of the send queue as the socket takes now.
    func flush(loop: EngineLoop) {
        guard socket >= 0 else { return }
        wantsWrite = false
        while let head = outbound.first {
            var sent = 0
            let code = head.withUnsafeBytes { raw in
                curl_easy_send(easy.handle, raw.baseAddress! + outboundOffset, raw.count - outboundOffset, &sent)
            }
            if code == CURLE_AGAIN {
                wantsWrite = true
                return
            }
            if code != CURLE_OK {
                outbound.removeAll()
                if pendingOutcome != nil {
                    finalize(loop: loop)
                    return
                }
                fail(.streamBroken("sending failed: \(String(cString: curl_easy_strerror(code)))"), loop: loop)
                return
            }
            outboundOffset += sent
            if outboundOffset == head.count {
                outbound.removeFirst()
                outboundOffset = 0
            }
        }
        if pendingOutcome != nil { finalize(loop: loop) }
    }

    func checkDeadlines(now: ContinuousClock.Instant, loop: EngineLoop) {
        guard completion != nil else { return }
        if let lingerDeadline, now >= lingerDeadline {
            finalize(loop: loop)
            return
        }
        guard pendingOutcome == nil else { return }
        if machine.awaitsUpgradeResponse && startedAt.duration(to: now) > timeouts.connect + .seconds(1) {
            // libcurl enforces the connect timeout itself; this covers the wait for the 101.
            fail(.timedOut(.connect), loop: loop)
        } else if let total = timeouts.total, startedAt.duration(to: now) > total {
            fail(.timedOut(.total), loop: loop)
        } else if let idle = timeouts.idle, machine.isOpen, lastActivity.duration(to: now) > idle {
            fail(.timedOut(.idle), loop: loop)
        }
    }

    func cancel(loop: EngineLoop) {
        guard completion != nil, pendingOutcome == nil else { return }
        if let close = machine.closeForCancellation() { enqueue(close) }
        pendingOutcome = .failure(CancellationError())
        lingerDeadline = .now + Self.linger
        flush(loop: loop)
    }

    func fail(_ code: ExecError.Code, loop: EngineLoop) {
        guard completion != nil else { return }
        if pendingOutcome == nil {
            pendingOutcome = .failure(error(code))
            // Say goodbye politely when the WebSocket is up; the result is already decided.
            if let close = machine.closeForCancellation() {
                enqueue(close)
                lingerDeadline = .now + Self.linger
                flush(loop: loop)
                if !outbound.isEmpty { return }
            }
        }
        finalize(loop: loop)
    }

    /// Tears down the connection and resumes the caller exactly once.
    private func finalize(loop: EngineLoop) {
        guard let completion else { return }
        self.completion = nil
        multi.remove(easy)
        socket = -1
        loop.forget(self)
        completion(pendingOutcome ?? .failure(error(.streamBroken("session ended without a result"))))
    }
}

@available(*, unavailable)
extension ExecConnection: Sendable {}
