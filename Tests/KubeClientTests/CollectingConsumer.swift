import Foundation

@testable import KubeClient

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
    var stdout: [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        return stdoutStorage
    }
    var stderr: [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        return stderrStorage
    }
    var stdoutByteCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return keep ? stdoutStorage.count : stdoutCount
    }
    var chunkCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return chunks
    }
}
