import XCTest
@testable import MeshCheck

final class DiagnosisTests: XCTestCase {
    private let interval = WilsonInterval(low: 0, high: 1)

    private func row(_ source: String, _ target: String, requests: Int, errors: Int = 0) -> TrafficRow {
        TrafficRow(source: source, target: target, requests: requests, errors: errors, share: 0, shareInterval: interval,
                   expectedShare: 0.5, latencyMs: nil)
    }

    private func summary(_ source: String, succeeded: Int, errors: Int = 0) -> SourceSummary {
        SourceSummary(source: source, requests: succeeded + errors, succeeded: succeeded, errors: errors, errorsByKind: [:],
                      missingRecords: 0, malformedLines: 0, lateStarts: nil)
    }

    /// cluster-1 reached only itself; cluster-2 reached both.
    private func oneSidedOutcome() -> VerdictOutcome {
        let failed = CheckResult(name: CheckName.allClustersReached, source: "cluster-1", status: .fail,
                                 message: "cluster-2 never answered", cause: "generic cause", hint: "generic hint")
        let passed = CheckResult(name: CheckName.allClustersReached, source: "cluster-2", status: .pass, message: "ok")
        return VerdictOutcome(verdict: .fail, checks: [failed, passed],
                              traffic: [row("cluster-1", "cluster-1", requests: 200), row("cluster-1", "cluster-2", requests: 0),
                                        row("cluster-2", "cluster-1", requests: 100), row("cluster-2", "cluster-2", requests: 100)],
                              sources: [summary("cluster-1", succeeded: 200), summary("cluster-2", succeeded: 200)])
    }

    private let serving = ["cluster-1", "cluster-2"]

    func testMissingRemoteSecretIsNamedWithTheTrafficEvidence() {
        var clusters = HealthyMesh.clusters()
        clusters[0].remoteSecrets = .value([])
        let findings = HealthyMesh.evaluate(clusters)
        let annotated = Diagnosis.annotate(oneSidedOutcome(), findings: findings, servingClusters: serving)
        let check = annotated.checks[0]
        XCTAssertTrue(check.cause!.hasPrefix("cluster-1's clients reached only cluster-1 (0 of 200 answers from cluster-2); preflight remote-secret (cluster-1): no remote secret for cluster-2"), check.cause!)
        XCTAssertTrue(check.hint!.contains("istioctl create-remote-secret"), check.hint!)
        XCTAssertEqual(annotated.checks[1], oneSidedOutcome().checks[1], "passing checks are untouched")

        var skewed = oneSidedOutcome()
        skewed.checks = [CheckResult(name: CheckName.balance, source: "cluster-1", status: .fail, message: "split 100/0", cause: "generic")]
        let balance = Diagnosis.annotate(skewed, findings: findings, servingClusters: serving).checks[0]
        XCTAssertEqual(balance.cause, check.cause, "a cluster never reached explains the skewed split the same way")
        XCTAssertEqual(annotated.traffic, oneSidedOutcome().traffic)
    }

    func testGatewayOfTheTargetAndRootCAAreNamed() {
        var clusters = HealthyMesh.clusters()
        clusters[1].eastWestDeployment = .value(GatewayDeploymentFact(replicas: 0, availableReplicas: 0, networkLabel: "network2"))
        clusters[1].rootCertificatePEM = .value(TestCertificates.otherRoot)
        let cause = Diagnosis.annotate(oneSidedOutcome(), findings: HealthyMesh.evaluate(clusters), servingClusters: serving).checks[0].cause!
        XCTAssertTrue(cause.contains("preflight east-west-gateway (cluster-2): istio-eastwestgateway is scaled to 0 replicas"), cause)
        XCTAssertTrue(cause.contains("preflight root-ca (across clusters): istio-ca-root-cert differs"), cause)
        XCTAssertLessThan(cause.range(of: "east-west-gateway")!.lowerBound, cause.range(of: "root-ca")!.lowerBound,
                          "findings come in the order a request meets them")
    }

    func testFindingsAboutOtherPathsAreNotBlamed() {
        var clusters = HealthyMesh.clusters(3)
        clusters[2].remoteSecrets = .value([])
        clusters[0].eastWestDeployment = .value(GatewayDeploymentFact(replicas: 0, availableReplicas: 0, networkLabel: "network1"))
        let cause = Diagnosis.annotate(oneSidedOutcome(), findings: HealthyMesh.evaluate(clusters), servingClusters: serving).checks[0].cause!
        XCTAssertTrue(cause.contains("preflight found no missing remote secret"), cause)
        XCTAssertTrue(cause.hasSuffix("generic cause"), cause)
    }

