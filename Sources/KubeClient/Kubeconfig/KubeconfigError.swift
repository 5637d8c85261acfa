/// Anything wrong with kubeconfig loading, context resolution or credentials.
///
/// Messages name the context and the field and say what to do; they never contain secret values
/// (tokens, passwords, keys) — only field names and file paths.
package struct KubeconfigError: Error, CustomStringConvertible, Sendable, Equatable {
    package enum Code: Sendable, Equatable {
        case noConfiguration(searched: [String])
        case explicitFileMissing(path: String)
        case unreadableFile(path: String, reason: String)
        case noCurrentContext(available: [String])
        case contextNotFound(String, available: [String])
        case clusterNotFound(cluster: String)
        case userNotFound(user: String)
        case missingServer
        case invalidServer(String)
        case invalidBase64(section: String, field: String)
        case referencedFileUnreadable(section: String, field: String, path: String)
        case incompleteClientCertificate(section: String, missing: String)
        case conflictingAuthentication(fields: [String])
        case unsupportedAuthProvider(String)
        case execPluginNotFound(command: String, installHint: String?)
        case execPluginFailed(command: String, status: Int32)
        case execPluginWrongAPIVersion(configured: String, returned: String)
        case execPluginUnsupportedAPIVersion(String)
        case execPluginInvalidOutput(command: String, reason: String)
        case execPluginNeedsTerminal(command: String)
        /// The plugin did not finish within its deadline and was stopped.
        case execPluginTimedOut(command: String, seconds: Int)
        /// The plugin printed more than the limit on stdout and was stopped.
        case execPluginOutputTooLarge(command: String, limitKiB: Int)
        case invalidInteractiveMode(String)
        case invalidProxyURL(String)
    }

    package let code: Code
    /// The context being resolved, when known.
    package let context: String?

    package init(_ code: Code, context: String? = nil) {
        self.code = code
        self.context = context
    }

    func `in`(context name: String) -> KubeconfigError {
        context == nil ? KubeconfigError(code, context: name) : self
    }

    package var description: String {
        let prefix = context.map { "context \($0): " } ?? ""
        return prefix + detail
    }

    private var detail: String {
        switch code {
        case .noConfiguration(let searched):
            return "no kubeconfig found (looked at \(searched.joined(separator: ", "))) and not running in a cluster; "
                + "pass --kubeconfig or set KUBECONFIG"
        case .explicitFileMissing(let path):
            return "kubeconfig \(path) does not exist; check the --kubeconfig path"
        case .unreadableFile(let path, let reason):
            return "kubeconfig \(path) cannot be read: \(reason)"
        case .noCurrentContext(let available):
            return "no current-context is set; pick one of \(Self.list(available)) with --context"
        case .contextNotFound(let name, let available):
            return "context \(name) is not defined in the kubeconfig; defined contexts: \(Self.list(available))"
        case .clusterNotFound(let cluster):
            return "cluster \(cluster) is not defined in the kubeconfig"
        case .userNotFound(let user):
            return "user \(user) is not defined in the kubeconfig"
        case .missingServer:
            return "cluster has no server; set clusters[].cluster.server"
        case .invalidServer(let reason):
            return "cluster server is not a usable URL: \(reason)"
        case .invalidBase64(let section, let field):
            return "\(section): \(field) is not valid base64"
        case .referencedFileUnreadable(let section, let field, let path):
            return "\(section): \(field) file \(path) cannot be read"
        case .incompleteClientCertificate(let section, let missing):
            return "\(section): client certificate and key must be given together; \(missing) is missing"
        case .conflictingAuthentication(let fields):
            return "user sets more than one authentication method (\(fields.joined(separator: ", "))); keep one"
        case .unsupportedAuthProvider(let name):
            return "user: auth-provider \(name) is no longer supported by kubectl or meshcheck; "
                + "use its exec credential plugin instead (for GKE: install gke-gcloud-auth-plugin and rerun "
                + "`gcloud container clusters get-credentials`; for AKS: use kubelogin)"
        case .execPluginNotFound(let command, let hint):
            return "user: exec plugin executable \(command) not found"
                + (hint.map { ". \($0)" } ?? "; install it or fix users[].user.exec.command")
        case .execPluginFailed(let command, let status):
            return "user: exec plugin \(command) failed with exit status \(status) (its stderr was passed through)"
        case .execPluginWrongAPIVersion(let configured, let returned):
            return "user: exec plugin is configured to use API version \(configured), plugin returned version "
                + "\(returned); fix users[].user.exec.apiVersion"
        case .execPluginUnsupportedAPIVersion(let version):
            return "user: exec apiVersion \(version) is not supported; use client.authentication.k8s.io/v1 or v1beta1"
        case .execPluginInvalidOutput(let command, let reason):
            return "user: exec plugin \(command) returned an unusable ExecCredential: \(reason)"
        case .execPluginNeedsTerminal(let command):
            return "user: exec plugin \(command) has interactiveMode Always but standard input is not a terminal"
        case .execPluginTimedOut(let command, let seconds):
            return "user: exec plugin \(command) did not finish within \(seconds)s and was stopped; run it by hand to see "
                + "where it waits (a login prompt, a network call) and fix users[].user.exec"
        case .execPluginOutputTooLarge(let command, let limit):
            return "user: exec plugin \(command) printed more than \(limit) KiB on stdout and was stopped (an ExecCredential "
                + "is a few KiB); check users[].user.exec.command"
        case .invalidInteractiveMode(let mode) where mode.isEmpty:
            return "user: exec interactiveMode must be set (Never, IfAvailable or Always) with client.authentication.k8s.io/v1"
        case .invalidInteractiveMode(let mode):
            return "user: exec interactiveMode \(mode) is invalid; use Never, IfAvailable or Always"
        case .invalidProxyURL(let url):
            return "cluster: proxy-url \(Self.redactingUserInfo(url)) is not a usable http, https or socks5 URL"
        }
    }

    /// The URL with any `user:password@` part replaced: proxy URLs may carry credentials.
    static func redactingUserInfo(_ url: String) -> String {
        let authorityStart = url.range(of: "://").map(\.upperBound) ?? url.startIndex
        let authorityEnd = url[authorityStart...].firstIndex { "/?#".contains($0) } ?? url.endIndex
        guard let at = url[authorityStart..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<authorityStart]) + "<redacted>" + String(url[at...])
    }

    private static func list(_ names: [String]) -> String {
        names.isEmpty ? "(none)" : names.joined(separator: ", ")
    }
}
