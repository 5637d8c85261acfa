import Foundation
import MeshTestSupport
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

@testable import MeshSimRuntime

/// What one curl process saw sending many requests over its connection to a sidecar.
struct KeepAliveTranscript {
    var statuses: [Int: Int] = [:]
    /// Connections curl opened to the proxy over the whole run.
    var connects = 0
    /// Response bodies by text.
    var bodies: [String: Int] = [:]

    var requests: Int { statuses.values.reduce(0, +) }
}

/// Runs one curl process that sends `count` GETs of `url` one after another through `proxy`, reusing its
/// connection as the in-pod load engine does (`curl -K` with one `url` line per request).
func curlKeepAlive(_ url: String, count: Int, proxy: String) throws -> KeepAliveTranscript {
    let config = String(repeating: "url = \"\(url)\"\n", count: count)
    let result = try ChildProcess.run(
        "/usr/bin/curl", ["-sS", "--max-time", "10", "-w", "%{http_code} %{num_connects}\n", "-K", "-"],
        environment: ["PATH": "/usr/bin:/bin", "http_proxy": proxy], stdin: Data(config.utf8), timeout: .deadline(120))
    guard !result.timedOut else { throw TestError("curl did not finish \(count) requests in 120 s") }
    var transcript = KeepAliveTranscript()
    for line in result.stdoutText.split(separator: "\n") {
        let fields = line.split(separator: " ")
        if fields.count == 2, let status = Int(fields[0]), let connects = Int(fields[1]) {
            transcript.statuses[status, default: 0] += 1
            transcript.connects += connects
        } else {
            transcript.bodies[String(line), default: 0] += 1
        }
    }
    return transcript
}

