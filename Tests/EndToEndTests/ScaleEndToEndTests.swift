// The scale scenarios end to end, exactly as documented: `meshcheck run scenarios/scale.yaml --simulate=16` (a
// full mesh of 16 clusters) and `meshcheck run scenarios/burst-1000.yaml --simulate` (1,000 concurrent exec
// bursts from one process), watched from outside through /proc: the in-process simulated mesh runs every
// in-pod command as a child process of meshcheck, so its children are the bursts in flight.

import Foundation
import MeshTestSupport
import XCTest

final class ScaleEndToEndTests: XCTestCase {
    func testSixteenClusterFullMeshReachesEveryPair() throws {
        let directory = try CLI.temporaryDirectory("scale")
        let run = try WatchedRun.start(["run", CLI.scenario("scale.yaml"), "--simulate=16", "--output-dir", directory], timeout: 900)
        print("scale.yaml: \(run.summary)")
        XCTAssertEqual(run.result.exitCode, 0, "stderr: \(run.result.stderr)\nstdout: \(run.result.stdout)")
        let report = try CLI.report(in: directory)
        XCTAssertEqual(report.string("verdict"), "pass")
        let clusters = report.array("clusters").compactMap { $0.string("name") }
        XCTAssertEqual(clusters.count, 16)
        Self.assertEveryPairReached(report, clusters: clusters, requestsPerSource: 240)
        for check in ["balance", "all-clusters-reached", "error-rate"] {
            let passed = report.array("checks").filter { $0.string("name") == check && $0.string("status") == "pass" }
            XCTAssertEqual(Set(passed.compactMap { $0.string("source") }), Set(clusters), "\(check) must pass for every source")
        }
        XCTAssertEqual(try Self.recordLines(directory), 16 * 240)
        try Self.assertNothingLeft(report)
    }

    func testThousandConcurrentBurstsFromOneProcess() throws {
        let directory = try CLI.temporaryDirectory("burst-1000")
        // The soft limit many machines start processes with: meshcheck must raise its own (it needs several thousand).
        let run = try WatchedRun.start(
            ["run", CLI.scenario("burst-1000.yaml"), "--simulate", "--output-dir", directory],
            softDescriptorLimit: 1024, timeout: 600)
        print("burst-1000.yaml: \(run.summary)")
        XCTAssertEqual(run.result.exitCode, 0, "stderr: \(run.result.stderr)\nstdout: \(run.result.stdout)")
        XCTAssertFalse(run.result.stderr.contains("open-file limit"), run.result.stderr)
        XCTAssertGreaterThan(run.peakDescriptors, 1024, "the run should have needed more descriptors than the starting soft limit")
        // Every burst's shell was alive at the same moment (each holds its exec session open for at least 20 s).
        XCTAssertGreaterThanOrEqual(run.peakChildren, 1000, "in-pod shells running at once")

        let report = try CLI.report(in: directory)
        XCTAssertEqual(report.string("verdict"), "pass")
        let exec = try XCTUnwrap(report["exec"] as? [String: Any])
        XCTAssertEqual(exec["sessions"] as? Int, 1000)
        XCTAssertEqual(exec["failed"] as? Int, 0)
        let clusters = report.array("clusters").compactMap { $0.string("name") }
        Self.assertEveryPairReached(report, clusters: clusters, requestsPerSource: 1000, allowedErrors: 5)
        XCTAssertEqual(try Self.recordLines(directory), 2000)
        try Self.assertNothingLeft(report)
    }

    /// Every source reached every cluster and got answers to its requests, all but at most `allowedErrors`.
    static func assertEveryPairReached(
        _ report: [String: Any], clusters: [String], requestsPerSource: Int, allowedErrors: Int = 0,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let traffic = report.array("traffic")
        for source in clusters {
            let rows = traffic.filter { $0.string("source") == source }
            let reached = Set(rows.filter { ($0["requests"] as? Int ?? 0) > 0 }.compactMap { $0.string("target") })
            XCTAssertEqual(reached, Set(clusters), "source \(source) reached \(reached.sorted())", file: file, line: line)
            let answered = rows.reduce(0) { $0 + ($1["requests"] as? Int ?? 0) }
            let errors = rows.reduce(0) { $0 + ($1["errors"] as? Int ?? 0) }
            XCTAssertLessThanOrEqual(errors, allowedErrors, "errors from \(source)", file: file, line: line)
            XCTAssertTrue(
                (requestsPerSource - allowedErrors...requestsPerSource).contains(answered),
                "requests from \(source): \(answered)", file: file, line: line)
        }
    }

