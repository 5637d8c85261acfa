// One simulated cluster at run time: its state behind a lock, the controller timer, and the HTTPS API server
// (TLS with optional client certificates, authentication, REST, watch streams, the exec upgrade).

import Crypto
import Foundation
import MeshSimRuntime
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import X509

final class SimulatedCluster: @unchecked Sendable {
    let identity: ClusterIdentity
    let credentials: ClusterCredentials
    let apiFaults: APIFaultState
    let runtime: RuntimeBridge
    let eventLoop: EventLoop

    private let lock = NIOLock()
    /// Guarded by `lock`.
    private var state: ClusterState
    /// Guarded by `lock`: when the controller pass is next due, and its timer.
    private var reconcileDue: Double?
    private var reconcileTimer: Scheduled<Void>?
    private var stopped = false
    /// Guarded by `lock`: the clusters whose sidecars this cluster's istiod configures (a primary's remotes),
    /// which get the root CA it publishes, as istiod writes istio-ca-root-cert into its remotes.
    private var remotes: [SimulatedCluster] = []

    private(set) var serverChannel: Channel?
    private(set) var port = 0

    init(state: ClusterState, credentials: ClusterCredentials, runtime: RuntimeBridge, eventLoop: EventLoop, seed: UInt64) {
        self.identity = state.identity
        self.state = state
        self.credentials = credentials
        self.runtime = runtime
        self.eventLoop = eventLoop
        self.apiFaults = APIFaultState(seed: seed)
    }

    static func now() -> Double { Date().timeIntervalSince1970 }

    var serverURL: String { "https://127.0.0.1:\(port)" }

    /// A second address of the same API server (`--private-endpoints`), like a private cluster's internal
    /// endpoint: the peers' remote secrets name it, the written kubeconfig does not.
    var privateAddress: String?
    private(set) var privatePort = 0
    private var privateChannel: Channel?

    /// The endpoint the peers' control planes reach this cluster at (what their remote secrets name).
    var discoveryServerURL: String { privateAddress.map { "https://\($0):\(privatePort)" } ?? serverURL }

    /// Runs `body` on the locked state, then lets the controllers react and the runtime act.
    func withState<T>(_ body: (inout ClusterState) throws -> T) rethrows -> T {
        let (result, actions, root) = try lock.withLock { () throws -> (T, [PodRuntimeAction], RootChange?) in
            let before = state.meshRootCertificatePEM
            let result = try body(&state)
            return (result, state.takeRuntimeActions(), rootChange(from: before))
        }
        performRuntime(actions)
        publishToRemotes(root)
        scheduleReconcile(at: Self.now())
        return result
    }

    func setRemotes(_ remotes: [SimulatedCluster]) { lock.withLock { self.remotes = remotes } }

    /// The new root and who must get it, when the locked state's root moved away from `before`.
    private struct RootChange {
        var pem: String
        var remotes: [SimulatedCluster]
    }

    private func rootChange(from before: String) -> RootChange? {
        state.meshRootCertificatePEM == before || remotes.isEmpty ? nil : RootChange(pem: state.meshRootCertificatePEM, remotes: remotes)
    }

    /// Outside the lock: each remote takes its own lock.
    private func publishToRemotes(_ change: RootChange?) {
        guard let change else { return }
        for remote in change.remotes { remote.withState { $0.meshRootCertificatePEM = change.pem } }
    }

    func read<T>(_ body: (ClusterState) -> T) -> T { lock.withLock { body(state) } }

    /// What the pod behind a `pods/<name>/proxy` request answers; istiod's view needs the peers' servers.
    func answerProxy(_ target: ProxyTarget) -> APIResponse {
        let peerServers = runtime.meshView.peerServers()
        return read { IstiodDebug.answer(target, state: $0, peerServers: peerServers) }
    }

