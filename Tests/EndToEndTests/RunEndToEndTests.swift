// `meshcheck run` end to end against the simulated mesh: the built binary, real exec sessions, real
// curl in the simulated pods, and the reports it leaves behind.

import Foundation
import KubeClient
import MeshSim
import MeshTestSupport
import XCTest

final class RunEndToEndTests: XCTestCase {
    func testSmokeScenarioPassesAndLeavesNothingBehind() throws {
        let directory = try CLI.temporaryDirectory("smoke")
        let result = try CLI.run(["run", CLI.scenario("smoke.yaml"), "--simulate", "--output-dir", directory])
        XCTAssertEqual(result.exitCode, 0, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
        let report = try CLI.report(in: directory)
        XCTAssertEqual(report.string("verdict"), "pass")
        XCTAssertEqual(report["schemaVersion"] as? Int, 3)
        let timeline = try XCTUnwrap(report["timeline"] as? [String: Any], "a measured run has a timeline")
        XCTAssertEqual(timeline["origin"] as? String, "start of the load")
        XCTAssertEqual((timeline["sources"] as? [Any])?.count, 2)

        let clusters = report.array("clusters").compactMap { $0.string("name") }
        XCTAssertEqual(clusters.count, 2)
        let traffic = report.array("traffic")
        for source in clusters {
            let reached = Set(
                traffic.filter { $0.string("source") == source && ($0["requests"] as? Int ?? 0) > 0 }
                    .compactMap { $0.string("target") })
            XCTAssertEqual(reached, Set(clusters), "source \(source) reached \(reached)")
        }
        let checks = report.array("checks")
        XCTAssertFalse(checks.isEmpty)
        XCTAssertTrue(checks.allSatisfy { $0.string("status") != "fail" }, "\(checks)")
        let cleanup = try XCTUnwrap(report["cleanup"] as? [String: Any])
        XCTAssertEqual(cleanup.string("status"), "done")
        XCTAssertEqual((cleanup["leftovers"] as? [Any])?.count, 0)

        // 20 requests from each of the two sources, one JSON object per line.
        let lines = try String(contentsOfFile: directory + "/records.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 40)
        for line in lines {
            let record = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            for key in ["source", "target", "version", "instance", "status", "curlExit", "connectUs", "ttfbUs", "totalUs", "burst", "seq", "atMs"] {
                XCTAssertNotNil(record[key], "records.jsonl line lacks \(key): \(line)")
            }
        }
        for file in ["summary.md", "junit.xml"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/" + file), "\(file) missing")
        }
        try assertSidecarsListBothClusters(report, clusters: clusters)
        try assertReplayReproducesTheRun(directory)
    }

    /// Every client pod's sidecar, read after converge and after the bursts, lists its own cluster's HelloWorld
    /// pod as `local` and the other cluster as `peer` (its east-west gateway on 15443, weighted by its one pod).
    func assertSidecarsListBothClusters(_ report: [String: Any], clusters: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let readings = report.array("sidecarEndpoints")
        XCTAssertEqual(Set(readings.compactMap { $0.string("phase") }), ["afterConverge", "afterBursts"], file: file, line: line)
        XCTAssertEqual(Set(readings.compactMap { $0.string("source") }), Set(clusters), file: file, line: line)
        for reading in readings {
            XCTAssertEqual(reading["visible"] as? Bool, true, "\(reading)", file: file, line: line)
            XCTAssertEqual(
                reading.string("envoyCluster"), "outbound|5000||helloworld.\(report.string("namespace") ?? "").svc.cluster.local", file: file, line: line)
            let endpoints = reading.array("endpoints")
            let source = reading.string("source") ?? ""
            let local = endpoints.filter { $0.string("origin") == "local" }
            let peers = endpoints.filter { $0.string("origin") == "peer" }
            XCTAssertEqual(local.count, 1, "\(reading)", file: file, line: line)
            XCTAssertEqual(local.first?["port"] as? Int, 5000, file: file, line: line)
            XCTAssertEqual(peers.compactMap { $0.string("peer") }, clusters.filter { $0 != source }, "\(reading)", file: file, line: line)
            XCTAssertEqual(peers.first?["port"] as? Int, 15443, file: file, line: line)
            XCTAssertEqual(peers.first?["weight"] as? Int, 1, file: file, line: line)
            XCTAssertTrue(endpoints.allSatisfy { $0.string("health") == "healthy" }, "\(reading)", file: file, line: line)
        }
    }

    /// `report --from-records` on a run's records (with its report.json) goes through the same verdict and
    /// report builder as the run: traffic, sources, checks (with their causes and hints) and verdict are identical.
    func assertReplayReproducesTheRun(_ directory: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let replayed = try CLI.temporaryDirectory("replay")
        let result = try CLI.run([
            "report", "--from-records", directory + "/records.jsonl", "--report", directory + "/report.json",
            "--format", "json", "--output-dir", replayed,
        ])
        XCTAssertEqual(result.exitCode, 0, "stderr: \(result.stderr)", file: file, line: line)
        let run = try CLI.report(in: directory)
        let replay = try CLI.report(in: replayed)
        // The timeline too: atMs keeps the microsecond each request was placed at, and the window comes from report.json.
        for key in ["verdict", "traffic", "sources", "checks", "clusters", "sidecarEndpoints", "timeline"] {
            XCTAssertEqual(
                run[key].map { $0 as AnyObject } as? NSObject, replay[key].map { $0 as AnyObject } as? NSObject,
                "\(key) differs between the run and its replay", file: file, line: line)
        }
    }

    func testThreeClustersPass() throws {
        let directory = try CLI.temporaryDirectory("three")
        let result = try CLI.run(["run", CLI.scenario("three-clusters.yaml"), "--simulate", "--output-dir", directory])
        XCTAssertEqual(result.exitCode, 0, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
        let report = try CLI.report(in: directory)
        XCTAssertEqual(report.string("verdict"), "pass")
        XCTAssertEqual(report.array("clusters").count, 3)
    }

    /// Issue 5's acceptance point: v2 weighted 3:1 by a VirtualService (one pod per version, so the pod counts
    /// say 1:1) passes `balance` against weights 1:3 and fails it — and only it, for every source — against
    /// proportional-to-endpoints. 400 requests per source make both outcomes certain at the scenarios' α of
    /// 10⁻⁶ (the arithmetic is in weighted-3-1.yaml).
    func testWeightedRoutingPassesWeightsAndFailsProportional() throws {
        let weighted = try CLI.temporaryDirectory("weighted")
        let pass = try CLI.run(["run", CLI.scenario("weighted-3-1.yaml"), "--simulate", "--output-dir", weighted])
        XCTAssertEqual(pass.exitCode, 0, "stderr: \(pass.stderr)\nstdout: \(pass.stdout)")
        let passed = try CLI.report(in: weighted)
        XCTAssertEqual(passed.string("verdict"), "pass")
        let routing = (passed["scenario"] as? [String: Any])?["routing"] as? [String: Any]
        XCTAssertEqual(routing?["weights"] as? [String: Int], ["v1": 25, "v2": 75])
        let passedBalance = passed.array("checks").filter { $0.string("name") == "balance" }
        XCTAssertEqual(passedBalance.compactMap { $0.string("status") }, ["pass", "pass"], "\(passedBalance)")

        let proportional = try CLI.temporaryDirectory("weighted-proportional")
        let fail = try CLI.run(["run", CLI.scenario("weighted-3-1-proportional.yaml"), "--simulate", "--output-dir", proportional])
        XCTAssertEqual(fail.exitCode, 1, "stderr: \(fail.stderr)\nstdout: \(fail.stdout)")
        let failed = try CLI.report(in: proportional)
        XCTAssertEqual(failed.string("verdict"), "fail")
        let failedChecks = failed.array("checks").filter { $0.string("status") == "fail" }
        XCTAssertEqual(failedChecks.compactMap { $0.string("name") }, ["balance", "balance"], "\(failedChecks)")
        XCTAssertEqual(Set(failedChecks.compactMap { $0.string("source") }), ["cluster-1", "cluster-2"])
        try assertReplayReproducesTheRun(proportional)

        // Both runs saw the VirtualService's split, not the pods' 1:1: v1 (cluster 1) near a quarter of
        // every source's answers (0.15–0.35 is more than 4.5 standard deviations either side at n = 400).
        for report in [passed, failed] {
            let toV1 = report.array("traffic").filter { $0.string("target") == "cluster-1" }
            XCTAssertEqual(toV1.count, 2)
            for row in toV1 {
                let share = row["share"] as? Double ?? -1
                XCTAssertTrue((0.15...0.35).contains(share), "\(row)")
            }
        }
    }

    func testMalformedScenarioIsRejectedWithItsLocation() throws {
        let directory = try CLI.temporaryDirectory("malformed")
        let path = directory + "/bad.yaml"
        try """
        name: bad
        clusters:
          - context: a
            serves: v1
          - context: b
            serves: v2
        load:
          requestsPerBurst: lots
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try CLI.run(["run", path, "--output-dir", directory + "/out"], timeout: 30)
        XCTAssertEqual(result.exitCode, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("bad.yaml:8"), result.stderr)
        XCTAssertTrue(result.stderr.contains("requestsPerBurst"), result.stderr)
    }

    func testUsageErrorsAreBadInput() throws {
        let result = try CLI.run(["run", "--no-such-option"], timeout: 30)
        XCTAssertEqual(result.exitCode, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("--no-such-option"), result.stderr)
    }

    func testUnreadableKubeconfigIsBadInput() throws {
        let result = try CLI.run(
            [
                "run", "--kubeconfig", "/nonexistent/kubeconfig", "--context", "a", "--context", "b",
                "--output-dir", CLI.temporaryDirectory("nokubeconfig"),
            ], timeout: 30)
        XCTAssertEqual(result.exitCode, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("/nonexistent/kubeconfig"), result.stderr)
    }
}

/// Tests that need the simulated mesh outside the CLI, to prepare or inspect clusters.
final class RunAgainstExternalMeshTests: XCTestCase {
    func testForeignNamespaceIsNeverAdopted() async throws {
        let mesh = try await SimulatedMesh.start(SimulatedMeshOptions())
        defer { Task { await mesh.stop() } }
        let clients = try MeshClients.clients(mesh)
        let namespace = JSONValue.object([
            "apiVersion": .string("v1"), "kind": .string("Namespace"),
            "metadata": .object(["name": .string("sample")]),
        ])
        let configMap = JSONValue.object([
            "apiVersion": .string("v1"), "kind": .string("ConfigMap"),
            "metadata": .object(["name": .string("keep-me")]),
            "data": .object(["owner": .string("someone else")]),
        ])
        let _: JSONValue = try await clients[0].create(.namespaces(), namespace)
        let created: ConfigMap = try await clients[0].create(.configMaps(in: "sample"), configMap)

        let result = try CLI.run(
            [
                "run", "--kubeconfig", mesh.kubeconfigPath, "--context", mesh.contexts[0], "--context", mesh.contexts[1],
                "--namespace", "sample", "--output-dir", CLI.temporaryDirectory("foreign"),
            ], timeout: 60)
        XCTAssertEqual(result.exitCode, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("sample"), result.stderr)

        let after: Namespace = try await clients[0].get(.namespaces("sample"))
        XCTAssertNil(after.metadata.labels?["app.kubernetes.io/managed-by"])
        XCTAssertNil(after.metadata.deletionTimestamp)
        let kept: ConfigMap = try await clients[0].get(.configMaps(in: "sample", "keep-me"))
        XCTAssertEqual(kept.metadata.resourceVersion, created.metadata.resourceVersion)
        let managed = try await MeshClients.managedNamespaces(clients)
        XCTAssertEqual(managed, [], "nothing may be created when input is refused")
    }

    func testUnknownContextIsBadInputAndCreatesNothing() async throws {
        let mesh = try await SimulatedMesh.start(SimulatedMeshOptions())
        defer { Task { await mesh.stop() } }
        let result = try CLI.run(
            [
                "run", "--kubeconfig", mesh.kubeconfigPath, "--context", mesh.contexts[0], "--context", "no-such-context",
                "--output-dir", CLI.temporaryDirectory("unknown-context"),
            ], timeout: 60)
        XCTAssertEqual(result.exitCode, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("no-such-context"), result.stderr)
        let managed = try await MeshClients.managedNamespaces(try MeshClients.clients(mesh))
        XCTAssertEqual(managed, [])
    }

    func testUnreachableClusterIsAnEnvironmentErrorNamingTheContext() async throws {
        let mesh = try await SimulatedMesh.start(SimulatedMeshOptions())
        defer { Task { await mesh.stop() } }
        let directory = try CLI.temporaryDirectory("unreachable")
        let unreachable = directory + "/unreachable.yaml"
        try """
        apiVersion: v1
        kind: Config
        clusters:
        - name: gone
          cluster:
            server: https://127.0.0.1:1
            insecure-skip-tls-verify: true
        users:
        - name: gone
          user:
            token: not-a-real-token
        contexts:
        - name: gke_meshcheck-sim_us-central1-a_gone
          context: {cluster: gone, user: gone}
        """.write(toFile: unreachable, atomically: true, encoding: .utf8)
        let result = try CLI.run(
            [
                "run", "--context", mesh.contexts[0], "--context", "gke_meshcheck-sim_us-central1-a_gone",
                "--output-dir", directory + "/out",
            ],
            environment: ["KUBECONFIG": "\(mesh.kubeconfigPath):\(unreachable)"], timeout: 120)
        XCTAssertEqual(result.exitCode, 3, result.stderr)
        XCTAssertTrue(result.stderr.contains("gke_meshcheck-sim_us-central1-a_gone"), result.stderr)
        XCTAssertFalse(result.stderr.contains("not-a-real-token"), "a token leaked into the output")
        let managed = try await MeshClients.managedNamespaces(try MeshClients.clients(mesh))
        XCTAssertEqual(managed, [], "nothing may be left in the reachable cluster")
        // Stopped before creating anything: the report says so rather than "skipped by policy".
        let cleanup = try CLI.report(in: directory + "/out")["cleanup"] as? [String: Any]
        XCTAssertEqual(cleanup?["status"] as? String, "none")
        XCTAssertTrue(result.stdout.contains("nothing created, nothing to clean up"), result.stdout)
    }

    func testInterruptStopsTheBurstsCleansUpAndKeepsTheRecords() async throws {
        let mesh = try await SimulatedMesh.start(SimulatedMeshOptions())
        defer { Task { await mesh.stop() } }
        let directory = try CLI.temporaryDirectory("interrupt")
        let child = try CLI.launch([
            "run", "--kubeconfig", mesh.kubeconfigPath, "--context", mesh.contexts[0],
            "--context", mesh.contexts[1], "--requests", "200", "--bursts", "50",
            "--output-dir", directory,
        ])
        let process = child.process
        let records = directory + "/records.jsonl"
        // Wait (bounded) until records are arriving, then interrupt in the middle of the bursts.
        var seenBefore = 0
        for _ in 0..<1200 where process.isRunning {
            if let size = (try? FileManager.default.attributesOfItem(atPath: records))?[.size] as? Int, size > 0 {
                seenBefore = try String(contentsOfFile: records, encoding: .utf8).split(separator: "\n").count
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        XCTAssertGreaterThan(seenBefore, 0, "no records arrived before the interrupt")
        let signalled = Date()
        kill(process.processIdentifier, SIGINT)
        while process.isRunning && Date().timeIntervalSince(signalled) < 30 { try await Task.sleep(for: .milliseconds(100)) }
        XCTAssertFalse(process.isRunning, "meshcheck did not exit within 30 s of SIGINT")
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        let result = child.wait()
        XCTAssertEqual(result.status, 130, result.stderrText)

        let report = try CLI.report(in: directory)
        XCTAssertEqual(report.string("verdict"), "interrupted")
        let lines = try String(contentsOfFile: records, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.last, "", "records.jsonl must end with a complete line")
        XCTAssertGreaterThanOrEqual(lines.count - 1, seenBefore)
        for line in lines.dropLast() {
            XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(line.utf8)), "torn record line: \(line)")
        }
        let managed = try await MeshClients.managedNamespaces(try MeshClients.clients(mesh))
        XCTAssertEqual(managed, [], "an interrupted run must still clean up")
    }
}
