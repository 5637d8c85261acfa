// The HelloWorld sample app made real: a loopback HTTP listener per HelloWorld pod answering like
// istio/samples/helloworld (docs/PROTOCOL-NOTES.md §D6), with a short deterministic service time instead of
// the sample's CPU burn, and the per-version faults of RuntimeFaults.
import NIOCore
import NIOHTTP1
import NIOPosix

package final class HelloWorldServer: Sendable {
    package let podName: String
    package let version: String
    private let listener: HTTPListener

    package var host: String { listener.host }
    package var port: Int { listener.port }
    /// Connections accepted since the start (sidecars reuse theirs, so far fewer than requests).
    package var acceptedConnections: Int { listener.acceptedConnections }
    /// Connections open now (a stopped sidecar leaves none behind).
    package var openConnections: Int { listener.openConnections }

    /// Starts the listener. `serviceTime` is how long each /hello takes before any fault delay.
    package static func start(
        podName: String, version: String, serviceTime: Duration = .milliseconds(2),
        faults: RuntimeFaultControl, group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> HelloWorldServer {
        let listener = try await HTTPListener.start(group: group) {
            HelloWorldHandler(podName: podName, version: version, serviceTime: serviceTime, faults: faults)
        }
        return HelloWorldServer(podName: podName, version: version, listener: listener)
    }

    private init(podName: String, version: String, listener: HTTPListener) {
        self.podName = podName
        self.version = version
        self.listener = listener
    }

    package func stop() async { await listener.stop() }

    /// Whether a container image is the HelloWorld sample, from any registry
    /// (`registry.istio.io/release/examples-helloworld-v2:1.0`, `docker.io/istio/examples-helloworld-v1`, ...).
    package static func isHelloWorldImage(_ image: String) -> Bool {
        imageName(image).contains("helloworld")
    }

    /// The version the app reports: `SERVICE_VERSION` from the container env, else the image name's
    /// `-vN` suffix (`examples-helloworld-v2` → `v2`); nil when neither says.
    package static func version(image: String, environment: [EnvironmentVariable]) -> String? {
        if let fromEnv = environment.last(where: { $0.name == "SERVICE_VERSION" })?.value, !fromEnv.isEmpty {
            return fromEnv
        }
        let name = imageName(image)
        guard let dash = name.lastIndex(of: "-") else { return nil }
        let suffix = name[name.index(after: dash)...]
        guard suffix.count >= 2, suffix.first == "v" else { return nil }
        return String(suffix)
    }

    /// The last path component of an image reference without tag or digest.
    static func imageName(_ image: String) -> String {
        var reference = Substring(image)
        if let at = reference.firstIndex(of: "@") { reference = reference[..<at] }
        if let slash = reference.lastIndex(of: "/") { reference = reference[reference.index(after: slash)...] }
        if let colon = reference.firstIndex(of: ":") { reference = reference[..<colon] }
        return reference.lowercased()
    }

    /// The body of a successful /hello.
    package static func helloBody(version: String, podName: String) -> String {
        "Hello version: \(version), instance: \(podName)\n"
    }
}

final class HelloWorldHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let podName: String
    private let version: String
    private let serviceTime: Duration
    private let faults: RuntimeFaultControl

    init(podName: String, version: String, serviceTime: Duration, faults: RuntimeFaultControl) {
        self.podName = podName
        self.version = version
        self.serviceTime = serviceTime
        self.faults = faults
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Heads carry all that routing needs; bodies are ignored; HTTPServerPipelineHandler orders responses.
        guard case .head(let head) = unwrapInboundIn(data) else { return }
        let keepAlive = head.isKeepAlive
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        switch (head.method, path) {
        case (.GET, "/hello"):
            let fault = faults.current.versionFault(version)
            let failing = fault.errorRate > 0 && Double.random(in: 0..<1) < fault.errorRate
            let failure = HTTPResponseStatus(statusCode: fault.errorStatus)
            let body = failing ? "\(failure.reasonPhrase) (injected fault)\n" : HelloWorldServer.helloBody(version: version, podName: podName)
            let delay = serviceTime + fault.extraDelay
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(delay)) {
                writeResponse(
                    context: bound.value, status: failing ? failure : .ok,
                    headers: [("Content-Type", "text/html; charset=utf-8")], body: ByteBuffer(string: body),
                    keepAlive: keepAlive, version: head.version)
            }
        case (.GET, "/health"):
            writeResponse(
                context: context, status: .ok, headers: [("Content-Type", "text/html; charset=utf-8")],
                body: ByteBuffer(string: "Helloworld is healthy"), keepAlive: keepAlive, version: head.version)
        default:
            writeResponse(
                context: context, status: .notFound, headers: [("Content-Type", "text/html; charset=utf-8")],
                body: ByteBuffer(string: "Not Found\n"), keepAlive: keepAlive, version: head.version)
        }
    }
}
