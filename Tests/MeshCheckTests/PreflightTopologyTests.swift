import XCTest

@testable import MeshCheck

/// Topology detection and the role-aware judgements: hand-made facts for each install guide's shape.
final class PreflightTopologyTests: XCTestCase {
    private func only(_ findings: [PreflightFinding], _ check: String, cluster: String? = nil) -> [PreflightFinding] {
        findings.filter { $0.check == check && (cluster == nil || $0.cluster == cluster) }
    }

    private func notPassing(_ findings: [PreflightFinding]) -> [PreflightFinding] { findings.filter { $0.status != .pass } }

    private func meshWide(_ findings: [PreflightFinding]) -> String? {
        findings.first { $0.check == PreflightCheckName.topology && $0.cluster == nil }?.evidence
    }

    /// Istio's primary-remote guide: cluster-1 runs istiod and holds a secret for each remote; the remotes
    /// run no istiod, name cluster-1 in istio-system's annotation and inject through cluster-1's gateway.
    static func primaryRemote(_ count: Int) -> [ClusterFacts] {
        var clusters = HealthyMesh.clusters(count)
        clusters[0].injectorWebhooks = .value([
            InjectorWebhookFact(name: "istio-sidecar-injector-asm-1-23", revision: "asm-1-23", service: "istio-system/istiod-asm-1-23")
        ])
        for index in 1..<count {
            clusters[index].istiodPods = .value([])
            clusters[index].remoteSecrets = .value([])
            clusters[index].controlPlaneClusters = .value("cluster-1")
            clusters[index].injectorWebhooks = .value([
                InjectorWebhookFact(
                    name: "istio-sidecar-injector-asm-1-23", revision: "asm-1-23",
                    url: "https://192.0.2.12:15017/inject/cluster/cluster-\(index + 1)/net/network\(index + 1)")
            ])
        }
        return clusters
    }

    /// Managed Cloud Service Mesh: a ControlPlaneRevision, no istiod, and `asm-options` per cluster.
    static func managed(_ modes: [String?], secrets: Bool) -> [ClusterFacts] {
        var clusters = HealthyMesh.clusters(modes.count)
        for (index, mode) in modes.enumerated() {
            clusters[index].istiodPods = .value([])
            clusters[index].controlPlaneRevisions = .value([ControlPlaneRevisionFact(name: "asm-managed", reconciled: true)])
            clusters[index].multiclusterMode = .value(mode)
            if !secrets { clusters[index].remoteSecrets = .value([]) }
        }
        return clusters
    }

    func testMultiPrimaryIsNamedAndEachClusterIsAPrimary() {
        let findings = HealthyMesh.evaluate(HealthyMesh.clusters(3))
        XCTAssertEqual(meshWide(findings), "multi-primary")
        XCTAssertEqual(only(findings, PreflightCheckName.topology, cluster: "cluster-2").map(\.evidence), ["primary: istiod runs here"])
    }

    func testPrimaryRemotePassesWithoutControlPlanesOrSecretsInTheRemotes() {
        let findings = HealthyMesh.evaluate(Self.primaryRemote(3))
        XCTAssertEqual(notPassing(findings), [])
        XCTAssertEqual(meshWide(findings), "primary-remote (primary cluster-1; remotes cluster-2, cluster-3)")
        XCTAssertEqual(
            only(findings, PreflightCheckName.topology, cluster: "cluster-1").map(\.evidence),
            ["primary: istiod runs here and configures the remotes cluster-2, cluster-3"])
        let remote = only(findings, PreflightCheckName.topology, cluster: "cluster-2")[0].evidence
        XCTAssertTrue(remote.hasPrefix("remote of cluster-1: istio-system topology.istio.io/controlPlaneClusters=cluster-1"), remote)
        XCTAssertTrue(remote.contains("calls https://192.0.2.12:15017/inject/cluster/cluster-2/net/network2"), remote)
        let controlPlane = only(findings, PreflightCheckName.controlPlane, cluster: "cluster-3")[0].evidence
        XCTAssertTrue(controlPlane.contains("no istiod needed here") && controlPlane.contains("cluster-1: istiod ready"), controlPlane)
        XCTAssertEqual(only(findings, PreflightCheckName.remoteSecret, cluster: "cluster-2").map(\.peer), [nil], "no per-peer secrets asked of a remote")
        XCTAssertEqual(only(findings, PreflightCheckName.remoteSecret, cluster: "cluster-1").compactMap(\.peer), ["cluster-2", "cluster-3"])
        XCTAssertEqual(only(findings, PreflightCheckName.revision).map(\.status), [.pass, .pass, .pass], "remotes serve the primary's revision")
    }

