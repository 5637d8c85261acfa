import NIOCore
import NIOPosix

@testable import MeshSimRuntime

// A loopback exec server (handing over the channel as MeshSim does: it writes the 101 itself, then passes
// raw bytes to `ExecServerSession.start`) and a minimal masked WebSocket client on a non-blocking POSIX
// socket, so tests drive ExecServerSession over real TCP with bounded waits.
#if canImport(Glibc)
    import Glibc
#endif

struct TestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// An exec request for the sample sleep pod, as MeshSim would hand one over.
func makeRequest(
    _ command: [String], stdin: Bool = false, stdout: Bool = true, stderr: Bool = true, tty: Bool = false,
    subprotocol: ExecServerSubprotocol = .v5
) -> ExecServerRequest {
    ExecServerRequest(
        cluster: "cluster-1", namespace: "sample", pod: "sleep-1", container: "sleep", command: command,
        stdin: stdin, stdout: stdout, stderr: stderr, tty: tty, subprotocol: subprotocol,
        environment: PodEnvironment.make(containerEnv: [], podName: "sleep-1", httpProxy: nil))
}

/// Serves every connection as an exec session running `request`.
final class TestExecServer: Sendable {
    let channel: Channel
    let registry = ExecServerRegistry()
    let faults = RuntimeFaultControl()

    var port: Int { channel.localAddress!.port! }

    init(request: ExecServerRequest, settings: ExecServerSettings = ExecServerSettings()) async throws {
        let registry = self.registry
        let faults = self.faults
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(
                        RawUpgradeHandler(request: request, registry: registry, faults: faults, settings: settings))
                }
            }
        channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
    }

    /// Stops listening and kills whatever sessions a failed test left running.
    func close() async {
        registry.terminateAll()
        try? await channel.close()
    }
}

/// Reads the upgrade request, answers 101 and hands the connection to the session.
final class RawUpgradeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let request: ExecServerRequest
    private let registry: ExecServerRegistry
    private let faults: RuntimeFaultControl
    private let settings: ExecServerSettings
    private var buffered = ByteBuffer()

    init(request: ExecServerRequest, registry: ExecServerRegistry, faults: RuntimeFaultControl, settings: ExecServerSettings) {
        self.request = request
        self.registry = registry
        self.faults = faults
        self.settings = settings
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffered.writeBuffer(&incoming)
        let bytes = Array(buffered.readableBytesView)
        guard let end = headerEnd(bytes) else { return }
        buffered.moveReaderIndex(forwardBy: end)
        let response =
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Protocol: \(request.subprotocol.rawValue)\r\n\r\n"
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: response)), promise: nil)
        let channel = context.channel
        let leftover = buffered
        context.pipeline.syncOperations.removeHandler(self, promise: nil)
        _ = ExecServerSession.start(
            on: channel, request: request, bufferedBytes: leftover, registry: registry,
            faults: faults, settings: settings)
    }
}

func headerEnd(_ bytes: [UInt8]) -> Int? {
    guard bytes.count >= 4 else { return nil }
    for index in 0...(bytes.count - 4) where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
        return index + 4
    }
    return nil
}

/// What the client has seen so far.
struct ExecTranscript {
    var frames: [ReceivedFrame] = []
    var stdout: [UInt8] = []
    var stdoutByteCount = 0
    var stderr: [UInt8] = []
    var status: String?
    var statusCount = 0
    var closeCode: UInt16?
    var sawEOF = false
    var firstFrame: ReceivedFrame?
}

/// A minimal WebSocket exec client: masked frames, one message per write, never fragmented.
final class TestExecClient {
    private let fd: CInt
    private var inbound: [UInt8] = []
    private(set) var transcript = ExecTranscript()
    private var outgoing: [UInt8] = []
    private var outgoingIndex = 0
    /// Keep only a byte count of stdout beyond this size (large-output tests).
    var retainStdoutLimit = 8 << 20
    private(set) var responseHead = ""

