// CLIENT side of exec (meshcheck talking to a real API server). Its server counterpart, in the simulator, is
// Sources/MeshSimRuntime/ExecServerMachine.swift.
// The two sides are written apart on purpose: the simulator is this client's judge, and a shared codec
// would share its bugs. Change this side to match real Kubernetes servers, never to match the simulator.

import Foundation

/// A frame the session wants sent; the I/O layer masks and encodes it.
struct ClientOutboundFrame: Equatable {
    var opcode: WebSocketOpcode
    var payload: [UInt8]
}

/// The exec session as a pure state machine: bytes in, actions out, no I/O.
///
/// It parses the HTTP/1.1 upgrade response (keeping bytes that follow the headers), checks
/// `Sec-WebSocket-Accept` and the chosen subprotocol, decodes frames (all three length forms,
/// continuation frames), demultiplexes channels, answers pings, performs the close handshake and
/// decodes the channel-3 Status into an exit code or a typed failure.
///
/// Every piece of data lives in the state it belongs to, so a finished session cannot be fed by
/// mistake: once ``receive(_:_:)`` or ``receiveEOF()`` has reported an outcome, or
/// ``closeForCancellation()`` has sent a close frame, the caller stops reading into the machine.
/// There is no closing state: the server's close frame is echoed and decides the outcome at once,
/// and after a cancellation the caller owns the result.
struct ExecClientMachine {
    enum Action {
        case upgraded(ExecProtocol)
        /// Output bytes; the buffer is a slice of the input and is only valid during the callback.
        case output(ExecChannel, UnsafeRawBufferPointer)
        case send(ClientOutboundFrame)
    }

    /// What one input did to the session.
    enum Progress: Equatable {
        /// More input is needed before the outcome is known.
        case running
        /// The outcome is decided; feed the machine nothing more.
        case finished(Outcome)
    }

    enum Outcome: Equatable {
        case exited(ExecResult)
        case failed(FailureKind)
    }

    /// ExecError.Code without the context decoration (kept Equatable for tests).
    enum FailureKind: Equatable {
        case rejected(httpStatus: Int, status: Status?, excerpt: String)
        case protocolNotSupported(httpStatus: Int)
        case upgradeFailed(httpStatus: Int, excerpt: String)
        case invalidHandshake(String)
        case protocolViolation(String)
        case streamBroken(String)
        case remoteFailure(Status)
    }

    /// Largest HTTP head or error body we keep (client-go reads up to 64 KiB of a failed upgrade).
    static let headLimit = 64 * 1024
    /// The channel-3 Status is small; anything bigger is a protocol error.
    static let errorChannelLimit = 64 * 1024

    private enum State {
        /// The response head has not ended yet; `head` is what has arrived of it.
        case awaitingHandshake(head: [UInt8])
        /// The server answered something other than 101; its error body is being read.
        case readingRefusal(Refusal)
        /// The 101 was valid: frames flow.
        case open(OpenSession)
        /// The outcome was reported.
        case finished(Outcome)
        /// The caller cancelled an open session and sent a close frame; the result is the caller's.
        case cancelled
        /// Only while an `.open` session is taken out to be changed, so its arrays are not copied.
        case modifying
    }

    /// A refused upgrade's status and the body read so far.
    private struct Refusal {
        var httpStatus: Int
        var body: [UInt8]
        var contentLength: Int?
        var chunked: Bool
    }

    /// Where the current data message is (a message may span several frames).
    private enum DataMessage {
        /// Between messages.
        case idle
        /// A binary message has started; its first payload byte names the channel.
        case awaitingChannel
        case channel(ExecChannel)
    }

    /// Everything a session needs once the WebSocket is up.
    private struct OpenSession {
        let negotiated: ExecProtocol
        var decoder = ClientFrameDecoder()
        /// The header of the frame whose payload is arriving.
        var frameOpcode: WebSocketOpcode = .binary
        var frameIsFinal = true
        var message = DataMessage.idle
        /// The payload of the control frame in progress (≤125 bytes, checked by the decoder).
        var controlPayload: [UInt8] = []
        var errorChannel: [UInt8] = []
        /// The error channel's message has ended: the exit Status is complete.
        var statusComplete = false
        var stdoutBytes = 0
        var stderrBytes = 0

        init(negotiated: ExecProtocol) { self.negotiated = negotiated }
    }

