import Foundation

/// What one request carries for authentication.
struct RequestCredentials: Sendable {
    /// `Authorization` and `Impersonate-*` header lines.
    var headers: [String]
    var clientCertificate: ClientCertificate?
}

/// Runs blocking work (process spawning, file reads) on a fresh thread so it never occupies
/// Swift's cooperative pool, and resumes the caller when it is done.
func runOnDedicatedThread<T: Sendable>(named name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.name = name
        thread.start()
    }
}

/// Supplies per-request credentials for one context: static token, token file (re-read every
/// minute), basic auth, or an exec plugin whose result is cached until its expiry or a 401.
actor CredentialProvider {
    private let authentication: Authentication
    private let cluster: ClusterConnection
    private let environment: [String: String]
    private var cachedFileToken: (token: String, readAt: ContinuousClock.Instant)?
    private var cachedExec: ExecCredential?
    private var pendingExec: Task<ExecCredential, any Error>?
    private(set) var execRuns = 0

    /// How long a token file is trusted before it is read again (client-go refreshes periodically too).
    static let tokenFileRefresh: Duration = .seconds(60)

    init(authentication: Authentication, cluster: ClusterConnection, environment: [String: String]) {
        self.authentication = authentication
        self.cluster = cluster
        self.environment = environment
    }

    /// True when a 401 can be cured by fetching new credentials (exec plugin or token file).
    nonisolated var canRefresh: Bool {
        switch authentication.credentials {
        case .execPlugin, .tokenFile: return true
        default: return false
        }
    }

    func current() async throws -> RequestCredentials {
        var headers: [String] = []
        var certificate = authentication.clientCertificate
        switch authentication.credentials {
        case .none:
            break
        case .bearerToken(let token):
            headers.append("Authorization: Bearer \(token.value)")
        case .basic(let username, let password):
            let encoded = Data("\(username):\(password.value)".utf8).base64EncodedString()
            headers.append("Authorization: Basic \(encoded)")
        case .tokenFile(let path):
            headers.append("Authorization: Bearer \(try await fileToken(path))")
        case .execPlugin(let config):
            let credential = try await execCredential(config)
            if let token = credential.token { headers.append("Authorization: Bearer \(token.value)") }
            if let pluginCertificate = credential.clientCertificate { certificate = pluginCertificate }
        }
        headers += authentication.impersonation?.headers ?? []
        return RequestCredentials(headers: headers, clientCertificate: certificate)
    }

    /// Called after a 401: forget cached credentials so the next request fetches new ones.
    func invalidate() {
        cachedExec = nil
        cachedFileToken = nil
    }

    private func fileToken(_ path: String) async throws -> String {
        if let cached = cachedFileToken, cached.readAt.duration(to: .now) < Self.tokenFileRefresh { return cached.token }
        let token = try await runOnDedicatedThread(named: "meshcheck-token-file") { () throws -> String in
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                throw KubeconfigError(.referencedFileUnreadable(section: "user", field: "tokenFile", path: path))
            }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        cachedFileToken = (token, .now)
        return token
    }

    private func execCredential(_ config: ExecPluginConfig) async throws -> ExecCredential {
        if let cached = cachedExec, !cached.isExpired(at: Date()) { return cached }
        if let pendingExec { return try await pendingExec.value }
        let invocation = ExecPluginInvocation(config: config, cluster: cluster, environment: environment)
        let task = Task { try await runOnDedicatedThread(named: "meshcheck-exec-plugin") { try invocation.run() } }
        pendingExec = task
        defer { pendingExec = nil }
        let credential = try await task.value
        execRuns += 1
        cachedExec = credential
        return credential
    }
}

/// The useful part of an `ExecCredential` status.
struct ExecCredential: Sendable {
    var token: SecretString?
    var clientCertificate: ClientCertificate?
    var expiry: Date?

    func isExpired(at now: Date) -> Bool {
        guard let expiry else { return false }
        return now >= expiry
    }
}

