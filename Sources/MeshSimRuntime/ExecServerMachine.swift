// SERVER side of exec (the simulated API server). Its client counterpart is
// Sources/KubeClient/Exec/ExecClientMachine.swift.
// The two sides are written apart on purpose: the simulator is the client's judge, and a shared codec
// would share its bugs. Change this side to match what real Kubernetes servers do, never to match the client.
//
// The server side of one exec session as a pure state machine: bytes and process events in, actions out.
// It reproduces what the Kubernetes servers do (docs/PROTOCOL-NOTES.md §A4–A6): ready frame, channel demux,
// v5 CLOSE, one Status on channel 3, then a close frame and a bounded wait for the client's close. The NIO
// layer (ExecServerSession) performs the actions; this type never touches a socket or a process.

/// Faults an exec stream can be given (set through `RuntimeFaults`).
package enum ExecStreamFault: Equatable, Sendable {
    /// After this many output bytes, forward nothing more and never send the status: the client sees a
    /// session that hangs until it gives up (or the pod is deleted).
    case stallAfter(bytes: Int)
    /// After this many output bytes, drop the TCP connection without status or close frame.
    case breakAfter(bytes: Int)
    /// The command is not run: the server sends hostile output (HostileExecOutput) until the client leaves.
    case hostile(HostileExecKind)
}

