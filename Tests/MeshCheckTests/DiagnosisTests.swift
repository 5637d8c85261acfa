import MeshStats
import XCTest

@testable import MeshCheck

/// The verdict explains failing rows from the tally and the preflight findings (``Diagnosis``), once,
/// while it builds them.
final class DiagnosisTests: XCTestCase {
    private static let instances = ["hw-1a": 0, "hw-2a": 1]

    private func scenario(_ expectations: Expectations = Expectations()) throws -> Scenario {
        var scenario = try Scenario.guideCheck(contexts: ["gke_sim_zone_cluster-1", "gke_sim_zone_cluster-2"])
        scenario.expectations = expectations
        return scenario
    }

    private func pods(clientSidecar: Bool = true) -> [PodState] {
        ["cluster-1", "cluster-2"].flatMap {
            [
                PodState(cluster: $0, name: "helloworld-x", role: .helloworld, hasSidecar: true),
                PodState(cluster: $0, name: "sleep-x", role: .sleep, hasSidecar: clientSidecar),
            ]
        }
    }

    private func evaluate(
        _ builder: TallyBuilder, findings: [PreflightFinding], expectations: Expectations = Expectations(),
        pods: [PodState]? = nil
    ) throws -> VerdictOutcome {
        Verdict.evaluate(
            VerdictInput(
                scenario: try scenario(expectations), namespace: "meshcheck-t", tally: builder.tally,
                readyEndpoints: ["cluster-1": 1, "cluster-2": 1], pods: pods ?? self.pods(), preflight: findings))
    }

    private func check(_ outcome: VerdictOutcome, _ name: String, source: String? = nil, target: String? = nil) throws -> CheckResult {
        try XCTUnwrap(outcome.checks.first { $0.name == name && $0.source == source && $0.target == target })
    }

    /// cluster-1 reached only cluster-1 (200 answers); cluster-2 reached both.
    private func oneSided() -> TallyBuilder {
        var builder = TallyBuilder(clusters: ["cluster-1", "cluster-2"], instances: Self.instances)
        builder.add(source: 0, instance: "hw-1a", count: 200)
        builder.add(source: 1, instance: "hw-1a", count: 100)
        builder.add(source: 1, instance: "hw-2a", count: 100)
        return builder
    }

    func testMissingRemoteSecretIsNamedWithTheTrafficEvidence() throws {
        var clusters = HealthyMesh.clusters()
        clusters[0].remoteSecrets = .value([])
        let outcome = try evaluate(oneSided(), findings: HealthyMesh.evaluate(clusters))
        let reached = try check(outcome, CheckName.allClustersReached, source: "cluster-1")
        XCTAssertEqual(reached.status, .fail)
        // The pair's first broken layer leads with preflight's evidence, which is not repeated after the traffic.
        XCTAssertTrue(reached.cause!.hasPrefix("layer remote secret: cluster-1: no remote secret for cluster-2"), reached.cause!)
        XCTAssertTrue(reached.cause!.hasSuffix("; cluster-1's clients reached only cluster-1 (0 of 200 answers from cluster-2)"), reached.cause!)
        XCTAssertFalse(reached.cause!.contains("preflight remote-secret"), reached.cause!)
        XCTAssertTrue(reached.hint!.contains("istioctl create-remote-secret"), reached.hint!)
        let passing = try check(outcome, CheckName.allClustersReached, source: "cluster-2")
        XCTAssertEqual(passing.status, .pass)
        XCTAssertNil(passing.cause, "passing checks are not explained")
        let balance = try check(outcome, CheckName.balance, source: "cluster-1")
        XCTAssertEqual(balance.status, .fail)
        XCTAssertEqual(balance.cause, reached.cause, "a cluster never reached explains the skewed split the same way")
        XCTAssertEqual(
            outcome.checks.filter { $0.name == PreflightCheckName.remoteSecret }.map(\.status), [.fail],
            "preflight rows lead the checks")
        XCTAssertEqual(outcome.verdict, .fail)
    }

