import Foundation
import MeshTestSupport
import Testing

@testable import KubeClient

/// `openssl s_server -www` on 127.0.0.1 with a fresh self-signed certificate: a real TLS peer for
/// the transport layer (CA blobs, verification errors, insecure mode) independent of the simulator.
final class OpenSSLTestServer {
    let port: Int
    let directory: TemporaryDirectory
    let certificatePEM: String
    private let process: Process

    /// With `transcript`, the server answers nothing and writes every byte clients send after the TLS
    /// handshake into that file (to prove what a client did or did not send).
    init(transcript: String? = nil) throws {
        directory = try TemporaryDirectory()
        let (key, cert, pem) = try makeSelfSignedCertificate(in: directory)
        certificatePEM = pem
        var lastError: (any Error)?
        for attempt in 0..<20 {
            let candidate = 20_000 + Int.random(in: 0..<30_000) + attempt
            let server = Process()
            server.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            server.arguments =
                ["s_server", "-accept", "127.0.0.1:\(candidate)", "-cert", cert, "-key", key]
                + (transcript == nil ? ["-www"] : []) + ["-quiet"]
            server.standardOutput = FileHandle.nullDevice
            if let transcript {
                _ = FileManager.default.createFile(atPath: transcript, contents: nil)
                server.standardOutput = FileHandle(forWritingAtPath: transcript)
                server.standardInput = Pipe() // held open: s_server in echo mode stops at end of input
            }
            server.standardError = FileHandle.nullDevice
            do {
                try server.run()
            } catch {
                lastError = error
                continue
            }
            // Wait (bounded) until it accepts connections.
            for _ in 0..<50 {
                if Self.canConnect(candidate) { break }
                Thread.sleep(forTimeInterval: 0.05)
            }
            if server.isRunning && Self.canConnect(candidate) {
                port = candidate
                process = server
                return
            }
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        throw lastError ?? CurlError(code: -1, function: "openssl s_server", detail: "could not start")
    }

    deinit {
        // SIGKILL: children of the test runner may inherit a mask that blocks SIGTERM.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    private static func canConnect(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    func kubeconfig(ca: String?, insecure: Bool = false, context: String = "gke_p_z_c") throws -> Kubeconfig {
        var cluster = "server: https://127.0.0.1:\(port)"
        if let ca { cluster += "\n    certificate-authority-data: \(base64(ca))" }
        if insecure { cluster += "\n    insecure-skip-tls-verify: true" }
        return try Kubeconfig.parse(
            """
            current-context: \(context)
            contexts: [{name: \(context), context: {cluster: c}}]
            clusters:
            - name: c
              cluster:
                \(cluster)
            """, directory: directory.path)
    }
}

@Suite(.serialized) struct TLSTransportTests {
    /// With the right CA the request completes over TLS (libcurl, engine thread, continuation).
    @Test func trustedCA() async throws {
        let server = try OpenSSLTestServer()
        let client = try KubeClient(kubeconfig: server.kubeconfig(ca: server.certificatePEM))
        let body = try await client.request(method: "GET", path: "/")
        #expect(String(decoding: body, as: UTF8.self).contains("s_server"))
    }

    /// A wrong CA gives a TLS error naming the context and the CA field.
    @Test func wrongCANamesContextAndField() async throws {
        let server = try OpenSSLTestServer()
        let other = try OpenSSLTestServer()
        let client = try KubeClient(kubeconfig: server.kubeconfig(ca: other.certificatePEM), options: KubeClientOptions(maxRetries: 0))
        await #expect {
            _ = try await client.request(method: "GET", path: "/")
        } throws: { error in
            guard let error = error as? KubeTransportError, case .unknownAuthority(let field) = error.code else { return false }
            return field == "certificate-authority-data"
                && error.description.hasPrefix("context gke_p_z_c: TLS: certificate signed by unknown authority — check certificate-authority-data")
        }
    }

    /// insecure-skip-tls-verify connects without a CA and leaves a warning for the caller to print.
    @Test func insecureWorksAndWarns() async throws {
        let server = try OpenSSLTestServer()
        let client = try KubeClient(kubeconfig: server.kubeconfig(ca: nil, insecure: true))
        #expect(client.warnings.contains { $0.contains("gke_p_z_c") && $0.contains("verification is disabled") })
        let body = try await client.request(method: "GET", path: "/")
        #expect(!body.isEmpty)
    }

    /// A refused connection is a typed transport error, retried (bounded) for idempotent calls.
    @Test func connectionRefused() async throws {
        let config = try Kubeconfig.parse(
            "current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n",
            directory: "/")
        let client = try KubeClient(kubeconfig: config, options: KubeClientOptions(maxRetries: 2, retryBaseDelay: .milliseconds(1)))
        await #expect {
            _ = try await client.get(.namespaces("x"), as: Namespace.self)
        } throws: { error in
            (error as? KubeTransportError)?.code == .connectionRefused
        }
        #expect(client.retryCount == 2)
        // By default a refused connection gets its own, smaller budget than throttling (10).
        let defaults = try KubeClient(kubeconfig: config, options: KubeClientOptions(retryBaseDelay: .milliseconds(1)))
        await #expect(throws: KubeTransportError.self) { _ = try await defaults.get(.namespaces("x"), as: Namespace.self) }
        #expect(defaults.retryCount == KubeClientOptions().maxConnectionRetries)
        #expect(KubeClientOptions().maxConnectionRetries < KubeClientOptions().maxRetries)
    }
}
