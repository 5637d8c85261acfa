// A sidecar's upstream connections, pooled like Envoy's HTTP/1.1 connection pool: a request reuses an idle
// keep-alive connection to the chosen endpoint when there is one and connects otherwise; after the response
// the connection goes back to the pool unless the upstream asked to close it, the response was refused as too
// large, something failed, or the pool already holds its bound of idle connections for that endpoint.
// Balancing is untouched by this: every request picks its endpoint first and only then asks the pool.
import NIOCore
import NIOHTTP1
import Synchronization

/// Where an upstream connection goes: the endpoint's real listener.
struct UpstreamAddress: Hashable, Sendable {
    var host: String
    var port: Int
}

/// One proxy's upstream connections: the idle ones by address, and every open one so `closeAll()` leaves none.
final class UpstreamPool: Sendable {
    private struct State {
        var idle: [UpstreamAddress: [any Channel]] = [:]
        var open: [ObjectIdentifier: (channel: any Channel, address: UpstreamAddress)] = [:]
        var isClosed = false
    }

    /// Idle connections kept per address (0: none, every connection serves one request).
    let maxIdlePerAddress: Int
    private let state = Mutex(State())

    init(maxIdlePerAddress: Int) {
        self.maxIdlePerAddress = maxIdlePerAddress
    }

    /// Takes an idle connection to `address` that lives on the calling event loop, so the request and its
    /// connection share one thread; nil when there is none (the caller connects).
    func checkOut(_ address: UpstreamAddress) -> (any Channel)? {
        state.withLock { state in
            guard let index = state.idle[address]?.lastIndex(where: { $0.eventLoop.inEventLoop }) else { return nil }
            return state.idle[address]?.remove(at: index)
        }
    }

    /// Offers a connection that just completed a response back for reuse; false when it is not wanted (the
    /// pool is full for that address, disabled, or closed), and then the caller closes it.
    func checkIn(_ channel: any Channel, address: UpstreamAddress) -> Bool {
        state.withLock { state in
            guard !state.isClosed, state.idle[address, default: []].count < maxIdlePerAddress else { return false }
            state.idle[address, default: []].append(channel)
            return true
        }
    }

    /// Records a new connection until it closes; false when the pool is already closed (the caller closes it).
    func register(_ channel: any Channel, address: UpstreamAddress) -> Bool {
        let registered = state.withLock { state in
            guard !state.isClosed else { return false }
            state.open[ObjectIdentifier(channel)] = (channel, address)
            return true
        }
        guard registered else { return false }
        channel.closeFuture.whenComplete { _ in self.forget(channel) }
        return true
    }

    /// Drops a closed connection, idle or not: an upstream that closes an idle connection (or a pod that goes
    /// away) takes it out of the pool before any request can pick it.
    private func forget(_ channel: any Channel) {
        state.withLock { state in
            let id = ObjectIdentifier(channel)
            guard let address = state.open.removeValue(forKey: id)?.address else { return }
            state.idle[address]?.removeAll { ObjectIdentifier($0) == id }
        }
    }

    /// Closes every connection, idle or busy, and refuses new ones: the proxy is stopping.
    func closeAll() async {
        let channels = state.withLock { state in
            state.isClosed = true
            state.idle = [:]
            return state.open.values.map(\.channel)
        }
        for channel in channels { try? await channel.close() }
    }
}

/// One upstream HTTP/1.1 connection: sends one request at a time and collects its response, then offers itself
/// back to the pool. Lives on its channel's event loop.
final class UpstreamConnection: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let address: UpstreamAddress
    private let pool: UpstreamPool
    private let limit: Int
    private var context: ChannelHandlerContext?
    private var pending: EventLoopPromise<UpstreamResponse>?
    private var head: HTTPResponseHead?
    /// The response body so far; a body that arrives in one read is kept as read, without a copy.
    private var body: ByteBuffer?
    /// Responses completed on this connection: a reused connection that ends before any answer was most likely
    /// closed by the upstream while it sat idle, which the proxy retries on a fresh connection.
    private var served = 0

    init(address: UpstreamAddress, pool: UpstreamPool, limit: Int) {
        self.address = address
        self.pool = pool
        self.limit = limit
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Sends `request` and completes `promise` with its response.
    func send(_ request: HTTPRequestHead, body requestBody: ByteBuffer, promise: EventLoopPromise<UpstreamResponse>) {
        guard let context, pending == nil else {
            promise.fail(served > 0 ? UpstreamFailure.closedWhileIdle : UpstreamFailure.resetBeforeHeaders)
            return
        }
        pending = promise
        head = nil
        body = nil
        context.write(wrapOutboundOut(.head(request)), promise: nil)
        if requestBody.readableBytes > 0 { context.write(wrapOutboundOut(.body(.byteBuffer(requestBody))), promise: nil) }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        // A connection already closed does not report channelInactive again: only the failed write tells.
        written.assumeIsolated().whenFailure { _ in self.fail(context: context) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard pending != nil else {
            // An answer nobody asked for: the connection is out of step, so it cannot be reused.
            context.close(promise: nil)
            return
        }
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body(var chunk):
            guard (body?.readableBytes ?? 0) + chunk.readableBytes <= limit else {
                complete(.failure(UpstreamFailure.responseTooLarge), reusable: false, context: context)
                return
            }
            if body == nil { body = chunk } else { body?.writeBuffer(&chunk) }
        case .end:
            guard let head else {
                complete(.failure(UpstreamFailure.resetBeforeHeaders), reusable: false, context: context)
                return
            }
            served += 1
            let response = UpstreamResponse(head: head, body: body ?? ByteBuffer())
            body = nil
            complete(.success(response), reusable: head.isKeepAlive, context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context)
    }

    /// IdleStateHandler's read timeout: close a connection that has waited that long in the pool; one still
    /// waiting for a slow answer stays.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent, pending == nil { context.close(promise: nil) }
    }

    private func fail(context: ChannelHandlerContext) {
        let closedWhileIdle = served > 0 && head == nil
        complete(
            .failure(closedWhileIdle ? UpstreamFailure.closedWhileIdle : UpstreamFailure.resetBeforeHeaders),
            reusable: false, context: context)
    }

    /// Ends the exchange: the connection goes back to the pool before the requester hears the outcome, so the
    /// next request on this loop can already reuse it.
    private func complete(_ result: Result<UpstreamResponse, any Error>, reusable: Bool, context: ChannelHandlerContext) {
        guard let promise = pending else { return }
        pending = nil
        if !(reusable && pool.checkIn(context.channel, address: address)) { context.close(promise: nil) }
        promise.completeWith(result)
    }
}
