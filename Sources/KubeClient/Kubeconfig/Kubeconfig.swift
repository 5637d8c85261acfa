import Foundation

/// Where to look for kubeconfig, the way kubectl does.
///
/// Precedence: an explicit path (must exist, no merging) → the `KUBECONFIG` list (merged, first
/// file wins per key, missing files ignored) → `$HOME/.kube/config` → in-cluster service account.
package struct KubeconfigLoadingRules: Sendable {
    /// `--kubeconfig`; relative paths are taken against the working directory.
    package var explicitPath: String?
    /// The process environment (injectable for tests): `KUBECONFIG`, `HOME`, proxy and in-cluster variables.
    package var environment: [String: String]
    /// Service-account mount used for the in-cluster configuration.
    package var serviceAccountDirectory: String

    package init(
        explicitPath: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        serviceAccountDirectory: String = "/var/run/secrets/kubernetes.io/serviceaccount"
    ) {
        self.explicitPath = explicitPath
        self.environment = environment
        self.serviceAccountDirectory = serviceAccountDirectory
    }
}

/// A loaded (and, for `KUBECONFIG` lists, merged) kubeconfig.
///
/// Entries remember the directory of the file that defined them: relative file references
/// resolve against it, as kubectl does.
package struct Kubeconfig: Sendable {
    struct Defined<Value: Sendable>: Sendable {
        var value: Value
        var directory: String
    }

    var clusters: [String: Defined<ClusterFields>] = [:]
    var users: [String: Defined<UserFields>] = [:]
    var contexts: [String: ContextFields] = [:]
    /// Context names in the order the files define them.
    package private(set) var contextNames: [String] = []
    /// The merged `current-context` (from the first file that sets one).
    package private(set) var currentContext: String?
    /// Set when no file was found and the process runs in a pod.
    var inCluster: ResolvedContext?
    /// Environment kept for proxy resolution.
    var environment: [String: String] = [:]
    /// Files that contributed, for diagnostics.
    package private(set) var files: [String] = []

    /// Name of the synthetic context used for in-cluster configuration.
    package static let inClusterContextName = "in-cluster"

    /// Loads kubeconfig following `rules`.
    /// - Throws: ``KubeconfigError`` when an explicit file is missing, a file cannot be parsed, or
    ///   nothing is configured at all.
    package static func load(_ rules: KubeconfigLoadingRules = KubeconfigLoadingRules()) throws(KubeconfigError) -> Kubeconfig {
        var config = Kubeconfig()
        config.environment = rules.environment
        let fileManager = FileManager.default
        if let explicit = rules.explicitPath, !explicit.isEmpty {
            let path = absolute(explicit)
            guard fileManager.fileExists(atPath: path) else {
                throw KubeconfigError(.explicitFileMissing(path: explicit))
            }
            try config.merge(path: path)
            return config
        }
        var searched: [String] = []
        if let list = rules.environment["KUBECONFIG"], !list.isEmpty {
            var seen = Set<String>()
            for entry in list.split(separator: ":").map(String.init) where !entry.isEmpty {
                let path = absolute(entry)
                guard seen.insert(path).inserted else { continue }
                searched.append(path)
                if fileManager.fileExists(atPath: path) { try config.merge(path: path) }
            }
        } else if let home = rules.environment["HOME"], !home.isEmpty {
            let path = (home as NSString).appendingPathComponent(".kube/config")
            searched.append(path)
            if fileManager.fileExists(atPath: path) { try config.merge(path: path) }
        }
        if config.contexts.isEmpty && config.clusters.isEmpty {
            if let inCluster = try InClusterConfig.detect(rules) {
                config.inCluster = inCluster
                config.contextNames = [inClusterContextName]
                config.currentContext = inClusterContextName
                return config
            }
            if config.files.isEmpty {
                throw KubeconfigError(.noConfiguration(searched: searched + ["in-cluster service account"]))
            }
        }
        return config
    }

    /// Parses kubeconfig text directly (used by tests and by callers holding a kubeconfig in memory,
    /// such as a remote secret). Relative paths resolve against `directory`.
    package static func parse(_ text: String, directory: String, environment: [String: String] = [:]) throws(KubeconfigError) -> Kubeconfig {
        var config = Kubeconfig()
        config.environment = environment
        config.add(try KubeconfigFile.parse(text, path: "(in memory)"), directory: directory)
        return config
    }

    private static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        return (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
    }

    private mutating func merge(path: String) throws(KubeconfigError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KubeconfigError(.unreadableFile(path: path, reason: "permission denied or not a file"))
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw KubeconfigError(.unreadableFile(path: path, reason: "not UTF-8 text"))
        }
        let file = try KubeconfigFile.parse(text, path: path)
        files.append(path)
        add(file, directory: (path as NSString).deletingLastPathComponent)
    }

    /// First definition wins for every key, including `current-context`; later files never
    /// change an entry, not even its fields the first file left empty (client-go semantics).
    private mutating func add(_ file: KubeconfigFile, directory: String) {
        for entry in file.clusters ?? [] where clusters[entry.name] == nil {
            clusters[entry.name] = Defined(value: entry.cluster ?? ClusterFields(), directory: directory)
        }
        for entry in file.users ?? [] where users[entry.name] == nil {
            users[entry.name] = Defined(value: entry.user ?? UserFields(), directory: directory)
        }
        for entry in file.contexts ?? [] where contexts[entry.name] == nil {
            contexts[entry.name] = entry.context ?? ContextFields()
            contextNames.append(entry.name)
        }
        if currentContext == nil || currentContext == "", let current = file.currentContext, !current.isEmpty {
            currentContext = current
        }
    }

    /// Resolves a context (or the current context when `name` is nil) into everything needed to
    /// connect: endpoint, TLS material, credentials.
    /// - Throws: ``KubeconfigError`` naming the context and the offending field.
    package func resolve(context name: String? = nil) throws(KubeconfigError) -> ResolvedContext {
        try resolve(context: name, fileReader: ContextResolver.readFromDisk)
    }

    /// ``resolve(context:)`` reading the files the kubeconfig refers to with `fileReader`.
    func resolve(context name: String?, fileReader: @escaping (String) -> [UInt8]?) throws(KubeconfigError) -> ResolvedContext {
        let contextName: String
        if let name, !name.isEmpty {
            contextName = name
        } else if let current = currentContext, !current.isEmpty {
            contextName = current
        } else {
            throw KubeconfigError(.noCurrentContext(available: contextNames))
        }
        if let inCluster, contextName == Self.inClusterContextName { return inCluster }
        guard let context = contexts[contextName] else {
            throw KubeconfigError(.contextNotFound(contextName, available: contextNames))
        }
        do {
            return try ContextResolver(environment: environment, fileReader: fileReader).resolve(
                contextName: contextName,
                context: context,
                cluster: context.cluster.flatMap { clusters[$0] },
                clusterName: context.cluster ?? "",
                user: context.user.flatMap { users[$0] },
                userName: context.user ?? ""
            )
        } catch {
            throw error.in(context: contextName)
        }
    }
}