    /// istiod holds the secret but never synced the peer: the sync row, not the (green) secret, explains why
    /// cluster-1's clients never reach cluster-2; a view meshcheck could not read explains nothing.
    func testAPeerIstiodNeverSyncedIsNamedWithTheReachabilityHint() throws {
        var clusters = HealthyMesh.clusters()
        clusters[0].controlPlaneView = HealthyMesh.clusterz("cluster-1", pod: "istiod-1", peers: [("cluster-2", "timeout")])
        let reached = try check(
            try evaluate(oneSided(), findings: HealthyMesh.evaluate(clusters)), CheckName.allClustersReached, source: "cluster-1")
        XCTAssertEqual(reached.status, .fail)
        let cause = try XCTUnwrap(reached.cause)
        XCTAssertTrue(cause.contains("preflight control-plane-sync (cluster-1): istiod istiod-1 has not synced with cluster-2 timeout"), cause)
        XCTAssertFalse(cause.contains("preflight remote-secret"), "the secret is fine: \(cause)")
        XCTAssertTrue(reached.hint?.contains("cannot reach the API server of cluster-2") == true, reached.hint ?? "")

        clusters[0].controlPlaneView = .notVisible("forbidden: needs `create pods/exec in istio-system`")
        let unexplained = try check(
            try evaluate(oneSided(), findings: HealthyMesh.evaluate(clusters)), CheckName.allClustersReached, source: "cluster-1")
        XCTAssertFalse((unexplained.cause ?? "").contains("control-plane-sync"), unexplained.cause ?? "")
    }

    /// With istiod's view and the sidecars' readings, the first broken layer of the pair leads the cause with its
    /// own hint: the sync layer green, the sidecar holds no endpoint for cluster-2 (a gateway scaled to 0).
    func testTheFirstBrokenLayerLeadsTheCauseWithItsHint() throws {
        let findings = HealthyMesh.evaluate(HealthyMesh.clusters())
        let views = [
            "cluster-1": HealthyMesh.clusterz("cluster-1", pod: "istiod-1", peers: [("cluster-2", "synced")]),
            "cluster-2": HealthyMesh.clusterz("cluster-2", pod: "istiod-2", peers: [("cluster-1", "synced")]),
        ]
        var readings = PairLayersTests.reading("cluster-1", [PairLayersTests.endpoint("cluster-1")])
        readings += PairLayersTests.reading("cluster-2", [PairLayersTests.endpoint("cluster-2"), PairLayersTests.endpoint("cluster-1", gateway: true)])
        let outcome = Verdict.evaluate(
            VerdictInput(
                scenario: try scenario(), namespace: "meshcheck-t", tally: oneSided().tally, readyEndpoints: ["cluster-1": 1, "cluster-2": 1],
                pods: pods(), preflight: findings, controlPlaneViews: views, sidecarReadings: readings))
        let reached = try check(outcome, CheckName.allClustersReached, source: "cluster-1")
        XCTAssertEqual(reached.status, .fail)
        let cause = try XCTUnwrap(reached.cause)
        XCTAssertTrue(cause.hasPrefix("layer sidecar endpoints: sleep-cluster-1-x's sidecar holds no endpoint for cluster-2"), cause)
        XCTAssertTrue(cause.contains("cluster-1's clients reached only cluster-1"), cause)
        XCTAssertTrue(reached.hint?.hasPrefix("the control plane sends no endpoint for cluster-2") == true, reached.hint ?? "")
        let pair = try XCTUnwrap(outcome.layers.first { $0.source == "cluster-1" && $0.target == "cluster-2" })
        XCTAssertEqual(pair.layers.map(\.status), [.pass, .pass, .fail, .fail])
        XCTAssertEqual(pair.endpointCounts, PairEndpointCounts(healthy: 0, unhealthy: 0))

        // Without those views the layers cannot say more than the check: the preflight explanation stands.
        let blind = try check(try evaluate(oneSided(), findings: findings), CheckName.allClustersReached, source: "cluster-1")
        XCTAssertFalse(blind.cause!.contains("layer "), blind.cause!)
    }