/// How long an exec credential plugin may run and how much it may print on stdout: a plugin that hangs
/// or floods fails with its own message instead of hanging the run or filling memory.
struct ExecPluginLimits: Sendable {
    /// Non-interactive plugins fetch a token, usually within seconds (gke-gcloud-auth-plugin, aws eks get-token).
    var timeout: Duration = .seconds(60)
    /// A plugin talking to the user (a login prompt) gets longer.
    var interactiveTimeout: Duration = .seconds(600)
    /// An ExecCredential is a token or a certificate and key: a few KiB.
    var maxOutputBytes = 1 << 20
}

/// One run of an exec credential plugin (client.authentication.k8s.io v1 / v1beta1).
struct ExecPluginInvocation: Sendable {
    var config: ExecPluginConfig
    var cluster: ClusterConnection
    var environment: [String: String]
    var limits = ExecPluginLimits()

    /// The `KUBERNETES_EXEC_INFO` document.
    func execInfo(interactive: Bool) -> String {
        var spec: [String: JSONValue] = ["interactive": .bool(interactive)]
        if config.provideClusterInfo {
            var clusterInfo: [String: JSONValue] = ["server": .string(cluster.server.description)]
            if let name = cluster.tlsServerName { clusterInfo["tls-server-name"] = .string(name) }
            if cluster.insecureSkipTLSVerify { clusterInfo["insecure-skip-tls-verify"] = .bool(true) }
            if let ca = cluster.certificateAuthorityPEM {
                clusterInfo["certificate-authority-data"] = .string(Data(ca).base64EncodedString())
            }
            if case .proxy(let url) = cluster.proxy { clusterInfo["proxy-url"] = .string(url) }
            if cluster.disableCompression { clusterInfo["disable-compression"] = .bool(true) }
            if let extra = cluster.execExtensionConfig { clusterInfo["config"] = extra }
            spec["cluster"] = .object(clusterInfo)
        }
        let document: JSONValue = .object([
            "apiVersion": .string(config.apiVersion.rawValue), "kind": .string("ExecCredential"), "spec": .object(spec),
        ])
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(document)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
    }

