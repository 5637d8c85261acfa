import Foundation

/// Turns a context's raw kubeconfig entries into a ``ResolvedContext``.
struct ContextResolver {
    var environment: [String: String]
    /// Reads a file the kubeconfig refers to (CA, client certificate, client key); nil when unreadable.
    /// The disk unless a caller resolves without touching the file system (the kubeconfig fuzz target).
    var fileReader: (String) -> [UInt8]? = ContextResolver.readFromDisk

    static func readFromDisk(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { [UInt8]($0) }
    }

    func resolve(
        contextName: String,
        context: ContextFields,
        cluster: Kubeconfig.Defined<ClusterFields>?,
        clusterName: String,
        user: Kubeconfig.Defined<UserFields>?,
        userName: String
    ) throws(KubeconfigError) -> ResolvedContext {
        guard let cluster else { throw KubeconfigError(.clusterNotFound(cluster: clusterName)) }
        var warnings: [String] = []
        let connection = try resolveCluster(cluster, name: clusterName, contextName: contextName, warnings: &warnings)
        let authentication: Authentication
        if let user {
            authentication = try resolveUser(user, name: userName)
        } else if userName.isEmpty {
            authentication = Authentication(credentials: .none, clientCertificate: nil, impersonation: nil)
        } else {
            throw KubeconfigError(.userNotFound(user: userName))
        }
        let namespace = context.namespace.flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        return ResolvedContext(
            name: contextName, clusterName: clusterName, userName: userName, namespace: namespace,
            cluster: connection, authentication: authentication, warnings: warnings
        )
    }

    private func resolveCluster(
        _ defined: Kubeconfig.Defined<ClusterFields>, name: String, contextName: String, warnings: inout [String]
    ) throws(KubeconfigError) -> ClusterConnection {
        let fields = defined.value
        let section = "cluster \(name)"
        guard let serverText = fields.server, !serverText.isEmpty else { throw KubeconfigError(.missingServer) }
        let server = try ServerURL.parse(serverText)
        var caPEM: [UInt8]?
        var caSource: String?
        if let data = fields.certificateAuthorityData, !data.isEmpty {
            caPEM = try decodeBase64(data, section: section, field: "certificate-authority-data")
            caSource = "certificate-authority-data"
        } else if let file = fields.certificateAuthority, !file.isEmpty {
            let path = resolvePath(file, against: defined.directory)
            caPEM = try readFile(path, section: section, field: "certificate-authority")
            caSource = "certificate-authority (\(path))"
        }
        let insecure = fields.insecureSkipTLSVerify ?? false
        if insecure {
            if caPEM != nil {
                // client-go refuses CA + insecure; we honour insecure and say the CA is ignored.
                caPEM = nil
                caSource = nil
                warnings.append("context \(contextName): insecure-skip-tls-verify is set, so the cluster's certificate authority is ignored")
            }
            warnings.append(
                "context \(contextName): TLS certificate verification is disabled (insecure-skip-tls-verify); "
                    + "the connection to \(server) can be intercepted")
        }
        let proxy: ProxyChoice
        if let proxyURL = fields.proxyURL, !proxyURL.isEmpty {
            guard let components = URLComponents(string: proxyURL),
                let scheme = components.scheme?.lowercased(), ["http", "https", "socks5", "socks5h"].contains(scheme),
                components.host?.isEmpty == false
            else { throw KubeconfigError(.invalidProxyURL(proxyURL)) }
            proxy = .proxy(proxyURL)
        } else {
            proxy = ProxyChoice.fromEnvironment(environment, server: server)
        }
        let execConfig = fields.extensions?.first { $0.name == "client.authentication.k8s.io/exec" }?.extension
        return ClusterConnection(
            name: name, server: server, tlsServerName: fields.tlsServerName.flatMap { $0.isEmpty ? nil : $0 },
            insecureSkipTLSVerify: insecure, certificateAuthorityPEM: caPEM, certificateAuthoritySource: caSource,
            proxy: proxy, disableCompression: fields.disableCompression ?? false, execExtensionConfig: execConfig
        )
    }

