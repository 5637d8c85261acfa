import Foundation

/// A secret string (token, password): never printed, never part of an error.
package struct SecretString: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    package let value: String
    package init(_ value: String) { self.value = value }
    package var description: String { "<redacted>" }
    package var debugDescription: String { "<redacted>" }
}

/// The parsed `server` URL: scheme, host, port and any path prefix (Rancher-style proxies).
package struct ServerURL: Sendable, Equatable, CustomStringConvertible {
    package var scheme: String
    package var host: String
    package var port: Int
    /// Path prefix without a trailing slash ("" when none).
    package var pathPrefix: String

    /// `host` with brackets for IPv6 literals, as it must appear in a URL or Host header.
    package var hostForURL: String { host.contains(":") ? "[\(host)]" : host }
    package var isDefaultPort: Bool { (scheme == "https" && port == 443) || (scheme == "http" && port == 80) }
    /// The Host header value.
    package var authority: String { isDefaultPort ? hostForURL : "\(hostForURL):\(port)" }
    package var description: String { "\(scheme)://\(authority)\(pathPrefix)" }

    /// The full URL of an API path (which starts with `/`).
    package func url(path: String) -> String { "\(scheme)://\(hostForURL):\(port)\(pathPrefix)\(path)" }

    static func parse(_ text: String) throws(KubeconfigError) -> ServerURL {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            throw KubeconfigError(.invalidServer("\(text) has no scheme; use https://host[:port]"))
        }
        guard scheme == "https" || scheme == "http" else {
            throw KubeconfigError(.invalidServer("scheme \(scheme) is not http or https"))
        }
        guard let host = components.host, !host.isEmpty else {
            throw KubeconfigError(.invalidServer("\(text) has no host"))
        }
        // URLComponents accepts any port that fits an Int and drops one that does not (which would
        // silently mean the default port). Its ranges index its own, re-encoded `string`, not `text`.
        if let range = components.rangeOfPort, !range.isEmpty, let encoded = components.string {
            let portText = encoded[range]
            guard let port = Int(portText), (1...65535).contains(port) else {
                throw KubeconfigError(.invalidServer("port \(portText) is not between 1 and 65535"))
            }
        }
        let bareHost = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        var prefix = components.percentEncodedPath
        while prefix.hasSuffix("/") { prefix.removeLast() }
        return ServerURL(scheme: scheme, host: bareHost, port: components.port ?? (scheme == "https" ? 443 : 80), pathPrefix: prefix)
    }
}

/// How to reach the server: directly, or through a proxy URL.
package enum ProxyChoice: Sendable, Equatable {
    case direct
    case proxy(String)

    /// `HTTPS_PROXY`/`HTTP_PROXY` (upper or lower case) unless `NO_PROXY` exempts the server, with
    /// Go's rule that loopback and `localhost` are never proxied.
    static func fromEnvironment(_ environment: [String: String], server: ServerURL) -> ProxyChoice {
        let names = server.scheme == "https" ? ["HTTPS_PROXY", "https_proxy"] : ["HTTP_PROXY", "http_proxy"]
        guard let proxy = names.lazy.compactMap({ environment[$0] }).first(where: { !$0.isEmpty }) else { return .direct }
        let noProxy = environment["NO_PROXY"] ?? environment["no_proxy"] ?? ""
        return NoProxyRule.exempts(host: server.host, port: server.port, noProxy: noProxy) ? .direct : .proxy(proxy)
    }
}

/// `NO_PROXY` matching as Go's `httpproxy` does it (the semantics kubectl users expect).
enum NoProxyRule {
    static func exempts(host rawHost: String, port: Int, noProxy: String) -> Bool {
        let host = rawHost.lowercased()
        if host == "localhost" || host.hasPrefix("127.") || host == "::1" { return true }
        for rawEntry in noProxy.split(separator: ",") {
            var entry = rawEntry.trimmingCharacters(in: .whitespaces).lowercased()
            if entry.isEmpty { continue }
            if entry == "*" { return true }
            if let slash = entry.firstIndex(of: "/") {
                if cidrContains(String(entry[..<slash]), bits: Int(entry[entry.index(after: slash)...]) ?? -1, host: host) { return true }
                continue
            }
            // Optional ":port" (not for bare IPv6 literals).
            if let colon = entry.lastIndex(of: ":"), !entry.contains("::"), entry.filter({ $0 == ":" }).count == 1 {
                guard Int(entry[entry.index(after: colon)...]) == port else { continue }
                entry = String(entry[..<colon])
            }
            if entry.hasPrefix("[") && entry.hasSuffix("]") { entry = String(entry.dropFirst().dropLast()) }
            if entry.hasPrefix("*.") { entry.removeFirst() }
            if entry.hasPrefix(".") {
                if host.hasSuffix(entry) || host == String(entry.dropFirst()) { return true }
            } else if host == entry || host.hasSuffix("." + entry) {
                return true
            }
        }
        return false
    }

