import NIOCore
import NIOPosix
import Synchronization

// SERVER side of exec (the simulated API server). Its client counterpart is
// Sources/KubeClient/Engine/ExecConnection.swift.
// The two sides are written apart on purpose: the simulator is the client's judge, and a shared codec
// would share its bugs. Change this side to match what real Kubernetes servers do, never to match the client.
//
// Runs one exec session on a NIO channel that MeshSim has already upgraded (101 sent): the pure
// ExecServerMachine decides, this file performs — process start, pipes as NIO channels, backpressure in
// both directions, the bounded close wait, killing and reaping the process group.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Settings of exec sessions that are not part of a request.
package struct ExecServerSettings: Sendable {
    /// How long the server waits for the client's close frame after sending its own. The real apiserver
    /// waits up to 15 minutes; a simulator only needs to outlast a client that is still reading.
    package var closeWait: TimeAmount
    package var maxFramePayload: Int

    package init(closeWait: TimeAmount = .seconds(15), maxFramePayload: Int = ServerFrameDecoder.defaultMaxPayload) {
        self.closeWait = closeWait
        self.maxFramePayload = maxFramePayload
    }
}

/// The exec sessions that are running, by pod, so that deleting a pod (or stopping the simulator) kills
/// their processes. Thread-safe.
package final class ExecServerRegistry: Sendable {
    struct PodKey: Hashable {
        var cluster: String
        var namespace: String
        var pod: String
    }

    private let sessions = Mutex<[ObjectIdentifier: (key: PodKey, driver: ExecServerDriver)]>([:])

    package init() {}

    /// Number of sessions whose connection or process is still alive.
    package var activeCount: Int { sessions.withLock { $0.count } }

    /// The pod was deleted: kill every process exec'd into it. Each session then reports exit code 137.
    package func terminateSessions(cluster: String, namespace: String, pod: String) {
        let key = PodKey(cluster: cluster, namespace: namespace, pod: pod)
        let matching = sessions.withLock { $0.values.filter { $0.key == key }.map(\.driver) }
        for driver in matching { driver.podDeleted() }
    }

    /// Kills every session's process (simulator shutdown).
    package func terminateAll() {
        let all = sessions.withLock { $0.values.map(\.driver) }
        for driver in all { driver.podDeleted() }
    }

    func add(_ driver: ExecServerDriver, key: PodKey) {
        sessions.withLock { $0[ObjectIdentifier(driver)] = (key, driver) }
    }

    func remove(_ driver: ExecServerDriver) {
        _ = sessions.withLock { $0.removeValue(forKey: ObjectIdentifier(driver)) }
    }
}

/// A command the simulator answers itself instead of running a process: a tool the container image has and this
/// machine does not (istiod's `pilot-discovery request`). Its output is sent as the process's would be, then its exit.
package struct ExecBuiltinAnswer: Sendable, Equatable {
    package var stdout: [UInt8]
    package var stderr: [UInt8]
    package var exitCode: Int32

    package init(stdout: [UInt8], stderr: [UInt8] = [], exitCode: Int32 = 0) {
        self.stdout = stdout
        self.stderr = stderr
        self.exitCode = exitCode
    }
}

package enum ExecServerSession {
    /// Takes over a channel whose pipeline holds no HTTP or WebSocket handlers any more: MeshSim wrote the
    /// 101 response itself and removed its HTTP handlers. `bufferedBytes` are bytes already read after the
    /// request's headers (they are WebSocket frames). The session then owns the channel and closes it.
    /// `builtin`: answer with this instead of running `request.command`.
    package static func start(
        on channel: Channel, request: ExecServerRequest, bufferedBytes: ByteBuffer? = nil,
        registry: ExecServerRegistry, faults: RuntimeFaultControl, settings: ExecServerSettings = ExecServerSettings(),
        builtin: ExecBuiltinAnswer? = nil
    ) -> EventLoopFuture<Void> {
        onEventLoop(of: channel) {
            let driver = ExecServerDriver(
                channel: channel, request: request, registry: registry,
                fault: faults.current.execStreamFault(cluster: request.cluster), settings: settings, builtin: builtin)
            try channel.pipeline.syncOperations.addHandler(ExecSocketByteHandler(driver: driver))
            driver.begin()
            if let bufferedBytes, bufferedBytes.readableBytes > 0 {
                driver.receive(bytes: Array(bufferedBytes.readableBytesView))
            }
        }
    }
}

