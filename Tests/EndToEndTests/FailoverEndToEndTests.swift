// Failover and locality end to end against the simulated mesh (issue 17's acceptance): the shipped failover scenario
// passes; without outlier detection `failover` fails saying why; `distribute` 80/20 passes against its weights and
// fails against 50/50; a 50 % abort shows its error window and the recovery; the time to fail over falls in the window
// derived from the simulator's ejection settings and the pacing (from the records' windows, never a stopwatch). The
// run acts only on its own objects, and an interrupt in the middle of a disruption cleans up as any interrupted run
// does, leaving alone what is not the run's.

import Foundation
import KubeClient
import MeshSim
import MeshTestSupport
import XCTest

@testable import MeshCheck

final class FailoverEndToEndTests: XCTestCase {
    /// A Deployment named like the run's, in a namespace that is not the run's: a disruption must never touch it.
    private static func createForeignDeployment(_ client: KubeClient) async throws {
        let namespace = JSONValue.object([
            "apiVersion": .string("v1"), "kind": .string("Namespace"), "metadata": .object(["name": .string("team-a")]),
        ])
        let _: JSONValue = try await client.create(ResourcePath.namespaces(), namespace)
        let labels = JSONValue.object(["app": .string("helloworld"), "version": .string("v1")])
        let deployment = JSONValue.object([
            "apiVersion": .string("apps/v1"), "kind": .string("Deployment"),
            "metadata": .object(["name": .string("helloworld-v1"), "namespace": .string("team-a"), "labels": labels]),
            "spec": .object([
                "replicas": .number(1), "selector": .object(["matchLabels": labels]),
                "template": .object([
                    "metadata": .object(["labels": labels]),
                    "spec": .object([
                        "containers": .array([
                            .object(["name": .string("helloworld"), "image": .string("registry.istio.io/release/examples-helloworld-v1:1.0")])
                        ])
                    ]),
                ]),
            ]),
        ])
        let _: JSONValue = try await client.create(ResourcePath.deployments(in: "team-a"), deployment)
    }

    func testInterruptDuringADisruptionCleansUpAndLeavesOthersAlone() async throws {
        let mesh = try await SimulatedMesh.start(SimulatedMeshOptions())
        defer { Task { await mesh.stop() } }
        let clients = try MeshClients.clients(mesh)
        try await Self.createForeignDeployment(clients[0])
        let directory = try CLI.temporaryDirectory("disruption-interrupt")
        let scenarioPath = directory + "/scenario.yaml"
        try """
        name: interrupted-disruption
        clusters:
          - context: \(mesh.contexts[0])
            serves: v1
          - context: \(mesh.contexts[1])
            serves: v2
        load: {mode: paced, ratePerSecond: 10, requestsPerBurst: 300}
        disruptions:
          - name: cluster-1-down
            scaleToZero: {cluster: cluster-1}
            at: 2s
            restoreAt: 20s
        """.write(toFile: scenarioPath, atomically: true, encoding: .utf8)
        let child = try CLI.launch(["run", scenarioPath, "--kubeconfig", mesh.kubeconfigPath, "--output-dir", directory + "/out"])
        let process = child.process

        // Wait (bounded) until the run's HelloWorld in cluster-1 is scaled to 0, then interrupt mid-disruption.
        var scaled = false
        for _ in 0..<600 where process.isRunning && !scaled {
            let deployments: [JSONValue] =
                (try? await clients[0].list(ResourcePath(group: "apps", resource: "deployments").labelSelector("app.kubernetes.io/managed-by=meshcheck")))
                ?? []
            scaled = deployments.contains { $0["metadata"]?["name"]?.stringValue == "helloworld-v1" && $0["spec"]?["replicas"]?.numberValue == 0 }
            if !scaled { try await Task.sleep(for: .milliseconds(100)) }
        }
        XCTAssertTrue(scaled, "the disruption never scaled the run's helloworld-v1 to 0")
        let signalled = Date()
        kill(process.processIdentifier, SIGINT)
        while process.isRunning && Date().timeIntervalSince(signalled) < 30 { try await Task.sleep(for: .milliseconds(100)) }
        XCTAssertFalse(process.isRunning, "meshcheck did not exit within 30 s of SIGINT")
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        let result = child.wait()
        XCTAssertEqual(result.status, 130, result.stderrText)

        let managed = try await MeshClients.managedNamespaces(clients)
        XCTAssertEqual(managed, [], "an interrupted run must still clean up")
        let foreign: JSONValue = try await clients[0].get(ResourcePath.deployments(in: "team-a", "helloworld-v1"))
        XCTAssertEqual(foreign["spec"]?["replicas"]?.numberValue, 1, "a Deployment that is not the run's was touched")

        let report = try CLI.report(in: directory + "/out")
        XCTAssertEqual(report.string("verdict"), "interrupted")
        let timeline = try XCTUnwrap(report["timeline"] as? [String: Any], "an interrupted run still reports its timeline")
        let disruptions = try XCTUnwrap(timeline["disruptions"] as? [[String: Any]])
        XCTAssertEqual(disruptions.count, 1)
        XCTAssertEqual(disruptions.first?["name"] as? String, "cluster-1-down")
        let applied = try XCTUnwrap(disruptions.first?["appliedAtMs"] as? Int, "\(disruptions)")
        XCTAssertGreaterThanOrEqual(applied, 2000)
        XCTAssertNil(disruptions.first?["restoredAtMs"], "the restore was scheduled after the interrupt")
    }

