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
struct ExecClientMachine {
    enum Action {
        case upgraded(ExecProtocol)
        /// Output bytes; the buffer is a slice of the input and is only valid during the callback.
        case output(ExecChannel, UnsafeRawBufferPointer)
        case send(ClientOutboundFrame)
    }

    enum Progress: Equatable {
        case running
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
        case awaitingHead([UInt8])
        case readingErrorBody(httpStatus: Int, body: [UInt8], contentLength: Int?, chunked: Bool)
        case open
        case done
    }

    private let expectedAccept: String
    private var state: State = .awaitingHead([])
    private(set) var negotiated: ExecProtocol?
    private var decoder = ClientFrameDecoder()
    private var frameOpcode: WebSocketOpcode = .binary
    private var frameIsFinal = true
    private var inDataMessage = false
    private var awaitingChannelByte = false
    private var messageChannel: ExecChannel?
    private var controlPayload: [UInt8] = []
    private var errorChannel: [UInt8] = []
    private var statusComplete = false
    private(set) var stdoutBytes = 0
    private(set) var stderrBytes = 0
    private(set) var closeSent = false

    init(key: String) {
        expectedAccept = webSocketAccept(forKey: key)
    }

    var isOpen: Bool { if case .open = state { return true }; return false }
    var isDone: Bool { if case .done = state { return true }; return false }
    /// The exit Status has arrived; nothing but the close handshake remains.
    var hasStatus: Bool { statusComplete }

    // MARK: Input

    mutating func receive(_ input: UnsafeRawBufferPointer, _ act: (Action) -> Void) -> Progress {
        switch state {
        case .done:
            return .running
        case .awaitingHead(var head):
            let before = head.count
            head.append(contentsOf: input)
            guard let end = Self.headEnd(in: head) else {
                if head.count > Self.headLimit { return finish(.failed(.invalidHandshake("response headers larger than 64 KiB"))) }
                state = .awaitingHead(head)
                return .running
            }
            let consumedFromInput = end - before
            let progress = handleHead(Array(head[..<end]), act)
            guard progress == .running else { return progress }
            let rest = UnsafeRawBufferPointer(rebasing: input[consumedFromInput...])
            return rest.isEmpty ? .running : receive(rest, act)
        case .readingErrorBody(let status, var body, let length, let chunked):
            body.append(contentsOf: input.prefix(Self.headLimit - min(body.count, Self.headLimit)))
            state = .readingErrorBody(httpStatus: status, body: body, contentLength: length, chunked: chunked)
            if let complete = Self.completeBody(body, contentLength: length, chunked: chunked, atEOF: false) {
                return finish(.failed(Self.upgradeFailure(httpStatus: status, body: complete)))
            }
            return .running
        case .open:
            return receiveFrames(input, act)
        }
    }

