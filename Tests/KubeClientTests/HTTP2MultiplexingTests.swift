import Foundation
import MeshTestSupport
import Testing

@testable import KubeClient

/// `nghttpd` (Debian's nghttp2-server) on 127.0.0.1: an HTTP/2-only TLS server that selects h2 by
/// ALPN and serves static files, independent of our code and of the simulator (which speaks only
/// HTTP/1.1). Its verbose log is the server-side record of every connection and stream.
final class NGHTTPDTestServer {
    static let executable = "/usr/sbin/nghttpd"

    let port: Int
    let certificatePEM: String
    private let directory: TemporaryDirectory
    private let logPath: String
    private let process: Process

    /// `files` maps request paths (without the leading slash) to bodies; nghttpd ignores the query.
    init(files: [String: String]) throws {
        directory = try TemporaryDirectory()
        for (path, body) in files { try directory.write("htdocs/" + path, body) }
        let (key, cert, pem) = try makeSelfSignedCertificate(in: directory)
        certificatePEM = pem
        logPath = directory.path + "/nghttpd.log"
        for attempt in 0..<20 {
            let candidate = 20_000 + Int.random(in: 0..<30_000) + attempt
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
            let server = Process()
            server.executableURL = URL(fileURLWithPath: Self.executable)
            server.arguments = ["--verbose", "--address=127.0.0.1", "--htdocs=\(directory.path)/htdocs", "\(candidate)", key, cert]
            server.standardOutput = FileHandle(forWritingAtPath: logPath)
            server.standardError = server.standardOutput
            try server.run()
            // It logs the listening address once bound, or exits when the port is taken (bounded wait).
            let listening = "listen 127.0.0.1:\(candidate)"
            for _ in 0..<100 where server.isRunning && !Self.read(logPath).contains(listening) {
                Thread.sleep(forTimeInterval: 0.02)
            }
            if server.isRunning && Self.read(logPath).contains(listening) {
                port = candidate
                process = server
                return
            }
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        throw CurlError(code: -1, function: "nghttpd", detail: "could not start: \(Self.read(logPath))")
    }

    deinit {
        // SIGKILL: children of the test runner may inherit a mask that blocks SIGTERM.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    var log: String { Self.read(logPath) }

    private static func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// The log once `done` holds for it (nghttpd writes it asynchronously), or as it is after 5 s.
    func log(until done: (NGHTTPDLog) -> Bool) -> NGHTTPDLog {
        var parsed = NGHTTPDLog(log)
        for _ in 0..<250 where !done(parsed) {
            Thread.sleep(forTimeInterval: 0.02)
            parsed = NGHTTPDLog(log)
        }
        return parsed
    }

    func kubeconfig() throws -> Kubeconfig {
        try Kubeconfig.parse(
            """
            current-context: h2
            contexts: [{name: h2, context: {cluster: c}}]
            clusters:
            - name: c
              cluster:
                server: https://127.0.0.1:\(port)
                certificate-authority-data: \(base64(certificatePEM))
            """, directory: directory.path)
    }
}

/// What nghttpd's `--verbose` log says happened.
struct NGHTTPDLog {
    /// TLS handshakes completed: one per TCP connection that got that far.
    var handshakes = 0
    /// Connections on which h2 was selected by ALPN.
    var negotiatedHTTP2 = 0
    /// Connections closed because the client did not offer h2.
    var refusedWithoutHTTP2 = 0
    /// Distinct ALPN protocol lists clients offered.
    var alpnOffers: Set<[String]> = []
    /// Request paths per server-side connection id, one per stream.
    var pathsByConnection: [Int: [String]] = [:]

    init(_ text: String) {
        var offer: [String]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if var current = offer, line.hasPrefix(" * ") {
                current.append(String(line.dropFirst(3)))
                offer = current
                continue
            }
            if let finished = offer { alpnOffers.insert(finished) }
            offer = nil
            if line == "[ALPN] client offers:" {
                offer = []
            } else if line == "SSL/TLS handshake completed" {
                handshakes += 1
            } else if line == "The negotiated protocol: h2" {
                negotiatedHTTP2 += 1
            } else if line.hasPrefix("Client did not advertise HTTP/2 protocol") {
                refusedWithoutHTTP2 += 1
            } else if let match = line.firstMatch(of: /^\[id=(\d+)\] \[ *[0-9.]+\] recv \(stream_id=\d+\) :path: (\S+)$/),
                let connection = Int(match.1)
            {
                pathsByConnection[connection, default: []].append(String(match.2))
            }
        }
        if let finished = offer { alpnOffers.insert(finished) }
    }
}

/// REST over HTTP/2 where the server offers it (ALPN h2): concurrent calls multiplex as streams of
/// one connection; exec keeps to HTTP/1.1 on a connection of its own (a WebSocket upgrade does not
/// exist in HTTP/2); against the HTTP/1.1-only simulator the same client falls back and works.
@Suite(.serialized) struct HTTP2MultiplexingTests {
    static let calls = 50

