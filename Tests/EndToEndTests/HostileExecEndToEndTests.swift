// Hostile exec streams end to end (issue 18): the simulated API server answers a cluster's exec upgrades with a
// flood of output, a frame that never ends, or a frame whose length RFC 6455 forbids (`ExecStreamFault.hostile`,
// `meshcheck sim --exec-hostile`). The built CLI runs against it with its peak resident memory measured (wait4): each
// session is stopped by its own bound, the failure is named as the cause of the failing rows, the other cluster is
// judged as usual, and 1,000 flooding sessions at once stay under the same ceiling as one.

import Foundation
import MeshSimRuntime
import MeshTestSupport
import XCTest

final class HostileExecEndToEndTests: XCTestCase {
    static let memoryCeiling = 256 << 20

    /// `meshcheck run` on `bed` with peak resident memory measured.
    /// Also fails the test when the run outlasts `deadline` (the scenario's bursts timeout) plus a margin for the rest
    /// of the run: a bound that did not fire would leave the sessions to that deadline or beyond.
    static func runMeasured(
        _ bed: FaultMatrixTests.Bed, _ scenario: String, deadline: TimeInterval, timeout: TimeInterval,
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> (CLIResult, [String: Any]?, Int) {
        let output = bed.directory + "/out"
        let started = Date()
        defer {
            let seconds = Date().timeIntervalSince(started)
            XCTAssertLessThan(seconds, deadline + 120, "the run took \(Int(seconds)) s", file: file, line: line)
        }
        let (child, peak) = try PeakMemory.run(
            CLI.binary, ["run", scenario, "--kubeconfig", bed.mesh.kubeconfigPath, "--output-dir", output],
            environment: CLI.environment(), timeout: .deadline(timeout))
        XCTAssertFalse(child.timedOut, "meshcheck run did not finish within \(Int(timeout)) s")
        return (CLIResult(child), try? CLI.report(in: output), peak)
    }

    /// cluster-1's exec sessions are hostile, cluster-2's are not. The words are what the failure must say: the output
    /// limit stopped the flood and the endless frame (a timeout would say "timeout expired"), and the forbidden length was
    /// refused before any payload was taken.
    func testEachHostileStreamIsStoppedByItsBoundAndNamedAsTheCause() async throws {
        let cases: [(HostileExecKind, String)] = [
            (.flood, "the output passed 1.2 MiB, far more than the command prints, and the session was stopped"),
            (.endlessFrame, "the output passed 1.2 MiB, far more than the command prints, and the session was stopped"),
            (.invalidFrameLength, "protocol error: 64-bit length has its top bit set"),
        ]
        for (kind, words) in cases {
            try await FaultMatrixTests.withBed("hostile-\(kind.rawValue)") { bed in
                bed.mesh.faults.runtime.update { $0.execStreamFaults["cluster-1"] = .hostile(kind) }
                let (result, report, peak) = try Self.runMeasured(
                    bed, try bed.scenario(graces: ["bursts": "2m"]), deadline: 120, timeout: 400)
                let output = "\(kind): stderr: \(result.stderr)\nstdout: \(result.stdout)"
                XCTAssertEqual(result.exitCode, 1, output)
                let errors = try XCTUnwrap(FaultMatrixTests.checks(report, "error-rate", source: "cluster-1").first, output)
                XCTAssertEqual(errors.string("status"), "fail", output)
                let cause = errors.string("cause") ?? ""
                XCTAssertTrue(cause.hasPrefix("a burst's exec session failed (first: cluster-1/sleep-"), "\(kind): \(cause)")
                XCTAssertTrue(cause.contains(words), "\(kind): \(cause)")
                XCTAssertEqual(FaultMatrixTests.checks(report, "error-rate", source: "cluster-2").first?.string("status"), "pass", output)
                let exec = try XCTUnwrap(report?["exec"] as? [String: Any])
                let first = (exec["firstFailures"] as? [String]) ?? []
                XCTAssertTrue(first.first?.contains(words) ?? false, "\(kind): \(first)")
                XCTAssertTrue(result.stdout.contains("  first failure: cluster-1/sleep-"), output)
                // The stderr excerpt in a message is bounded, whatever the stream carried.
                XCTAssertFalse(result.stdout.contains(String(repeating: "e", count: 200)), output)
                print("hostile exec \(kind.rawValue): peak resident \(peak >> 20) MiB")
                XCTAssertLessThan(peak, Self.memoryCeiling, "\(kind): peak resident \(peak >> 20) MiB")
                let left = try await bed.managedNamespaces()
                XCTAssertEqual(left, [])
            }
        }
    }

    /// The acceptance: 1,000 exec sessions flooding at once (20 Sleep pods × 50 concurrent bursts, as
    /// scenarios/burst-1000.yaml) keep meshcheck under 256 MB; each session is stopped at its output limit.
    func testThousandFloodingSessionsStayUnderTheMemoryCeiling() async throws {
        try await FaultMatrixTests.withBed("hostile-1000") { bed in
            bed.mesh.faults.runtime.update { $0.allClustersExecStreamFault = .hostile(.flood) }
            let scenario = bed.directory + "/flood-1000.yaml"
            try """
            name: flood-1000
            clusters:
              - context: \(bed.mesh.contexts[0])
                serves: v1
              - context: \(bed.mesh.contexts[1])
                serves: v2
            load:
              requestsPerBurst: 2
              concurrentBurstsPerClientPod: 50
              clientReplicas: 10
            timeouts:
              deploy: 120s
              converge: 5s
              bursts: 5m
            expectations:
              balance: any-cross-cluster
            """.write(toFile: scenario, atomically: true, encoding: .utf8)
            let (result, report, peak) = try Self.runMeasured(bed, scenario, deadline: 300, timeout: 600)
            let output = "stderr: \(result.stderr)\nstdout: \(result.stdout)"
            XCTAssertEqual(result.exitCode, 1, output)
            let exec = try XCTUnwrap(report?["exec"] as? [String: Any], output)
            XCTAssertEqual(exec["sessions"] as? Int, 1000, output)
            XCTAssertEqual(exec["failed"] as? Int, 1000, output)
            let first = (exec["firstFailures"] as? [String]) ?? []
            XCTAssertEqual(first.count, 5, "\(first)")
            for message in first { XCTAssertTrue(message.contains("the output passed"), message) }
            print("1,000 flooding exec sessions: peak resident \(peak >> 20) MiB")
            XCTAssertLessThan(peak, Self.memoryCeiling, "peak resident \(peak >> 20) MiB")
            let left = try await bed.managedNamespaces()
            XCTAssertEqual(left, [])
        }
    }
}
