// Security: credentials go only to a server that proved its identity, and never into messages.

import Foundation
import MeshTestSupport
import Testing

@testable import KubeClient

@Suite(.serialized) struct CredentialSafetyTests {
    static let token = "fail-closed-token-7c1e9b44d0a2"

    /// A token user against `server`, trusting `ca`.
    private func tokenClient(_ server: OpenSSLTestServer, ca: String) throws -> KubeClient {
        let config = try Kubeconfig.parse(
            """
            current-context: gke_p_z_c
            contexts: [{name: gke_p_z_c, context: {cluster: c, user: u}}]
            clusters: [{name: c, cluster: {server: "https://127.0.0.1:\(server.port)", certificate-authority-data: \(base64(ca))}}]
            users: [{name: u, user: {token: \(Self.token)}}]
            """, directory: server.directory.path)
        return try KubeClient(kubeconfig: config, options: KubeClientOptions(maxRetries: 0))
    }

    /// What the server has received so far (s_server writes it as it arrives; read until it settles).
    private func received(_ path: String) async throws -> String {
        var text = ""
        for _ in 0..<20 {
            try await Task.sleep(for: .milliseconds(50))
            let now = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            if now == text && !now.isEmpty { break }
            text = now
        }
        return text
    }

    /// A server whose certificate the configured CA did not sign gets a failed handshake and no request:
    /// neither a REST call nor an exec upgrade sends the token. The control run with the right CA shows
    /// the transcript does record the token when it is sent.
    @Test func aWrongCAFailsClosedBeforeTheTokenIsSent() async throws {
        let transcriptDirectory = try TemporaryDirectory()
        let wrongTranscript = transcriptDirectory.path + "/wrong-ca"
        let server = try OpenSSLTestServer(transcript: wrongTranscript)
        let stranger = try OpenSSLTestServer()
        let client = try tokenClient(server, ca: stranger.certificatePEM)
        await #expect {
            _ = try await client.request(method: "GET", path: "/api/v1/namespaces")
        } throws: { error in
            guard let error = error as? KubeTransportError, case .unknownAuthority = error.code else { return false }
            return error.description.hasPrefix("context gke_p_z_c: TLS: certificate signed by unknown authority")
                && !error.description.contains(Self.token)
        }
        await #expect {
            _ = try await client.exec(ExecRequest(namespace: "ns", pod: "p", command: ["true"]), consumer: CollectingConsumer())
        } throws: { "\($0)".contains("certificate signed by unknown authority") }
        let wrong = try await received(wrongTranscript)
        #expect(!wrong.contains(Self.token), "the token was sent to an unverified server:\n\(wrong)")
        #expect(!wrong.contains("GET "), "a request was sent to an unverified server:\n\(wrong)")

        let rightTranscript = transcriptDirectory.path + "/right-ca"
        let trusted = try OpenSSLTestServer(transcript: rightTranscript)
        let control = try tokenClient(trusted, ca: trusted.certificatePEM)
        // The echo server never answers, so the request ends at its timeout or when the server is gone.
        let pending = Task { _ = try? await control.request(method: "GET", path: "/api/v1/namespaces") }
        let right = try await received(rightTranscript)
        pending.cancel()
        #expect(right.contains("Authorization: Bearer \(Self.token)"), "control: the transcript did not record the request:\n\(right)")
    }

    /// A proxy URL may carry credentials; an unusable one is named without them.
    @Test func anUnusableProxyURLIsNamedWithoutItsCredentials() throws {
        let yaml = """
            current-context: c
            contexts: [{name: c, context: {cluster: k}}]
            clusters: [{name: k, cluster: {server: "https://127.0.0.1:6443", proxy-url: "ftp://alice:proxy-pass-5e1f@proxy.example:3128/x"}}]
            """
        #expect {
            _ = try Kubeconfig.parse(yaml, directory: "/").resolve()
        } throws: { error in
            let text = "\(error)"
            return text.contains("proxy-url ftp://<redacted>@proxy.example:3128/x") && !text.contains("proxy-pass-5e1f") && !text.contains("alice")
        }
        #expect(KubeconfigError.redactingUserInfo("http://proxy.example:3128") == "http://proxy.example:3128")
        #expect(KubeconfigError.redactingUserInfo("user:pw@proxy:1/a@b") == "<redacted>@proxy:1/a@b")
        #expect(KubeconfigError.redactingUserInfo("socks5://u:p@q@h:1") == "socks5://<redacted>@h:1")
    }
}