    func testRemoteListedFirstDetectsTheRevisionFromItsInjector() {
        let clusters = Self.primaryRemote(2).reversed().map { $0 }
        XCTAssertEqual(PreflightChecks.detectedRevision(clusters[0]), "asm-1-23")
        XCTAssertEqual(notPassing(HealthyMesh.evaluate(clusters)), [])
    }

    func testPrimaryWithoutASecretForItsRemoteFails() {
        var clusters = Self.primaryRemote(3)
        clusters[0].remoteSecrets = .value(clusters[0].remoteSecrets.value!.filter { $0.key != "cluster-3" })
        let failed = notPassing(HealthyMesh.evaluate(clusters))
        XCTAssertEqual(failed.map(\.check), [PreflightCheckName.remoteSecret])
        XCTAssertEqual(failed.map(\.cluster), ["cluster-1"])
        XCTAssertEqual(failed.map(\.peer), ["cluster-3"])
        XCTAssertTrue(failed[0].hint!.contains("istioctl create-remote-secret --context gke_p_l_cluster-3 --name cluster-3"), failed[0].hint!)
    }

    /// A remote's sidecars know what its primary discovers, so traffic from a remote to a peer is explained
    /// by the primary's missing secret for that peer.
    func testRemotesTrafficIsExplainedByItsPrimarysSecrets() {
        var clusters = Self.primaryRemote(3)
        clusters[0].remoteSecrets = .value(clusters[0].remoteSecrets.value!.filter { $0.key != "cluster-3" })
        let findings = HealthyMesh.evaluate(clusters)
        XCTAssertEqual(only(findings, PreflightCheckName.topology, cluster: "cluster-2").map(\.peer), ["cluster-1"])
        let path = Diagnosis.pathFindings(source: "cluster-2", target: "cluster-3", findings: findings)
        XCTAssertEqual(path.map(\.check), [PreflightCheckName.remoteSecret])
        XCTAssertEqual(path.map(\.cluster), ["cluster-1"])
        XCTAssertEqual(Diagnosis.pathFindings(source: "cluster-2", target: "cluster-1", findings: findings), [])
    }

    func testRemoteWhosePrimaryHasNoReadyIstiodFailsControlPlane() {
        var clusters = Self.primaryRemote(2)
        clusters[0].istiodPods = .value([IstiodPodFact(name: "istiod-asm-1-23-abc", revision: "asm-1-23", ready: false)])
        let failed = notPassing(only(HealthyMesh.evaluate(clusters), PreflightCheckName.controlPlane))
        XCTAssertEqual(failed.map(\.cluster), ["cluster-1", "cluster-2"])
        XCTAssertTrue(failed[1].evidence.contains("cluster-1 has no ready istiod pod to configure it"), failed[1].evidence)
    }

    func testInjectorCallingAURLWithoutTheAnnotationIsARemoteThatWarns() {
        var clusters = Self.primaryRemote(2)
        clusters[1].controlPlaneClusters = .value(nil)
        let findings = HealthyMesh.evaluate(clusters)
        let warned = notPassing(findings)
        XCTAssertEqual(warned.map(\.check), [PreflightCheckName.topology])
        XCTAssertEqual(warned.map(\.status), [.warn])
        XCTAssertTrue(warned[0].hint!.contains("annotate namespace istio-system topology.istio.io/controlPlaneClusters="), warned[0].hint!)
        XCTAssertEqual(meshWide(findings), "primary-remote (primary cluster-1; remotes cluster-2)")
    }

