// SERVER side of exec (the simulated API server). Its client counterparts are
// Sources/KubeClient/Exec/ExecClientTypes.swift and ExecClientStatusDecoding.swift.
// The two sides are written apart on purpose: the simulator is the client's judge, and a shared codec
// would share its bugs. Change this side to match what real Kubernetes servers do, never to match the client.
//
// The Kubernetes remote-command channel protocol over WebSocket, server side (docs/PROTOCOL-NOTES.md §A3–A6):
// binary messages whose first byte is a channel id, one metav1.Status JSON on the error channel, and the
// v5 CLOSE signal. Pure values: no I/O.

/// The WebSocket subprotocols the simulated API server accepts for exec.
package enum ExecServerSubprotocol: String, Sendable, CaseIterable {
    case v5 = "v5.channel.k8s.io"
    case v4 = "v4.channel.k8s.io"

    /// Chooses the protocol the way a real cluster does for a `Sec-WebSocket-Protocol` header value (only the
    /// first header line counts; names are case-sensitive, surrounding spaces trimmed). An apiserver ≥ 1.30
    /// routes any request offering v5 to its stream translator, which speaks only v5; otherwise the request
    /// reaches the kubelet, which accepts v4. Returns nil when nothing offered is accepted (the real server then
    /// answers 403 with an empty body).
    package static func negotiate(offered headerValue: String) -> ExecServerSubprotocol? {
        let offered = headerValue.split(separator: ",").map { token in
            token.trimmingWhitespace()
        }
        if offered.contains(ExecServerSubprotocol.v5.rawValue) { return .v5 }
        if offered.contains(ExecServerSubprotocol.v4.rawValue) { return .v4 }
        return nil
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> String {
        var slice = self[...]
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}

/// Channel ids of the remote-command protocol.
package enum ExecServerChannel: UInt8, Sendable {
    case stdin = 0
    case stdout = 1
    case stderr = 2
    case error = 3
    case resize = 4

    /// Number of channels the exec server creates; messages for higher ids are ignored.
    package static let count: UInt8 = 5
    /// First byte of a v5 CLOSE signal: `FF <channel>`.
    package static let closeSignal: UInt8 = 0xFF
}

/// A name/value pair of a process environment, kept in order (later duplicates win, as in a container).
package struct EnvironmentVariable: Equatable, Sendable {
    package var name: String
    package var value: String

    package init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// Everything the runtime needs to run one `pods/exec` request after MeshSim answered 101.
package struct ExecServerRequest: Sendable {
    package var cluster: String
    package var namespace: String
    package var pod: String
    package var container: String
    /// The `command` query parameters in order; executed directly, not through a shell.
    package var command: [String]
    package var stdin: Bool
    package var stdout: Bool
    package var stderr: Bool
    package var tty: Bool
    package var subprotocol: ExecServerSubprotocol
    /// The complete process environment (see `PodEnvironment.make`); nothing of the host's leaks in.
    package var environment: [EnvironmentVariable]
    /// The container's working directory (`workingDir`, else the image's; a container without either
    /// starts in `/`).
    package var workingDirectory: String

    package init(
        cluster: String, namespace: String, pod: String, container: String, command: [String],
        stdin: Bool, stdout: Bool, stderr: Bool, tty: Bool, subprotocol: ExecServerSubprotocol,
        environment: [EnvironmentVariable], workingDirectory: String = "/"
    ) {
        self.cluster = cluster
        self.namespace = namespace
        self.pod = pod
        self.container = container
        self.command = command
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.tty = tty
        self.subprotocol = subprotocol
        self.environment = environment
        self.workingDirectory = workingDirectory
    }

    /// The kubelet drops stderr when a TTY is requested (it is merged into the terminal).
    package var streamsStderr: Bool { stderr && !tty }
}

/// Builds a simulated container's process environment the way the kubelet composes it.
package enum PodEnvironment {
    /// The PATH a container image without its own PATH gets from the runtime.
    package static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// `containerEnv` (the pod spec's `env`, in order) plus `HOSTNAME=<pod>`, a default PATH when none is
    /// set, and — when `httpProxy` is given — `http_proxy`/`HTTP_PROXY` pointing at the pod's sidecar (or
    /// the cluster's plain forwarder for pods without one) with an empty `no_proxy`, so cluster service
    /// names go through it. curl honours only the lower-case `http_proxy`; the upper-case copy is for
    /// other tools.
    package static func make(
        containerEnv: [EnvironmentVariable], podName: String, httpProxy: String?
    ) -> [EnvironmentVariable] {
        var result: [EnvironmentVariable] = []
        if !containerEnv.contains(where: { $0.name == "PATH" }) {
            result.append(EnvironmentVariable("PATH", defaultPath))
        }
        result.append(EnvironmentVariable("HOSTNAME", podName))
        if let httpProxy {
            result.append(EnvironmentVariable("http_proxy", httpProxy))
            result.append(EnvironmentVariable("HTTP_PROXY", httpProxy))
            result.append(EnvironmentVariable("no_proxy", ""))
            result.append(EnvironmentVariable("NO_PROXY", ""))
        }
        result.append(contentsOf: containerEnv)
        return result
    }
}

/// How a process run by an exec session ended, as the container runtime reports it.
package enum ProcessOutcome: Equatable, Sendable {
    /// Exited with a status (killed by a signal reports 128 + signal, like a container shell).
    case exited(code: Int32)
    /// The runtime could not start the process (binary missing, not executable, ...).
    case failedToStart(reason: String)
}

/// The single metav1.Status JSON the server writes on the error channel (v4/v5).
package enum ExecServerStatus: Equatable, Sendable {
    case success
    /// Non-zero exit; `message` is the Go error text after "command terminated with non-zero exit code: ".
    case nonZeroExit(code: Int32, message: String)
    case internalError(message: String)

    /// The status for a finished process, with the error texts the real path produces: through the v5 stream
    /// translator the kubelet's error has already been turned into "command terminated with exit code N" by
    /// client-go; on v4 the kubelet forwards the error of containerd's streaming server, which prints the argv
    /// with Go's %v: "error executing command [sh -c exit 3], exit code 3".
    package static func forOutcome(
        _ outcome: ProcessOutcome, command: [String], subprotocol: ExecServerSubprotocol
    ) -> ExecServerStatus {
        switch outcome {
        case .exited(let code) where code == 0:
            return .success
        case .exited(let code):
            switch subprotocol {
            case .v5: return .nonZeroExit(code: code, message: "command terminated with exit code \(code)")
            case .v4:
                return .nonZeroExit(
                    code: code, message: "error executing command [\(command.joined(separator: " "))], exit code \(code)")
            }
        case .failedToStart(let reason):
            return .internalError(message: "error executing command in container: \(reason)")
        }
    }

    /// JSON as Go's encoding/json writes a metav1.Status without TypeMeta (field order, HTML escaping).
    package var json: String {
        switch self {
        case .success:
            return #"{"metadata":{},"status":"Success"}"#
        case .nonZeroExit(let code, let message):
            return #"{"metadata":{},"status":"Failure","message":"#
                + GoJSON.quote("command terminated with non-zero exit code: " + message)
                + #","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":""#
                + String(code) + #""}]}}"#
        case .internalError(let message):
            return #"{"metadata":{},"status":"Failure","message":"#
                + GoJSON.quote("Internal error occurred: " + message)
                + #","reason":"InternalError","details":{"causes":[{"message":"#
                + GoJSON.quote(message) + #"}]},"code":500}"#
        }
    }
}

/// String quoting with Go encoding/json's escaping rules (HTML-safe: <, >, & and U+2028/2029 escaped).
package enum GoJSON {
    package static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<", ">", "&", "\u{2028}", "\u{2029}":
                out += unicodeEscape(scalar.value)
            default:
                if scalar.value < 0x20 {
                    out += unicodeEscape(scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private static func unicodeEscape(_ value: UInt32) -> String {
        let hex = String(value, radix: 16)
        return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    }
}