    /// What the simulator answers itself for an exec the container image provides and this machine does not.
    func builtinAnswer(_ target: ExecTarget) -> ExecBuiltinAnswer? {
        guard IstiodDebug.isRequestCommand(target) else { return nil }
        let peerServers = runtime.meshView.peerServers()
        return read { IstiodDebug.answerRequestCommand(target, state: $0, peerServers: peerServers) }
    }

    private func performRuntime(_ actions: [PodRuntimeAction]) {
        if actions.isEmpty { return }
        runtime.perform(
            actions,
            podStarted: { [weak self] uid in
                self?.withState { $0.markPodReady(uid: uid, now: SimulatedCluster.now()) }
            },
            podFailed: { [weak self] uid, message in
                self?.withState { $0.markPodFailed(uid: uid, message: message, now: SimulatedCluster.now()) }
            })
    }

    private func scheduleReconcile(at due: Double) {
        lock.withLock {
            if stopped { return }
            if let current = reconcileDue, current <= due { return }
            reconcileTimer?.cancel()
            reconcileDue = due
            let delay = max(0, due - Self.now())
            reconcileTimer = eventLoop.scheduleTask(in: .microseconds(Int64(delay * 1_000_000))) { [self] in
                runReconcile()
            }
        }
    }

    func runReconcile() {
        let (next, actions, root) = lock.withLock { () -> (Double?, [PodRuntimeAction], RootChange?) in
            reconcileDue = nil
            reconcileTimer = nil
            if stopped { return (nil, [], nil) }
            let before = state.meshRootCertificatePEM
            let next = state.reconcile(now: Self.now())
            return (next, state.takeRuntimeActions(), rootChange(from: before))
        }
        performRuntime(actions)
        publishToRemotes(root)
        if let next { scheduleReconcile(at: next) }
    }

    // MARK: Serving

    func start(group: EventLoopGroup) async throws {
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(try NIOSSLCertificate(bytes: Array(credentials.server.certificatePEM.utf8), format: .pem))],
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(credentials.server.privateKeyPEM.utf8), format: .pem)))
        tls.certificateVerification = .optionalVerification
        tls.trustRoots = .certificates([
            try NIOSSLCertificate(bytes: Array(credentials.authority.certificatePEM.utf8), format: .pem)
        ])
        tls.applicationProtocols = ["http/1.1"]
        let sslContext = try NIOSSLContext(configuration: tls)
        let cluster = self
        let bootstrap = ServerBootstrap(group: group)
            // As deep as the kernel allows (it caps the value at net.core.somaxconn), like Go's listeners and so
            // kube-apiserver: a thousand exec sessions opened at once must not overflow the accept queue, whose
            // dropped handshakes come back as multi-second SYN retransmits and connection resets.
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Presented client certificates are checked by APIConnectionHandler against the cluster CA,
                    // so an unknown certificate gets a 401 Status like a real API server, not a TLS alert.
                    let tlsHandler = NIOSSLServerHandler(context: sslContext) { _, promise in
                        promise.succeed(.certificateVerified)
                    }
                    try channel.pipeline.syncOperations.addHandler(tlsHandler)
                    let decoder = ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes))
                    try channel.pipeline.syncOperations.addHandler(decoder, name: "http-decoder")
                    try channel.pipeline.syncOperations.addHandler(HTTPResponseEncoder(), name: "http-encoder")
                    try channel.pipeline.syncOperations.addHandler(APIConnectionHandler(cluster: cluster), name: "api")
                }
            }
        let channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        serverChannel = channel
        port = channel.localAddress?.port ?? 0
        if let privateAddress {
            let second = try await bootstrap.bind(host: privateAddress, port: 0).get()
            privateChannel = second
            privatePort = second.localAddress?.port ?? 0
        }
        runReconcile()
    }

    func stop() async {
        lock.withLock {
            stopped = true
            reconcileTimer?.cancel()
            reconcileTimer = nil
        }
        try? await serverChannel?.close()
        try? await privateChannel?.close()
    }

    // MARK: Authentication

    enum Identity: Equatable {
        case user(String)
        case anonymous, rejected
    }

    func authenticate(authorization: String?, peerCertificate: Certificate?) -> Identity {
        if let authorization {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                return Self.constantTimeEqual(String(parts[1]), credentials.bearerToken)
                    ? .user("meshsim-token-admin") : .rejected
            }
            return .rejected
        }
        if let peerCertificate {
            guard credentials.authority.verifies(peerCertificate) else { return .rejected }
            return .user(peerCertificate.subjectValues(.RDNAttributeType.commonName).first ?? "")
        }
        return .anonymous
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let left = Array(a.utf8)
        let right = Array(b.utf8)
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }
}

