import Foundation
import MeshTestSupport
import Testing

@testable import KubeClient

@Suite struct KubeconfigTests {
    private func fileA(_ dir: TemporaryDirectory) throws -> String {
        try dir.write(
            "a/config",
            """
            apiVersion: v1
            kind: Config
            current-context: ctx-a
            clusters:
            - name: shared
              cluster:
                server: https://a.example:6443/prefix/
                certificate-authority: certs/ca.pem
            users:
            - name: red-user
              user:
                tokenFile: tokens/red
            contexts:
            - name: ctx-a
              context: {cluster: shared, user: red-user, namespace: team-a}
            """)
    }

    private func fileB(_ dir: TemporaryDirectory) throws -> String {
        try dir.write(
            "b/config",
            """
            current-context: ctx-b
            clusters:
            - name: shared
              cluster: {server: https://b.example}
            - name: only-b
              cluster:
                server: https://only-b.example
                insecure-skip-tls-verify: true
            users:
            - name: red-user
              user: {token: from-b, username: ignored}
            - name: blue-user
              user:
                client-certificate: client.crt
                client-key: client.key
            contexts:
            - name: ctx-a
              context: {cluster: only-b, user: blue-user}
            - name: ctx-b
              context: {cluster: only-b, user: blue-user}
            """)
    }

    private func fileC(_ dir: TemporaryDirectory) throws -> String {
        try dir.write(
            "c/config",
            """
            clusters:
            - name: cluster-c
              cluster:
                server: https://c.example
                certificate-authority-data: \(base64("CA-C"))
            users:
            - name: user-c
              user:
                exec:
                  apiVersion: client.authentication.k8s.io/v1beta1
                  command: ./bin/plugin
                  provideClusterInfo: true
            contexts:
            - name: ctx-c
              context: {cluster: cluster-c, user: user-c}
            """)
    }

    private func threeFiles() throws -> (TemporaryDirectory, Kubeconfig) {
        let dir = try TemporaryDirectory()
        let a = try fileA(dir)
        let b = try fileB(dir)
        let c = try fileC(dir)
        try dir.write("a/certs/ca.pem", "CA-A")
        try dir.write("a/tokens/red", "token-a\n")
        try dir.write("b/client.crt", "CERT-B")
        try dir.write("b/client.key", "KEY-B")
        let missing = dir.path + "/missing/config"
        let rules = KubeconfigLoadingRules(environment: ["KUBECONFIG": [a, missing, "", b, c, a].joined(separator: ":")])
        return (dir, try Kubeconfig.load(rules))
    }

    /// The first file wins per key (current-context, cluster, user, context), missing files are skipped.
    @Test func mergesThreeFilesFirstWins() throws {
        let (dir, config) = try threeFiles()
        #expect(config.currentContext == "ctx-a")
        #expect(config.contextNames == ["ctx-a", "ctx-b", "ctx-c"])
        #expect(config.files.count == 3)
        let a = try config.resolve()
        #expect(a.name == "ctx-a")
        #expect(a.namespace == "team-a")
        #expect(a.cluster.server == ServerURL(scheme: "https", host: "a.example", port: 6443, pathPrefix: "/prefix"))
        #expect(a.cluster.certificateAuthorityPEM == Array("CA-A".utf8))
        // red-user comes wholly from file A: B's token and username are discarded.
        #expect(a.authentication.credentials == .tokenFile(path: dir.path + "/a/tokens/red"))
        let b = try config.resolve(context: "ctx-b")
        #expect(b.namespace == "default")
        #expect(b.authentication.clientCertificate == ClientCertificate(certificatePEM: Array("CERT-B".utf8), keyPEM: Array("KEY-B".utf8)))
        #expect(b.cluster.insecureSkipTLSVerify)
        #expect(b.warnings.contains { $0.contains("ctx-b") && $0.contains("insecure-skip-tls-verify") })
        let c = try config.resolve(context: "ctx-c")
        guard case .execPlugin(let plugin) = c.authentication.credentials else {
            Issue.record("expected an exec plugin")
            return
        }
        #expect(plugin.command == dir.path + "/c/bin/plugin")
        #expect(plugin.interactiveMode == .ifAvailable)
        #expect(plugin.provideClusterInfo)
    }

