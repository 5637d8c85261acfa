// A loopback HTTP/1.1 listener shared by the HelloWorld backends and the sidecar proxies.
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A bound listener on 127.0.0.1 with an ephemeral port; `stop()` closes it and its connections.
package final class HTTPListener: Sendable {
    private let serverChannel: Channel
    private let connections: ConnectionSet
    package let host = "127.0.0.1"
    package let port: Int
    /// Connections accepted since the start: how a test tells reused connections from new ones.
    package var acceptedConnections: Int { connections.accepted.load(ordering: .relaxed) }
    /// Connections open now.
    package var openConnections: Int { connections.all().count }

    /// `makeHandler` builds the request handler of each accepted connection (behind NIO's HTTP server codec).
    static func start(
        group: EventLoopGroup, makeHandler: @escaping @Sendable () -> any ChannelHandler
    ) async throws -> HTTPListener {
        let connections = ConnectionSet()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            // Capped by the kernel at net.core.somaxconn: a thousand concurrent bursts' connections must not
            // overflow the accept queue (dropped SYNs cost the client seconds of retransmits and the sidecar 503s).
            .serverChannelOption(ChannelOptions.backlog, value: 4096)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { child in
                connections.insert(child)
                child.closeFuture.whenComplete { _ in connections.remove(child) }
                return child.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMapThrowing {
                    try child.pipeline.syncOperations.addHandler(makeHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        guard let port = channel.localAddress?.port else {
            try? await channel.close()
            throw RuntimeListenerError.noLocalPort
        }
        return HTTPListener(serverChannel: channel, connections: connections, port: port)
    }

    private init(serverChannel: Channel, connections: ConnectionSet, port: Int) {
        self.serverChannel = serverChannel
        self.connections = connections
        self.port = port
    }

    /// Stops accepting and closes open connections (a deleted pod's listener disappears at once).
    package func stop() async {
        try? await serverChannel.close()
        for connection in connections.all() { try? await connection.close() }
    }
}

package enum RuntimeListenerError: Error, CustomStringConvertible {
    case noLocalPort

    package var description: String {
        switch self {
        case .noLocalPort: return "the listener bound but reported no local port; check that 127.0.0.1 is configured"
        }
    }
}

/// The open connections of a listener, so stopping it can close them.
final class ConnectionSet: Sendable {
    private let channels = Mutex<[ObjectIdentifier: Channel]>([:])
    let accepted = Atomic<Int>(0)

    func insert(_ channel: Channel) {
        accepted.wrappingAdd(1, ordering: .relaxed)
        channels.withLock { $0[ObjectIdentifier(channel)] = channel }
    }
    func remove(_ channel: Channel) { _ = channels.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) } }
    func all() -> [Channel] { channels.withLock { Array($0.values) } }
}

/// Writes a complete response with a fixed body.
func writeResponse(
    context: ChannelHandlerContext, status: HTTPResponseStatus, headers extra: [(String, String)] = [],
    body: ByteBuffer, keepAlive: Bool, version: HTTPVersion = .http1_1
) {
    var headers = HTTPHeaders(extra)
    headers.replaceOrAdd(name: "Content-Length", value: String(body.readableBytes))
    if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
    let head = HTTPResponseHead(version: version, status: status, headers: headers)
    context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
    context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(body))), promise: nil)
    let done = context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)))
    if !keepAlive {
        let channel = context.channel
        done.whenComplete { _ in channel.close(promise: nil) }
    }
}