package struct ExecServerMachine: Sendable {
    /// What the I/O layer must do, in order.
    package enum Action: Equatable, Sendable {
        /// Write this frame to the client connection.
        case send(ServerOutboundFrame)
        case writeStdin([UInt8])
        case closeStdin
        /// Kill the process group (SIGKILL); its exit is still reported and reaped.
        case killProcess
        /// Close the TCP connection now.
        case closeConnection
        /// Start the bounded wait for the client's close frame; call `closeWaitExpired` when it elapses.
        case awaitClientClose
    }

    package enum Phase: Equatable, Sendable {
        /// The process runs (or is being started); data flows both ways.
        case running
        /// The status and a close frame were sent; waiting for the client's close frame.
        case closing
        /// Output stopped by a stall fault; the session idles until the client leaves.
        case stalled
        case finished
    }

    package let subprotocol: ExecServerSubprotocol
    package let acceptsStdin: Bool
    package let streamsStdout: Bool
    package let streamsStderr: Bool
    package let command: [String]
    package let fault: ExecStreamFault?
    package private(set) var phase: Phase = .running
    package private(set) var stdinClosed = false
    /// Output payload bytes forwarded to the client so far (stdout + stderr).
    package private(set) var forwardedOutputBytes = 0
    private var decoder: ServerFrameDecoder

    package init(request: ExecServerRequest, fault: ExecStreamFault? = nil, maxFramePayload: Int = ServerFrameDecoder.defaultMaxPayload) {
        self.subprotocol = request.subprotocol
        self.acceptsStdin = request.stdin
        self.streamsStdout = request.stdout
        self.streamsStderr = request.streamsStderr
        self.command = request.command
        self.fault = fault
        self.decoder = ServerFrameDecoder(maxPayload: maxFramePayload)
    }

    /// The lowest writable channel: stdout if requested, else stderr, else the error channel.
    package var readyChannel: ExecServerChannel {
        if streamsStdout { return .stdout }
        if streamsStderr { return .stderr }
        return .error
    }

    /// The "connection established" notice: an empty message on the lowest writable channel.
    package mutating func start() -> [Action] {
        guard phase == .running else { return [] }
        return [.send(.binary([readyChannel.rawValue]))]
    }

    /// Bytes from the client connection, split anywhere.
    package mutating func receive<Bytes: Sequence>(_ bytes: Bytes) -> [Action] where Bytes.Element == UInt8 {
        guard phase != .finished else { return [] }
        decoder.append(bytes)
        var actions: [Action] = []
        while phase != .finished {
            let frame: ServerInboundFrame?
            do {
                frame = try decoder.nextFrame()
            } catch {
                switch error {
                case .unmaskedClientFrame: actions += abort(closeCode: .protocolError)
                case .frameTooLarge: actions += abort(closeCode: .normalClosure)
                }
                break
            }
            guard let frame else { break }
            actions += handle(frame)
        }
        return actions
    }

    private mutating func handle(_ frame: ServerInboundFrame) -> [Action] {
        switch WireOpcode(rawValue: frame.opcode) {
        case .ping:
            // x/net echoes at most a control frame's worth of payload.
            return [.send(ServerOutboundFrame(opcode: .pong, payload: Array(frame.payload.prefix(125))))]
        case .pong:
            // x/net's server treats a pong as an error, which ends the receive loop and the session.
            return abort(closeCode: .normalClosure)
        case .close:
            if phase == .closing {
                phase = .finished
                return [.closeConnection]
            }
            // Not a half-close: the receive loop sees EOF and the whole session is torn down.
            return abort(closeCode: .normalClosure)
        default:
            guard phase == .running || phase == .stalled else { return [] }
            return handleMessage(frame.payload)
        }
    }

    private mutating func handleMessage(_ payload: [UInt8]) -> [Action] {
        guard let channelId = payload.first else { return [] }
        if subprotocol == .v5 && channelId == ExecServerChannel.closeSignal {
            guard payload.count == 2, payload[1] < ExecServerChannel.count else {
                return abort(closeCode: .normalClosure)
            }
            if payload[1] == ExecServerChannel.stdin.rawValue && acceptsStdin && !stdinClosed {
                stdinClosed = true
                return [.closeStdin]
            }
            return []
        }
        guard channelId == ExecServerChannel.stdin.rawValue, acceptsStdin, !stdinClosed, payload.count > 1 else {
            // Resize (4) needs no action for a pipe; writes to output channels and unknown ids are ignored.
            return []
        }
        return [.writeStdin(Array(payload[1...]))]
    }

    /// Output read from the process.
    package mutating func processOutput(_ channel: ExecServerChannel, _ bytes: [UInt8]) -> [Action] {
        guard phase == .running, !bytes.isEmpty else { return [] }
        let wanted = channel == .stdout ? streamsStdout : (channel == .stderr && streamsStderr)
        guard wanted else { return [] }
        var chunk = bytes
        var limitReached = false
        if let fault {
            let limit: Int
            switch fault {
            case .stallAfter(let bytes), .breakAfter(let bytes): limit = bytes
            case .hostile: limit = .max
            }
            let room = max(0, limit - forwardedOutputBytes)
            if chunk.count >= room {
                chunk = Array(chunk.prefix(room))
                limitReached = true
            }
        }
        var actions: [Action] = []
        if !chunk.isEmpty {
            forwardedOutputBytes += chunk.count
            actions.append(.send(.binary([channel.rawValue] + chunk)))
        }
        if limitReached {
            switch fault {
            case .breakAfter:
                phase = .finished
                actions += [.killProcess, .closeConnection]
            case .stallAfter, .hostile, nil:
                phase = .stalled
            }
        }
        return actions
    }

    /// The process ended and both output pipes reached EOF: write the status, then close.
    package mutating func processFinished(_ outcome: ProcessOutcome) -> [Action] {
        guard phase == .running else { return [] }
        phase = .closing
        let status = ExecServerStatus.forOutcome(outcome, command: command, subprotocol: subprotocol)
        let statusMessage = [ExecServerChannel.error.rawValue] + Array(status.json.utf8)
        return [
            .send(.binary(statusMessage)),
            .send(.close(code: .normalClosure)),
            .awaitClientClose,
        ]
    }

    /// The client's TCP connection ended (EOF or error).
    package mutating func clientDisconnected() -> [Action] {
        switch phase {
        case .finished: return []
        case .closing:
            phase = .finished
            return [.closeConnection]
        case .running, .stalled:
            phase = .finished
            return [.killProcess, .closeConnection]
        }
    }

    package mutating func closeWaitExpired() -> [Action] {
        guard phase == .closing else { return [] }
        phase = .finished
        return [.closeConnection]
    }

    /// The pod is gone: kill the process; its exit (137) is then reported like any other.
    package mutating func podDeleted() -> [Action] {
        switch phase {
        case .running: return [.killProcess]
        case .stalled:
            phase = .finished
            return [.killProcess, .send(.close(code: .normalClosure)), .closeConnection]
        case .closing, .finished: return []
        }
    }

    private mutating func abort(closeCode: WebSocketCloseCode) -> [Action] {
        let wasRunning = phase == .running || phase == .stalled
        phase = .finished
        var actions: [Action] = []
        if wasRunning { actions.append(.killProcess) }
        actions += [.send(.close(code: closeCode)), .closeConnection]
        return actions
    }
}
