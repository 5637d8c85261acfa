import Foundation
import Yams

/// The on-disk kubeconfig schema (clientcmd v1), decoded from YAML or JSON.
///
/// Field names follow the file (hyphenated keys). `*-data` fields stay base64 text here; they are
/// decoded during resolution so errors can name the context and the field.
struct KubeconfigFile: Decodable {
    struct NamedCluster: Decodable {
        var name: String
        var cluster: ClusterFields?
    }
    struct NamedUser: Decodable {
        var name: String
        var user: UserFields?
    }
    struct NamedContext: Decodable {
        var name: String
        var context: ContextFields?
    }
    struct NamedExtension: Decodable {
        var name: String
        var `extension`: JSONValue?
    }

    var clusters: [NamedCluster]?
    var users: [NamedUser]?
    var contexts: [NamedContext]?
    var currentContext: String?

    enum CodingKeys: String, CodingKey {
        case clusters, users, contexts
        case currentContext = "current-context"
    }
}

struct ClusterFields: Decodable, Sendable {
    var server: String?
    var tlsServerName: String?
    var insecureSkipTLSVerify: Bool?
    var certificateAuthority: String?
    var certificateAuthorityData: String?
    var proxyURL: String?
    var disableCompression: Bool?
    var extensions: [KubeconfigFile.NamedExtension]?

    enum CodingKeys: String, CodingKey {
        case server
        case tlsServerName = "tls-server-name"
        case insecureSkipTLSVerify = "insecure-skip-tls-verify"
        case certificateAuthority = "certificate-authority"
        case certificateAuthorityData = "certificate-authority-data"
        case proxyURL = "proxy-url"
        case disableCompression = "disable-compression"
        case extensions
    }
}

struct ExecEnvVar: Decodable, Sendable {
    var name: String
    var value: String
}

struct ExecFields: Decodable, Sendable {
    var command: String?
    var args: [String]?
    var env: [ExecEnvVar]?
    var apiVersion: String?
    var installHint: String?
    var provideClusterInfo: Bool?
    var interactiveMode: String?
}

struct AuthProviderFields: Decodable, Sendable {
    var name: String?
    var config: [String: String]?
}

struct UserFields: Decodable, Sendable {
    var clientCertificate: String?
    var clientCertificateData: String?
    var clientKey: String?
    var clientKeyData: String?
    var token: String?
    var tokenFile: String?
    var impersonate: String?
    var impersonateUID: String?
    var impersonateGroups: [String]?
    var impersonateUserExtra: [String: [String]]?
    var username: String?
    var password: String?
    var authProvider: AuthProviderFields?
    var exec: ExecFields?

    enum CodingKeys: String, CodingKey {
        case clientCertificate = "client-certificate"
        case clientCertificateData = "client-certificate-data"
        case clientKey = "client-key"
        case clientKeyData = "client-key-data"
        case token, tokenFile
        case impersonate = "as"
        case impersonateUID = "as-uid"
        case impersonateGroups = "as-groups"
        case impersonateUserExtra = "as-user-extra"
        case username, password
        case authProvider = "auth-provider"
        case exec
    }
}

struct ContextFields: Decodable, Sendable {
    var cluster: String?
    var user: String?
    var namespace: String?
}

extension KubeconfigFile {
    /// Parses one kubeconfig file's text; an empty file is an empty config, as in client-go.
    static func parse(_ text: String, path: String) throws(KubeconfigError) -> KubeconfigFile {
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            return KubeconfigFile()
        }
        if let line = YAMLNesting.lineExceedingLimit(in: text) {
            throw KubeconfigError(.unreadableFile(path: path, reason: "line \(line): lists and mappings nest more than \(YAMLNesting.limit) levels deep"))
        }
        do {
            return try YAMLDecoder().decode(KubeconfigFile.self, from: text)
        } catch {
            throw KubeconfigError(.unreadableFile(path: path, reason: Self.describe(error)))
        }
    }

    /// Decoding errors name the key path, never the value, so no secret can leak through them.
    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.typeMismatch(let type, let context):
            return "\(keyPath(context.codingPath)): expected \(type)"
        case DecodingError.keyNotFound(let key, let context):
            return "\(keyPath(context.codingPath + [key])): required"
        case DecodingError.valueNotFound(_, let context):
            return "\(keyPath(context.codingPath)): missing value"
        case DecodingError.dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid YAML" : "\(keyPath(context.codingPath)): invalid"
        default:
            return "not valid YAML"
        }
    }

    private static func keyPath(_ path: [any CodingKey]) -> String {
        path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}