/// The in-cluster configuration client-go builds from a pod's service account.
enum InClusterConfig {
    static func detect(_ rules: KubeconfigLoadingRules) throws(KubeconfigError) -> ResolvedContext? {
        guard let host = rules.environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
            let port = rules.environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty
        else { return nil }
        let tokenPath = (rules.serviceAccountDirectory as NSString).appendingPathComponent("token")
        guard FileManager.default.fileExists(atPath: tokenPath) else { return nil }
        let caPath = (rules.serviceAccountDirectory as NSString).appendingPathComponent("ca.crt")
        let hostPart = host.contains(":") ? "[\(host)]" : host
        let server = try ServerURL.parse("https://\(hostPart):\(port)")
        let namespacePath = (rules.serviceAccountDirectory as NSString).appendingPathComponent("namespace")
        let namespace =
            (try? String(contentsOfFile: namespacePath, encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        let ca = FileManager.default.contents(atPath: caPath).map { [UInt8]($0) }
        let name = Kubeconfig.inClusterContextName
        let cluster = ClusterConnection(
            name: name, server: server, tlsServerName: nil, insecureSkipTLSVerify: false,
            certificateAuthorityPEM: ca, certificateAuthoritySource: ca == nil ? nil : "certificate-authority (\(caPath))",
            proxy: ProxyChoice.fromEnvironment(rules.environment, server: server),
            disableCompression: false, execExtensionConfig: nil
        )
        return ResolvedContext(
            name: name, clusterName: name, userName: name, namespace: namespace.isEmpty ? "default" : namespace,
            cluster: cluster,
            authentication: Authentication(credentials: .tokenFile(path: tokenPath), clientCertificate: nil, impersonation: nil),
            warnings: []
        )
    }
}