    private let expectedAccept: String
    private var state = State.awaitingHandshake(head: [])

    init(key: String) {
        expectedAccept = webSocketAccept(forKey: key)
    }

    var isOpen: Bool {
        if case .open = state { return true }
        return false
    }
    /// Neither the 101 nor a refusal has been read yet: the connect phase is not over.
    var awaitsUpgradeResponse: Bool {
        switch state {
        case .awaitingHandshake, .readingRefusal: true
        case .open, .finished, .cancelled, .modifying: false
        }
    }

    // MARK: Input

    mutating func receive(_ input: UnsafeRawBufferPointer, _ act: (Action) -> Void) -> Progress {
        switch state {
        case .awaitingHandshake(var head):
            let before = head.count
            head.append(contentsOf: input)
            guard let end = Self.headEnd(in: head) else {
                if head.count > Self.headLimit { return finish(.failed(.invalidHandshake("response headers larger than 64 KiB"))) }
                state = .awaitingHandshake(head: head)
                return .running
            }
            let consumedFromInput = end - before
            let progress = handleHead(Array(head[..<end]), act)
            guard progress == .running else { return progress }
            let rest = UnsafeRawBufferPointer(rebasing: input[consumedFromInput...])
            return rest.isEmpty ? .running : receive(rest, act)
        case .readingRefusal(var refusal):
            refusal.body.append(contentsOf: input.prefix(Self.headLimit - min(refusal.body.count, Self.headLimit)))
            if let complete = Self.completeBody(refusal, atEOF: false) {
                return finish(.failed(Self.upgradeFailure(httpStatus: refusal.httpStatus, body: complete)))
            }
            state = .readingRefusal(refusal)
            return .running
        case .open(var session):
            state = .modifying
            let progress = Self.receiveFrames(input, into: &session, act)
            if case .finished(let outcome) = progress {
                state = .finished(outcome)
            } else {
                state = .open(session)
            }
            return progress
        case .finished, .cancelled:
            preconditionFailure("exec session received bytes after it ended; the connection must stop feeding it")
        case .modifying:
            preconditionFailure("exec session re-entered while it was being changed")
        }
    }

    /// The peer closed the connection. Always decides the outcome.
    mutating func receiveEOF() -> Outcome {
        switch state {
        case .awaitingHandshake:
            return finishing(.failed(.streamBroken("connection closed before the upgrade response was complete")))
        case .readingRefusal(let refusal):
            let complete = Self.completeBody(refusal, atEOF: true) ?? refusal.body
            return finishing(.failed(Self.upgradeFailure(httpStatus: refusal.httpStatus, body: complete)))
        case .open(let session):
            guard session.decoder.isAtFrameBoundary, case .idle = session.message else {
                return finishing(.failed(.streamBroken("connection closed in the middle of a frame")))
            }
            return finishing(Self.outcomeFromStatus(session))
        case .finished, .cancelled:
            preconditionFailure("exec session received EOF after it ended; the connection must stop feeding it")
        case .modifying:
            preconditionFailure("exec session re-entered while it was being changed")
        }
    }

    // MARK: Output the caller asks for

    /// Frames carrying stdin, one binary message per ≤32 KiB chunk (what the servers expect).
    static func stdinFrames(_ data: [UInt8], chunkSize: Int = 32 * 1024) -> [ClientOutboundFrame] {
        stride(from: 0, to: data.count, by: chunkSize).map { start in
            ClientOutboundFrame(opcode: .binary, payload: [ExecChannel.stdin.rawValue] + data[start..<min(start + chunkSize, data.count)])
        }
    }

    /// v5 stdin EOF (`FF 00`); nil on v4/legacy, where stdin cannot be closed without ending the session.
    static func stdinClose(for negotiated: ExecProtocol) -> ClientOutboundFrame? {
        negotiated == .v5 ? ClientOutboundFrame(opcode: .binary, payload: [ExecChannel.close.rawValue, ExecChannel.stdin.rawValue]) : nil
    }

    /// A normal-closure close frame for cancellation; nil when one was already sent or the session never opened.
    ///
    /// Cancelling is legal in every state (the caller's deadline does not wait for the server), so this
    /// is not a precondition. Before the 101 there is no WebSocket to close and the state stays as it is.
    mutating func closeForCancellation() -> ClientOutboundFrame? {
        guard case .open = state else { return nil }
        state = .cancelled
        return ClientOutboundFrame(opcode: .close, payload: [0x03, 0xE8])
    }

