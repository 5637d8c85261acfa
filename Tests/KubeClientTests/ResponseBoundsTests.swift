import Foundation
import MeshTestSupport
import Testing

@testable import KubeClient

/// Every REST answer is bounded in size and time: a hostile server on 127.0.0.1 (Tests/scripts/hostile-api-server.py)
/// answers `/version` badly, and each way of failing is its own error kind, reached within its deadline plus a margin.
@Suite(.serialized) struct ResponseBoundsTests {
    /// Well above the 2 s request timeouts below: a deadline plus a generous margin, never a speed assertion.
    static let margin: Duration = .seconds(10)

    private func client(_ server: HostileServer, options: KubeClientOptions) throws -> KubeClient {
        var options = options
        options.maxRetries = 0
        let config = try Kubeconfig.parse(server.kubeconfig(contexts: ["hostile"]), directory: server.directory.path)
        return try KubeClient(kubeconfig: config, options: options)
    }

    /// Runs `GET /version` and returns the transport error it ends with and how long it took.
    private func failure(_ behaviour: HostileBehaviour, _ options: KubeClientOptions) async throws -> (KubeTransportError, Duration) {
        let server = try HostileServer(behaviour)
        let client = try client(server, options: options)
        let started = ContinuousClock.now
        do {
            _ = try await client.request(method: "GET", path: "/version")
        } catch let error as KubeTransportError {
            return (error, started.duration(to: .now))
        }
        throw HostileServerError(message: "GET /version against \(behaviour.rawValue) succeeded")
    }

    @Test func endlessBodyStopsAtTheLimit() async throws {
        // The error kind says the limit ended it: a request timeout would end it as tooSlow. No stopwatch (a
        // loaded machine once took 33 s to stream the first MiB from the Python server); the timeout is long.
        let (error, _) = try await failure(.endlessBody, KubeClientOptions(requestTimeout: .seconds(300), maxResponseBytes: 1 << 20))
        #expect(error.code == .tooLarge(part: .body, limit: 1 << 20))
        #expect(error.kind == .tooLarge)
        #expect(error.description.hasPrefix("context hostile: GET /version: the answer from https://127.0.0.1:"))
        #expect(error.description.contains("passed the response limit of 1 MiB"), "\(error)")
        #expect(!error.description.contains("not-a-real-token"))
    }

    @Test func declaredLengthOverTheLimitFailsBeforeTheBody() async throws {
        let (error, _) = try await failure(.declaredHuge, KubeClientOptions(maxResponseBytes: 1 << 20))
        #expect(error.code == .tooLarge(part: .body, limit: 1 << 20))
        #expect(error.curl.code == 63) // CURLE_FILESIZE_EXCEEDED: refused on Content-Length alone
    }

    @Test func endlessHeadersStopAtTheirLimit() async throws {
        let (error, _) = try await failure(.endlessHeaders, KubeClientOptions())
        #expect(error.code == .tooLarge(part: .headers, limit: KubeClientOptions.defaultMaxHeaderBytes))
        #expect(error.description.contains("its headers passed 256 KiB"), "\(error)")
    }

    @Test func trickleIsTooSlowAndNamesTheBytesReceived() async throws {
        let (error, elapsed) = try await failure(.trickle, KubeClientOptions(requestTimeout: .seconds(2)))
        guard case .tooSlow(let received, let timeout) = error.code else {
            Issue.record("expected tooSlow, got \(error)")
            return
        }
        #expect(received > 0)
        #expect(timeout == .seconds(2))
        #expect(elapsed < .seconds(2) + Self.margin)
        #expect(error.description.contains("was too slow: \(KubeTransportError.format(bytes: received)) received before the request timeout of 2s"), "\(error)")
    }

    @Test func silentServerIsConnectedButNoAnswer() async throws {
        let (error, elapsed) = try await failure(.silent, KubeClientOptions(requestTimeout: .seconds(2)))
        #expect(error.code == .noAnswer(timeout: .seconds(2)))
        #expect(elapsed < .seconds(2) + Self.margin)
        #expect(error.description.contains("GET /version: connected to https://127.0.0.1:"), "\(error)")
    }

    /// A refused connection stays "no connection", unlike every case above.
    @Test func refusedIsStillNoConnection() async throws {
        let config = try Kubeconfig.parse(
            "current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n",
            directory: "/")
        let client = try KubeClient(kubeconfig: config, options: KubeClientOptions(maxRetries: 0))
        await #expect {
            _ = try await client.request(method: "GET", path: "/version")
        } throws: { error in
            (error as? KubeTransportError)?.kind == .noConnection
        }
    }

    /// Garbage instead of JSON is an answer: a typed API error naming the request, not a transport failure.
    @Test func garbageIsAnInvalidAnswer() async throws {
        let server = try HostileServer(.garbage)
        let client = try client(server, options: KubeClientOptions())
        await #expect {
            _ = try await client.get(.namespaces("x"), as: Namespace.self)
        } throws: { error in
            (error as? KubeAPIError).map { "\($0)".contains("is not a valid") } ?? false
        }
    }

    /// The default limit holds (its memory ceiling is measured on the binary, in BoundsEndToEndTests, where no other
    /// test shares the process).
    @Test func defaultLimitStopsAnEndlessBody() async throws {
        let (error, _) = try await failure(.endlessBody, KubeClientOptions())
        #expect(error.code == .tooLarge(part: .body, limit: KubeClientOptions.defaultMaxResponseBytes))
    }

    /// The budget all answers in flight share: refused past it, unless one answer's own (raised) limit is higher.
    @Test func answersInFlightShareOneBudget() {
        let budget = BodyBudget(limit: 100)
        #expect(budget.take(60, own: 64))
        #expect(!budget.take(41, own: 64))
        #expect(budget.take(40, own: 64))
        #expect(budget.take(50, own: 1000)) // a limit raised above the budget is honoured
        budget.release(150)
        #expect(budget.held == 0)
        #expect(BodyBudget.defaultLimit == 2 * KubeClientOptions.defaultMaxResponseBytes)
    }

    @Test func sizesAndDurationsReadAsPeopleWriteThem() {
        #expect(KubeTransportError.format(bytes: 64 << 20) == "64 MiB")
        #expect(KubeTransportError.format(bytes: 1536) == "1.5 KiB")
        #expect(KubeTransportError.format(bytes: 17) == "17 bytes")
        #expect(KubeTransportError.format(.milliseconds(1500)) == "1.5s")
    }
}