    func locateExecutable() throws(KubeconfigError) -> String {
        let fileManager = FileManager.default
        if config.command.contains("/") {
            guard fileManager.isExecutableFile(atPath: config.command) else {
                throw KubeconfigError(.execPluginNotFound(command: config.command, installHint: config.installHint))
            }
            return config.command
        }
        let searchPath = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in searchPath.split(separator: ":") {
            let candidate = (String(directory) as NSString).appendingPathComponent(config.command)
            if fileManager.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw KubeconfigError(.execPluginNotFound(command: config.command, installHint: config.installHint))
    }

    /// Runs the plugin (blocking: call on a dedicated thread) and parses its output.
    func run() throws -> ExecCredential {
        let executable = try locateExecutable()
        let stdinIsTerminal = isatty(STDIN_FILENO) == 1
        let interactive: Bool
        switch config.interactiveMode {
        case .never: interactive = false
        case .ifAvailable: interactive = stdinIsTerminal
        case .always:
            guard stdinIsTerminal else { throw KubeconfigError(.execPluginNeedsTerminal(command: config.command)) }
            interactive = true
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = config.arguments
        var processEnvironment = environment
        for (name, value) in config.environment { processEnvironment[name] = value }
        processEnvironment["KUBERNETES_EXEC_INFO"] = execInfo(interactive: interactive)
        process.environment = processEnvironment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError // the plugin talks to the user on stderr
        process.standardInput = interactive ? FileHandle.standardInput : FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw KubeconfigError(.execPluginNotFound(command: config.command, installHint: config.installHint))
        }
        let timeout = interactive ? limits.interactiveTimeout : limits.timeout
        let deadline = ContinuousClock.now + timeout
        let data = try readOutput(output.fileHandleForReading.fileDescriptor, of: process, until: deadline, timeout: timeout)
        // Its stdout is closed; the plugin should exit now, within the same deadline.
        while process.isRunning {
            guard ContinuousClock.now < deadline else { throw stop(process, .timedOut(timeout)) }
            Thread.sleep(forTimeInterval: 0.01)
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw KubeconfigError(.execPluginFailed(command: config.command, status: process.terminationStatus))
        }
        return try Self.parse(data, config: config)
    }

    private enum Overrun {
        case timedOut(Duration)
        case tooLarge
    }

    /// Stdout until end of file, the deadline, or the size limit (blocking: the caller's dedicated thread).
    private func readOutput(
        _ fd: Int32, of process: Process, until deadline: ContinuousClock.Instant, timeout: Duration
    ) throws(KubeconfigError) -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { throw stop(process, .timedOut(timeout)) }
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&entry, 1, Int32(min(Self.wholeMilliseconds(remaining) + 1, 1000)))
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { continue }
            let count = read(fd, &buffer, buffer.count)
            if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            guard count > 0 else { return data } // end of file (or a broken pipe: the exit status tells)
            guard data.count + count <= limits.maxOutputBytes else { throw stop(process, .tooLarge) }
            data.append(contentsOf: buffer[0..<count])
        }
    }

    /// Kept here rather than shared with the engine's: the Kubeconfig sources are also built alone (KubeconfigFuzz).
    static func wholeMilliseconds(_ duration: Duration) -> Int64 {
        let parts = duration.components
        return parts.seconds * 1000 + parts.attoseconds / 1_000_000_000_000_000
    }

    /// Ends the plugin (SIGTERM, then SIGKILL a second later) and says why.
    private func stop(_ process: Process, _ overrun: Overrun) -> KubeconfigError {
        process.terminate()
        for _ in 0..<100 where process.isRunning { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        switch overrun {
        case .timedOut(let timeout):
            return KubeconfigError(.execPluginTimedOut(command: config.command, seconds: Int(Self.wholeMilliseconds(timeout) / 1000)))
        case .tooLarge:
            return KubeconfigError(.execPluginOutputTooLarge(command: config.command, limitKiB: limits.maxOutputBytes / 1024))
        }
    }

    static func parse(_ data: Data, config: ExecPluginConfig) throws(KubeconfigError) -> ExecCredential {
        func invalid(_ reason: String) -> KubeconfigError {
            KubeconfigError(.execPluginInvalidOutput(command: config.command, reason: reason))
        }
        guard let document = try? JSONDecoder().decode(JSONValue.self, from: data), document.objectValue != nil else {
            throw invalid("stdout is not a JSON object")
        }
        let returned = document["apiVersion"]?.stringValue ?? ""
        guard returned == config.apiVersion.rawValue else {
            throw KubeconfigError(.execPluginWrongAPIVersion(configured: config.apiVersion.rawValue, returned: returned.isEmpty ? "(none)" : returned))
        }
        guard document["kind"]?.stringValue == "ExecCredential" else { throw invalid("kind is not ExecCredential") }
        guard let status = document["status"], status.objectValue != nil else { throw invalid("status is missing") }
        let token = status["token"]?.stringValue.flatMap { $0.isEmpty ? nil : SecretString($0) }
        let cert = status["clientCertificateData"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        let key = status["clientKeyData"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        var certificate: ClientCertificate?
        switch (cert, key) {
        case (let cert?, let key?): certificate = ClientCertificate(certificatePEM: Array(cert.utf8), keyPEM: Array(key.utf8))
        case (nil, nil): certificate = nil
        case (nil, _): throw invalid("clientKeyData is set without clientCertificateData")
        case (_, nil): throw invalid("clientCertificateData is set without clientKeyData")
        }
        guard token != nil || certificate != nil else { throw invalid("status has neither token nor clientCertificateData/clientKeyData") }
        var expiry: Date?
        if let text = status["expirationTimestamp"]?.stringValue, !text.isEmpty {
            guard let parsed = parseRFC3339(text) else { throw invalid("expirationTimestamp is not RFC 3339") }
            expiry = parsed
        }
        return ExecCredential(token: token, clientCertificate: certificate, expiry: expiry)
    }
}

/// RFC 3339 with or without fractional seconds.
func parseRFC3339(_ text: String) -> Date? {
    let plain = ISO8601DateFormatter()
    if let date = plain.date(from: text) { return date }
    let fractional = ISO8601DateFormatter()
    fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return fractional.date(from: text)
}
