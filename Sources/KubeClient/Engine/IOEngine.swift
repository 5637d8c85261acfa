internal import CCurl
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The process's one libcurl thread.
///
/// Every easy and multi handle lives on this thread: REST transfers run on a shared multi handle
/// (HTTP/2 multiplexed where the server offers it); each exec session connects through its own
/// multi handle (CONNECT_ONLY) and then exchanges WebSocket bytes with `curl_easy_send/recv`.
/// One `poll` covers all sockets, so 1,000+ sessions need no thread each, and no blocking C call
/// ever runs on Swift's cooperative pool. Callers hop in with ``submit(_:)`` and are resumed
/// through continuations.
package final class IOEngine: @unchecked Sendable {
    // @unchecked: `loop` is touched only by the engine thread; everything else is immutable or a Mutex.
    private let inbox = Mutex<[@Sendable (EngineLoop) -> Void]>([])
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let loop: EngineLoop
    private let threadStarted = Mutex(false)

    /// The engine shared by all clients of the process.
    package static let shared: IOEngine = {
        do {
            return try IOEngine()
        } catch {
            // Only out-of-memory or fd exhaustion at start-up gets here; nothing can run without it.
            preconditionFailure("meshcheck I/O engine could not start: \(error)")
        }
    }()

    package init() throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw CurlError(code: Int(errno), function: "pipe", detail: String(cString: strerror(errno))) }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        loop = try EngineLoop(wakeFD: fds[0])
    }

    /// Runs `work` on the engine thread (soon, in submission order).
    func submit(_ work: @escaping @Sendable (EngineLoop) -> Void) {
        startIfNeeded()
        inbox.withLock { $0.append(work) }
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1) // a full pipe already means "wake up"
    }

    private func startIfNeeded() {
        let start = threadStarted.withLock { started -> Bool in
            defer { started = true }
            return !started
        }
        guard start else { return }
        let thread = Thread { [self] in
            loop.run {
                self.inbox.withLock { pending in
                    defer { pending.removeAll() }
                    return pending
                }
            }
        }
        thread.name = "meshcheck-io"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Number of exec sessions currently open (diagnostics, benchmarks).
    package var activeExecSessions: Int { loop.activeSessionCount.load(ordering: .relaxed) }
}

/// Engine-thread state. Not thread safe; reached only through ``IOEngine/submit(_:)``.
final class EngineLoop {
    let restMulti: MultiDriver
    private let wakeFD: Int32
    private var transfers: [UnsafeMutableRawPointer: RestTransfer] = [:]
    private let bodyBudget = BodyBudget()
    private var connecting: [ObjectIdentifier: ExecConnection] = [:]
    private(set) var sessions: [UInt64: ExecConnection] = [:]
    let activeSessionCount = Atomic<Int>(0)
    /// One receive buffer for every session: data is handed to consumers before the next read.
    let receiveBuffer: UnsafeMutableRawBufferPointer
    private var lastDeadlineSweep = ContinuousClock.now

    static let receiveBufferSize = 256 * 1024

    init(wakeFD: Int32) throws(CurlError) {
        self.wakeFD = wakeFD
        restMulti = try MultiDriver(multiplexing: true)
        receiveBuffer = .allocate(byteCount: Self.receiveBufferSize, alignment: 16)
        restMulti.onDone = { [unowned self] easy, code in self.finishTransfer(easy, code) }
    }

    // MARK: REST

    func start(_ transfer: RestTransfer) {
        do {
            transfer.budget = bodyBudget
            try restMulti.add(transfer.easy)
            transfers[transfer.easy.handle] = transfer
        } catch {
            transfer.complete(.failure(error))
        }
    }

    private func finishTransfer(_ easy: UnsafeMutableRawPointer, _ code: CURLcode) {
        guard let transfer = transfers.removeValue(forKey: easy) else { return }
        restMulti.remove(transfer.easy)
        do {
            try transfer.easy.check(code, "HTTP request")
            transfer.complete(.success(transfer.response()))
        } catch {
            transfer.complete(.failure(error))
        }
    }

    // MARK: Exec

    /// Session ids cancelled before their launch reached the engine thread.
    private var cancelledEarly = Set<UInt64>()

    func launch(_ launch: ExecLaunch) {
        if cancelledEarly.remove(launch.id) != nil {
            launch.completion(.failure(CancellationError()))
            return
        }
        do {
            start(try ExecConnection(launch))
        } catch {
            let transport = KubeTransportError.from(error, cluster: launch.cluster, context: launch.contextName)
            launch.completion(.failure(ExecError(code: .transport(transport), context: launch.contextName, pod: launch.pod)))
        }
    }

    private func start(_ connection: ExecConnection) {
        sessions[connection.id] = connection
        activeSessionCount.wrappingAdd(1, ordering: .relaxed)
        connecting[ObjectIdentifier(connection)] = connection
        connection.multi.onDone = { [unowned self, unowned connection] (_: UnsafeMutableRawPointer, code: CURLcode) in
            self.connecting[ObjectIdentifier(connection)] = nil
            connection.connected(code, loop: self)
        }
        do {
            try connection.multi.add(connection.easy)
        } catch {
            connection.fail(.transport(KubeTransportError.from(error, cluster: connection.cluster, context: connection.contextName)), loop: self)
        }
    }

