import Foundation
import Synchronization

/// Tuning of a ``KubeClient``.
package struct KubeClientOptions: Sendable {
    /// Whole-request limit for REST calls.
    package var requestTimeout: Duration
    package var connectTimeout: Duration
    /// Retries after the first attempt when the server answers 429, or 503/504 to an idempotent
    /// call; 10 like client-go, so an API server under priority-and-fairness pressure does not fail
    /// a run.
    package var maxRetries: Int
    /// Retries of an idempotent call whose connection was refused or broke (at most
    /// ``maxRetries``): a few cover an API server restarting or a load balancer moving, while an
    /// unreachable cluster is still reported within seconds (kubectl does not retry at all).
    package var maxConnectionRetries: Int
    package var retryBaseDelay: Duration
    package var retryMaxDelay: Duration
    package var userAgent: String
    /// The most body bytes one REST answer may hold (after decompression); a larger answer is stopped
    /// there and fails as ``KubeTransportError/Code/tooLarge(part:limit:)``. Lists are paged, so
    /// this bounds one page, never what a list may hold in total.
    package var maxResponseBytes: Int
    /// The most header bytes one REST answer may hold (libcurl stops at 300 KiB on its own).
    package var maxHeaderBytes: Int
    /// Called once per distinct API server warning (``ServerWarning``), with this client's context
    /// name; nil keeps them in ``KubeClient/serverWarnings`` only.
    package var serverWarningHandler: (@Sendable (_ context: String, _ text: String) -> Void)?

    package init(
        requestTimeout: Duration = .seconds(30), connectTimeout: Duration = .seconds(10), maxRetries: Int = 10,
        maxConnectionRetries: Int = 3, retryBaseDelay: Duration = .milliseconds(200), retryMaxDelay: Duration = .seconds(10),
        userAgent: String = "meshcheck/0.1", maxResponseBytes: Int = KubeClientOptions.defaultMaxResponseBytes
    ) {
        self.maxResponseBytes = maxResponseBytes
        maxHeaderBytes = Self.defaultMaxHeaderBytes
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
        self.maxRetries = maxRetries
        self.maxConnectionRetries = maxConnectionRetries
        self.retryBaseDelay = retryBaseDelay
        self.retryMaxDelay = retryMaxDelay
        self.userAgent = userAgent
    }
}

extension KubeClientOptions {
    /// 64 MiB: far above anything meshcheck asks for (one page of at most 500 objects of its own
    /// namespace or istio-system, `/version`), far below what would strain the machine.
    package static let defaultMaxResponseBytes = 64 << 20
    /// 256 KiB: below libcurl's own 300 KiB, so ours is the bound that speaks.
    package static let defaultMaxHeaderBytes = 256 << 10
}

/// `propagationPolicy` of a delete.
package enum DeletionPropagation: String, Sendable {
    case foreground = "Foreground"
    case background = "Background"
    case orphan = "Orphan"
}

/// A command to run in a pod through the exec subresource.
package struct ExecRequest: Sendable {
    package var namespace: String
    package var pod: String
    /// Required when the pod has more than one container.
    package var container: String?
    /// argv, not run through a shell.
    package var command: [String]
    /// Sent on stdin (then EOF on v5); nil = no stdin.
    package var stdin: [UInt8]?
    package var stderr: Bool
    package var timeouts: ExecTimeouts
    /// Most stdout and stderr bytes the session may deliver; past it the session is stopped with
    /// ``ExecError/Code/outputTooLarge(limit:)``. nil = unlimited (the consumer bounds what it keeps).
    package var maxOutputBytes: Int?

    package init(
        namespace: String, pod: String, container: String? = nil, command: [String], stdin: [UInt8]? = nil,
        stderr: Bool = true, timeouts: ExecTimeouts = ExecTimeouts(), maxOutputBytes: Int? = nil
    ) {
        self.namespace = namespace
        self.pod = pod
        self.container = container
        self.command = command
        self.stdin = stdin
        self.stderr = stderr
        self.timeouts = timeouts
        self.maxOutputBytes = maxOutputBytes
    }

    /// `/api/v1/namespaces/NS/pods/POD/exec?command=...` with every boolean sent explicitly.
    var path: String {
        var path = ResourcePath.pods(in: namespace, pod).requestPath + "/exec?"
        var items = command.map { ("command", $0) }
        if let container { items.append(("container", container)) }
        items += [("stdin", stdin == nil ? "false" : "true"), ("stdout", "true"), ("stderr", stderr ? "true" : "false"), ("tty", "false")]
        path += items.map { "\($0.0)=\(ResourcePath.escapeQuery($0.1))" }.joined(separator: "&")
        return path
    }
}

