import Foundation
@testable import KubeClient

/// A temporary directory removed when the value goes away.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "kubeclient-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    func write(_ relative: String, _ text: String, executable: Bool = false) throws -> String {
        let full = (path as NSString).appendingPathComponent(relative)
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: true, encoding: .utf8)
        if executable { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: full) }
        return full
    }
}

func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

/// A fresh self-signed P-256 server certificate for 127.0.0.1 and localhost, valid for a day, made
/// with the openssl CLI as key.pem and cert.pem in `directory`; clients trust it as its own CA.
func makeSelfSignedCertificate(in directory: TemporaryDirectory) throws -> (keyPath: String, certificatePath: String, certificatePEM: String) {
    let key = directory.path + "/key.pem", cert = directory.path + "/cert.pem"
    let generate = Process()
    generate.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    generate.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                          "-out", cert, "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-days", "1"]
    generate.standardError = FileHandle.nullDevice
    try generate.run()
    generate.waitUntilExit()
    return (key, cert, try String(contentsOfFile: cert, encoding: .utf8))
}

/// Collects exec output (thread safe: called from the I/O engine thread).
final class CollectingConsumer: ExecOutputConsumer, @unchecked Sendable {
    private let lock = NSLock()
    private var stdoutStorage: [UInt8] = []
    private var stderrStorage: [UInt8] = []
    private var chunks = 0
    private let keep: Bool

    init(keepBytes: Bool = true) { keep = keepBytes }

    func receive(_ bytes: UnsafeRawBufferPointer, from channel: ExecChannel) {
        lock.lock()
        defer { lock.unlock() }
        chunks += 1
        switch channel {
        case .stdout: if keep { stdoutStorage.append(contentsOf: bytes) } else { stdoutCount += bytes.count }
        case .stderr: stderrStorage.append(contentsOf: bytes)
        default: break
        }
    }

    private var stdoutCount = 0
    var stdout: [UInt8] { lock.lock(); defer { lock.unlock() }; return stdoutStorage }
    var stderr: [UInt8] { lock.lock(); defer { lock.unlock() }; return stderrStorage }
    var stdoutByteCount: Int { lock.lock(); defer { lock.unlock() }; return keep ? stdoutStorage.count : stdoutCount }
    var chunkCount: Int { lock.lock(); defer { lock.unlock() }; return chunks }
}