    // MARK: Handshake

    private mutating func handleHead(_ head: [UInt8], _ act: (Action) -> Void) -> Progress {
        guard let response = UpgradeResponseHead(head) else {
            return finish(.failed(.invalidHandshake("response is not HTTP/1.1")))
        }
        guard response.status == 101 else {
            let chunked = response.header("transfer-encoding")?.lowercased().contains("chunked") ?? false
            let length = response.header("content-length").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            let refusal = Refusal(httpStatus: response.status, body: [], contentLength: length, chunked: chunked)
            if let complete = Self.completeBody(refusal, atEOF: false) {
                return finish(.failed(Self.upgradeFailure(httpStatus: response.status, body: complete)))
            }
            state = .readingRefusal(refusal)
            return .running
        }
        guard response.header("upgrade")?.lowercased().contains("websocket") == true else {
            return finish(.failed(.invalidHandshake("101 response without Upgrade: websocket")))
        }
        guard response.header("sec-websocket-accept")?.trimmingCharacters(in: .whitespaces) == expectedAccept else {
            return finish(.failed(.invalidHandshake("Sec-WebSocket-Accept does not match the key we sent")))
        }
        let chosen = response.header("sec-websocket-protocol")?.trimmingCharacters(in: .whitespaces) ?? ""
        guard let negotiatedProtocol = ExecProtocol(rawValue: chosen) else {
            return finish(.failed(.invalidHandshake("server chose subprotocol \(chosen), which was not offered")))
        }
        state = .open(OpenSession(negotiated: negotiatedProtocol))
        act(.upgraded(negotiatedProtocol))
        return .running
    }

    private static func headEnd(in bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 3..<bytes.count where bytes[index] == 0x0A && bytes[index - 1] == 0x0D && bytes[index - 2] == 0x0A && bytes[index - 3] == 0x0D {
            return index + 1
        }
        return nil
    }

    /// The full body when it is complete (or at EOF), else nil.
    private static func completeBody(_ refusal: Refusal, atEOF: Bool) -> [UInt8]? {
        let body = refusal.body
        if refusal.chunked {
            if let decoded = ChunkedBody.decode(body) { return decoded }
            return atEOF ? body : nil
        }
        if let contentLength = refusal.contentLength {
            if body.count >= min(contentLength, headLimit) { return Array(body.prefix(contentLength)) }
            return atEOF ? body : nil
        }
        return atEOF || body.count >= headLimit ? body : nil
    }