    func testGatewayOfTheTargetAndRootCAAreNamed() throws {
        var clusters = HealthyMesh.clusters()
        clusters[1].eastWestDeployment = .value(GatewayDeploymentFact(replicas: 0, availableReplicas: 0, networkLabel: "network2"))
        clusters[1].rootCertificatePEM = .value(TestCertificates.otherRoot)
        let cause = try check(try evaluate(oneSided(), findings: HealthyMesh.evaluate(clusters)), CheckName.allClustersReached, source: "cluster-1").cause!
        XCTAssertTrue(cause.contains("preflight east-west-gateway (cluster-2): istio-eastwestgateway is scaled to 0 replicas"), cause)
        XCTAssertTrue(cause.contains("preflight root-ca (across clusters): istio-ca-root-cert differs"), cause)
        XCTAssertLessThan(
            cause.range(of: "east-west-gateway")!.lowerBound, cause.range(of: "root-ca")!.lowerBound,
            "findings come in the order a request meets them")
    }

    func testFindingsAboutOtherPathsAreNotBlamed() throws {
        var clusters = HealthyMesh.clusters(3)
        clusters[2].remoteSecrets = .value([])
        clusters[0].eastWestDeployment = .value(GatewayDeploymentFact(replicas: 0, availableReplicas: 0, networkLabel: "network1"))
        let cause = try check(try evaluate(oneSided(), findings: HealthyMesh.evaluate(clusters)), CheckName.allClustersReached, source: "cluster-1").cause!
        XCTAssertTrue(cause.contains("preflight found no missing remote secret"), cause)
        XCTAssertTrue(cause.hasSuffix(Verdict.crossClusterCause("cluster-1")), cause)
    }

    func testClientsWithoutSidecarAreNamed() throws {
        let outcome = try evaluate(oneSided(), findings: HealthyMesh.evaluate(HealthyMesh.clusters()), pods: pods(clientSidecar: false))
        let reached = try check(outcome, CheckName.allClustersReached, source: "cluster-1")
        XCTAssertTrue(reached.cause!.hasSuffix("cluster-1's client pods run without a sidecar, so they reach only their own cluster"), reached.cause!)
        XCTAssertEqual(reached.hint, Verdict.sidecarHint("meshcheck-t"))
    }

    func testNoFindingsKeepsTheChecksOwnExplanation() throws {
        let outcome = try evaluate(oneSided(), findings: [])
        let reached = try check(outcome, CheckName.allClustersReached, source: "cluster-1")
        XCTAssertEqual(reached.cause, Verdict.crossClusterCause("cluster-1"))
        XCTAssertEqual(reached.hint, Verdict.crossClusterHint("cluster-1", "meshcheck-t"))
        XCTAssertFalse(outcome.checks.contains { PreflightCheckName.all.contains($0.name) })
    }

    func testSidecarInjectionNamesTheMissingRevision() throws {
        var builder = oneSided()
        builder.add(source: 0, instance: "hw-2a", count: 200)
        let bare = [PodState(cluster: "cluster-1", name: "helloworld-x", role: .helloworld, hasSidecar: false)] + pods()
        let findings = HealthyMesh.evaluate(HealthyMesh.clusters(), revision: "asm-0-0")
        let cause = try check(try evaluate(builder, findings: findings, pods: bare), CheckName.sidecarInjection).cause!
        XCTAssertTrue(cause.contains("preflight revision (cluster-1): revision asm-0-0 is not installed (installed revisions: asm-1-23)"), cause)
    }

    func testErrorRateSplitsErrorsByServingCluster() throws {
        var builder = TallyBuilder(clusters: ["cluster-1", "cluster-2"], instances: Self.instances)
        builder.add(source: 0, instance: "hw-1a", count: 100)
        builder.add(source: 0, instance: "hw-2a", count: 90)
        builder.add(source: 0, instance: "hw-2a", count: 10, status: 503)
        builder.add(source: 1, instance: "hw-1a", count: 10)
        builder.add(source: 1, instance: "hw-2a", count: 10)
        let findings = HealthyMesh.evaluate(HealthyMesh.clusters())
        let cause = try check(try evaluate(builder, findings: findings), CheckName.errorRate, source: "cluster-1").cause!
        XCTAssertEqual(cause, "errors by serving cluster: cluster-1 0 of 100, cluster-2 10 of 100")

        builder.add(source: 0, instance: nil, count: 5, status: 0, curlExit: 7)
        builder.tally.recordMissing(source: 0, count: 3)
        let more = try check(try evaluate(builder, findings: findings), CheckName.errorRate, source: "cluster-1").cause!
        XCTAssertTrue(
            more.hasSuffix("; 5 failed without naming the instance that answered (no HelloWorld body); 3 requests never reported (broken or cut bursts)"), more)
    }

