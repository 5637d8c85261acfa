import Foundation

/// What a finished child process left: its exit status and everything it wrote to stdout and stderr.
package struct ChildProcessResult: Sendable {
    /// The exit status, or the signal number when it was killed by one (Foundation's `terminationStatus`).
    package var status: Int32
    package var stdout: Data
    package var stderr: Data
    /// The timeout expired and the child was stopped.
    package var timedOut: Bool

    package var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    package var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

/// How long a child may run.
package enum ChildProcessTimeout: Sendable {
    /// The child runs under /usr/bin/timeout: when `seconds` pass, its whole process group (the child and anything it
    /// started) gets SIGTERM, then SIGKILL `killAfter` seconds later. The status is then timeout's (124 or 137).
    case processGroup(_ seconds: TimeInterval, killAfter: TimeInterval = 5)
    /// The runner watches a deadline: when `seconds` pass, the child alone gets SIGTERM, then SIGKILL `grace`
    /// seconds later. The child keeps its own process group.
    case deadline(_ seconds: TimeInterval, grace: TimeInterval = 2)
}

/// A started child whose stdout and stderr are drained on their own threads, so a chatty child never blocks on a
/// full pipe.
package final class RunningChildProcess: @unchecked Sendable {
    package let process: Process
    private let lock = NSLock()
    private var outData = Data(), errData = Data()
    private let drained = DispatchGroup()

    package var processIdentifier: Int32 { process.processIdentifier }
    package var isRunning: Bool { process.isRunning }

    fileprivate init(process: Process, stdin: Data?) throws {
        self.process = process
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let input = stdin.map { _ in Pipe() }
        if let input { process.standardInput = input }
        try process.run()
        for (pipe, isOut) in [(out, true), (err, false)] {
            drained.enter()
            Thread.detachNewThread {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                self.lock.lock()
                if isOut { self.outData = data } else { self.errData = data }
                self.lock.unlock()
                self.drained.leave()
            }
        }
        if let input, let stdin {
            Thread.detachNewThread {
                try? input.fileHandleForWriting.write(contentsOf: stdin)
                try? input.fileHandleForWriting.close()
            }
        }
    }

    /// Waits for the child to exit, then (at most `pipeGrace` seconds, in case something it started still holds
    /// them open) for its output pipes to close.
    package func wait(pipeGrace: TimeInterval = 30) -> ChildProcessResult {
        process.waitUntilExit()
        _ = drained.wait(timeout: .now() + pipeGrace)
        lock.lock()
        defer { lock.unlock() }
        return ChildProcessResult(status: process.terminationStatus, stdout: outData, stderr: errData, timedOut: false)
    }
}

package enum ChildProcess {
    /// Starts `executable` with `arguments`; `environment` nil inherits this process's. With `stdin` the child reads
    /// those bytes and then end of input; without, it inherits this process's stdin.
    package static func launch(
        _ executable: String, _ arguments: [String] = [], environment: [String: String]? = nil,
        stdin: Data? = nil
    ) throws -> RunningChildProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        return try RunningChildProcess(process: process, stdin: stdin)
    }

    /// Runs `executable` to completion (see `launch`) and returns its status and output.
    package static func run(
        _ executable: String, _ arguments: [String] = [], environment: [String: String]? = nil,
        stdin: Data? = nil, timeout: ChildProcessTimeout? = nil
    ) throws -> ChildProcessResult {
        switch timeout {
        case nil:
            return try launch(executable, arguments, environment: environment, stdin: stdin).wait()
        case .processGroup(let seconds, let killAfter):
            let started = Date()
            var result = try launch(
                "/usr/bin/timeout", ["--kill-after=\(killAfter)", "\(seconds)", executable] + arguments,
                environment: environment, stdin: stdin
            ).wait()
            result.timedOut = (result.status == 124 || result.status == 137) && Date().timeIntervalSince(started) >= seconds
            return result
        case .deadline(let seconds, let grace):
            let child = try launch(executable, arguments, environment: environment, stdin: stdin)
            let deadline = Date().addingTimeInterval(seconds)
            while child.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            var timedOut = false
            if child.isRunning {
                timedOut = true
                child.process.terminate()
                let killAt = Date().addingTimeInterval(grace)
                while child.isRunning && Date() < killAt { Thread.sleep(forTimeInterval: 0.05) }
                if child.isRunning { kill(child.processIdentifier, SIGKILL) }
            }
            var result = child.wait()
            result.timedOut = timedOut
            return result
        }
    }
}