/// Collects bytes that arrive between the 101 and the exec session taking over the channel.
final class UpgradeByteBuffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    private var pending: [ByteBuffer] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        pending.append(unwrapInboundIn(data))
    }

    func release(context: ChannelHandlerContext) {
        for buffer in pending { context.fireChannelRead(wrapInboundOut(buffer)) }
        pending = []
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    typealias InboundOut = ByteBuffer
}

final class APIConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let cluster: SimulatedCluster
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var peerCertificate: Certificate??
    private var activeWatch: Int?
    private var watchTimer: Scheduled<Void>?
    /// Cleared when the watch ends, so live events still queued for this connection are dropped.
    private var watchStreaming: NIOLockedValueBox<Bool>?
    private var upgrading = false

    init(cluster: SimulatedCluster) { self.cluster = cluster }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if upgrading { return }
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body = nil
        case .body(var chunk):
            if body == nil { body = chunk } else { body!.writeBuffer(&chunk) }
        case .end:
            guard let requestHead = head else { return }
            head = nil
            let bytes = body.map { Array($0.readableBytesView) } ?? []
            body = nil
            serve(context: context, head: requestHead, body: bytes)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        endWatch()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    private func endWatch() {
        watchTimer?.cancel()
        watchTimer = nil
        watchStreaming?.withLockedValue { $0 = false }
        watchStreaming = nil
        if let id = activeWatch {
            activeWatch = nil
            cluster.withState { $0.removeWatch(id) }
        }
    }

    private func clientCertificate(context: ChannelHandlerContext) -> Certificate? {
        if let cached = peerCertificate { return cached }
        let handler = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)
        let certificate = (handler?.peerCertificate).flatMap { try? Certificate(derEncoded: $0.toDERBytes()) }
        peerCertificate = .some(certificate)
        return certificate
    }

    private func serve(context: ChannelHandlerContext, head: HTTPRequestHead, body: [UInt8]) {
        var headers: [String: String] = [:]
        for (name, value) in head.headers where headers[name.lowercased()] == nil { headers[name.lowercased()] = value }
        let identity = cluster.authenticate(
            authorization: headers["authorization"], peerCertificate: clientCertificate(context: context))
        let keepAlive = head.isKeepAlive
        guard case .user(let user) = identity else {
            respond(context: context, .error(.unauthorized), keepAlive: keepAlive, head: head)
            return
        }
        let request = APIRequest(method: head.method.rawValue, uri: head.uri, headers: headers, body: body, user: user)
        let isExec = request.path.hasSuffix("/exec")
        if !isExec {
            let (decision, faults) = cluster.apiFaults.decide()
            switch decision {
            case .serve: break
            case .drop:
                context.close(promise: nil)
                return
            case .throttle:
                respond(
                    context: context, .error(.tooManyRequests(retryAfter: faults.retryAfterSeconds)),
                    keepAlive: keepAlive, head: head)
                return
            case .serverError:
                let error =
                    faults.serverErrorCode == 500
                    ? APIError.internalError("injected fault")
                    : APIError.serviceUnavailable("injected fault: the server is currently unable to handle the request")
                respond(context: context, .error(error), keepAlive: keepAlive, head: head)
                return
            }
        }
        let address = "127.0.0.1:\(cluster.port)"
        let outcome = cluster.withState { $0.handle(request, now: SimulatedCluster.now(), serverAddress: address) }
        switch outcome {
        case .response(let response):
            respond(context: context, response, keepAlive: keepAlive, head: head)
        case .watch(let watch):
            startWatch(context: context, watch)
        case .exec(let target):
            upgradeExec(context: context, head: head, headers: headers, target: target)
        case .proxy(let target):
            respond(context: context, cluster.answerProxy(target), keepAlive: keepAlive, head: head)
        }
    }

    private func respond(context: ChannelHandlerContext, _ response: APIResponse, keepAlive: Bool, head: HTTPRequestHead? = nil) {
        var responseHead = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: response.status))
        for (name, value) in response.headers { responseHead.headers.add(name: name, value: value) }
        responseHead.headers.add(name: "Content-Length", value: String(response.body.count))
        responseHead.headers.add(name: "Cache-Control", value: "no-cache, private")
        if !keepAlive { responseHead.headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        if head?.method != .HEAD && !response.body.isEmpty {
            var buffer = context.channel.allocator.buffer(capacity: response.body.count)
            buffer.writeBytes(response.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    // MARK: Watch

    private func startWatch(context: ChannelHandlerContext, _ watch: WatchRequest) {
        let channel = context.channel
        let streaming = NIOLockedValueBox(true)
        watchStreaming = streaming
        let encode: @Sendable (JSON) -> HTTPServerResponsePart = { event in
            var event = event
            if watch.table, event["type"] != "ERROR" {
                event["object"] = Tables.table(
                    for: watch.resource, objects: [event["object"]], listMeta: .null,
                    now: SimulatedCluster.now(), includeObject: watch.includeObject)
            }
            var buffer = channel.allocator.buffer(capacity: 512)
            buffer.writeString(event.serialized())
            buffer.writeString("\n")
            return .body(.byteBuffer(buffer))
        }
        // Live events arrive with the cluster state locked: only enqueue, so a failing write that closes the
        // channel cannot re-enter the lock; events queued after the watch ended are dropped.
        let send: @Sendable (JSON) -> Void = { event in
            let part = encode(event)
            channel.eventLoop.execute {
                if streaming.withLockedValue({ $0 }) { channel.writeAndFlush(part, promise: nil) }
            }
        }
        let registration = cluster.withState {
            $0.addWatch(
                resource: watch.resource, namespace: watch.namespace, labelSelector: watch.labelSelector,
                fieldSelector: watch.fieldSelector, resourceVersion: watch.resourceVersion, send: send)
        }
        var responseHead = HTTPResponseHead(version: .http1_1, status: .ok)
        responseHead.headers.add(name: "Content-Type", value: "application/json")
        responseHead.headers.add(name: "Cache-Control", value: "no-cache, private")
        responseHead.headers.add(name: "Transfer-Encoding", value: "chunked")
        switch registration {
        case .failure(let error):
            watchStreaming = nil
            if error.code == 410 {
                // As the watch cache does: a 200 stream carrying one ERROR event with the Expired Status.
                context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
                context.write(wrapOutboundOut(encode(["type": "ERROR", "object": error.status])), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            } else {
                respond(context: context, .error(error), keepAlive: true)
            }
        case .success(let (id, initial)):
            activeWatch = id
            // Head and initial events are written now, before any queued live event runs on this loop.
            context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
            for event in initial { context.write(wrapOutboundOut(encode(event)), promise: nil) }
            context.flush()
            let timeout = watch.timeoutSeconds.map { max(1, min($0, 3600)) } ?? 1800
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            watchTimer = context.eventLoop.scheduleTask(in: .seconds(Int64(timeout))) {
                let (handler, context) = bound.value
                handler.endWatch()
                context.writeAndFlush(handler.wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }

    // MARK: Exec upgrade (docs/PROTOCOL-NOTES.md §A2, §A8)

    private func upgradeExec(
        context: ChannelHandlerContext, head: HTTPRequestHead, headers: [String: String],
        target: ExecTarget
    ) {
        let keepAlive = head.isKeepAlive
        let upgrade = headers["upgrade"]?.lowercased() ?? ""
        let connection = headers["connection"]?.lowercased() ?? ""
        guard connection.contains("upgrade"), !upgrade.isEmpty else {
            respond(context: context, .error(.badRequest("Upgrade request required")), keepAlive: keepAlive, head: head)
            return
        }
        guard upgrade == "websocket" else {
            respond(
                context: context,
                .error(
                    .badRequest(
                        "unable to upgrade: \(upgrade) is not supported by the simulated API server; use WebSocket "
                            + "(v5.channel.k8s.io or v4.channel.k8s.io)")), keepAlive: false, head: head)
            return
        }
        guard head.method == .GET else {
            respond(context: context, APIResponse(status: 405, headers: [], body: []), keepAlive: false, head: head)
            return
        }
        let version = headers["sec-websocket-version"] ?? ""
        guard version == "13" || version == "8" else {
            respond(
                context: context,
                APIResponse(
                    status: 400, headers: [("Sec-WebSocket-Version", "13")],
                    body: Array("websocket: unsupported version\n".utf8)), keepAlive: false, head: head)
            return
        }
        guard let key = headers["sec-websocket-key"], !key.isEmpty else {
            respond(
                context: context,
                APIResponse(
                    status: 400, headers: [],
                    body: Array("websocket: missing Sec-WebSocket-Key\n".utf8)), keepAlive: false, head: head)
            return
        }
        let offered = head.headers.first(name: "Sec-WebSocket-Protocol") ?? ""
        guard let subprotocol = ExecServerSubprotocol.negotiate(offered: offered) else {
            respond(context: context, APIResponse(status: 403, headers: [], body: []), keepAlive: false, head: head)
            return
        }
        upgrading = true
        let pipeline = context.pipeline.syncOperations
        let buffer = UpgradeByteBuffer()
        do {
            try pipeline.addHandler(buffer, position: .after(try pipeline.handler(type: NIOSSLServerHandler.self)))
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            pipeline.removeHandler(decoder, promise: nil)
        } catch {
            context.close(promise: nil)
            return
        }
        var response = HTTPResponseHead(version: .http1_1, status: .switchingProtocols)
        response.headers.add(name: "Upgrade", value: "websocket")
        response.headers.add(name: "Connection", value: "Upgrade")
        response.headers.add(name: "Sec-WebSocket-Accept", value: Self.acceptValue(key: key))
        response.headers.add(name: "Sec-WebSocket-Protocol", value: subprotocol.rawValue)
        let channel = context.channel
        let cluster = self.cluster
        let clusterName = cluster.identity.name
        let bound = NIOLoopBound((self, context, buffer), eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.head(response))).whenComplete { result in
            let (handler, context, buffer) = bound.value
            guard case .success = result else {
                context.close(promise: nil)
                return
            }
            let pipeline = context.pipeline.syncOperations
            if let encoder = try? pipeline.handler(type: HTTPResponseEncoder.self) {
                pipeline.removeHandler(encoder, promise: nil)
            }
            pipeline.removeHandler(handler, promise: nil)
            let bufferBound = NIOLoopBound(buffer, eventLoop: channel.eventLoop)
            cluster.runtime.startExec(
                on: channel, cluster: clusterName, target: target, subprotocol: subprotocol, builtin: cluster.builtinAnswer(target)
            )
            .whenComplete { outcome in
                let buffer = bufferBound.value
                switch outcome {
                case .success:
                    if let bufferContext = try? channel.pipeline.syncOperations.context(handler: buffer) {
                        buffer.release(context: bufferContext)
                    }
                case .failure:
                    channel.close(promise: nil)
                }
            }
        }
    }

    static func acceptValue(key: String) -> String {
        let digest = Insecure.SHA1.hash(data: Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))
        return Base64.encode(Array(digest))
    }
}