    func cancel(session id: UInt64) {
        if let session = sessions[id] {
            session.cancel(loop: self)
        } else {
            cancelledEarly.insert(id)
        }
    }

    /// Called by a connection when it is completely finished.
    func forget(_ connection: ExecConnection) {
        connecting[ObjectIdentifier(connection)] = nil
        if sessions.removeValue(forKey: connection.id) != nil {
            activeSessionCount.wrappingAdd(-1, ordering: .relaxed)
        }
    }

    // MARK: Loop

    private enum Owner {
        case wake
        case curl(MultiDriver, Int32)
        case session(ExecConnection)
    }

    /// The poll set of one turn and who owns each entry, kept between turns for their capacity.
    private struct PollTable {
        var entries: [pollfd] = []
        var owners: [Owner] = []
    }

    /// Runs the loop forever (the engine's thread).
    func run(takeWork: () -> [@Sendable (EngineLoop) -> Void]) {
        var table = PollTable()
        while true { turn(takeWork: takeWork, table: &table) }
    }

    /// One turn: queued work, one poll over every socket, then what became ready and what is due.
    /// Kept out of line: inlined into `run`'s endless loop with everything it calls, it made the
    /// release build's loop-invariant code motion run for more than 15 CPU-minutes.
    @inline(never)
    private func turn(takeWork: () -> [@Sendable (EngineLoop) -> Void], table: inout PollTable) {
        for work in takeWork() { work(self) }

        table.entries.removeAll(keepingCapacity: true)
        table.owners.removeAll(keepingCapacity: true)
        table.entries.append(pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0))
        table.owners.append(.wake)
        var drivers: [MultiDriver] = [restMulti]
        drivers += connecting.values.map { $0.multi }
        for driver in drivers {
            for (fd, what) in driver.sockets {
                var events: Int16 = 0
                if what == CURL_POLL_IN || what == CURL_POLL_INOUT { events |= Int16(POLLIN) }
                if what == CURL_POLL_OUT || what == CURL_POLL_INOUT { events |= Int16(POLLOUT) }
                table.entries.append(pollfd(fd: fd, events: events, revents: 0))
                table.owners.append(.curl(driver, fd))
            }
        }
        var anyPendingRead = false
        for session in sessions.values where session.socket >= 0 {
            var events = Int16(POLLIN)
            if session.wantsWrite { events |= Int16(POLLOUT) }
            if session.hasBufferedInput { anyPendingRead = true }
            table.entries.append(pollfd(fd: session.socket, events: events, revents: 0))
            table.owners.append(.session(session))
        }

        let now = ContinuousClock.now
        var timeout = 1000
        for driver in drivers {
            if let deadline = driver.timerDeadline { timeout = min(timeout, Self.milliseconds(until: deadline, from: now)) }
        }
        if !sessions.isEmpty { timeout = min(timeout, 50) }
        if anyPendingRead { timeout = 0 }

        let ready = table.entries.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), Int32(timeout)) }
        if ready > 0 {
            for index in table.entries.indices where table.entries[index].revents != 0 {
                let revents = Int32(table.entries[index].revents)
                switch table.owners[index] {
                case .wake:
                    drainWakePipe()
                case .curl(let driver, let fd):
                    driver.act(
                        on: fd, readable: revents & Int32(POLLIN) != 0 || revents & Int32(POLLHUP) != 0,
                        writable: revents & Int32(POLLOUT) != 0, failed: revents & Int32(POLLERR) != 0)
                case .session(let session):
                    if revents & Int32(POLLOUT) != 0 { session.flush(loop: self) }
                    if revents & (Int32(POLLIN) | Int32(POLLHUP) | Int32(POLLERR)) != 0 { session.readAvailable(loop: self) }
                }
            }
        }
        if anyPendingRead {
            for session in sessions.values where session.hasBufferedInput { session.readAvailable(loop: self) }
        }
        let after = ContinuousClock.now
        for driver in drivers { driver.fireTimerIfDue(now: after) }
        if lastDeadlineSweep.duration(to: after) >= .milliseconds(20) {
            lastDeadlineSweep = after
            for session in Array(sessions.values) { session.checkDeadlines(now: after, loop: self) }
        }
    }

    private func drainWakePipe() {
        var scratch = [UInt8](repeating: 0, count: 256)
        while read(wakeFD, &scratch, scratch.count) > 0 {}
    }

    private static func milliseconds(until deadline: ContinuousClock.Instant, from now: ContinuousClock.Instant) -> Int {
        let remaining = now.duration(to: deadline)
        if remaining <= .zero { return 0 }
        let (seconds, attoseconds) = remaining.components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000) + 1
    }
}

@available(*, unavailable)
extension EngineLoop: Sendable {}