    // MARK: - The acceptance runs

    private func run(_ name: String, _ yaml: String, extra: [String] = ["--simulate"], exitCode: Int32) throws -> [String: Any] {
        let directory = try CLI.temporaryDirectory(name)
        let scenarioPath = directory + "/scenario.yaml"
        try yaml.write(toFile: scenarioPath, atomically: true, encoding: .utf8)
        let result = try CLI.run(["run", scenarioPath, "--output-dir", directory + "/out"] + extra, timeout: 300)
        XCTAssertEqual(result.exitCode, exitCode, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
        return try CLI.report(in: directory + "/out")
    }

    private func rows(_ report: [String: Any], _ name: String, source: String? = nil) -> [[String: Any]] {
        report.array("checks").filter { $0.string("name") == name && (source == nil || $0.string("source") == source) }
    }

    private func figure(_ report: [String: Any], disruption: String, source: String) -> [String: Any]? {
        report.array("failover").first { $0.string("disruption") == disruption && $0.string("source") == source }
    }

    func testTheShippedFailoverScenarioPasses() throws {
        let directory = try CLI.temporaryDirectory("failover-shipped")
        let result = try CLI.run(["run", CLI.scenario("failover.yaml"), "--simulate", "--output-dir", directory], timeout: 300)
        XCTAssertEqual(result.exitCode, 0, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
        let report = try CLI.report(in: directory)
        XCTAssertEqual(report.string("verdict"), "pass")
        for name in ["failover", "locality"] {
            let found = rows(report, name)
            XCTAssertEqual(found.count, 3, "\(name): \(found)")
            XCTAssertTrue(found.allSatisfy { $0.string("status") == "pass" }, "\(found)")
        }
        // cluster-1's clients kept their zone, left it within the bound when it went down, and came back.
        let local = try XCTUnwrap(figure(report, disruption: "cluster-1-down", source: "cluster-1"), "\(report.array("failover"))")
        XCTAssertGreaterThanOrEqual(local["baselineShare"] as? Double ?? 0, 0.9)
        let failover = try XCTUnwrap(local["failoverSeconds"] as? Double)
        XCTAssertLessThanOrEqual(failover, 5)
        XCTAssertLessThanOrEqual(local["errorsDuringFailover"] as? Int ?? .max, 20)
        XCTAssertNotNil(local["recoverySeconds"] as? Double, "\(local)")
        // The other zones never used cluster-1, so for them nothing had to fail over.
        XCTAssertEqual(figure(report, disruption: "cluster-1-down", source: "cluster-2")?["baselineShare"] as? Double, 0)
        // The timeline: every second of the 65 s load for each source, and the disruption where it was applied.
        let timeline = try XCTUnwrap(report["timeline"] as? [String: Any])
        XCTAssertEqual(timeline["windowSeconds"] as? Double, 1)
        let series = timeline["sources"] as? [[String: Any]] ?? []
        XCTAssertEqual(series.count, 3)
        for source in series {
            let windows = source["windows"] as? [[String: Any]] ?? []
            XCTAssertGreaterThanOrEqual(windows.count, 60, "\(source["source"] ?? "?")")
            // Records flow steadily (a reader that buffered would leave most windows empty).
            let empty = windows.dropLast().filter { ($0["requests"] as? Int ?? 0) == 0 }.count
            XCTAssertLessThanOrEqual(empty, 3, "\(source["source"] ?? "?") has \(empty) empty windows")
        }
        let applied = ((timeline["disruptions"] as? [[String: Any]])?.first?["appliedAtMs"] as? Int) ?? 0
        XCTAssertTrue((20_000..<22_000).contains(applied), "applied at \(applied) ms")
        // Each cluster's locality came from its node's labels.
        let zones = report.array("clusters").compactMap { ($0["locality"] as? [String: Any])?["zone"] as? String }
        XCTAssertEqual(zones, ["us-central1-a", "us-central1-b", "us-central1-c"])
    }

    static let twoZones = """
        clusters:
          - context: gke_meshcheck-sim_us-central1-a_cluster-1
            serves: v1
          - context: gke_meshcheck-sim_us-central1-a_cluster-2
            serves: v2
        """

    func testWithoutOutlierDetectionFailoverFailsSayingSo() throws {
        let report = try run(
            "failover-no-outlier-detection",
            "name: no-outlier-detection\n" + Self.twoZones + """

                routing:
                  locality:
                    failover: [{from: us-central1, to: us-east1}]
                disruptions:
                  - {name: cluster-1-down, scaleToZero: {cluster: cluster-1}, at: 6s, restoreAt: 12s}
                load: {mode: paced, ratePerSecond: 10, requestsPerBurst: 180, connectionReuse: true}
                expectations:
                  failover: {maxFailoverSeconds: 5}
                timeouts: {bursts: 2m}
                """, exitCode: 1)
        let failed = rows(report, "failover", source: "cluster-1")
        XCTAssertEqual(failed.first?.string("status"), "fail", "\(failed)")
        let cause = failed.first?.string("cause") ?? ""
        XCTAssertTrue(cause.contains("only to destinations with outlier detection"), cause)
        XCTAssertTrue(failed.first?.string("hint")?.contains("routing.locality.outlierDetection") == true, "\(failed)")
    }

    func testDistributeEightyTwentyPassesItsWeightsAndFailsFiftyFifty() throws {
        func scenario(_ weights: String) -> String {
            """
            name: distribute
            clusters:
              - context: gke_meshcheck-sim_us-central1-a_cluster-1
                serves: v1
              - context: gke_meshcheck-sim_us-central1-a_cluster-2
                serves: v2
                clients: false
            routing:
              locality:
                distribute:
                  - from: us-central1/us-central1-a/*
                    to: {"us-central1/us-central1-a/*": 80, "us-central1/us-central1-b/*": 20}
                outlierDetection: {consecutive5xxErrors: 5}
            load: {requestsPerBurst: 600, connectionReuse: true}
            expectations:
              balance: {weights: \(weights)}
              significance: 0.001
            """
        }
        let matching = try run("distribute-80-20", scenario("{cluster-1: 80, cluster-2: 20}"), exitCode: 0)
        XCTAssertEqual(rows(matching, "balance").first?.string("status"), "pass", "\(rows(matching, "balance"))")
        let even = try run("distribute-50-50", scenario("{cluster-1: 50, cluster-2: 50}"), exitCode: 1)
        XCTAssertEqual(rows(even, "balance").first?.string("status"), "fail", "\(rows(even, "balance"))")
    }

    func testAFiftyPercentAbortShowsItsErrorWindowAndRecovery() throws {
        let report = try run(
            "abort-50",
            "name: abort-50\n" + Self.twoZones + """

                disruptions:
                  - {name: v2-faults, abort: {percent: 50, clusters: [cluster-2]}, at: 5s, restoreAt: 12s}
                load: {mode: paced, ratePerSecond: 10, requestsPerBurst: 180, connectionReuse: true}
                timeouts: {bursts: 2m}
                """, exitCode: 0)
        let faulted = try XCTUnwrap(figure(report, disruption: "v2-faults", source: "cluster-2"), "\(report.array("failover"))")
        XCTAssertEqual(faulted["kind"] as? String, "abort")
        let start = try XCTUnwrap(faulted["errorWindowStartSeconds"] as? Double)
        let end = try XCTUnwrap(faulted["errorWindowEndSeconds"] as? Double)
        XCTAssertTrue((5...7).contains(start), "error window starts at \(start) s")
        XCTAssertTrue((10...14).contains(end), "error window ends at \(end) s")
        let rate = try XCTUnwrap(faulted["errorRate"] as? [String: Any])
        XCTAssertLessThanOrEqual(rate["low"] as? Double ?? 1, 0.5)
        XCTAssertGreaterThanOrEqual(rate["high"] as? Double ?? 0, 0.5)
        XCTAssertNotNil(faulted["recoverySeconds"] as? Double, "\(faulted)")
        // Only cluster-2's sidecars got the fault: cluster-1's requests never failed.
        XCTAssertNil(figure(report, disruption: "v2-faults", source: "cluster-1"))
        let timeline = try XCTUnwrap(report["timeline"] as? [String: Any])
        let clusterOne = (timeline["sources"] as? [[String: Any]])?.first { $0["source"] as? String == "cluster-1" }
        XCTAssertEqual((clusterOne?["windows"] as? [[String: Any]])?.reduce(0) { $0 + ($1["errors"] as? Int ?? 0) }, 0)
        XCTAssertEqual(rows(report, "failover").count, 2, "one row per client cluster: \(rows(report, "failover"))")
        XCTAssertTrue(rows(report, "failover").allSatisfy { $0.string("status") != "fail" }, "\(rows(report, "failover"))")
    }

    /// The figure against the simulator's known behaviour: one HelloWorld pod per cluster, outlier detection ejecting on
    /// the 3rd consecutive 5xx for 60 s, the removed endpoint kept listed for 8 s (so the ejection, seconds earlier, is
    /// what moves the traffic), 20 starts per second from one worker. FailoverWindow derives the range from those
    /// settings.
    func testTimeToFailoverFallsInTheWindowTheEjectionSettingsPredict() async throws {
        var options = SimulatedMeshOptions()
        options.endpointRemovalDelay = .seconds(8)
        let mesh = try await SimulatedMesh.start(options)
        defer { Task { await mesh.stop() } }
        let yaml = """
            name: failover-window
            clusters:
              - context: \(mesh.contexts[0])
                serves: v1
              - context: \(mesh.contexts[1])
                serves: v2
                clients: false
            routing:
              locality:
                outlierDetection: {consecutive5xxErrors: 3, interval: 1s, baseEjectionTime: 60s, maxEjectionPercent: 100}
            disruptions:
              - {name: down, scaleToZero: {cluster: cluster-1}, at: 5s, restoreAt: 12s}
            load: {mode: paced, ratePerSecond: 20, requestsPerBurst: 360}
            timeouts: {bursts: 2m}
            """
        let report = try run("failover-window", yaml, extra: ["--kubeconfig", mesh.kubeconfigPath], exitCode: 0)
        let scenario = try ScenarioLoader.parse(yaml: yaml, file: "failover-window.yaml")
        let disruption = try XCTUnwrap((report["timeline"] as? [String: Any])?["disruptions"] as? [[String: Any]]).first
        let applied = Int64(try XCTUnwrap(disruption?["appliedAtMs"] as? Int)) * 1000
        let restored = Int64(try XCTUnwrap(disruption?["restoredAtMs"] as? Int)) * 1000
        let parameters = try XCTUnwrap(
            FailoverWindow.Parameters(
                outlierDetection: try XCTUnwrap(scenario.locality?.outlierDetection), load: scenario.load, timeline: scenario.timeline,
                endpoints: 1, totalEndpoints: 2,
                // Connection refused, then Istio's two retries after back-offs of at most 25 and 75 ms; the record's
                // placement (its arrival minus its in-pod time) can only be late, by the exec stream's delivery.
                requestSpanMicros: 600_000,
                // The pod stops once the ReplicaSet controller deletes it, after the scale call returned.
                effectDelayMicros: 0...2_000_000,
                endpointRemovalMicros: 8_000_000...10_000_000))
        let expected = try XCTUnwrap(FailoverWindow.expected(appliedAtMicros: applied, restoredAtMicros: restored, parameters))
        let figure = try XCTUnwrap(figure(report, disruption: "down", source: "cluster-1"), "\(report.array("failover"))")
        let seconds = try XCTUnwrap(figure["failoverSeconds"] as? Double, "\(figure)")
        XCTAssertTrue(expected.contains(seconds), "failover \(seconds) s outside the derived \(expected)")
        // One request makes the three attempts that eject the one local endpoint: at most a few fail.
        XCTAssertGreaterThanOrEqual(figure["errorsDuringFailover"] as? Int ?? 0, 1)
        XCTAssertLessThanOrEqual(figure["errorsDuringFailover"] as? Int ?? .max, 3)
    }
}
