// The data plane of one simulated pod: an HTTP forward proxy on 127.0.0.1 that the pod's processes reach
// through `http_proxy`. In sidecar mode it behaves like the pod's Envoy with Istio's defaults: it resolves
// `svc.ns[.svc[.cluster.local]]:port` against the mesh view, applies the cluster's VirtualService and
// DestinationRule (weighted subsets), balances with LEAST_REQUEST (power of two choices), adds cross-cluster
// latency, retries connect failures and 503s twice on other hosts of the chosen destination (Istio's default
// retry policy) and answers with Envoy's texts. Every request is balanced on its own, however many share a
// client connection, and upstream connections are kept alive for reuse (UpstreamPool.swift). In plain mode it
// stands in for kube-proxy for a pod without a sidecar: own-cluster endpoints only, no retries, no added latency.
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// Supplies the current mesh snapshot; MeshSim updates it whenever API objects change.
package protocol MeshViewProvider: Sendable {
    func currentMeshView() -> MeshView
}

/// A thread-safe holder of the latest MeshView.
package final class MeshViewStore: MeshViewProvider, Sendable {
    private let view: Mutex<MeshView>

    package init(_ initial: MeshView = MeshView()) {
        view = Mutex(initial)
    }

    package func currentMeshView() -> MeshView { view.withLock { $0 } }

    package func set(_ newView: MeshView) { view.withLock { $0 = newView } }
}

/// Latency added to every request served by another cluster: `base` plus a uniform draw from
/// `0...jitter`, plus any per-pair fault. Applied once per attempt, before forwarding.
package struct CrossClusterLatency: Equatable, Sendable {
    package var base: Duration
    package var jitter: Duration

    package init(base: Duration = .zero, jitter: Duration = .zero) {
        self.base = base
        self.jitter = jitter
    }
}

package struct ProxySettings: Sendable {
    package enum Mode: Sendable, Equatable {
        /// The pod has an istio-proxy sidecar.
        case sidecar
        /// No sidecar: traffic bypasses the mesh and reaches only the pod's own cluster.
        case plainForwarder
    }

    package var mode: Mode
    package var crossClusterLatency: CrossClusterLatency
    /// Retries after the first attempt (Istio's default is 2; 0 disables).
    package var retries: Int
    /// Envoy's default retry back-off base interval.
    package var retryBackoffBase: Duration
    package var connectTimeout: TimeAmount
    /// Largest upstream response body relayed; larger ones end in 502.
    package var maxResponseBytes: Int
    /// Idle keep-alive connections kept per upstream endpoint (host:port) for later requests, as Envoy's
    /// connection pool keeps them. 0 disables pooling: every attempt opens its own connection and sends
    /// `Connection: close`, which is what the proxy did before it pooled and the baseline `MeshBench
    /// sim-data-plane` measures pooling against.
    package var upstreamPoolSize: Int
    /// How long a pooled connection may sit idle before the proxy closes it. Envoy's default is an hour; a
    /// minute keeps a long-lived simulated mesh from holding descriptors for traffic that has stopped.
    package var upstreamIdleTimeout: TimeAmount

    package init(
        mode: Mode, crossClusterLatency: CrossClusterLatency = CrossClusterLatency(), retries: Int? = nil,
        retryBackoffBase: Duration = .milliseconds(25), connectTimeout: TimeAmount = .seconds(2),
        maxResponseBytes: Int = 16 << 20, upstreamPoolSize: Int = 64, upstreamIdleTimeout: TimeAmount = .seconds(60)
    ) {
        self.mode = mode
        self.crossClusterLatency = crossClusterLatency
        self.retries = retries ?? (mode == .sidecar ? 2 : 0)
        self.retryBackoffBase = retryBackoffBase
        self.connectTimeout = connectTimeout
        self.maxResponseBytes = maxResponseBytes
        self.upstreamPoolSize = max(upstreamPoolSize, 0)
        self.upstreamIdleTimeout = upstreamIdleTimeout
    }
}