    private static func cidrContains(_ network: String, bits: Int, host: String) -> Bool {
        guard let net = ipv4(network), let address = ipv4(host), (0...32).contains(bits) else { return false }
        let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << UInt32(32 - bits)
        return net & mask == address & mask
    }

    private static func ipv4(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard let octet = UInt8(part) else { return nil }
            value = value << 8 | UInt32(octet)
        }
        return value
    }
}

/// Everything about the cluster side of a context.
package struct ClusterConnection: Sendable {
    package var name: String
    package var server: ServerURL
    package var tlsServerName: String?
    package var insecureSkipTLSVerify: Bool
    /// PEM bundle to trust; nil means the system trust store.
    package var certificateAuthorityPEM: [UInt8]?
    /// Which field supplied the CA (named in TLS errors), e.g. `certificate-authority-data`.
    package var certificateAuthoritySource: String?
    package var proxy: ProxyChoice
    package var disableCompression: Bool
    /// `extensions[client.authentication.k8s.io/exec]`, handed to exec plugins as `spec.cluster.config`.
    package var execExtensionConfig: JSONValue?
}

/// A PEM client certificate and its key.
package struct ClientCertificate: Sendable, Equatable, CustomStringConvertible {
    package var certificatePEM: [UInt8]
    package var keyPEM: [UInt8]
    package var description: String { "client certificate (\(certificatePEM.count) bytes, key redacted)" }
}

/// Impersonation headers (`as`, `as-uid`, `as-groups`, `as-user-extra`).
package struct Impersonation: Sendable, Equatable {
    package var user: String?
    package var uid: String?
    package var groups: [String]
    package var extra: [String: [String]]

    var headers: [String] {
        var headers: [String] = []
        if let user { headers.append("Impersonate-User: \(user)") }
        if let uid { headers.append("Impersonate-Uid: \(uid)") }
        headers += groups.map { "Impersonate-Group: \($0)" }
        for (key, values) in extra.sorted(by: { $0.key < $1.key }) {
            let encodedKey = key.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_.~"))) ?? key
            headers += values.map { "Impersonate-Extra-\(encodedKey): \($0)" }
        }
        return headers
    }
}

/// Where request credentials come from.
package enum CredentialSource: Sendable, Equatable {
    case none
    case bearerToken(SecretString)
    /// Re-read periodically so rotated tokens (projected service-account tokens) are picked up.
    case tokenFile(path: String)
    case basic(username: String, password: SecretString)
    case execPlugin(ExecPluginConfig)
}

/// Authentication of one context's user.
package struct Authentication: Sendable, Equatable {
    package var credentials: CredentialSource
    package var clientCertificate: ClientCertificate?
    package var impersonation: Impersonation?
}

/// `users[].user.exec`, validated and with the command path resolved.
package struct ExecPluginConfig: Sendable, Equatable {
    package enum APIVersion: String, Sendable, Equatable {
        case v1 = "client.authentication.k8s.io/v1"
        case v1beta1 = "client.authentication.k8s.io/v1beta1"
    }
    package enum InteractiveMode: String, Sendable, Equatable {
        case never = "Never"
        case ifAvailable = "IfAvailable"
        case always = "Always"
    }

    package var command: String
    package var arguments: [String]
    package var environment: [(String, String)]
    package var apiVersion: APIVersion
    package var installHint: String?
    package var provideClusterInfo: Bool
    package var interactiveMode: InteractiveMode

    package static func == (lhs: ExecPluginConfig, rhs: ExecPluginConfig) -> Bool {
        lhs.command == rhs.command && lhs.arguments == rhs.arguments
            && lhs.environment.map { "\($0.0)=\($0.1)" } == rhs.environment.map { "\($0.0)=\($0.1)" }
            && lhs.apiVersion == rhs.apiVersion && lhs.installHint == rhs.installHint
            && lhs.provideClusterInfo == rhs.provideClusterInfo && lhs.interactiveMode == rhs.interactiveMode
    }
}

/// One context fully resolved: what KubeClient needs to talk to the cluster.
package struct ResolvedContext: Sendable {
    package var name: String
    package var clusterName: String
    package var userName: String
    /// The context's namespace, `default` when unset.
    package var namespace: String
    package var cluster: ClusterConnection
    package var authentication: Authentication
    /// Things the caller should show the user (e.g. TLS verification disabled).
    package var warnings: [String]
}