private let nextExecSessionID = Atomic<UInt64>(1)

/// A client for one kubeconfig context: REST calls and pod exec, all through the shared I/O engine.
///
/// Errors: ``KubeAPIError`` (the server answered with a failure Status), ``KubeTransportError``
/// (no answer: TLS, connection, timeout), ``KubeconfigError`` (credentials), ``ExecError``.
package final class KubeClient: Sendable {
    package let context: ResolvedContext
    package let options: KubeClientOptions
    private let engine: IOEngine
    private let credentials: CredentialProvider
    private let retries = Atomic<Int>(0)
    private let restTransport = Mutex(RESTTransportStatistics())
    private let receivedWarnings = Mutex<[String]>([])

    /// Context name.
    package var name: String { context.name }
    /// The context's default namespace.
    package var namespace: String { context.namespace }
    /// Warnings the caller should print (e.g. insecure-skip-tls-verify).
    package var warnings: [String] { context.warnings }
    /// How many times requests of this client were retried (429, 503/504, broken connections).
    package var retryCount: Int { retries.load(ordering: .relaxed) }
    /// The distinct warnings API servers sent this client, in order of arrival (at most
    /// ``ServerWarning/limit``).
    package var serverWarnings: [String] { receivedWarnings.withLock { $0 } }
    /// HTTP versions and connections this client's REST calls used so far.
    package var restStatistics: RESTTransportStatistics { restTransport.withLock { $0 } }

    package init(
        context: ResolvedContext, options: KubeClientOptions = KubeClientOptions(), engine: IOEngine = .shared,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.context = context
        self.options = options
        self.engine = engine
        credentials = CredentialProvider(authentication: context.authentication, cluster: context.cluster, environment: environment)
    }

    /// Resolves `contextName` (nil = current context) from `kubeconfig` and builds a client for it.
    package convenience init(kubeconfig: Kubeconfig, context contextName: String? = nil, options: KubeClientOptions = KubeClientOptions()) throws {
        self.init(
            context: try kubeconfig.resolve(context: contextName), options: options,
            environment: kubeconfig.environment.isEmpty ? ProcessInfo.processInfo.environment : kubeconfig.environment)
    }

    // MARK: REST

    package func get<T: Decodable>(_ path: ResourcePath, as type: T.Type = T.self) async throws -> T {
        try decode(type, from: try await send("GET", path.requestPath, body: nil, contentType: nil, idempotent: true), path: path)
    }

    /// Lists every item, following `continue` tokens page by page.
    package func list<T: Decodable & Sendable>(_ path: ResourcePath, of type: T.Type = T.self, pageSize: Int = 500) async throws -> [T] {
        var items: [T] = []
        var page = path
        page.query.limit = pageSize
        for _ in 0..<100_000 {
            let list = try decode(ObjectList<T>.self, from: try await send("GET", page.requestPath, body: nil, contentType: nil, idempotent: true), path: page)
            items += list.items
            guard let token = list.metadata?.continue, !token.isEmpty else { return items }
            page.query.continueToken = token
        }
        return items
    }

    package func create<Body: Encodable, T: Decodable>(_ path: ResourcePath, _ body: Body, as type: T.Type = T.self) async throws -> T {
        try decode(type, from: try await send("POST", path.requestPath, body: try encode(body), contentType: "application/json", idempotent: false), path: path)
    }

    /// JSON merge patch (RFC 7386).
    package func patch<Body: Encodable, T: Decodable>(_ path: ResourcePath, merge body: Body, as type: T.Type = T.self) async throws -> T {
        try decode(
            type, from: try await send("PATCH", path.requestPath, body: try encode(body), contentType: "application/merge-patch+json", idempotent: true),
            path: path)
    }

    /// Deletes an object. A missing object throws ``KubeAPIError`` with reason `NotFound`.
    package func delete(_ path: ResourcePath, propagation: DeletionPropagation? = .background) async throws {
        var options: [String: JSONValue] = ["kind": .string("DeleteOptions"), "apiVersion": .string("v1")]
        if let propagation { options["propagationPolicy"] = .string(propagation.rawValue) }
        _ = try await send("DELETE", path.requestPath, body: try encode(JSONValue.object(options)), contentType: "application/json", idempotent: true)
    }

    /// A raw request for callers that need a verb or content type not covered above.
    package func request(method: String, path: String, body: [UInt8]? = nil, contentType: String? = nil) async throws -> [UInt8] {
        try await send(method, path, body: body, contentType: contentType, idempotent: method == "GET" || method == "DELETE" || method == "PUT")
    }

    private func encode<Body: Encodable>(_ body: Body) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return [UInt8](try encoder.encode(body))
    }

    private func decode<T: Decodable>(_ type: T.Type, from body: [UInt8], path: ResourcePath) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(body))
        } catch {
            throw KubeAPIError(
                httpStatus: 200, status: nil, context: name,
                fallbackMessage: "response for \(path.requestPath) is not a valid \(T.self): \(Self.describe(error))")
        }
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context): return "missing \((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))"
        case DecodingError.typeMismatch(_, let context): return "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.valueNotFound(_, let context): return "null at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        default: return "malformed JSON"
        }
    }

    /// Every REST call goes through here: credentials, retries with backoff, Status decoding.
    private func send(_ method: String, _ path: String, body: [UInt8]?, contentType: String?, idempotent: Bool) async throws -> [UInt8] {
        var refreshedAfter401 = false
        var attempt = 0
        while true {
            let current = try await credentials.current()
            var headers = current.headers + ["Accept: application/json", "User-Agent: \(options.userAgent)"]
            if let contentType { headers.append("Content-Type: \(contentType)") }
            let request = HTTPRequest(
                method: method, path: path, headers: headers, body: body,
                timeout: options.requestTimeout, connectTimeout: options.connectTimeout,
                limits: ResponseLimits(body: options.maxResponseBytes, headers: options.maxHeaderBytes))
            let response: HTTPResponse
            do {
                response = try await perform(request, clientCertificate: current.clientCertificate)
                restTransport.withLock { $0.record(response.httpVersion, newConnections: response.newConnections) }
                if !response.warnings.isEmpty { receive(response.warnings) }
            } catch let error as TransferFailure {
                let transport = KubeTransportError.from(error, cluster: context.cluster, context: name, request: "\(method) \(Self.pathWithoutQuery(path))")
                if idempotent && transport.isRetryable && attempt < min(options.maxRetries, options.maxConnectionRetries) {
                    attempt += 1
                    try await backoff(attempt: attempt, retryAfter: nil)
                    continue
                }
                throw transport
            }
            if (200..<300).contains(response.status) { return response.body }
            let retryAfter = response.headers["retry-after"].flatMap { Int($0) }.map { Duration.seconds($0) }
            let apiError = KubeAPIError.fromResponse(httpStatus: response.status, body: response.body, retryAfter: retryAfter, context: name)
            if response.status == 401 && credentials.canRefresh && !refreshedAfter401 {
                // Exec-plugin or file tokens may have rotated: fetch fresh ones and repeat once.
                refreshedAfter401 = true
                await credentials.invalidate()
                continue
            }
            // 429 means the request was not processed, so even a create may be repeated.
            let retryable = response.status == 429 || (idempotent && (response.status == 503 || response.status == 504))
            if retryable && attempt < options.maxRetries {
                attempt += 1
                try await backoff(attempt: attempt, retryAfter: apiError.retryAfter)
                continue
            }
            throw apiError
        }
    }

    /// A request path as error messages show it: continue tokens and selectors stay out.
    private static func pathWithoutQuery(_ path: String) -> String {
        path.firstIndex(of: "?").map { String(path[..<$0]) } ?? path
    }

    /// Keeps the warnings not seen before and hands each to the options' handler once.
    private func receive(_ warnings: [String]) {
        let new = receivedWarnings.withLock { seen -> [String] in
            var new: [String] = []
            for warning in warnings where !seen.contains(warning) && seen.count < ServerWarning.limit {
                seen.append(warning)
                new.append(warning)
            }
            return new
        }
        if let handler = options.serverWarningHandler { for warning in new { handler(name, warning) } }
    }

    /// Exponential backoff with jitter, or the server's Retry-After when it gave one.
    private func backoff(attempt: Int, retryAfter: Duration?) async throws {
        retries.wrappingAdd(1, ordering: .relaxed)
        try await Task.sleep(for: RetryPolicy.delay(attempt: attempt, retryAfter: retryAfter, base: options.retryBaseDelay, cap: options.retryMaxDelay))
    }

    private func perform(_ request: HTTPRequest, clientCertificate: ClientCertificate?) async throws -> HTTPResponse {
        let cluster = context.cluster
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPResponse, any Error>) in
            engine.submit { loop in
                do throws(CurlError) {
                    let transfer = try RestTransfer(request: request, cluster: cluster, clientCertificate: clientCertificate) { result in
                        continuation.resume(with: result.mapError { $0 as any Error })
                    }
                    loop.start(transfer)
                } catch {
                    continuation.resume(throwing: TransferFailure(curl: error, progress: nil))
                }
            }
        }
    }

    // MARK: Exec

    /// Runs a command in a pod over the WebSocket exec protocol, streaming stdout/stderr to
    /// `consumer` as bytes arrive.
    /// - Returns: the exit code (a non-zero exit is a result, not an error).
    /// - Throws: ``ExecError`` for every failure before or after the upgrade; `CancellationError`
    ///   when the task is cancelled (the session is closed cleanly).
    package func exec(_ request: ExecRequest, consumer: some ExecOutputConsumer) async throws -> ExecResult {
        var refreshedAfter401 = false
        while true {
            do {
                return try await execOnce(request, consumer: consumer)
            } catch let error as ExecError {
                if case .rejected(let apiError) = error.code, apiError.reason == .unauthorized, credentials.canRefresh, !refreshedAfter401 {
                    refreshedAfter401 = true
                    await credentials.invalidate()
                    continue
                }
                throw error
            }
        }
    }

    private func execOnce(_ request: ExecRequest, consumer: some ExecOutputConsumer) async throws -> ExecResult {
        try Task.checkCancellation()
        let current: RequestCredentials
        do {
            current = try await credentials.current()
        }
        let key = Data(secureRandomBytes(16)).base64EncodedString()
        let server = context.cluster.server
        var head = "GET \(server.pathPrefix)\(request.path) HTTP/1.1\r\n"
        head += "Host: \(server.authority)\r\n"
        head += "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        head += "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
        head += "Sec-WebSocket-Protocol: \(ExecProtocol.offer)\r\n"
        head += "User-Agent: \(options.userAgent)\r\n"
        for header in current.headers { head += header + "\r\n" }
        head += "\r\n"
        let id = nextExecSessionID.wrappingAdd(1, ordering: .relaxed).oldValue
        let contextName = name
        let cluster = context.cluster
        let requestHead = Array(head.utf8)
        let engine = self.engine
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ExecResult, any Error>) in
                let launch = ExecLaunch(
                    id: id, contextName: contextName, pod: "\(request.namespace)/\(request.pod)", cluster: cluster,
                    clientCertificate: current.clientCertificate, requestHead: requestHead, key: key, stdin: request.stdin,
                    timeouts: request.timeouts, maxOutputBytes: request.maxOutputBytes, consumer: consumer,
                    completion: { continuation.resume(with: $0) }
                )
                engine.submit { loop in loop.launch(launch) }
            }
        } onCancel: {
            engine.submit { loop in loop.cancel(session: id) }
        }
    }
}

/// Backoff arithmetic, kept pure for tests.
enum RetryPolicy {
    /// `base·2^(attempt-1)` capped at `cap`, with jitter over its upper half; a Retry-After wins
    /// (plus up to 10 % jitter so many clients do not return in lockstep).
    static func delay(
        attempt: Int, retryAfter: Duration?, base: Duration, cap: Duration,
        random: (ClosedRange<Double>) -> Double = { Double.random(in: $0) }
    ) -> Duration {
        if let retryAfter { return retryAfter * random(1.0...1.1) }
        let exponential = base * Double(1 << min(max(attempt - 1, 0), 20))
        let capped = min(exponential, cap)
        return capped * random(0.5...1.0)
    }
}