    func testRemoteOfAPrimaryOutsideTheCheckedClustersWarns() {
        var clusters = Self.primaryRemote(2)
        clusters[1].controlPlaneClusters = .value("cluster-9")
        let warned = notPassing(HealthyMesh.evaluate(clusters))
        XCTAssertEqual(warned.map(\.check), [PreflightCheckName.topology])
        XCTAssertTrue(warned[0].evidence.contains("cluster-9 is not among the checked clusters"), warned[0].evidence)
    }

    func testManagedConnectedNeedsNoSecrets() {
        let findings = HealthyMesh.evaluate(Self.managed(["connected", "connected", "connected"], secrets: false))
        XCTAssertEqual(notPassing(findings), [])
        XCTAssertEqual(meshWide(findings), "managed, connected discovery")
        XCTAssertEqual(only(findings, PreflightCheckName.remoteSecret).map(\.peer), [nil, nil, nil])
        XCTAssertTrue(only(findings, PreflightCheckName.remoteSecret)[0].evidence.contains("multicluster_mode=connected"))
    }

    /// The guide's connected mode must be on in every cluster: one cluster patched to manual, without
    /// secrets, sees no peers, and the hint is the guide's patch for that context.
    func testManagedClusterLeftManualInAConnectedMeshFailsWithThePatchHint() {
        let findings = HealthyMesh.evaluate(Self.managed(["connected", "manual", "connected"], secrets: false))
        let failed = notPassing(findings)
        XCTAssertEqual(Set(failed.map(\.cluster)), ["cluster-2"])
        XCTAssertEqual(failed.map(\.check), [PreflightCheckName.topology, PreflightCheckName.remoteSecret, PreflightCheckName.remoteSecret])
        let patch =
            "`kubectl --context gke_p_l_cluster-2 patch configmap/asm-options -n istio-system --type merge -p '{\"data\":{\"multicluster_mode\":\"connected\"}}'`"
        XCTAssertEqual(failed.map(\.hint), [patch, patch, patch])
        XCTAssertTrue(failed[0].evidence.contains("multicluster_mode=manual while cluster-1, cluster-3 use connected discovery"), failed[0].evidence)
        XCTAssertEqual(meshWide(findings), "managed, mixed discovery: connected discovery (cluster-1, cluster-3); manual discovery (cluster-2)")
    }

    func testManagedManualOrAbsentModeNeedsSecretsAsMultiPrimary() {
        let manual = HealthyMesh.evaluate(Self.managed(["manual", "manual"], secrets: true))
        XCTAssertEqual(notPassing(manual), [])
        XCTAssertEqual(meshWide(manual), "managed, manual discovery")
        XCTAssertEqual(only(manual, PreflightCheckName.remoteSecret).compactMap(\.peer), ["cluster-2", "cluster-1"])

        let absent = HealthyMesh.evaluate(Self.managed([nil, nil], secrets: false))
        let failed = notPassing(absent)
        XCTAssertEqual(failed.map(\.check), [PreflightCheckName.remoteSecret, PreflightCheckName.remoteSecret])
        XCTAssertTrue(failed[0].hint!.contains("istioctl create-remote-secret"), "no connected cluster to follow: \(failed[0].hint!)")
        XCTAssertEqual(meshWide(absent), "managed, remote-secret discovery (no multicluster_mode)")
    }

    func testTopologyRowReachesTheReportChecks() {
        let checks = PreflightSummary.checks(HealthyMesh.evaluate(Self.primaryRemote(3)))
        let row = checks.first { $0.name == PreflightCheckName.topology }
        XCTAssertEqual(row?.message.hasPrefix("all clusters: primary-remote (primary cluster-1; remotes cluster-2, cluster-3)"), true, row?.message ?? "no row")
    }
}