/// Runs `body` right away when already on the channel's loop: a frame read between a deferred task and the
/// handler's arrival would otherwise fall off the end of the pipeline.
private func onEventLoop(of channel: Channel, _ body: @escaping @Sendable () throws -> Void) -> EventLoopFuture<Void> {
    if channel.eventLoop.inEventLoop {
        return channel.eventLoop.makeCompletedFuture(Result(catching: body))
    }
    return channel.eventLoop.submit(body)
}

/// One session's I/O. Every method runs on the socket channel's event loop (pipes share that loop), which
/// is what makes the unchecked Sendable conformance sound.
final class ExecServerDriver: @unchecked Sendable {
    private let socket: Channel
    private let eventLoop: EventLoop
    private let request: ExecServerRequest
    private let registry: ExecServerRegistry
    private let settings: ExecServerSettings
    private var machine: ExecServerMachine

    private var process: LaunchedProcess?
    private var processRunning = false
    private var stdinChannel: Channel?
    private var outputChannels: [Channel] = []
    private var openOutputs = 0
    private var pendingStdin: [ExecServerMachine.Action] = []
    private var pipesReady = false
    private var stdinFailed = false
    private var socketIsClosed = false
    private var closeTimer: Scheduled<Void>?
    private var reapDelay: TimeAmount = .milliseconds(1)
    private var socketReadPausedForStdin = false
    private var lastStdinWrite: EventLoopFuture<Void>?
    /// Set for a hostile exec fault: what is sent instead of the command's output.
    private var hostileOutput: HostileExecOutput?
    private let builtin: ExecBuiltinAnswer?

    init(
        channel: Channel, request: ExecServerRequest, registry: ExecServerRegistry, fault: ExecStreamFault?, settings: ExecServerSettings,
        builtin: ExecBuiltinAnswer?
    ) {
        self.builtin = builtin
        self.socket = channel
        self.eventLoop = channel.eventLoop
        self.request = request
        self.registry = registry
        self.settings = settings
        self.machine = ExecServerMachine(request: request, fault: fault, maxFramePayload: settings.maxFramePayload)
    }

    // MARK: Start

    func begin() {
        eventLoop.assertInEventLoop()
        registry.add(self, key: .init(cluster: request.cluster, namespace: request.namespace, pod: request.pod))
        perform(machine.start())
        if case .hostile(let kind) = machine.fault {
            // No process: the client's frames are still read (its close ends the session), stdin goes nowhere.
            pipesReady = true
            hostileOutput = HostileExecOutput(kind)
            // From the next turn: this runs inside the HTTP decoder's loop that handed the channel over, which must
            // finish before anything (a write error, a close) can reach the handlers it is removing.
            eventLoop.execute { self.sendHostileOutput() }
            return
        }
        if let builtin {
            // As for hostile output, from the next turn: this runs inside the loop that handed the channel over.
            pipesReady = true
            eventLoop.execute { self.answer(builtin) }
            return
        }
        // Nothing is read from the client until the pipes exist, so stdin never piles up in memory.
        socket.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        let launch = ProcessLauncher.launch(
            argv: request.command, environment: request.environment, workingDirectory: request.workingDirectory,
            connectStdin: request.stdin, mergeStderrIntoStdout: request.tty,
            execIdentifier: Self.randomExecIdentifier())
        switch launch {
        case .failure(let failure):
            pipesReady = true
            perform(machine.processFinished(.failedToStart(reason: failure.reason)))
            resumeSocketReads()
        case .success(let launched):
            process = launched
            processRunning = true
            attachPipes(launched)
        }
    }

