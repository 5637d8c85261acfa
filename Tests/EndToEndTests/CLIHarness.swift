// Runs the built `meshcheck` binary as a user would and reads what it leaves behind.

import Foundation
import MeshTestSupport
import XCTest

/// The outcome of one CLI invocation.
struct CLIResult {
    var exitCode: Int32
    var stdout: String
    var stderr: String
}

enum CLI {
    /// `meshcheck` sits next to the test bundle in the build folder.
    static var binary: String {
        let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [
            bundleDirectory.appendingPathComponent("meshcheck").path,
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("meshcheck").path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    /// The repository root (scenarios/ lives there).
    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static func scenario(_ name: String) -> String { repositoryRoot.appendingPathComponent("scenarios/\(name)").path }

    /// The environment the CLI runs with: this process's, without colour, plus `extra`.
    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = "1"
        for (key, value) in extra { environment[key] = value }
        return environment
    }

    /// Starts the CLI; the caller waits (bounded) or signals it.
    static func launch(_ arguments: [String], environment: [String: String] = [:]) throws -> RunningChildProcess {
        try ChildProcess.launch(binary, arguments, environment: Self.environment(environment))
    }

    /// Runs the CLI to completion, killing it after `timeout`.
    static func run(_ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = 240) throws -> CLIResult {
        let result = try ChildProcess.run(binary, arguments, environment: Self.environment(environment), timeout: .deadline(timeout))
        if result.timedOut {
            XCTFail("meshcheck \(arguments.joined(separator: " ")) did not finish within \(Int(timeout)) s")
        }
        return CLIResult(result)
    }

    static func report(in directory: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory).appendingPathComponent("report.json"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// A fresh output directory, left behind for a look after a failure.
    static func temporaryDirectory(_ label: String) throws -> String {
        try TemporaryDirectory.makeUnique(prefix: "meshcheck-e2e-\(label)")
    }
}

extension CLIResult {
    init(_ result: ChildProcessResult) {
        self.init(exitCode: result.status, stdout: result.stdoutText, stderr: result.stderrText)
    }
}

extension Dictionary where Key == String, Value == Any {
    func array(_ key: String) -> [[String: Any]] { self[key] as? [[String: Any]] ?? [] }
    func string(_ key: String) -> String? { self[key] as? String }
}
