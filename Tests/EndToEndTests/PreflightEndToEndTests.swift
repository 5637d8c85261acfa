// `meshcheck preflight` against the simulated mesh: the checklist, `-o json` and the exit codes.

import Foundation
import KubeClient
import MeshSim
import XCTest

final class PreflightEndToEndTests: XCTestCase {
    private func contextArguments(_ mesh: SimulatedMesh) -> [String] {
        ["--kubeconfig", mesh.kubeconfigPath] + mesh.contexts.flatMap { ["--context", $0] }
    }

    func testHealthyMeshPassesEveryCheckAsAChecklistAndAsJSON() async throws {
        let mesh = try await SimulatedMesh.start(SimulatedMeshOptions())
        do {
            let text = try CLI.run(["preflight"] + contextArguments(mesh), timeout: 60)
            XCTAssertEqual(text.exitCode, 0, "stdout: \(text.stdout)\nstderr: \(text.stderr)")
            let lines = text.stdout.split(separator: "\n").map(String.init)
            XCTAssertTrue(lines.first?.hasPrefix("meshcheck preflight: PASS — 2 clusters") == true, text.stdout)
            let checks = lines.dropFirst().filter { !$0.isEmpty }
            XCTAssertFalse(checks.isEmpty)
            XCTAssertTrue(checks.allSatisfy { $0.hasPrefix("PASS  ") }, text.stdout)
            for name in [
                "api", "rbac", "control-plane", "revision", "remote-secret", "control-plane-sync", "east-west-gateway",
                "cross-network-gateway", "network-label", "root-ca", "destination-rules", "sidecars",
            ] {
                XCTAssertTrue(checks.contains { $0.hasPrefix("PASS  \(name) ") }, "\(name) missing from\n\(text.stdout)")
            }
            XCTAssertTrue(text.stdout.contains("cluster-1 → cluster-2") && text.stdout.contains("cluster-2 → cluster-1"), text.stdout)

            let json = try CLI.run(["preflight", "-o", "json"] + contextArguments(mesh), timeout: 60)
            XCTAssertEqual(json.exitCode, 0, json.stderr)
            let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            XCTAssertEqual(document.string("verdict"), "pass")
            XCTAssertEqual(document.array("clusters").compactMap { $0.string("context") }, mesh.contexts)
            // A cluster that answered has no failure kind (the facts start without a version while being fetched).
            XCTAssertEqual(document.array("clusters").compactMap { $0.string("failure") }, [], json.stdout)
            XCTAssertTrue(document.array("findings").allSatisfy { $0.string("status") == "pass" })
            let sync = document.array("findings").filter { $0.string("check") == "control-plane-sync" }
            XCTAssertEqual(sync.compactMap { $0.string("cluster") }, ["cluster-1", "cluster-2"], json.stdout)
            XCTAssertTrue(
                (sync.first?.string("evidence") ?? "").contains("has synced with cluster-2 synced (secret istio-system/istio-remote-secret-cluster-2)"),
                json.stdout)
        } catch {
            await mesh.stop()
            throw error
        }
        await mesh.stop()
    }

    func testFailedCheckExitsOneWithItsHint() async throws {
        let mesh = try await SimulatedMesh.start(SimulatedMeshOptions())
        do {
            let kubeconfig = try Kubeconfig.load(KubeconfigLoadingRules(explicitPath: mesh.kubeconfigPath))
            let cluster2 = try KubeClient(kubeconfig: kubeconfig, context: mesh.contexts[1])
            try await cluster2.delete(.secrets(in: "istio-system", "istio-remote-secret-cluster-1"))
            let result = try CLI.run(["preflight"] + contextArguments(mesh), timeout: 60)
            XCTAssertEqual(result.exitCode, 1, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
            let lines = result.stdout.split(separator: "\n").map(String.init)
            let failed = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("FAIL  remote-secret") }, result.stdout)
            XCTAssertTrue(lines[failed].contains("cluster-2 → cluster-1") && lines[failed].contains("no remote secret for cluster-1"), lines[failed])
            XCTAssertTrue(lines[failed + 1].hasPrefix("      hint: `istioctl create-remote-secret"), lines[failed + 1])
            XCTAssertEqual(lines.filter { $0.hasPrefix("FAIL") }.count, 1, result.stdout)
        } catch {
            await mesh.stop()
            throw error
        }
        await mesh.stop()
    }

    func testBadInputAndUnreachableClusters() async throws {
        let mesh = try await SimulatedMesh.start(SimulatedMeshOptions())
        do {
            let unknown = try CLI.run(["preflight", "--kubeconfig", mesh.kubeconfigPath, "--context", "no-such-context"], timeout: 60)
            XCTAssertEqual(unknown.exitCode, 2, unknown.stderr)
            XCTAssertTrue(unknown.stderr.contains("no-such-context"), unknown.stderr)

            var drop = APIFaults()
            drop.dropFraction = 1
            try mesh.faults.setAPIFaults(drop, cluster: "cluster-2")
            let unreachable = try CLI.run(["preflight"] + contextArguments(mesh), timeout: 120)
            XCTAssertEqual(unreachable.exitCode, 3, unreachable.stdout)
            XCTAssertTrue(unreachable.stdout.contains("unreachable: context \(mesh.contexts[1])"), unreachable.stdout)
        } catch {
            await mesh.stop()
            throw error
        }
        await mesh.stop()
    }
}
