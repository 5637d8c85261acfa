import Foundation
import MeshTestSupport
import Testing

@testable import KubeClient

@Suite struct ExecPluginTests {
    /// A plugin script that records each run and its KUBERNETES_EXEC_INFO, then prints `output`.
    @discardableResult
    private func plugin(_ dir: TemporaryDirectory, output: String) throws -> String {
        try dir.write(
            "bin/plugin",
            """
            #!/bin/sh
            echo run >> "\(dir.path)/runs"
            printf '%s' "$KUBERNETES_EXEC_INFO" > "\(dir.path)/info"
            printf '%s' "$PLUGIN_GREETING" > "\(dir.path)/env"
            cat <<'JSON'
            \(output)
            JSON
            """, executable: true)
    }

    private func runs(_ dir: TemporaryDirectory) -> Int {
        ((try? String(contentsOfFile: dir.path + "/runs", encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    private func provider(_ dir: TemporaryDirectory, apiVersion: String, extra: String = "") throws -> CredentialProvider {
        let yaml = """
            current-context: c
            contexts: [{name: c, context: {cluster: k, user: u}}]
            clusters:
            - name: k
              cluster:
                server: https://127.0.0.1:6443
                certificate-authority-data: \(base64("CA"))
                extensions:
                - name: client.authentication.k8s.io/exec
                  extension: {audience: meshcheck}
            users:
            - name: u
              user:
                exec:
                  apiVersion: \(apiVersion)
                  command: ./bin/plugin
                  interactiveMode: Never
                  provideClusterInfo: true
                  env: [{name: PLUGIN_GREETING, value: hello}]
            \(extra)
            """
        let context = try Kubeconfig.parse(yaml, directory: dir.path).resolve()
        return CredentialProvider(authentication: context.authentication, cluster: context.cluster, environment: ProcessInfo.processInfo.environment)
    }

    private func credential(_ version: String, token: String, expiry: String? = nil) -> String {
        let expiryField = expiry.map { #","expirationTimestamp":"\#($0)""# } ?? ""
        return #"{"apiVersion":"\#(version)","kind":"ExecCredential","status":{"token":"\#(token)"\#(expiryField)}}"#
    }

    /// v1: the token is used and cached (no expiry); KUBERNETES_EXEC_INFO carries cluster info; env is passed.
    @Test func v1TokenCachedAndClusterInfo() async throws {
        let dir = try TemporaryDirectory()
        try plugin(dir, output: credential("client.authentication.k8s.io/v1", token: "tok-v1"))
        let credentials = try provider(dir, apiVersion: "client.authentication.k8s.io/v1")
        #expect(try await credentials.current().headers == ["Authorization: Bearer tok-v1"])
        #expect(try await credentials.current().headers == ["Authorization: Bearer tok-v1"])
        #expect(runs(dir) == 1)
        let info = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: URL(fileURLWithPath: dir.path + "/info")))
        #expect(info["apiVersion"]?.stringValue == "client.authentication.k8s.io/v1")
        #expect(info["spec"]?["interactive"]?.boolValue == false)
        #expect(info["spec"]?["cluster"]?["server"]?.stringValue == "https://127.0.0.1:6443")
        #expect(info["spec"]?["cluster"]?["certificate-authority-data"]?.stringValue == base64("CA"))
        #expect(info["spec"]?["cluster"]?["config"]?["audience"]?.stringValue == "meshcheck")
        #expect(try String(contentsOfFile: dir.path + "/env", encoding: .utf8) == "hello")
        // A 401 invalidates the cache: the plugin runs again.
        await credentials.invalidate()
        _ = try await credentials.current()
        #expect(runs(dir) == 2)
    }

    /// v1beta1 with an expiry in the past is re-run every time; with a future expiry it is cached.
    @Test func v1beta1ExpiryHonoured() async throws {
        let expired = try TemporaryDirectory()
        try plugin(expired, output: credential("client.authentication.k8s.io/v1beta1", token: "old", expiry: "2000-01-01T00:00:00Z"))
        let expiredProvider = try provider(expired, apiVersion: "client.authentication.k8s.io/v1beta1")
        _ = try await expiredProvider.current()
        _ = try await expiredProvider.current()
        #expect(runs(expired) == 2)

        let fresh = try TemporaryDirectory()
        try plugin(fresh, output: credential("client.authentication.k8s.io/v1beta1", token: "new", expiry: "2999-01-01T00:00:00.5Z"))
        let freshProvider = try provider(fresh, apiVersion: "client.authentication.k8s.io/v1beta1")
        _ = try await freshProvider.current()
        #expect(try await freshProvider.current().headers == ["Authorization: Bearer new"])
        #expect(runs(fresh) == 1)
    }

    /// A plugin answering another apiVersion (gke-gcloud-auth-plugin always says v1beta1) is rejected.
    @Test func wrongAPIVersionRejected() async throws {
        let dir = try TemporaryDirectory()
        try plugin(dir, output: credential("client.authentication.k8s.io/v1beta1", token: "SECRET-TOKEN"))
        let credentials = try provider(dir, apiVersion: "client.authentication.k8s.io/v1")
        await #expect(
            throws: KubeconfigError(.execPluginWrongAPIVersion(configured: "client.authentication.k8s.io/v1", returned: "client.authentication.k8s.io/v1beta1"))
        ) {
            _ = try await credentials.current()
        }
    }

    /// Client certificates from a plugin replace the kubeconfig's; half a pair or an empty status is an error.
    @Test func certificatesAndInvalidOutputs() throws {
        let config = ExecPluginConfig(
            command: "p", arguments: [], environment: [], apiVersion: .v1, installHint: nil, provideClusterInfo: false, interactiveMode: .never)
        let cert = try ExecPluginInvocation.parse(
            Data(#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"clientCertificateData":"C","clientKeyData":"K"}}"#.utf8),
            config: config)
        #expect(cert.clientCertificate == ClientCertificate(certificatePEM: Array("C".utf8), keyPEM: Array("K".utf8)))
        #expect(throws: KubeconfigError(.execPluginInvalidOutput(command: "p", reason: "clientCertificateData is set without clientKeyData"))) {
            try ExecPluginInvocation.parse(
                Data(#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"clientCertificateData":"C"}}"#.utf8), config: config)
        }
        #expect(throws: KubeconfigError(.execPluginInvalidOutput(command: "p", reason: "status has neither token nor clientCertificateData/clientKeyData"))) {
            try ExecPluginInvocation.parse(Data(#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{}}"#.utf8), config: config)
        }
        #expect(throws: KubeconfigError(.execPluginInvalidOutput(command: "p", reason: "stdout is not a JSON object"))) {
            try ExecPluginInvocation.parse(Data("nope".utf8), config: config)
        }
    }

    /// A missing plugin names the command and shows the install hint; a failing plugin reports its status.
    @Test func missingAndFailingPlugins() async throws {
        let dir = try TemporaryDirectory()
        let context = try execContext(
            dir,
            exec: #"{apiVersion: client.authentication.k8s.io/v1beta1, command: gke-gcloud-auth-plugin-missing, installHint: "Install gke-gcloud-auth-plugin"}"#
        )
        let missing = CredentialProvider(authentication: context.authentication, cluster: context.cluster, environment: ["PATH": dir.path])
        await #expect {
            _ = try await missing.current()
        } throws: { error in
            "\(error)" == "user: exec plugin executable gke-gcloud-auth-plugin-missing not found. Install gke-gcloud-auth-plugin"
        }
        try dir.write("bin/plugin", "#!/bin/sh\nexit 7\n", executable: true)
        let failing = try provider(dir, apiVersion: "client.authentication.k8s.io/v1beta1")
        await #expect(throws: KubeconfigError(.execPluginFailed(command: dir.path + "/bin/plugin", status: 7))) {
            _ = try await failing.current()
        }
    }

    /// The one context of a kubeconfig whose user is the `exec` mapping given (YAML flow style).
    private func execContext(_ dir: TemporaryDirectory, exec: String) throws -> ResolvedContext {
        let yaml = """
            current-context: c
            contexts: [{name: c, context: {cluster: k, user: u}}]
            clusters: [{name: k, cluster: {server: "https://127.0.0.1:1"}}]
            users:
            - name: u
              user:
                exec: \(exec)
            """
        return try Kubeconfig.parse(yaml, directory: dir.path).resolve()
    }

    /// An invocation of `bin/plugin` (written with `script`) with `limits`.
    private func invocation(_ dir: TemporaryDirectory, script: String, limits: ExecPluginLimits) throws -> ExecPluginInvocation {
        try dir.write("bin/plugin", "#!/bin/sh\n" + script, executable: true)
        let context = try execContext(dir, exec: "{apiVersion: client.authentication.k8s.io/v1, command: \(dir.path)/bin/plugin, interactiveMode: Never}")
        guard case .execPlugin(let config) = context.authentication.credentials else { throw KubeconfigError(.missingServer) }
        return ExecPluginInvocation(config: config, cluster: context.cluster, environment: ProcessInfo.processInfo.environment, limits: limits)
    }

    /// A plugin that never finishes is stopped at its deadline with its own message (plus a margin, never a speed
    /// assertion), whether it holds stdout open or closed it and keeps running.
    @Test func hangingPluginIsStoppedAtItsDeadline() throws {
        let dir = try TemporaryDirectory()
        var limits = ExecPluginLimits()
        limits.timeout = .seconds(1)
        for script in ["exec sleep 30\n", "exec sleep 30 >/dev/null\n"] {
            let hanging = try invocation(dir, script: script, limits: limits)
            let started = ContinuousClock.now
            #expect(throws: KubeconfigError(.execPluginTimedOut(command: dir.path + "/bin/plugin", seconds: 1))) { try hanging.run() }
            #expect(started.duration(to: .now) < .seconds(1) + .seconds(10))
        }
        #expect(
            KubeconfigError(.execPluginTimedOut(command: "p", seconds: 60)).description
                == "user: exec plugin p did not finish within 60s and was stopped; run it by hand to see where it waits (a login prompt, a network call) and fix users[].user.exec"
        )
    }

    /// A plugin printing without end is stopped at the default output limit.
    @Test func floodingPluginIsStoppedAtItsOutputLimit() throws {
        let dir = try TemporaryDirectory()
        let flooding = try invocation(dir, script: "exec yes token\n", limits: ExecPluginLimits())
        #expect(throws: KubeconfigError(.execPluginOutputTooLarge(command: dir.path + "/bin/plugin", limitKiB: 1024))) { try flooding.run() }
        // Output up to the limit is still read whole.
        let large = try invocation(
            dir,
            script:
                #"head -c 900000 /dev/zero | tr '\0' ' '; echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t"}}'"#
                + "\n", limits: ExecPluginLimits())
        #expect(try large.run().token?.value == "t")
    }
}
