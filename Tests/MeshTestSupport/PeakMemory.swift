import Foundation

/// Peak resident memory of one child process, for memory ceilings in tests (a ceiling is not a speed assertion).
package enum PeakMemory {
    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/peak-rss.py").path
    }

    /// Runs `executable` under Tests/scripts/peak-rss.py, which waits for it with wait4: its result, and its own peak
    /// resident set in bytes (not that of any other child of the test process).
    package static func run(
        _ executable: String, _ arguments: [String], environment: [String: String], timeout: ChildProcessTimeout
    ) throws -> (result: ChildProcessResult, peakBytes: Int) {
        let directory = try TemporaryDirectory(prefix: "meshcheck-peak")
        let file = directory.path("peak")
        let result = try ChildProcess.run(
            "/bin/sh", ["-c", "exec python3 \"$0\" \"$@\"", script, file, executable] + arguments, environment: environment,
            timeout: timeout)
        let kilobytes = (try? String(contentsOfFile: file, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        return (result, (kilobytes ?? 0) * 1024)
    }
}