    private static func configMapPath(_ index: Int) -> ResourcePath { .configMaps(in: "default", "cm-\(index)") }

    private static func configMapJSON(_ index: Int) -> String {
        #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm-\#(index)","namespace":"default"},"data":{"index":"\#(index)"}}"#
    }

    /// 50 concurrent GETs (typed and generic) through one client: every body right, every response
    /// over HTTP/2, one connection opened by the client's count and by the server's log, 50 streams
    /// on it. Then exec, which must offer only http/1.1 on a new connection (nghttpd refuses it).
    @Test func concurrentCallsShareOneHTTP2Connection() async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: NGHTTPDTestServer.executable),
            "nghttpd is required: apt-get install -y nghttp2-server")
        var files: [String: String] = [:]
        for index in 0..<Self.calls { files[String(Self.configMapPath(index).requestPath.dropFirst())] = Self.configMapJSON(index) }
        let server = try NGHTTPDTestServer(files: files)
        let client = try KubeClient(kubeconfig: server.kubeconfig(), options: KubeClientOptions(maxRetries: 0))

        let correct = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<Self.calls {
                group.addTask {
                    if index.isMultiple(of: 2) {
                        let configMap = try await client.get(Self.configMapPath(index), as: ConfigMap.self)
                        return configMap.metadata.name == "cm-\(index)" && configMap.data == ["index": "\(index)"]
                    }
                    let object = try await client.get(Self.configMapPath(index), as: JSONValue.self)
                    return object == (try JSONDecoder().decode(JSONValue.self, from: Data(Self.configMapJSON(index).utf8)))
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(correct == Self.calls)
        let statistics = client.restStatistics
        #expect(statistics.responses == [.http2: Self.calls], "\(statistics)")
        #expect(statistics.connectionsOpened == 1, "\(statistics)")
        #expect(statistics.description == "REST: 50 responses (HTTP/2: 50), 1 connection opened")

        let rest = server.log { $0.pathsByConnection.values.joined().count >= Self.calls }
        #expect(rest.handshakes == 1 && rest.negotiatedHTTP2 == 1, "\(server.log.suffix(2000))")
        #expect(rest.alpnOffers == [["h2", "http/1.1"]])
        #expect(rest.pathsByConnection.count == 1)
        let expectedPaths = (0..<Self.calls).map { Self.configMapPath($0).requestPath }
        #expect(rest.pathsByConnection.values.first?.sorted() == expectedPaths.sorted())

        // Exec: its own connection offering only HTTP/1.1 (the upgrade needs it); this h2-only
        // server turns it away, and no stream of it reaches the REST connection.
        await #expect(throws: ExecError.self) {
            _ = try await client.exec(
                ExecRequest(
                    namespace: "default", pod: "p", command: ["true"],
                    timeouts: ExecTimeouts(connect: .seconds(10), idle: .seconds(10), total: .seconds(20))),
                consumer: CollectingConsumer())
        }
        let afterExec = server.log { $0.refusedWithoutHTTP2 >= 1 }
        #expect(afterExec.alpnOffers == [["h2", "http/1.1"], ["http/1.1"]], "\(server.log.suffix(2000))")
        #expect(afterExec.handshakes == 2 && afterExec.refusedWithoutHTTP2 == 1 && afterExec.negotiatedHTTP2 == 1)
        #expect(afterExec.pathsByConnection.values.joined().count == Self.calls)
    }

    /// The HTTP/1.1-only simulator (no h2 in ALPN): the same concurrent GETs fall back to HTTP/1.1
    /// and all succeed. Uses the second cluster: the integration suite switches faults on the first.
    @Test func concurrentCallsFallBackToHTTP1() async throws {
        let mesh = try await SharedMesh.instance.mesh()
        let config = try Kubeconfig.load(KubeconfigLoadingRules(explicitPath: mesh.kubeconfigPath, environment: [:]))
        let client = try KubeClient(kubeconfig: config, context: mesh.contexts[1])
        let names = try await withThrowingTaskGroup(of: String?.self) { group in
            for _ in 0..<Self.calls {
                group.addTask { try await client.get(.namespaces("default"), as: Namespace.self).metadata.name }
            }
            return try await group.reduce(into: [String?]()) { $0.append($1) }
        }
        #expect(names == Array(repeating: "default", count: Self.calls))
        let statistics = client.restStatistics
        #expect(statistics.responses == [.http1_1: Self.calls], "\(statistics)")
        #expect((1...Self.calls).contains(statistics.connectionsOpened), "\(statistics)")
    }
}