/// Where a proxy's traffic comes from.
package struct ProxySource: Equatable, Sendable {
    package var cluster: String
    package var namespace: String
    package var pod: String

    package init(cluster: String, namespace: String, pod: String) {
        self.cluster = cluster
        self.namespace = namespace
        self.pod = pod
    }
}

package final class SidecarProxy: Sendable {
    package let source: ProxySource
    package let settings: ProxySettings
    private let listener: HTTPListener
    private let pool: UpstreamPool

    package var port: Int { listener.port }
    /// The value for the pod's `http_proxy`.
    package var url: String { "http://\(listener.host):\(listener.port)" }

    package static func start(
        source: ProxySource, settings: ProxySettings, view: any MeshViewProvider, faults: RuntimeFaultControl,
        group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> SidecarProxy {
        let pool = UpstreamPool(maxIdlePerAddress: settings.upstreamPoolSize)
        let context = ProxyContext(
            source: source, settings: settings, view: view, faults: faults, balancer: LeastRequestBalancer(), pool: pool,
            outliers: OutlierRegistry())
        let listener = try await HTTPListener.start(group: group) { ForwardProxyHandler(context: context) }
        return SidecarProxy(source: source, settings: settings, listener: listener, pool: pool)
    }

    private init(source: ProxySource, settings: ProxySettings, listener: HTTPListener, pool: UpstreamPool) {
        self.source = source
        self.settings = settings
        self.listener = listener
        self.pool = pool
    }

    /// Closes the listener and its client connections, then every upstream connection, pooled or busy.
    package func stop() async {
        await listener.stop()
        await pool.closeAll()
    }
}

/// Envoy's LEAST_REQUEST with equal weights: draw two distinct hosts at random and take the one with fewer
/// requests in flight (the first drawn on a tie). Hosts already tried by this request are avoided while
/// others remain (Istio's `previous_hosts` retry predicate).
package final class LeastRequestBalancer: Sendable {
    private let active = Mutex<[String: Int]>([:])

    package init() {}

    static func key(_ endpoint: MeshEndpoint) -> String { "\(endpoint.cluster)/\(endpoint.pod)" }

    /// Pure choice, given in-flight counts and a random source.
    package static func choose<Generator: RandomNumberGenerator>(
        from candidates: [MeshEndpoint], activeRequests: (MeshEndpoint) -> Int, using generator: inout Generator
    ) -> MeshEndpoint? {
        guard !candidates.isEmpty else { return nil }
        if candidates.count == 1 { return candidates[0] }
        let first = Int.random(in: 0..<candidates.count, using: &generator)
        var second = Int.random(in: 0..<(candidates.count - 1), using: &generator)
        if second >= first { second += 1 }
        let a = candidates[first]
        let b = candidates[second]
        return activeRequests(b) < activeRequests(a) ? b : a
    }

    /// Picks and counts the endpoint as in flight until `finish` is called.
    func begin(from endpoints: [MeshEndpoint], avoiding tried: Set<String>) -> MeshEndpoint? {
        let fresh = endpoints.filter { !tried.contains(Self.key($0)) }
        let candidates = fresh.isEmpty ? endpoints : fresh
        return active.withLock { counts in
            var generator = SystemRandomNumberGenerator()
            guard let chosen = Self.choose(from: candidates, activeRequests: { counts[Self.key($0), default: 0] }, using: &generator)
            else { return nil }
            counts[Self.key(chosen), default: 0] += 1
            return chosen
        }
    }

    func finish(_ endpoint: MeshEndpoint) {
        active.withLock { counts in
            let key = Self.key(endpoint)
            let remaining = counts[key, default: 1] - 1
            counts[key] = remaining > 0 ? remaining : nil
        }
    }
}

/// What every connection of one proxy shares.
struct ProxyContext: Sendable {
    var source: ProxySource
    var settings: ProxySettings
    var view: any MeshViewProvider
    var faults: RuntimeFaultControl
    var balancer: LeastRequestBalancer
    var pool: UpstreamPool
    var outliers: OutlierRegistry
}

/// The Envoy cluster a request was routed to and how its hosts are balanced: the DestinationRule's policy, and
/// the locality layout of its endpoints relative to this proxy.
struct UpstreamChoice {
    var cluster: String
    var policy: TrafficPolicyRule?
    var layout: LocalityLayout

    /// A request that bypasses Envoy's outbound clusters (loopback, a pod without a sidecar).
    static let direct = UpstreamChoice(cluster: "", policy: nil, layout: .flat)
}

/// The absolute-form target of a proxied request.
struct ProxyTarget: Equatable {
    var host: String
    var port: Int
    var pathAndQuery: String

    /// `http://host[:port]/path` (absolute form, as curl sends to a proxy) or origin form with a Host header.
    static func parse(uri: String, hostHeader: String?) -> ProxyTarget? {
        var authority: Substring
        var path: Substring
        if uri.lowercased().hasPrefix("http://") {
            let rest = uri.dropFirst("http://".count)
            if let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) {
                authority = rest[..<slash]
                path = rest[slash...]
            } else {
                authority = rest
                path = "/"
            }
        } else if uri.hasPrefix("/"), let hostHeader {
            authority = Substring(hostHeader)
            path = Substring(uri)
        } else {
            return nil
        }
        if path.first == "?" { path = "/" + path }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var host = authority
        var port = 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                guard let parsed = Int(after.dropFirst()) else { return nil }
                port = parsed
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let parsed = Int(authority[authority.index(after: colon)...]) else { return nil }
            port = parsed
        }
        guard !host.isEmpty, (1...65535).contains(port) else { return nil }
        return ProxyTarget(host: String(host), port: port, pathAndQuery: String(path))
    }

    /// Loopback destinations are passed straight through (nothing else exists on this machine).
    var isLoopback: Bool {
        let lower = host.lowercased()
        return lower == "localhost" || lower.hasPrefix("127.") || lower == "::1"
    }
}