    private func attachPipes(_ launched: LaunchedProcess) {
        var futures: [EventLoopFuture<Void>] = []
        let outputs: [(CInt, ExecServerChannel)] =
            [(launched.stdoutReader, .stdout)]
            + (launched.stderrReader.map { [($0, ExecServerChannel.stderr)] } ?? [])
        openOutputs = outputs.count
        for (descriptor, execChannel) in outputs {
            let future = NIOPipeBootstrap(group: eventLoop)
                .channelOption(ChannelOptions.maxMessagesPerRead, value: 4)
                .channelInitializer { pipe in
                    pipe.eventLoop.makeCompletedFuture {
                        try pipe.pipeline.syncOperations.addHandler(PipeOutputHandler(driver: self, channel: execChannel))
                    }
                }
                .takingOwnershipOfDescriptor(input: descriptor)
                .map { pipe in self.outputChannels.append(pipe) }
            // On failure NIO leaves the descriptor with us.
            future.whenFailure { _ in close(descriptor) }
            futures.append(future)
        }
        if let writer = launched.stdinWriter {
            let future = NIOPipeBootstrap(group: eventLoop)
                .channelInitializer { pipe in
                    pipe.eventLoop.makeCompletedFuture {
                        try pipe.pipeline.syncOperations.addHandler(PipeInputHandler(driver: self))
                    }
                }
                .takingOwnershipOfDescriptor(output: writer)
                .map { pipe in self.stdinChannel = pipe }
            future.whenFailure { _ in close(writer) }
            futures.append(future)
        }
        EventLoopFuture.andAllComplete(futures, on: eventLoop).whenComplete { _ in
            self.pipesReady = true
            let queued = self.pendingStdin
            self.pendingStdin = []
            self.perform(queued)
            self.resumeSocketReads()
            // A pipe that could not be registered would never report EOF; treat it as closed.
            let registered = self.outputChannels.count
            if registered < outputs.count {
                for _ in registered..<outputs.count { self.outputEnded() }
            }
        }
    }

    // MARK: Events

    func receive(bytes: [UInt8]) {
        perform(machine.receive(bytes))
    }

    func output(_ channel: ExecServerChannel, _ buffer: ByteBuffer) {
        perform(machine.processOutput(channel, Array(buffer.readableBytesView)))
        // A stalled stream stops reading too, so the process blocks on a full pipe as behind a stuck link.
        if !socket.isWritable || machine.phase == .stalled { setOutputReading(false) }
    }

    func outputEnded() {
        openOutputs -= 1
        if openOutputs == 0 { scheduleReap(after: .zero) }
    }

    func socketWritabilityChanged() {
        if hostileOutput != nil {
            sendHostileOutput()
        } else if socket.isWritable && machine.phase != .stalled {
            setOutputReading(true)
        }
    }

    /// A builtin command's output in pipe-sized pieces, then its exit status; stdin, if any, goes nowhere.
    private func answer(_ builtin: ExecBuiltinAnswer) {
        for (channel, bytes) in [(ExecServerChannel.stdout, builtin.stdout), (.stderr, builtin.stderr)] {
            var offset = 0
            while offset < bytes.count {
                let end = min(offset + 32 * 1024, bytes.count)
                perform(machine.processOutput(channel, Array(bytes[offset..<end])))
                offset = end
            }
        }
        perform(machine.processFinished(.exited(code: builtin.exitCode)))
        finishIfDone()
    }

    /// Writes hostile output while the connection drains: a few chunks per event-loop turn, then the next turn
    /// (or, when the socket is full, its writability change) goes on. Ends when the session does.
    private func sendHostileOutput() {
        guard !socketIsClosed, machine.phase == .running, socket.isWritable else { return }
        var wrote = false
        for _ in 0..<4 {
            guard let bytes = hostileOutput?.next() else { break }
            socket.write(ByteBuffer(bytes: bytes), promise: nil)
            wrote = true
        }
        guard wrote else { return }
        socket.flush()
        eventLoop.execute { self.sendHostileOutput() }
    }

    /// The stdin pipe is gone (process exited or closed its end): input is discarded from now on, so the
    /// client must not stay paused behind it.
    func stdinPipeClosed() {
        stdinFailed = true
        if socketReadPausedForStdin {
            socketReadPausedForStdin = false
            resumeSocketReads()
        }
    }

    func stdinWritabilityChanged() {
        if stdinChannel?.isWritable ?? true, socketReadPausedForStdin {
            socketReadPausedForStdin = false
            resumeSocketReads()
        }
    }

    func connectionClosed() {
        socketIsClosed = true
        closeTimer?.cancel()
        perform(machine.clientDisconnected())
        finishIfDone()
    }

    func podDeleted() {
        eventLoop.execute {
            // A hostile session has no process whose exit would end it: the pod going away closes it.
            if self.hostileOutput != nil {
                self.perform(self.machine.clientDisconnected())
            } else {
                self.perform(self.machine.podDeleted())
            }
        }
    }

    // MARK: Actions