    init(port: Int, protocols: String = "v5.channel.k8s.io, v4.channel.k8s.io") throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestError("socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw TestError("connect failed")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        let request =
            "GET /api/v1/namespaces/sample/pods/sleep-1/exec?command=x&stdout=true HTTP/1.1\r\n"
            + "Host: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            + "Sec-WebSocket-Protocol: \(protocols)\r\n\r\n"
        outgoing = Array(request.utf8)
        var head: [UInt8] = []
        try pump(seconds: 10) { _ in
            if let end = headerEnd(self.inbound) {
                head = Array(self.inbound[..<end])
                self.inbound.removeFirst(end)
                return true
            }
            return false
        }
        responseHead = String(decoding: head, as: UTF8.self)
        guard responseHead.hasPrefix("HTTP/1.1 101") else { throw TestError("no 101: \(responseHead)") }
        decodeFrames()
    }

    deinit { close(fd) }

    func send(channel: UInt8, _ data: [UInt8]) {
        sendFrame(opcode: 2, payload: [channel] + data)
    }

    func sendFrame(opcode: UInt8, payload: [UInt8], masked: Bool = true) {
        outgoing += clientFrame(opcode: opcode, payload: payload, masked: masked)
    }

    /// Writes pending bytes and reads frames until `done` holds, the server hangs up, or the time is up.
    func pump(seconds: Double, until done: (ExecTranscript) -> Bool) throws {
        let deadline = monotonicSeconds() + seconds
        var readBuffer = [UInt8](repeating: 0, count: 256 * 1024)
        while !done(transcript) {
            if transcript.sawEOF { return }
            let remaining = deadline - monotonicSeconds()
            guard remaining > 0 else {
                throw TestError(
                    "timed out; transcript so far: status=\(transcript.status ?? "nil") stdout=\(transcript.stdoutByteCount)B close=\(transcript.closeCode.map(String.init) ?? "none") pendingOut=\(outgoing.count - outgoingIndex)"
                )
            }
            var events = Int16(POLLIN)
            if outgoingIndex < outgoing.count { events |= Int16(POLLOUT) }
            var pollfd = Glibc.pollfd(fd: fd, events: events, revents: 0)
            _ = poll(&pollfd, 1, Int32(min(remaining, 0.2) * 1000))
            if outgoingIndex < outgoing.count {
                let written = outgoing.withUnsafeBytes { raw in
                    write(fd, raw.baseAddress! + outgoingIndex, outgoing.count - outgoingIndex)
                }
                if written > 0 {
                    outgoingIndex += written
                    if outgoingIndex == outgoing.count {
                        outgoing = []
                        outgoingIndex = 0
                    }
                }
            }
            let count = read(fd, &readBuffer, readBuffer.count)
            if count == 0 {
                transcript.sawEOF = true
            } else if count > 0 {
                inbound += readBuffer[..<count]
                decodeFrames()
            }
        }
    }

    private func decodeFrames() {
        guard !responseHead.isEmpty else { return }
        let (frames, rest) = decodeServerFrames(inbound)
        inbound = rest
        for frame in frames {
            if transcript.firstFrame == nil { transcript.firstFrame = frame }
            switch frame.opcode {
            case 8:
                transcript.closeCode = frame.payload.count >= 2 ? UInt16(frame.payload[0]) << 8 | UInt16(frame.payload[1]) : 0
                sendFrame(opcode: 8, payload: [3, 232])
            case 2:
                transcript.frames.append(
                    ReceivedFrame(
                        fin: frame.fin, opcode: frame.opcode, masked: frame.masked,
                        payload: frame.payload.count > 64 ? [] : frame.payload))
                guard let channel = frame.payload.first else { continue }
                let data = frame.payload.dropFirst()
                switch channel {
                case 1:
                    transcript.stdoutByteCount += data.count
                    if transcript.stdout.count < retainStdoutLimit { transcript.stdout += data }
                case 2: transcript.stderr += data
                case 3:
                    transcript.statusCount += 1
                    transcript.status = String(decoding: data, as: UTF8.self)
                default: break
                }
            default:
                transcript.frames.append(frame)
            }
        }
    }

    /// Runs until the server closed the connection (after status and close handshake).
    func finish(seconds: Double = 20) throws -> ExecTranscript {
        try pump(seconds: seconds) { $0.sawEOF }
        return transcript
    }
}

func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// True once `pid` no longer exists (killed and reaped), polling for at most `seconds`.
func processIsGone(_ pid: pid_t, within seconds: Double) -> Bool {
    let deadline = monotonicSeconds() + seconds
    while monotonicSeconds() < deadline {
        if kill(pid, 0) != 0 && errno == ESRCH { return true }
        usleep(10_000)
    }
    return false
}
