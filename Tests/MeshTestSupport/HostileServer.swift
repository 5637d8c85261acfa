// A hostile "API server" on 127.0.0.1 for the bound tests: Tests/scripts/hostile-api-server.py (Python's TLS, so it
// shares no code with meshcheck or the simulator), started and stopped from Swift, with a kubeconfig that points at it.

import Foundation

/// A fresh self-signed P-256 server certificate for 127.0.0.1 and localhost, valid for a day, made
/// with the openssl CLI as key.pem and cert.pem in `directory`; clients trust it as its own CA.
package func makeSelfSignedCertificate(in directory: TemporaryDirectory) throws -> (keyPath: String, certificatePath: String, certificatePEM: String) {
    let key = directory.path("key.pem")
    let cert = directory.path("cert.pem")
    _ = try ChildProcess.run(
        "/usr/bin/openssl",
        [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
            "-out", cert, "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-days", "1",
        ])
    return (key, cert, try String(contentsOfFile: cert, encoding: .utf8))
}

/// How the hostile server answers every request (the script's behaviours).
package enum HostileBehaviour: String, Sendable, CaseIterable {
    /// 200, chunked, a body that never ends, as fast as the client reads.
    case endlessBody = "endless-body"
    /// 200, chunked, one body byte a second.
    case trickle
    /// A status line, then header lines without end.
    case endlessHeaders = "endless-headers"
    /// Completes TLS, reads the request, never answers.
    case silent
    /// 200 with a body that is not JSON.
    case garbage
    /// 200 with `Content-Length: 1 TiB`.
    case declaredHuge = "declared-huge"
    /// Plain TCP: an HTTP proxy that reads the CONNECT request and never opens the tunnel.
    case silentProxy = "silent-proxy"
}

/// One hostile server process; it stops when the value goes away, and on its own after `lifetime` seconds.
package final class HostileServer {
    package let port: Int
    package let certificatePEM: String
    package let directory: TemporaryDirectory
    private let child: RunningChildProcess

    package static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/hostile-api-server.py").path
    }

    package init(_ behaviour: HostileBehaviour, lifetime: TimeInterval = 120) throws {
        directory = try TemporaryDirectory(prefix: "meshcheck-hostile")
        let (key, cert, pem) = try makeSelfSignedCertificate(in: directory)
        certificatePEM = pem
        let portFile = directory.path("port")
        // The script prints its port first; a shell redirect makes it a file to poll (bounded) instead of a pipe to parse.
        child = try ChildProcess.launch(
            "/bin/sh", ["-c", "exec python3 \"$0\" \"$@\" >\"$PORT_FILE\"", Self.script, behaviour.rawValue, cert, key, "\(Int(lifetime))"],
            environment: ProcessInfo.processInfo.environment.merging(["PORT_FILE": portFile]) { $1 })
        var found: Int?
        for _ in 0..<200 where found == nil {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), text.hasSuffix("\n") { found = Int(text.dropLast()) }
            if found == nil { Thread.sleep(forTimeInterval: 0.05) }
        }
        guard let found else {
            kill(child.processIdentifier, SIGKILL)
            _ = child.wait(pipeGrace: 1)
            throw HostileServerError(message: "hostile-api-server.py did not start within 10 s")
        }
        port = found
    }

    deinit {
        kill(child.processIdentifier, SIGKILL)
        _ = child.wait(pipeGrace: 1)
    }

    /// A kubeconfig with one context per name, all pointing at this server and trusting its certificate; with
    /// `proxyFor`, the contexts point at that server instead and reach it through this one as their `proxy-url`.
    package func kubeconfig(contexts: [String], proxyFor server: String? = nil) -> String {
        let ca = Data(certificatePEM.utf8).base64EncodedString()
        var text = "apiVersion: v1\nkind: Config\ncurrent-context: \(contexts[0])\nclusters:\n"
        text += "- name: hostile\n  cluster:\n    server: \(server ?? "https://127.0.0.1:\(port)")\n    certificate-authority-data: \(ca)\n"
        if server != nil { text += "    proxy-url: http://127.0.0.1:\(port)\n" }
        text += "users:\n- name: nobody\n  user:\n    token: not-a-real-token\ncontexts:\n"
        for name in contexts { text += "- name: \(name)\n  context:\n    cluster: hostile\n    user: nobody\n" }
        return text
    }
}

package struct HostileServerError: Error, CustomStringConvertible {
    package var message: String
    package var description: String { message }

    package init(message: String) {
        self.message = message
    }
}