/// An upstream's complete response.
struct UpstreamResponse {
    var head: HTTPResponseHead
    var body: ByteBuffer
}

enum UpstreamFailure: Error {
    case connectFailed(errno: Int32?)
    case resetBeforeHeaders
    case responseTooLarge
    /// A pooled connection ended before answering its next request: the upstream closed it while it was idle.
    case closedWhileIdle
}

/// One client connection to the proxy. Lives on that connection's event loop.
final class ForwardProxyHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private static let maxRequestBody = 1 << 20
    private let context: ProxyContext
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var bodyTooLarge = false

    init(context: ProxyContext) {
        self.context = context
    }

    func channelRead(context channelContext: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
            bodyTooLarge = false
        case .body(var chunk):
            if body.readableBytes + chunk.readableBytes > Self.maxRequestBody {
                bodyTooLarge = true
            } else {
                body.writeBuffer(&chunk)
            }
        case .end:
            guard let head else { return }
            self.head = nil
            handle(head, context: channelContext)
        }
    }

    private func handle(_ head: HTTPRequestHead, context channelContext: ChannelHandlerContext) {
        let keepAlive = head.isKeepAlive
        if bodyTooLarge {
            respondPlain(channelContext, .payloadTooLarge, "request body too large\n", keepAlive: false)
            return
        }
        if head.method == .CONNECT {
            respondPlain(channelContext, .methodNotAllowed, "CONNECT is not supported by the simulated proxy\n", keepAlive: false)
            return
        }
        guard let target = ProxyTarget.parse(uri: head.uri, hostHeader: head.headers.first(name: "Host")) else {
            respondPlain(channelContext, .badRequest, "bad request target\n", keepAlive: false)
            return
        }
        if target.isLoopback, target.port == EnvoyAdmin.port {
            answerAdmin(head, target: target, context: channelContext)
            return
        }
        if target.isLoopback {
            let loopback = MeshEndpoint(
                pod: target.host, cluster: context.source.cluster, host: target.host,
                port: target.port, version: nil, hasSidecar: false)
            forward(head, target: target, endpoints: [loopback], upstream: .direct, attempt: 0, tried: [], context: channelContext)
            return
        }
        var headers: [String: String] = [:]
        for (name, value) in head.headers { headers[name.lowercased()] = value }
        let request = MeshRequest(
            host: target.host, port: target.port, path: target.pathAndQuery,
            method: head.method.rawValue, headers: headers)
        var generator = SystemRandomNumberGenerator()
        let sidecar = context.settings.mode == .sidecar
        let view = context.view.currentMeshView()
        let routed = MeshRouting.route(
            request, sourceCluster: context.source.cluster, sourceNamespace: context.source.namespace,
            sourceHasSidecar: sidecar, in: view, using: &generator)
        if sidecar, let fault = routed.fault {
            let (delay, abortStatus) = fault.draw(using: &generator)
            let proceed = {
                if let abortStatus {
                    self.respondPlain(
                        channelContext, HTTPResponseStatus(statusCode: abortStatus), HTTPFaultRule.abortBody, keepAlive: keepAlive)
                } else {
                    self.act(on: routed, head: head, target: target, view: view, context: channelContext)
                }
            }
            if delay > .zero {
                channelContext.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(delay)) { proceed() }
            } else {
                proceed()
            }
            return
        }
        act(on: routed, head: head, target: target, view: view, context: channelContext)
    }

    /// Answers a routing decision, or forwards the request when it names endpoints.
    private func act(
        on routed: RoutedRequest, head: HTTPRequestHead, target: ProxyTarget, view: MeshView, context channelContext: ChannelHandlerContext
    ) {
        let keepAlive = head.isKeepAlive
        let sidecar = context.settings.mode == .sidecar
        switch routed.decision {
        case .notAService:
            respondPlain(channelContext, .badGateway, "could not resolve host: \(target.host)\n", keepAlive: keepAlive)
        case .noHealthyUpstream:
            respondPlain(
                channelContext, .serviceUnavailable,
                sidecar ? "no healthy upstream" : "no endpoints available for service \(target.host)\n",
                keepAlive: keepAlive)
        case .clusterNotFound:
            respondPlain(channelContext, .serviceUnavailable, "", keepAlive: keepAlive)
        case .routeNotFound:
            respondPlain(channelContext, .notFound, "", keepAlive: keepAlive)
        case .forward(_, let endpoints):
            var upstream = UpstreamChoice.direct
            if let cluster = routed.upstreamCluster {
                let client = view.localityClient(
                    cluster: context.source.cluster, namespace: context.source.namespace, pod: context.source.pod)
                let layout = LocalityBalancing.layout(
                    endpoints: endpoints.map(\.locality), labels: endpoints.map(view.topologyLabels(of:)), client: client,
                    policy: routed.trafficPolicy)
                upstream = UpstreamChoice(cluster: cluster, policy: routed.trafficPolicy, layout: layout)
            }
            forward(head, target: target, endpoints: endpoints, upstream: upstream, attempt: 0, tried: [], context: channelContext)
        }
    }

    /// The pod's own localhost:15000: Envoy's admin endpoint in a sidecar (read-only `GET /clusters`, as
    /// text or `?format=json`); in a pod without a sidecar nothing listens there, so the connection fails.
    private func answerAdmin(_ head: HTTPRequestHead, target: ProxyTarget, context channelContext: ChannelHandlerContext) {
        guard context.settings.mode == .sidecar else {
            respondPlain(channelContext, .badGateway, "connection to the endpoint failed\n", keepAlive: false)
            return
        }
        let path = target.pathAndQuery.prefix { $0 != "?" }
        let query = target.pathAndQuery.drop { $0 != "?" }.dropFirst().split(separator: "&")
        guard path == "/clusters" else {
            respondPlain(channelContext, .notFound, "invalid path. admin commands are:\n  /clusters: upstream cluster status\n", keepAlive: head.isKeepAlive)
            return
        }
        guard head.method == .GET else {
            respondPlain(channelContext, .methodNotAllowed, "Method Not Allowed\n", keepAlive: head.isKeepAlive)
            return
        }
        let clusters = EnvoyAdmin.clusters(source: context.source, in: context.view.currentMeshView(), ejected: context.outliers.ejected())
        let json = query.contains("format=json")
        let body = json ? EnvoyAdmin.json(clusters) : EnvoyAdmin.text(clusters)
        writeResponse(
            context: channelContext, status: .ok,
            headers: [
                ("content-type", json ? "application/json" : "text/plain; charset=UTF-8"), ("cache-control", "no-cache, max-age=0"),
                ("x-content-type-options", "nosniff"), ("server", "envoy"),
            ],
            body: ByteBuffer(string: body), keepAlive: head.isKeepAlive, version: head.version)
    }

    /// One attempt: pick (the priority or locality by health, then the host), wait the cross-cluster latency,
    /// send, count the outcome for outlier detection, then relay or retry.
    private func forward(
        _ head: HTTPRequestHead, target: ProxyTarget, endpoints: [MeshEndpoint], upstream: UpstreamChoice, attempt: Int,
        tried: Set<String>, context channelContext: ChannelHandlerContext
    ) {
        let settings = context.settings
        let outlierRule = upstream.policy?.outlierDetection
        let hosts = endpoints.map(LeastRequestBalancer.key)
        let healthy = context.outliers.healthy(cluster: upstream.cluster, rule: outlierRule, hosts: hosts)
        var generator = SystemRandomNumberGenerator()
        let candidates = LocalityBalancing.candidates(layout: upstream.layout, healthy: healthy, using: &generator).map { endpoints[$0] }
        guard let endpoint = context.balancer.begin(from: candidates.isEmpty ? endpoints : candidates, avoiding: tried) else { return }
        let latency = addedLatency(to: endpoint)
        let eventLoop = channelContext.eventLoop
        let started = NIODeadline.now()
        let requestBody = body
        let response: EventLoopFuture<UpstreamResponse>
        if latency > .zero {
            let delayed = eventLoop.makePromise(of: UpstreamResponse.self)
            eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(latency)) {
                delayed.completeWith(self.sendUpstream(head, body: requestBody, target: target, endpoint: endpoint, eventLoop: eventLoop))
            }
            response = delayed.futureResult
        } else {
            response = sendUpstream(head, body: requestBody, target: target, endpoint: endpoint, eventLoop: eventLoop)
        }
        response.assumeIsolated().whenComplete { result in
            self.context.balancer.finish(endpoint)
            let retriable: Bool
            switch result {
            case .success(let answer):
                retriable = answer.head.status == .serviceUnavailable
                self.context.outliers.record(
                    .response(status: Int(answer.head.status.code)), cluster: upstream.cluster, rule: outlierRule,
                    host: LeastRequestBalancer.key(endpoint), hostCount: endpoints.count)
            case .failure(UpstreamFailure.responseTooLarge): retriable = false
            case .failure:
                retriable = true
                self.context.outliers.record(
                    .localFailure, cluster: upstream.cluster, rule: outlierRule, host: LeastRequestBalancer.key(endpoint),
                    hostCount: endpoints.count)
            }
            if retriable && attempt < settings.retries {
                let backoff = Self.retryBackoff(base: settings.retryBackoffBase, retryNumber: attempt + 1)
                eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(backoff)) {
                    self.forward(
                        head, target: target, endpoints: endpoints, upstream: upstream, attempt: attempt + 1,
                        tried: tried.union([LeastRequestBalancer.key(endpoint)]), context: channelContext)
                }
                return
            }
            let elapsedMs = (NIODeadline.now() - started).nanoseconds / 1_000_000
            self.relay(result, head: head, retried: attempt > 0, upstreamMilliseconds: elapsedMs, context: channelContext)
        }
    }

    /// Envoy's back-off: uniform in [0, (2^k − 1) × base] for the k-th retry.
    static func retryBackoff(base: Duration, retryNumber: Int) -> Duration {
        let ceiling = base * ((1 << min(retryNumber, 10)) - 1)
        let fraction = Double.random(in: 0...1)
        return ceiling * fraction
    }

    /// The configured cross-cluster latency for remote endpoints, plus any pair fault (which may also name
    /// a cluster with itself, to slow local traffic).
    private func addedLatency(to endpoint: MeshEndpoint) -> Duration {
        let fault = context.faults.current.extraLatency(from: context.source.cluster, to: endpoint.cluster)
        guard endpoint.cluster != context.source.cluster else { return fault }
        let latency = context.settings.crossClusterLatency
        let jitter = latency.jitter > .zero ? latency.jitter * Double.random(in: 0...1) : .zero
        return latency.base + jitter + fault
    }

    private func sendUpstream(
        _ head: HTTPRequestHead, body: ByteBuffer, target: ProxyTarget, endpoint: MeshEndpoint, eventLoop: any EventLoop
    ) -> EventLoopFuture<UpstreamResponse> {
        let promise = eventLoop.makePromise(of: UpstreamResponse.self)
        let pair = ClusterPair(source: context.source.cluster, target: endpoint.cluster)
        if endpoint.cluster != context.source.cluster, context.faults.current.blockedGateways.contains(pair) {
            // Packets to the gateway are dropped: the connect attempt ends at the connect timeout (ETIMEDOUT).
            eventLoop.scheduleTask(in: context.settings.connectTimeout) { promise.fail(UpstreamFailure.connectFailed(errno: 110)) }
            return promise.futureResult
        }
        let request = upstreamRequest(head, bodyBytes: body.readableBytes, target: target)
        let address = UpstreamAddress(host: endpoint.host, port: endpoint.port)
        exchange(request, body: body, address: address, mayReuse: true, eventLoop: eventLoop, promise: promise)
        return promise.futureResult
    }

    /// The request as the upstream gets it: origin form, hop-by-hop headers dropped, `Connection: close` only
    /// when the connection will not be reused.
    private func upstreamRequest(_ head: HTTPRequestHead, bodyBytes: Int, target: ProxyTarget) -> HTTPRequestHead {
        var upstreamHead = HTTPRequestHead(version: .http1_1, method: head.method, uri: target.pathAndQuery)
        for (name, value) in head.headers where !Self.isHopByHop(name) {
            upstreamHead.headers.add(name: name, value: value)
        }
        if !upstreamHead.headers.contains(name: "Host") {
            upstreamHead.headers.add(name: "Host", value: target.port == 80 ? target.host : "\(target.host):\(target.port)")
        }
        if context.pool.maxIdlePerAddress == 0 { upstreamHead.headers.replaceOrAdd(name: "Connection", value: "close") }
        if bodyBytes > 0 { upstreamHead.headers.replaceOrAdd(name: "Content-Length", value: String(bodyBytes)) }
        return upstreamHead
    }

    /// Sends the request on a pooled connection to `address` when one is idle on this loop, else on a new one.
    private func exchange(
        _ request: HTTPRequestHead, body: ByteBuffer, address: UpstreamAddress, mayReuse: Bool, eventLoop: any EventLoop,
        promise: EventLoopPromise<UpstreamResponse>
    ) {
        if mayReuse, let pooled = context.pool.checkOut(address) {
            let answer = eventLoop.makePromise(of: UpstreamResponse.self)
            Self.send(request, body: body, on: pooled, isPooled: true, promise: answer)
            answer.futureResult.assumeIsolated().whenComplete { result in
                guard case .failure(UpstreamFailure.closedWhileIdle) = result else {
                    promise.completeWith(result)
                    return
                }
                // Not the request's failure but the pool's (the upstream's close had not been read yet): one more
                // try on a new connection, outside the retry budget, as Envoy's pool does for a stale connection.
                self.exchange(request, body: body, address: address, mayReuse: false, eventLoop: eventLoop, promise: promise)
            }
            return
        }
        let pool = context.pool
        let limit = context.settings.maxResponseBytes
        let idleTimeout = context.settings.upstreamIdleTimeout
        ClientBootstrap(group: eventLoop)
            .connectTimeout(context.settings.connectTimeout)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handlers = channel.pipeline.syncOperations
                    try handlers.addHTTPClientHandlers()
                    if pool.maxIdlePerAddress > 0 { try handlers.addHandler(IdleStateHandler(readTimeout: idleTimeout)) }
                    try handlers.addHandler(UpstreamConnection(address: address, pool: pool, limit: limit))
                }
            }
            .connect(host: address.host, port: address.port)
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    guard pool.register(channel, address: address) else {
                        // The proxy stopped while this connection was being made.
                        channel.close(promise: nil)
                        promise.fail(UpstreamFailure.resetBeforeHeaders)
                        return
                    }
                    Self.send(request, body: body, on: channel, isPooled: false, promise: promise)
                case .failure(let error):
                    promise.fail(UpstreamFailure.connectFailed(errno: (error as? IOError)?.errnoCode))
                }
            }
    }

    /// Hands the request to the connection's handler; `channel` lives on the calling event loop.
    private static func send(
        _ request: HTTPRequestHead, body: ByteBuffer, on channel: any Channel, isPooled: Bool,
        promise: EventLoopPromise<UpstreamResponse>
    ) {
        do {
            try channel.pipeline.syncOperations.handler(type: UpstreamConnection.self).send(request, body: body, promise: promise)
        } catch {
            // The handler is gone only when the channel closed.
            promise.fail(isPooled ? UpstreamFailure.closedWhileIdle : UpstreamFailure.resetBeforeHeaders)
        }
    }

    private func relay(
        _ result: Result<UpstreamResponse, Error>, head: HTTPRequestHead, retried: Bool, upstreamMilliseconds: Int64,
        context channelContext: ChannelHandlerContext
    ) {
        let keepAlive = head.isKeepAlive
        let sidecar = context.settings.mode == .sidecar
        switch result {
        case .success(let upstream):
            var headers: [(String, String)] = upstream.head.headers.filter {
                !Self.isHopByHop($0.name) && $0.name.lowercased() != "content-length" && $0.name.lowercased() != "server"
            }
            if sidecar {
                headers.append(("x-envoy-upstream-service-time", String(upstreamMilliseconds)))
                headers.append(("server", "envoy"))
            } else if let server = upstream.head.headers.first(name: "Server") {
                headers.append(("Server", server))
            }
            writeResponse(
                context: channelContext, status: upstream.head.status, headers: headers, body: upstream.body,
                keepAlive: keepAlive, version: head.version)
        case .failure(UpstreamFailure.responseTooLarge):
            respondPlain(channelContext, .badGateway, "upstream response larger than \(context.settings.maxResponseBytes) bytes\n", keepAlive: false)
        case .failure(let failure):
            guard sidecar else {
                respondPlain(channelContext, .badGateway, "connection to the endpoint failed\n", keepAlive: keepAlive)
                return
            }
            let reason: String
            switch failure {
            case UpstreamFailure.connectFailed(let code):
                reason = "remote connection failure, transport failure reason: delayed connect error: \(code.map(String.init) ?? "110")"
            default:
                reason = "connection termination"
            }
            let text =
                "upstream connect error or disconnect/reset before headers. "
                + (retried ? "retried and the latest reset reason: " : "reset reason: ") + reason
            respondPlain(channelContext, .serviceUnavailable, text, keepAlive: keepAlive)
        }
    }

    private func respondPlain(_ channelContext: ChannelHandlerContext, _ status: HTTPResponseStatus, _ text: String, keepAlive: Bool) {
        var headers: [(String, String)] = [("content-type", "text/plain")]
        if context.settings.mode == .sidecar { headers.append(("server", "envoy")) }
        writeResponse(
            context: channelContext, status: status, headers: headers, body: ByteBuffer(string: text),
            keepAlive: keepAlive, version: head?.version ?? .http1_1)
    }

    static func isHopByHop(_ name: String) -> Bool {
        switch name.lowercased() {
        case "connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate", "te",
            "trailer", "transfer-encoding", "upgrade":
            return true
        default:
            return false
        }
    }
}