    static func recordLines(_ directory: String) throws -> Int {
        try String(contentsOfFile: directory + "/records.jsonl", encoding: .utf8).split(separator: "\n").count
    }

    /// Cleanup finished with nothing listed, and no in-pod process of the run outlived meshcheck.
    static func assertNothingLeft(_ report: [String: Any], file: StaticString = #filePath, line: UInt = #line) throws {
        let cleanup = try XCTUnwrap(report["cleanup"] as? [String: Any], file: file, line: line)
        XCTAssertEqual(cleanup.string("status"), "done", file: file, line: line)
        XCTAssertEqual((cleanup["leftovers"] as? [Any])?.count, 0, file: file, line: line)
        let namespace = try XCTUnwrap(report.string("namespace"), file: file, line: line)
        XCTAssertEqual(
            ProcessTable.processes(mentioning: "helloworld.\(namespace):"), [], "in-pod processes left running",
            file: file, line: line)
    }
}

/// A meshcheck run watched from outside: peaks of its child processes, open descriptors and resident memory,
/// sampled every 100 ms.
struct WatchedRun {
    var result: CLIResult
    var seconds: Double
    var peakChildren = 0
    var peakDescriptors = 0
    /// VmHWM: the kernel's own high-water mark, read until the process exits.
    var peakResidentKilobytes = 0

    var summary: String {
        let wall = String(format: "%.1f", seconds)
        return "exit \(result.exitCode) in \(wall) s; peak \(peakChildren) in-pod processes at once, \(peakDescriptors) open descriptors, "
            + "\(peakResidentKilobytes / 1024) MB resident"
    }

    /// Runs the CLI to completion (killing it after `timeout`), optionally under a lower soft RLIMIT_NOFILE.
    static func start(_ arguments: [String], softDescriptorLimit: Int? = nil, timeout: TimeInterval) throws -> WatchedRun {
        let started = Date()
        let child =
            if let softDescriptorLimit {
                try ChildProcess.launch(
                    "/bin/sh", ["-c", "ulimit -Sn \(softDescriptorLimit) && exec \"$0\" \"$@\"", CLI.binary] + arguments,
                    environment: CLI.environment())
            } else {
                try ChildProcess.launch(CLI.binary, arguments, environment: CLI.environment())
            }
        let process = child.process
        let pid = process.processIdentifier
        var watched = WatchedRun(result: CLIResult(exitCode: -1, stdout: "", stderr: ""), seconds: 0)
        while process.isRunning && Date().timeIntervalSince(started) < timeout {
            watched.peakChildren = max(watched.peakChildren, ProcessTable.childCount(of: pid))
            watched.peakDescriptors = max(watched.peakDescriptors, ProcessTable.descriptorCount(of: pid))
            watched.peakResidentKilobytes = max(watched.peakResidentKilobytes, ProcessTable.status(of: pid, "VmHWM") ?? 0)
            Thread.sleep(forTimeInterval: 0.1)
        }
        if process.isRunning {
            process.terminate()
            Thread.sleep(forTimeInterval: 5)
            if process.isRunning { kill(pid, SIGKILL) }
            XCTFail("meshcheck \(arguments.joined(separator: " ")) did not finish within \(Int(timeout)) s")
        }
        let result = child.wait()
        watched.seconds = Date().timeIntervalSince(started)
        watched.result = CLIResult(result)
        return watched
    }
}

/// What /proc says about processes (Linux).
enum ProcessTable {
    /// Direct children of every thread of `pid`.
    static func childCount(of pid: Int32) -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.reduce(0) { count, task in
            let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? ""
            return count + text.split(separator: " ").count
        }
    }

    static func descriptorCount(of pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd"))?.count ?? 0
    }

    /// A `kB` field of /proc/<pid>/status.
    static func status(of pid: Int32, _ field: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) }
        }
        return nil
    }

    /// PIDs whose command line contains `text` (the in-pod burst command names the run's namespace in its URL).
    static func processes(mentioning text: String) -> [Int32] {
        let own = ProcessInfo.processInfo.processIdentifier
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            guard pid != own, let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).contains(text)
        }.sorted()
    }
}