    func testLatencyNamesTheCrossClusterDirection() throws {
        var builder = TallyBuilder(clusters: ["cluster-1", "cluster-2"], instances: Self.instances)
        builder.add(source: 0, instance: "hw-1a", count: 50, totalMicros: 3_000)
        builder.add(source: 0, instance: "hw-2a", count: 50, totalMicros: 205_000)
        builder.add(source: 1, instance: "hw-1a", count: 50, totalMicros: 3_000)
        builder.add(source: 1, instance: "hw-2a", count: 50, totalMicros: 3_000)
        let slo = LatencySLO(local: LatencyBounds(p99: 100), crossCluster: LatencyBounds(p99: 100))
        let outcome = try evaluate(builder, findings: HealthyMesh.evaluate(HealthyMesh.clusters()), expectations: Expectations(latencySLO: slo))
        let local = try check(outcome, CheckName.latencySLO, source: "cluster-1", target: "cluster-1")
        let cross = try check(outcome, CheckName.latencySLO, source: "cluster-1", target: "cluster-2")
        XCTAssertEqual(local.status, .pass)
        XCTAssertEqual(cross.status, .fail)
        XCTAssertTrue(
            cross.cause!.hasPrefix(
                "the cross-cluster direction cluster-1 → cluster-2 breaches its bound while the local direction cluster-1 → cluster-1 meets its own (\(local.message))"
            ), cross.cause!)
    }

    func testBalanceNamesDestinationRules() throws {
        var clusters = HealthyMesh.clusters()
        clusters[0].destinationRules = .value([DestinationRuleFact(namespace: "ns", name: "hw", host: "helloworld", splitChanges: ["2 subsets"])])
        var builder = TallyBuilder(clusters: ["cluster-1", "cluster-2"], instances: Self.instances)
        builder.add(source: 0, instance: "hw-1a", count: 180)
        builder.add(source: 0, instance: "hw-2a", count: 20)
        builder.add(source: 1, instance: "hw-1a", count: 100)
        builder.add(source: 1, instance: "hw-2a", count: 100)
        let balance = try check(try evaluate(builder, findings: HealthyMesh.evaluate(clusters)), CheckName.balance, source: "cluster-1")
        XCTAssertEqual(balance.status, .fail)
        XCTAssertTrue(balance.cause!.contains("ns/hw (host helloworld: 2 subsets)"), balance.cause!)
    }

    func testPreflightSummaryGroupsFindingsIntoChecks() {
        var clusters = HealthyMesh.clusters()
        clusters[1].rootCertificatePEM = .value(TestCertificates.otherRoot)
        let checks = PreflightSummary.checks(HealthyMesh.evaluate(clusters))
        XCTAssertEqual(checks.map(\.name), PreflightCheckName.all)
        let root = checks.first { $0.name == PreflightCheckName.rootCA }!
        XCTAssertEqual(root.status, .fail)
        XCTAssertTrue(root.message.hasPrefix("all clusters: istio-ca-root-cert differs"), root.message)
        XCTAssertNotNil(root.hint)
        let api = checks.first { $0.name == PreflightCheckName.api }!
        XCTAssertEqual(api.status, .pass)
        XCTAssertEqual(api.message, "cluster-1: Kubernetes v1.31.2 at https://127.0.0.1:40001 (+1 more passing)")
        let network = checks.first { $0.name == PreflightCheckName.networkLabel }!
        XCTAssertTrue(network.message.hasPrefix("all clusters: 2 distinct networks"), network.message)
        XCTAssertNil(api.cause)
    }
}