    /// An explicit --kubeconfig must exist and is not merged with KUBECONFIG.
    @Test func explicitPath() throws {
        let dir = try TemporaryDirectory()
        let b = try fileB(dir)
        let a = try fileA(dir)
        let config = try Kubeconfig.load(KubeconfigLoadingRules(explicitPath: b, environment: ["KUBECONFIG": a]))
        #expect(config.currentContext == "ctx-b")
        #expect(throws: KubeconfigError(.explicitFileMissing(path: dir.path + "/nope"))) {
            try Kubeconfig.load(KubeconfigLoadingRules(explicitPath: dir.path + "/nope", environment: [:]))
        }
    }

    /// Without KUBECONFIG, $HOME/.kube/config is used; with nothing at all, in-cluster config; else a clear error.
    @Test func homeInClusterAndNothing() throws {
        let dir = try TemporaryDirectory()
        try dir.write(
            "home/.kube/config", "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\nclusters:\n- name: c\n  cluster: {server: 'https://h:1'}\n"
        )
        let home = try Kubeconfig.load(KubeconfigLoadingRules(environment: ["HOME": dir.path + "/home"]))
        #expect(try home.resolve().cluster.server.port == 1)

        try dir.write("sa/token", "sa-token\n")
        try dir.write("sa/ca.crt", "SA-CA")
        try dir.write("sa/namespace", "kube-system")
        let env = ["HOME": dir.path + "/empty", "KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"]
        let inCluster = try Kubeconfig.load(KubeconfigLoadingRules(environment: env, serviceAccountDirectory: dir.path + "/sa"))
        let resolved = try inCluster.resolve()
        #expect(resolved.name == "in-cluster")
        #expect(resolved.namespace == "kube-system")
        #expect(resolved.cluster.server.description == "https://10.0.0.1")
        #expect(resolved.cluster.certificateAuthorityPEM == Array("SA-CA".utf8))
        #expect(resolved.authentication.credentials == .tokenFile(path: dir.path + "/sa/token"))

        #expect {
            try Kubeconfig.load(KubeconfigLoadingRules(environment: ["HOME": dir.path + "/empty"], serviceAccountDirectory: dir.path + "/none"))
        } throws: { error in
            guard let error = error as? KubeconfigError, case .noConfiguration = error.code else { return false }
            return error.description.contains("--kubeconfig")
        }
    }

    private func resolveError(_ yaml: String, context: String = "gke_p_z_c") -> KubeconfigError? {
        do {
            _ = try Kubeconfig.parse(yaml, directory: "/nonexistent").resolve(context: context)
            return nil
        } catch {
            return error
        }
    }

    private func singleContext(user: String, cluster: String = "server: https://k.example") -> String {
        "current-context: gke_p_z_c\ncontexts:\n- name: gke_p_z_c\n  context: {cluster: c, user: u}\nclusters:\n- name: c\n  cluster: {\(cluster)}\nusers:\n- name: u\n  user:\n"
            + user
    }

    /// Errors name the context and the field and never echo secret values.
    @Test func errorsNameContextAndFieldWithoutSecrets() throws {
        let badKey = resolveError(singleContext(user: "    client-certificate-data: \(base64("C"))\n    client-key-data: 'SECRETKEY!!'\n"))
        #expect(badKey?.description == "context gke_p_z_c: user u: client-key-data is not valid base64")
        #expect(badKey?.description.contains("SECRETKEY") == false)

        let gcp = resolveError(singleContext(user: "    auth-provider: {name: gcp, config: {access-token: ya29.SECRET}}\n"))
        #expect(gcp?.description.contains("context gke_p_z_c") == true)
        #expect(gcp?.description.contains("gke-gcloud-auth-plugin") == true)
        #expect(gcp?.description.contains("ya29") == false)

        let conflict = resolveError(singleContext(user: "    token: tok-SECRET\n    password: pw-SECRET\n"))
        #expect(conflict.map { if case .conflictingAuthentication = $0.code { true } else { false } } == true)
        #expect(conflict?.description.contains("SECRET") == false)

        let halfCert = resolveError(singleContext(user: "    client-certificate-data: \(base64("C"))\n"))
        #expect(halfCert?.description == "context gke_p_z_c: user u: client certificate and key must be given together; client-key is missing")

        let missingFile = resolveError(singleContext(user: "    client-certificate: c.crt\n    client-key: k.key\n"))
        #expect(missingFile?.description == "context gke_p_z_c: user u: client-certificate file /nonexistent/c.crt cannot be read")

        let v1NoMode = resolveError(singleContext(user: "    exec: {apiVersion: client.authentication.k8s.io/v1, command: p}\n"))
        #expect(v1NoMode?.code == .invalidInteractiveMode(""))
        let alpha = resolveError(singleContext(user: "    exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: p}\n"))
        #expect(alpha?.code == .execPluginUnsupportedAPIVersion("client.authentication.k8s.io/v1alpha1"))

        #expect(
            resolveError(singleContext(user: "    token: t\n", cluster: "server: ''"))?.description
                == "context gke_p_z_c: cluster has no server; set clusters[].cluster.server")
        #expect(resolveError(singleContext(user: "    token: t\n"), context: "other")?.code == .contextNotFound("other", available: ["gke_p_z_c"]))
        let badCA = resolveError(singleContext(user: "    token: t\n", cluster: "server: 'https://k', certificate-authority-data: '%%%'"))
        #expect(badCA?.description == "context gke_p_z_c: cluster c: certificate-authority-data is not valid base64")
        #expect(resolveError("clusters: [")?.description.contains("cannot be read") == true)
    }

    /// Token wins over tokenFile; basic auth and impersonation produce the right headers.
    @Test func credentialHeaders() async throws {
        let config = try Kubeconfig.parse(
            singleContext(user: "    username: alice\n    password: pw\n    as: bob\n    as-groups: [g1, g2]\n    as-user-extra: {scopes: [view]}\n"),
            directory: "/")
        let resolved = try config.resolve()
        let provider = CredentialProvider(authentication: resolved.authentication, cluster: resolved.cluster, environment: [:])
        let headers = try await provider.current().headers
        #expect(
            headers == [
                "Authorization: Basic \(base64("alice:pw"))", "Impersonate-User: bob", "Impersonate-Group: g1",
                "Impersonate-Group: g2", "Impersonate-Extra-scopes: view",
            ])
        let both = try Kubeconfig.parse(singleContext(user: "    token: direct\n    tokenFile: /x\n"), directory: "/").resolve()
        #expect(both.authentication.credentials == .bearerToken(SecretString("direct")))
        #expect("\(both.authentication.credentials)".contains("direct") == false)
    }

    /// insecure-skip-tls-verify drops the CA (client-go would refuse) and warns.
    @Test func insecureDropsCA() throws {
        let config = try Kubeconfig.parse(
            singleContext(user: "    token: t\n", cluster: "server: 'https://k', insecure-skip-tls-verify: true, certificate-authority-data: \(base64("CA"))"),
            directory: "/")
        let resolved = try config.resolve()
        #expect(resolved.cluster.certificateAuthorityPEM == nil)
        #expect(resolved.warnings.count == 2)
    }

    /// proxy-url wins; otherwise HTTPS_PROXY unless NO_PROXY (Go semantics) or loopback exempts the host.
    @Test func proxySelection() throws {
        let server = try ServerURL.parse("https://api.corp.example:6443")
        #expect(ProxyChoice.fromEnvironment(["HTTPS_PROXY": "http://p:3128"], server: server) == .proxy("http://p:3128"))
        #expect(ProxyChoice.fromEnvironment(["https_proxy": "http://p:3128", "NO_PROXY": ".corp.example"], server: server) == .direct)
        #expect(ProxyChoice.fromEnvironment(["HTTPS_PROXY": "http://p", "no_proxy": "corp.example"], server: server) == .direct)
        #expect(
            ProxyChoice.fromEnvironment(["HTTPS_PROXY": "http://p", "NO_PROXY": "other.example,api.corp.example:443"], server: server) == .proxy("http://p"))
        #expect(ProxyChoice.fromEnvironment(["HTTPS_PROXY": "http://p", "NO_PROXY": "api.corp.example:6443"], server: server) == .direct)
        #expect(ProxyChoice.fromEnvironment(["HTTPS_PROXY": "http://p"], server: try ServerURL.parse("https://127.0.0.1:1")) == .direct)
        #expect(NoProxyRule.exempts(host: "10.1.2.3", port: 443, noProxy: "10.0.0.0/8"))
        #expect(!NoProxyRule.exempts(host: "11.1.2.3", port: 443, noProxy: "10.0.0.0/8"))
        #expect(NoProxyRule.exempts(host: "x.y", port: 1, noProxy: "*"))
        let explicit = try Kubeconfig.parse(singleContext(user: "    token: t\n", cluster: "server: 'https://k', proxy-url: 'socks5://s:1080'"), directory: "/")
        #expect(try explicit.resolve().cluster.proxy == .proxy("socks5://s:1080"))
        let bad = resolveError(singleContext(user: "    token: t\n", cluster: "server: 'https://k', proxy-url: 'ftp://s'"))
        #expect(bad?.code == .invalidProxyURL("ftp://s"))
    }

    /// Server URLs keep their path prefix; IPv6 hosts get brackets.
    @Test func serverURLs() throws {
        let prefixed = try ServerURL.parse("https://rancher.example/k8s/clusters/c-xyz")
        #expect(prefixed.url(path: "/api/v1/pods") == "https://rancher.example:443/k8s/clusters/c-xyz/api/v1/pods")
        #expect(prefixed.authority == "rancher.example")
        let v6 = try ServerURL.parse("https://[::1]:6443")
        #expect(v6.host == "::1")
        #expect(v6.authority == "[::1]:6443")
        #expect(throws: KubeconfigError.self) { try ServerURL.parse("ftp://x") }
    }
}