    func testNoFindingsLeavesTheOutcomeAlone() {
        XCTAssertEqual(Diagnosis.annotate(oneSidedOutcome(), findings: [], servingClusters: serving), oneSidedOutcome())
    }

    func testSidecarInjectionNamesTheMissingRevision() {
        let sidecar = CheckResult(name: CheckName.sidecarInjection, status: .fail, message: "2 of 4 pods have no sidecar", cause: "generic")
        let outcome = VerdictOutcome(verdict: .fail, checks: [sidecar], traffic: [], sources: [])
        let findings = HealthyMesh.evaluate(HealthyMesh.clusters(), revision: "asm-0-0")
        let cause = Diagnosis.annotate(outcome, findings: findings, servingClusters: serving).checks[0].cause!
        XCTAssertTrue(cause.contains("preflight revision (cluster-1): revision asm-0-0 is not installed (installed revisions: asm-1-23)"), cause)
    }

    func testErrorRateSplitsErrorsByServingCluster() {
        let check = CheckResult(name: CheckName.errorRate, source: "cluster-1", status: .fail, message: "10 of 200 failed", cause: "503s")
        let outcome = VerdictOutcome(verdict: .fail, checks: [check],
                                     traffic: [row("cluster-1", "cluster-1", requests: 100), row("cluster-1", "cluster-2", requests: 100, errors: 10)],
                                     sources: [summary("cluster-1", succeeded: 190, errors: 10)])
        let cause = Diagnosis.annotate(outcome, findings: HealthyMesh.evaluate(HealthyMesh.clusters()), servingClusters: serving).checks[0].cause!
        XCTAssertEqual(cause, "errors by serving cluster: cluster-1 0 of 100, cluster-2 10 of 100")

        var unattributed = outcome
        unattributed.sources = [SourceSummary(source: "cluster-1", requests: 205, succeeded: 190, errors: 15, errorsByKind: [:],
                                              missingRecords: 3, malformedLines: 0, lateStarts: nil)]
        let more = Diagnosis.annotate(unattributed, findings: HealthyMesh.evaluate(HealthyMesh.clusters()), servingClusters: serving).checks[0].cause!
        XCTAssertTrue(more.hasSuffix("; 5 failed without naming the instance that answered (no HelloWorld body); 3 requests never reported (broken or cut bursts)"), more)
    }

    func testLatencyNamesTheCrossClusterDirection() {
        let local = CheckResult(name: CheckName.latencySLO, source: "cluster-1", target: "cluster-1", status: .pass, message: "local p99 3 ms ≤ 100 ms")
        let cross = CheckResult(name: CheckName.latencySLO, source: "cluster-1", target: "cluster-2", status: .fail, message: "p99 205 ms > 100 ms")
        let outcome = VerdictOutcome(verdict: .fail, checks: [local, cross], traffic: [], sources: [])
        let cause = Diagnosis.annotate(outcome, findings: HealthyMesh.evaluate(HealthyMesh.clusters()), servingClusters: serving).checks[1].cause!
        XCTAssertTrue(cause.hasPrefix("the cross-cluster direction cluster-1 → cluster-2 breaches its bound while the local direction cluster-1 → cluster-1 meets its own (local p99 3 ms ≤ 100 ms)"), cause)
    }

    func testBalanceNamesDestinationRules() {
        var clusters = HealthyMesh.clusters()
        clusters[0].destinationRules = .value([DestinationRuleFact(namespace: "ns", name: "hw", host: "helloworld", splitChanges: ["2 subsets"])])
        let balance = CheckResult(name: CheckName.balance, source: "cluster-1", status: .fail, message: "p = 1e-9")
        let outcome = VerdictOutcome(verdict: .fail, checks: [balance], traffic: [], sources: [])
        let cause = Diagnosis.annotate(outcome, findings: HealthyMesh.evaluate(clusters), servingClusters: serving).checks[0].cause!
        XCTAssertTrue(cause.contains("ns/hw (host helloworld: 2 subsets)"), cause)
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