    /// The peer closed the connection.
    mutating func receiveEOF() -> Progress {
        switch state {
        case .done:
            return .running
        case .awaitingHead:
            return finish(.failed(.streamBroken("connection closed before the upgrade response was complete")))
        case .readingErrorBody(let status, let body, let length, let chunked):
            let complete = Self.completeBody(body, contentLength: length, chunked: chunked, atEOF: true) ?? body
            return finish(.failed(Self.upgradeFailure(httpStatus: status, body: complete)))
        case .open:
            if !decoder.isAtFrameBoundary || inDataMessage {
                return finish(.failed(.streamBroken("connection closed in the middle of a frame")))
            }
            return finishWithStatus()
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
    mutating func closeForCancellation() -> ClientOutboundFrame? {
        guard isOpen, !closeSent else { return nil }
        closeSent = true
        state = .done
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
            state = .readingErrorBody(httpStatus: response.status, body: [], contentLength: length, chunked: chunked)
            if let complete = Self.completeBody([], contentLength: length, chunked: chunked, atEOF: false) {
                return finish(.failed(Self.upgradeFailure(httpStatus: response.status, body: complete)))
            }
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
        negotiated = negotiatedProtocol
        state = .open
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
    private static func completeBody(_ body: [UInt8], contentLength: Int?, chunked: Bool, atEOF: Bool) -> [UInt8]? {
        if chunked {
            if let decoded = ChunkedBody.decode(body) { return decoded }
            return atEOF ? body : nil
        }
        if let contentLength {
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

    private mutating func receiveFrames(_ input: UnsafeRawBufferPointer, _ act: (Action) -> Void) -> Progress {
        var offset = 0
        while true {
            let event: ClientFrameDecoder.Event?
            do {
                event = try decoder.next(input, at: &offset)
            } catch {
                return finish(.failed(.protocolViolation(error.reason)))
            }
            guard let event else { return .running }
            switch event {
            case .frameStart(let header):
                if let violation = startFrame(header) { return finish(.failed(.protocolViolation(violation))) }
            case .payload(let bytes):
                if let violation = handlePayload(bytes, act) { return finish(.failed(.protocolViolation(violation))) }
            case .frameEnd:
                let progress = endFrame(act)
                if progress != .running { return progress }
                if case .done = state { return .running }
            }
        }
    }

    private mutating func startFrame(_ header: ClientFrameDecoder.Header) -> String? {
        frameOpcode = header.opcode
        frameIsFinal = header.isFinal
        if header.opcode.isControl {
            controlPayload.removeAll(keepingCapacity: true)
            return nil
        }
        switch header.opcode {
        case .continuation:
            if !inDataMessage { return "continuation frame without a message in progress" }
        case .binary:
            if inDataMessage { return "new message while a fragmented message is in progress" }
            inDataMessage = true
            awaitingChannelByte = true
            messageChannel = nil
        default:
            return "unexpected \(header.opcode == .text ? "text" : header.opcode.description) message; exec uses binary messages"
        }
        return nil
    }

    private mutating func handlePayload(_ bytes: UnsafeRawBufferPointer, _ act: (Action) -> Void) -> String? {
        if frameOpcode.isControl {
            controlPayload.append(contentsOf: bytes)
            return nil
        }
        var data = bytes
        if awaitingChannelByte {
            guard let first = data.first else { return nil }
            messageChannel = ExecChannel(rawValue: first)
            awaitingChannelByte = false
            data = UnsafeRawBufferPointer(rebasing: data[1...])
        }
        guard !data.isEmpty, let channel = messageChannel else { return nil }
        switch channel {
        case .stdout:
            stdoutBytes += data.count
            act(.output(.stdout, data))
        case .stderr:
            stderrBytes += data.count
            act(.output(.stderr, data))
        case .error:
            if errorChannel.count + data.count > Self.errorChannelLimit { return "error channel message larger than 64 KiB" }
            errorChannel.append(contentsOf: data)
        default:
            break   // unknown channels are dropped, as client-go does
        }
        return nil
    }

    private mutating func endFrame(_ act: (Action) -> Void) -> Progress {
        switch frameOpcode {
        case .ping:
            if !closeSent { act(.send(ClientOutboundFrame(opcode: .pong, payload: controlPayload))) }
            return .running
        case .pong:
            return .running
        case .close:
            if !closeSent {
                closeSent = true
                // Echo the status code (if any) as RFC 6455 §5.5.1 suggests.
                act(.send(ClientOutboundFrame(opcode: .close, payload: Array(controlPayload.prefix(2)))))
            }
            return finishWithStatus()
        default:
            if frameIsFinal {
                inDataMessage = false
                if messageChannel == .error { statusComplete = true }
            }
            return .running
        }
    }

    // MARK: Result

    private mutating func finishWithStatus() -> Progress {
        switch negotiated {
        case .legacy:
            if errorChannel.isEmpty {
                return finish(.exited(result(exitCode: 0, message: nil)))
            }
            let text = String(decoding: errorChannel, as: UTF8.self)
            return finish(.failed(.remoteFailure(Status(status: "Failure", message: text, reason: "InternalError", code: 500))))
        case .v4, .v5, nil:
            guard statusComplete else {
                return finish(.failed(.streamBroken("the connection closed before the exit status arrived")))
            }
            switch ExecExitStatus(errorChannel: errorChannel) {
            case .exited(let code, let message):
                return finish(.exited(result(exitCode: code, message: message)))
            case .remoteFailure(let status):
                return finish(.failed(.remoteFailure(status)))
            case .protocolViolation(let reason):
                return finish(.failed(.protocolViolation(reason)))
            }
        }
    }

    private func result(exitCode: Int32, message: String?) -> ExecResult {
        ExecResult(exitCode: exitCode, negotiatedProtocol: negotiated ?? .legacy, stdoutBytes: stdoutBytes, stderrBytes: stderrBytes, message: message)
    }

    private mutating func finish(_ outcome: Outcome) -> Progress {
        state = .done
        return .finished(outcome)
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