    private static func upgradeFailure(httpStatus: Int, body: [UInt8]) -> FailureKind {
        let status = try? JSONDecoder().decode(Status.self, from: Data(body))
        let excerpt = String(decoding: body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if let status, status.kind == "Status" || status.reason != nil {
            return .rejected(httpStatus: httpStatus, status: status, excerpt: excerpt)
        }
        if httpStatus == 403 && excerpt.isEmpty { return .protocolNotSupported(httpStatus: httpStatus) }
        return .upgradeFailed(httpStatus: httpStatus, excerpt: excerpt)
    }

    // MARK: Frames

    private static func receiveFrames(_ input: UnsafeRawBufferPointer, into session: inout OpenSession, _ act: (Action) -> Void) -> Progress {
        var offset = 0
        while true {
            let event: ClientFrameDecoder.Event?
            do {
                event = try session.decoder.next(input, at: &offset)
            } catch {
                return .finished(.failed(.protocolViolation(error.reason)))
            }
            guard let event else { return .running }
            switch event {
            case .frameStart(let header):
                if let violation = startFrame(header, in: &session) { return .finished(.failed(.protocolViolation(violation))) }
            case .payload(let bytes):
                if let violation = handlePayload(bytes, in: &session, act) { return .finished(.failed(.protocolViolation(violation))) }
            case .frameEnd:
                if let outcome = endFrame(in: &session, act) { return .finished(outcome) }
            }
        }
    }

    private static func startFrame(_ header: ClientFrameDecoder.Header, in session: inout OpenSession) -> String? {
        session.frameOpcode = header.opcode
        session.frameIsFinal = header.isFinal
        if header.opcode.isControl {
            session.controlPayload.removeAll(keepingCapacity: true)
            return nil
        }
        switch header.opcode {
        case .continuation:
            if case .idle = session.message { return "continuation frame without a message in progress" }
        case .binary:
            guard case .idle = session.message else { return "new message while a fragmented message is in progress" }
            session.message = .awaitingChannel
        default:
            return "unexpected \(header.opcode == .text ? "text" : header.opcode.description) message; exec uses binary messages"
        }
        return nil
    }

    private static func handlePayload(_ bytes: UnsafeRawBufferPointer, in session: inout OpenSession, _ act: (Action) -> Void) -> String? {
        if session.frameOpcode.isControl {
            session.controlPayload.append(contentsOf: bytes)
            return nil
        }
        var data = bytes
        let channel: ExecChannel
        switch session.message {
        case .idle:
            preconditionFailure("data frame payload outside a message; startFrame admits only binary and continuation frames")
        case .awaitingChannel:
            guard let first = data.first else { return nil }
            channel = ExecChannel(rawValue: first)
            session.message = .channel(channel)
            data = UnsafeRawBufferPointer(rebasing: data[1...])
        case .channel(let current):
            channel = current
        }
        guard !data.isEmpty else { return nil }
        switch channel {
        case .stdout:
            session.stdoutBytes += data.count
            act(.output(.stdout, data))
        case .stderr:
            session.stderrBytes += data.count
            act(.output(.stderr, data))
        case .error:
            if session.errorChannel.count + data.count > errorChannelLimit { return "error channel message larger than 64 KiB" }
            session.errorChannel.append(contentsOf: data)
        default:
            break // unknown channels are dropped, as client-go does
        }
        return nil
    }

    /// The outcome when the frame that ended decides it (a close frame), else nil.
    private static func endFrame(in session: inout OpenSession, _ act: (Action) -> Void) -> Outcome? {
        switch session.frameOpcode {
        case .ping:
            act(.send(ClientOutboundFrame(opcode: .pong, payload: session.controlPayload)))
            return nil
        case .pong:
            return nil
        case .close:
            // Echo the status code (if any) as RFC 6455 §5.5.1 suggests.
            act(.send(ClientOutboundFrame(opcode: .close, payload: Array(session.controlPayload.prefix(2)))))
            return outcomeFromStatus(session)
        default:
            if session.frameIsFinal {
                if case .channel(.error) = session.message { session.statusComplete = true }
                session.message = .idle
            }
            return nil
        }
    }

    // MARK: Result

    private static func outcomeFromStatus(_ session: OpenSession) -> Outcome {
        switch session.negotiated {
        case .legacy:
            if session.errorChannel.isEmpty {
                return .exited(result(of: session, exitCode: 0, message: nil))
            }
            let text = String(decoding: session.errorChannel, as: UTF8.self)
            return .failed(.remoteFailure(Status(status: "Failure", message: text, reason: "InternalError", code: 500)))
        case .v4, .v5:
            guard session.statusComplete else {
                return .failed(.streamBroken("the connection closed before the exit status arrived"))
            }
            switch ExecExitStatus(errorChannel: session.errorChannel) {
            case .exited(let code, let message):
                return .exited(result(of: session, exitCode: code, message: message))
            case .remoteFailure(let status):
                return .failed(.remoteFailure(status))
            case .protocolViolation(let reason):
                return .failed(.protocolViolation(reason))
            }
        }
    }

    private static func result(of session: OpenSession, exitCode: Int32, message: String?) -> ExecResult {
        ExecResult(
            exitCode: exitCode, negotiatedProtocol: session.negotiated, stdoutBytes: session.stdoutBytes, stderrBytes: session.stderrBytes, message: message)
    }

    private mutating func finish(_ outcome: Outcome) -> Progress {
        .finished(finishing(outcome))
    }

    private mutating func finishing(_ outcome: Outcome) -> Outcome {
        state = .finished(outcome)
        return outcome
    }
}

/// The status line and headers of an HTTP/1.1 response.
struct UpgradeResponseHead {
    var status: Int
    var headers: [(name: String, value: String)]

    init?(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.components(separatedBy: "\r\n")
        guard !lines.isEmpty else { return nil }
        let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2)
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let code = Int(statusLine[1]) else { return nil }
        status = code
        headers = lines.compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
    }

    /// First value of a header (names are compared case-insensitively).
    func header(_ name: String) -> String? { headers.first { $0.name == name }?.value }
}