    private func resolveUser(_ defined: Kubeconfig.Defined<UserFields>, name: String) throws(KubeconfigError) -> Authentication {
        let fields = defined.value
        let section = "user \(name)"
        if let provider = fields.authProvider {
            throw KubeconfigError(.unsupportedAuthProvider(provider.name ?? "(unnamed)"))
        }
        // Client certificate: *-data overrides the file, and both halves are required.
        var certificate: [UInt8]?
        var key: [UInt8]?
        if let data = fields.clientCertificateData, !data.isEmpty {
            certificate = try decodeBase64(data, section: section, field: "client-certificate-data")
        } else if let file = fields.clientCertificate, !file.isEmpty {
            certificate = try readFile(resolvePath(file, against: defined.directory), section: section, field: "client-certificate")
        }
        if let data = fields.clientKeyData, !data.isEmpty {
            key = try decodeBase64(data, section: section, field: "client-key-data")
        } else if let file = fields.clientKey, !file.isEmpty {
            key = try readFile(resolvePath(file, against: defined.directory), section: section, field: "client-key")
        }
        let clientCertificate: ClientCertificate?
        switch (certificate, key) {
        case (let cert?, let key?): clientCertificate = ClientCertificate(certificatePEM: cert, keyPEM: key)
        case (nil, nil): clientCertificate = nil
        case (nil, _): throw KubeconfigError(.incompleteClientCertificate(section: section, missing: "client-certificate"))
        case (_, nil): throw KubeconfigError(.incompleteClientCertificate(section: section, missing: "client-key"))
        }

        let hasToken = !(fields.token ?? "").isEmpty || !(fields.tokenFile ?? "").isEmpty
        let hasBasic = !(fields.username ?? "").isEmpty || !(fields.password ?? "").isEmpty
        if hasToken && hasBasic {
            throw KubeconfigError(.conflictingAuthentication(fields: ["token/tokenFile", "username/password"]))
        }
        let credentials: CredentialSource
        if let token = fields.token, !token.isEmpty {
            credentials = .bearerToken(SecretString(token)) // token wins over tokenFile and exec
        } else if let file = fields.tokenFile, !file.isEmpty {
            credentials = .tokenFile(path: resolvePath(file, against: defined.directory))
        } else if hasBasic {
            credentials = .basic(username: fields.username ?? "", password: SecretString(fields.password ?? ""))
        } else if let exec = fields.exec {
            credentials = .execPlugin(try resolveExec(exec, directory: defined.directory))
        } else {
            credentials = .none
        }

        var impersonation: Impersonation?
        if fields.impersonate != nil || fields.impersonateUID != nil || !(fields.impersonateGroups ?? []).isEmpty
            || !(fields.impersonateUserExtra ?? [:]).isEmpty
        {
            impersonation = Impersonation(
                user: fields.impersonate, uid: fields.impersonateUID,
                groups: fields.impersonateGroups ?? [], extra: fields.impersonateUserExtra ?? [:]
            )
        }
        return Authentication(credentials: credentials, clientCertificate: clientCertificate, impersonation: impersonation)
    }

    private func resolveExec(_ exec: ExecFields, directory: String) throws(KubeconfigError) -> ExecPluginConfig {
        guard let command = exec.command, !command.isEmpty else {
            throw KubeconfigError(.execPluginNotFound(command: "(empty command)", installHint: exec.installHint))
        }
        let versionText = exec.apiVersion ?? ""
        guard let version = ExecPluginConfig.APIVersion(rawValue: versionText) else {
            throw KubeconfigError(.execPluginUnsupportedAPIVersion(versionText.isEmpty ? "(missing)" : versionText))
        }
        let mode: ExecPluginConfig.InteractiveMode
        if let text = exec.interactiveMode, !text.isEmpty {
            guard let parsed = ExecPluginConfig.InteractiveMode(rawValue: text) else {
                throw KubeconfigError(.invalidInteractiveMode(text))
            }
            mode = parsed
        } else if version == .v1beta1 {
            mode = .ifAvailable
        } else {
            throw KubeconfigError(.invalidInteractiveMode(""))
        }
        // Bare names are looked up on PATH; anything with a separator is a file reference.
        let resolvedCommand = command.contains("/") ? resolvePath(command, against: directory) : command
        return ExecPluginConfig(
            command: resolvedCommand, arguments: exec.args ?? [],
            environment: (exec.env ?? []).map { ($0.name, $0.value) }, apiVersion: version,
            installHint: exec.installHint, provideClusterInfo: exec.provideClusterInfo ?? false, interactiveMode: mode
        )
    }

    private func resolvePath(_ path: String, against directory: String) -> String {
        if path.hasPrefix("/") { return path }
        if path.hasPrefix("~/"), let home = environment["HOME"] {
            return (home as NSString).appendingPathComponent(String(path.dropFirst(2)))
        }
        return Self.lexicallyCleaned((directory as NSString).appendingPathComponent(path))
    }

    /// `a/./b/../c` → `a/c` from the text alone, as client-go joins paths (Go's filepath.Clean);
    /// NSString.standardizingPath would also resolve symlinks, touching the file system.
    static func lexicallyCleaned(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        var parts: [Substring] = []
        for part in path.split(separator: "/") where part != "." {
            if part == "..", let last = parts.last, last != ".." {
                parts.removeLast()
            } else if part != ".." || !absolute {
                parts.append(part)
            }
        }
        let joined = parts.joined(separator: "/")
        return absolute ? "/" + joined : (joined.isEmpty ? "." : joined)
    }

    private func decodeBase64(_ text: String, section: String, field: String) throws(KubeconfigError) -> [UInt8] {
        let compact = text.filter { !$0.isWhitespace }
        guard let data = Data(base64Encoded: compact) else {
            throw KubeconfigError(.invalidBase64(section: section, field: field))
        }
        return [UInt8](data)
    }

    private func readFile(_ path: String, section: String, field: String) throws(KubeconfigError) -> [UInt8] {
        guard let bytes = fileReader(path) else {
            throw KubeconfigError(.referencedFileUnreadable(section: section, field: field, path: path))
        }
        return bytes
    }
}
