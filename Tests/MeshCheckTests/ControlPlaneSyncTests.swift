import Foundation
import XCTest

@testable import MeshCheck

/// istiod's `/debug/clusterz` and the `control-plane-sync` check. The samples are istiod's output as its
/// source writes it: `[]cluster.DebugInfo` with the JSON tags of istio `pkg/cluster/debug.go`
/// (`id`, `secretName`, `syncStatus`), the own cluster first with an empty secret name, remote clusters named
/// `<namespace>/<secret>` (istio `pkg/kube/multicluster/secretcontroller.go`, `ListRemoteClusters`, and its
/// test `TestListRemoteClusters`), states from istio `pkg/kube/multicluster/cluster.go`; compact as
/// `config.ToJSON` writes it, or indented with `?pretty`.
final class ControlPlaneSyncTests: XCTestCase {
    static let compact = #"""
        [{"id":"cluster-1","secretName":"","syncStatus":"synced"},{"id":"cluster-2","secretName":"istio-system/istio-remote-secret-cluster-2","syncStatus":"synced"},{"id":"cluster-3","secretName":"istio-system/istio-remote-secret-cluster-3","syncStatus":"timeout"}]
        """#

    static let pretty = #"""
        [
          {
            "id": "gke-west",
            "secretName": "",
            "syncStatus": "syncing"
          },
          {
            "id": "gke-east",
            "secretName": "istio-system/istio-remote-secret-projects-123-locations-us-east1-memberships-gke-east",
            "syncStatus": "closed"
          }
        ]
        """#

    func testParsesIstiodsCompactAnswer() throws {
        let clusters = try ClusterzParser.parse(Array(Self.compact.utf8))
        XCTAssertEqual(
            clusters,
            [
                RemoteClusterStatus(id: "cluster-1", secretName: "", syncStatus: "synced"),
                RemoteClusterStatus(id: "cluster-2", secretName: "istio-system/istio-remote-secret-cluster-2", syncStatus: "synced"),
                RemoteClusterStatus(id: "cluster-3", secretName: "istio-system/istio-remote-secret-cluster-3", syncStatus: "timeout"),
            ])
        XCTAssertEqual(clusters.map(\.isSynced), [true, true, false])
    }

    func testParsesThePrettyFormAndEmptyList() throws {
        let clusters = try ClusterzParser.parse(Array(Self.pretty.utf8))
        XCTAssertEqual(clusters.map(\.syncStatus), ["syncing", "closed"])
        XCTAssertEqual(clusters[1].secretName, "istio-system/istio-remote-secret-projects-123-locations-us-east1-memberships-gke-east")
        XCTAssertEqual(try ClusterzParser.parse(Array("[]".utf8)), [])
    }

    func testIgnoresUnknownFieldsAndAMissingSecretName() throws {
        let clusters = try ClusterzParser.parse(Array(#"[{"id":"c0","syncStatus":"synced","extra":1}]"#.utf8))
        XCTAssertEqual(clusters, [RemoteClusterStatus(id: "c0", secretName: "", syncStatus: "synced")])
    }

    func testRejectsWhatIstiodNeverWrites() {
        for (text, expected) in [
            ("", ClusterzParser.ParseError.notJSONArray), ("{}", .notJSONArray), ("404 page not found\n", .notJSONArray),
            ("[1]", .entry(0, "not an object")), (#"[{"syncStatus":"synced"}]"#, .entry(0, "no cluster id")),
            (#"[{"id":"a","syncStatus":"synced"},{"id":"b"}]"#, .entry(1, "no syncStatus")),
            (#"[{"id":7,"syncStatus":"synced"}]"#, .entry(0, "no cluster id")),
        ] {
            XCTAssertThrowsError(try ClusterzParser.parse(Array(text.utf8)), text) { error in
                XCTAssertEqual(error as? ClusterzParser.ParseError, expected, text)
            }
        }
    }

    // MARK: the check

    private func sync(_ findings: [PreflightFinding], _ cluster: String) -> PreflightFinding? {
        findings.first { $0.check == PreflightCheckName.controlPlaneSync && $0.cluster == cluster }
    }

    func testHealthyMeshIsSyncedEverywhere() throws {
        let findings = HealthyMesh.evaluate(HealthyMesh.clusters(3))
        let row = try XCTUnwrap(sync(findings, "cluster-1"))
        XCTAssertEqual(row.status, .pass)
        XCTAssertEqual(
            row.evidence,
            "istiod istiod-asm-1-23-abc has synced with cluster-2 synced (secret istio-system/istio-remote-secret-cluster-2), "
                + "cluster-3 synced (secret istio-system/istio-remote-secret-cluster-3)")
    }

    func testAPeerThatNeverSyncedFailsNamingItWithTheReachabilityHint() throws {
        var clusters = HealthyMesh.clusters()
        clusters[0].controlPlaneView = HealthyMesh.clusterz("cluster-1", peers: [("cluster-2", "timeout")])
        let findings = HealthyMesh.evaluate(clusters)
        let row = try XCTUnwrap(sync(findings, "cluster-1"))
        XCTAssertEqual(row.status, .fail)
        XCTAssertEqual(row.peer, "cluster-2")
        XCTAssertTrue(row.evidence.contains("cluster-2 timeout (secret istio-system/istio-remote-secret-cluster-2)"), row.evidence)
        let hint = try XCTUnwrap(row.hint)
        XCTAssertTrue(hint.hasPrefix("istiod in cluster-1 cannot reach the API server of cluster-2"), hint)
        XCTAssertTrue(hint.contains("authorized networks or a firewall"), hint)
        XCTAssertTrue(hint.contains("cluster-2: \(HealthyMesh.server(2))"), "names the secret's server address: \(hint)")
        XCTAssertEqual(sync(findings, "cluster-2")?.status, .pass)
        XCTAssertEqual(
            findings.filter { $0.check == PreflightCheckName.remoteSecret }.map(\.status), [.pass, .pass],
            "the secret itself is fine")
    }

    func testAPeerIstiodDoesNotWatchIsTheRemoteSecretChecksToReport() throws {
        var clusters = HealthyMesh.clusters()
        clusters[0].controlPlaneView = HealthyMesh.clusterz("cluster-1", pod: "istiod-1", peers: [])
        let row = try XCTUnwrap(sync(HealthyMesh.evaluate(clusters), "cluster-1"))
        XCTAssertEqual(row.status, .pass)
        XCTAssertEqual(row.evidence, "istiod istiod-1 watches no peer; not watched: cluster-2 (see remote-secret)")
    }

    func testNotVisibleIsAWarningWithTheReason() throws {
        var clusters = HealthyMesh.clusters()
        clusters[0].controlPlaneView = .notVisible(
            "forbidden: needs `create pods/exec in istio-system` (pods \"istiod-1\" is forbidden: User \"u\" cannot create resource \"pods/exec\")")
        clusters[1].controlPlaneView = .notVisible("managed control plane (asm-managed), istiod runs outside the cluster")
        let findings = HealthyMesh.evaluate(clusters)
        let forbidden = try XCTUnwrap(sync(findings, "cluster-1"))
        XCTAssertEqual(forbidden.status, .warn)
        XCTAssertTrue(forbidden.evidence.hasPrefix("not visible: forbidden: needs `create pods/exec in istio-system`"), forbidden.evidence)
        XCTAssertTrue(forbidden.hint?.contains("grant `create` (and `get`) on `pods/exec` in istio-system") == true, forbidden.hint ?? "")
        let managed = try XCTUnwrap(sync(findings, "cluster-2"))
        XCTAssertEqual(managed.status, .warn)
        XCTAssertEqual(managed.evidence, "not visible: managed control plane (asm-managed), istiod runs outside the cluster")
        XCTAssertNil(managed.hint)
        XCTAssertFalse(findings.contains { $0.status == .fail }, "a view meshcheck cannot read fails nothing")
    }

    func testFactsWithoutTheViewMakeNoRow() {
        var clusters = HealthyMesh.clusters()
        for index in clusters.indices { clusters[index].controlPlaneView = .notFetched }
        XCTAssertFalse(HealthyMesh.evaluate(clusters).contains { $0.check == PreflightCheckName.controlPlaneSync })
    }
}