/// Polls `condition` every 20 ms for at most `seconds`; whether it became true.
func eventually(within seconds: Double, _ condition: () -> Bool) async throws -> Bool {
    for _ in 0..<Int(seconds * 50) {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

@Suite struct UpstreamPoolTests {
    /// Four HelloWorld pods, two in each of two clusters joined in a mesh, answering at once.
    struct FourEndpoints {
        let servers: [HelloWorldServer]
        let store = MeshViewStore()
        let faults = RuntimeFaultControl()

        init() async throws {
            var servers: [HelloWorldServer] = []
            for (pod, version) in [("hw-1a", "v1"), ("hw-1b", "v1"), ("hw-2a", "v2"), ("hw-2b", "v2")] {
                servers.append(try await HelloWorldServer.start(podName: pod, version: version, serviceTime: .zero, faults: faults))
            }
            self.servers = servers
            let endpoints = servers.map { server in
                MeshEndpoint(
                    pod: server.podName, cluster: server.version == "v1" ? "cluster-1" : "cluster-2", host: server.host,
                    port: server.port, version: server.version, hasSidecar: true)
            }
            store.set(
                MeshView(clusters: [
                    SidecarProxyTests.cluster(
                        "cluster-1", network: "network1", secrets: ["cluster-2"], endpoints: endpoints.filter { $0.cluster == "cluster-1" }),
                    SidecarProxyTests.cluster(
                        "cluster-2", network: "network2", secrets: ["cluster-1"], endpoints: endpoints.filter { $0.cluster == "cluster-2" }),
                ]))
        }

        func proxy(poolSize: Int = 64, idleTimeout: TimeAmount = .seconds(60)) async throws -> SidecarProxy {
            try await SidecarProxy.start(
                source: ProxySource(cluster: "cluster-1", namespace: "sample", pod: "sleep-x"),
                settings: ProxySettings(mode: .sidecar, upstreamPoolSize: poolSize, upstreamIdleTimeout: idleTimeout),
                view: store, faults: faults)
        }

        var acceptedConnections: Int { servers.map(\.acceptedConnections).reduce(0, +) }
        var openConnections: Int { servers.map(\.openConnections).reduce(0, +) }

        func stop() async {
            for server in servers { await server.stop() }
        }
    }

    /// 2,000 requests over one client connection are balanced one by one over all four endpoints of both
    /// clusters, on a handful of upstream connections that the proxy reuses.
    @Test func keepAliveClientIsBalancedPerRequestOverPooledConnections() async throws {
        let mesh = try await FourEndpoints()
        let proxy = try await mesh.proxy()
        defer {
            Task {
                await proxy.stop()
                await mesh.stop()
            }
        }
        let transcript = try curlKeepAlive("http://helloworld.sample:5000/hello", count: 2_000, proxy: proxy.url)
        #expect(transcript.statuses == [200: 2_000])
        #expect(transcript.connects == 1, "curl should reuse its one connection to the sidecar")
        let expectedBodies = Set(mesh.servers.map { HelloWorldServer.helloBody(version: $0.version, podName: $0.podName).dropLast() }.map(String.init))
        #expect(Set(transcript.bodies.keys) == expectedBodies)
        #expect(transcript.bodies.values.allSatisfy { $0 > 100 }, "every endpoint gets a share: \(transcript.bodies)")
        // One request at a time needs one connection per endpoint; a few more would still be reuse.
        #expect(mesh.acceptedConnections <= 20, "upstream connections: \(mesh.acceptedConnections)")
    }

    /// With the pool off every request opens its own upstream connection, as before pooling.
    @Test func poolSizeZeroConnectsPerRequest() async throws {
        let mesh = try await FourEndpoints()
        let proxy = try await mesh.proxy(poolSize: 0)
        defer {
            Task {
                await proxy.stop()
                await mesh.stop()
            }
        }
        let transcript = try curlKeepAlive("http://helloworld.sample:5000/hello", count: 200, proxy: proxy.url)
        #expect(transcript.statuses == [200: 200] && transcript.connects == 1)
        #expect(mesh.acceptedConnections == 200)
        #expect(try await eventually(within: 5) { mesh.openConnections == 0 })
    }

    /// Stopping the proxy closes its pooled connections; an idle one is closed after the idle timeout.
    @Test func pooledConnectionsCloseOnStopAndWhenIdle() async throws {
        let mesh = try await FourEndpoints()
        defer { Task { await mesh.stop() } }
        let proxy = try await mesh.proxy()
        #expect(try curlKeepAlive("http://helloworld.sample:5000/hello", count: 50, proxy: proxy.url).statuses == [200: 50])
        #expect(mesh.openConnections > 0)
        await proxy.stop()
        #expect(try await eventually(within: 5) { mesh.openConnections == 0 })

        let briefPool = try await mesh.proxy(idleTimeout: .milliseconds(200))
        defer { Task { await briefPool.stop() } }
        #expect(try curlKeepAlive("http://helloworld.sample:5000/hello", count: 50, proxy: briefPool.url).statuses == [200: 50])
        #expect(try await eventually(within: 5) { mesh.openConnections == 0 })
    }

    /// An upstream that closes a kept-alive connection, right after answering or only when the next request
    /// arrives, costs no request: without Envoy retries every request still succeeds.
    @Test(arguments: [true, false])
    func upstreamClosingAnIdleConnectionFailsNoRequest(closesAfterAnswer: Bool) async throws {
        let upstream = try await HTTPListener.start(group: MultiThreadedEventLoopGroup.singleton) {
            OneAnswerPerConnection(closesAfterAnswer: closesAfterAnswer)
        }
        let store = MeshViewStore()
        let endpoint = MeshEndpoint(pod: "once", cluster: "cluster-1", host: upstream.host, port: upstream.port, version: "v1", hasSidecar: true)
        store.set(MeshView(clusters: [SidecarProxyTests.cluster("cluster-1", network: "network1", secrets: [], endpoints: [endpoint])]))
        let proxy = try await SidecarProxy.start(
            source: ProxySource(cluster: "cluster-1", namespace: "sample", pod: "sleep-x"),
            settings: ProxySettings(mode: .sidecar, retries: 0), view: store, faults: RuntimeFaultControl())
        defer {
            Task {
                await proxy.stop()
                await upstream.stop()
            }
        }
        let transcript = try curlKeepAlive("http://helloworld.sample:5000/hello", count: 100, proxy: proxy.url)
        #expect(transcript.statuses == [200: 100], "bodies: \(transcript.bodies)")
        #expect(upstream.acceptedConnections >= 100)
    }
}

/// A keep-alive liar: answers the first request on each connection without `Connection: close`, then closes it,
/// right after the answer or when the next request arrives (the close a pooled connection's next user meets).
final class OneAnswerPerConnection: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let closesAfterAnswer: Bool
    private var answered = false

    init(closesAfterAnswer: Bool) {
        self.closesAfterAnswer = closesAfterAnswer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let request) = unwrapInboundIn(data) else { return }
        guard !answered else {
            context.close(promise: nil)
            return
        }
        answered = true
        var headers = HTTPHeaders([("Content-Length", "5")])
        headers.add(name: "Content-Type", value: "text/plain")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: .ok, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "once\n")))), promise: nil)
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        guard closesAfterAnswer else { return }
        written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}
