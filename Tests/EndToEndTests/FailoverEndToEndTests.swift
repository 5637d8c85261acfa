// Disruptions end to end against the simulated mesh: the run acts only on its own objects on the load's clock, and an
// interrupt in the middle of a disruption cleans up as any interrupted run does, leaving alone what is not the run's.

import Foundation
import KubeClient
import MeshSim
import MeshTestSupport
import XCTest

final class FailoverEndToEndTests: XCTestCase {
    private static func clients(_ mesh: SimulatedMesh) throws -> [KubeClient] {
        let kubeconfig = try Kubeconfig.load(KubeconfigLoadingRules(explicitPath: mesh.kubeconfigPath))
        return try mesh.contexts.map { try KubeClient(kubeconfig: kubeconfig, context: $0) }
    }

    private static func managedNamespaces(_ clients: [KubeClient]) async throws -> [String] {
        var names: [String] = []
        for client in clients {
            let namespaces: [Namespace] = try await client.list(ResourcePath.namespaces().labelSelector("app.kubernetes.io/managed-by=meshcheck"))
            names += namespaces.compactMap { $0.metadata.name.map { "\(client.name)/\($0)" } }
        }
        return names
    }

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
        let clients = try Self.clients(mesh)
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

        let managed = try await Self.managedNamespaces(clients)
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
}