    private func perform(_ actions: [ExecServerMachine.Action]) {
        var wroteToSocket = false
        for action in actions {
            switch action {
            case .send(let frame):
                guard !socketIsClosed else { continue }
                socket.write(ByteBuffer(bytes: frame.encoded), promise: nil)
                wroteToSocket = true
            case .writeStdin, .closeStdin:
                guard pipesReady else {
                    pendingStdin.append(action)
                    continue
                }
                applyStdin(action)
            case .killProcess:
                killProcess()
            case .closeConnection:
                if wroteToSocket {
                    socket.flush()
                    wroteToSocket = false
                }
                closeTimer?.cancel()
                if !socketIsClosed { socket.close(promise: nil) }
            case .awaitClientClose:
                closeTimer = eventLoop.scheduleTask(in: settings.closeWait) {
                    self.perform(self.machine.closeWaitExpired())
                }
            }
        }
        if wroteToSocket { socket.flush() }
    }

    private func applyStdin(_ action: ExecServerMachine.Action) {
        guard let stdinChannel, !stdinFailed else { return }
        switch action {
        case .writeStdin(let bytes):
            let written = stdinChannel.writeAndFlush(ByteBuffer(bytes: bytes))
            lastStdinWrite = written
            written.whenFailure { _ in
                // The process stopped reading (exited or closed stdin); further input has nowhere to go.
                self.stdinFailed = true
            }
            if !stdinChannel.isWritable && !socketReadPausedForStdin {
                socketReadPausedForStdin = true
                socket.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
            }
        case .closeStdin:
            // Closing a pipe channel drops writes still queued in it; end stdin only after the last one.
            if let lastStdinWrite {
                lastStdinWrite.whenComplete { _ in stdinChannel.close(promise: nil) }
            } else {
                stdinChannel.close(promise: nil)
            }
        default:
            break
        }
    }

    private func resumeSocketReads() {
        guard !socketIsClosed, !socketReadPausedForStdin else { return }
        socket.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
    }

    private func setOutputReading(_ enabled: Bool) {
        for pipe in outputChannels {
            pipe.setOption(ChannelOptions.autoRead, value: enabled).whenComplete { _ in }
        }
    }

    private func killProcess() {
        guard let process, processRunning else { return }
        ProcessLauncher.killGroup(process.pid)
        // Output left in the pipes has no reader any more; closing them lets reaping start at once even if
        // something outside the group still holds a write end.
        for pipe in outputChannels { pipe.close(promise: nil) }
        stdinChannel?.close(promise: nil)
    }

    private func scheduleReap(after delay: TimeAmount) {
        eventLoop.scheduleTask(in: delay) { self.reap() }
    }

    private func reap() {
        guard let process, processRunning else { return }
        if let code = ProcessLauncher.reap(process.pid) {
            processRunning = false
            stdinChannel?.close(promise: nil)
            stdinPipeClosed()
            perform(machine.processFinished(.exited(code: code)))
            finishIfDone()
            return
        }
        // Output ended but the process lingers (it closed its pipes, or exits right now): poll with backoff.
        scheduleReap(after: reapDelay)
        reapDelay = min(reapDelay * 2, .milliseconds(100))
    }

    private func finishIfDone() {
        if socketIsClosed && !processRunning {
            registry.remove(self)
        }
    }

    private static func randomExecIdentifier() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in
            let byte = UInt8.random(in: 0...255, using: &generator)
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

// MARK: Handlers

/// Raw WebSocket bytes from the client (the session decodes frames itself).
final class ExecSocketByteHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    private let driver: ExecServerDriver

    init(driver: ExecServerDriver) { self.driver = driver }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        driver.receive(bytes: Array(buffer.readableBytesView))
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        driver.socketWritabilityChanged()
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        driver.connectionClosed()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// Output of one process pipe (stdout or stderr).
final class PipeOutputHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let driver: ExecServerDriver
    private let channel: ExecServerChannel
    private var ended = false

    init(driver: ExecServerDriver, channel: ExecServerChannel) {
        self.driver = driver
        self.channel = channel
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        driver.output(channel, unwrapInboundIn(data))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelEvent, case .inputClosed = event as? ChannelEvent {
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        guard !ended else { return }
        ended = true
        driver.outputEnded()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// The process's stdin pipe: only writability and errors matter.
final class PipeInputHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let driver: ExecServerDriver

    init(driver: ExecServerDriver) { self.driver = driver }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        driver.stdinWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        driver.stdinPipeClosed()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
