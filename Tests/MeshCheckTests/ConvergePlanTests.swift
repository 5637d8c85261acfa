import Testing

@testable import MeshCheck

@Suite struct ConvergePlanTests {
    static let names = ["cluster-1", "cluster-2", "cluster-3"]

    static func threeServingClusters() -> Scenario {
        Scenario(
            name: "t",
            clusters: names.enumerated().map {
                ClusterSpec(
                    context: "ctx-\($0.offset + 1)", name: $0.element, serves: "v\($0.offset + 1)", clients: true, helloworldReplicas: 1, sleepReplicas: 1)
            })
    }

    /// Three serving clusters with one endpoint each: every source must reach all three.
    func plan(failedPairs: Set<ConvergePlan.Pair> = [], timeout: Duration = .seconds(120), grace: Duration = .seconds(15)) -> ConvergePlan {
        let scenario = Self.threeServingClusters()
        let expected = SourceExpectation.all(scenario: scenario, readyEndpoints: ["cluster-1": 1, "cluster-2": 1, "cluster-3": 1])
        return ConvergePlan(
            names: Self.names, expected: expected, withEndpoints: [0, 1, 2], failedPairs: failedPairs, timeout: timeout, failedPairGrace: grace)
    }

    @Test func theLineSaysPerClientWhatIsReachedAwaitedAndTheTimeLeft() {
        let clients = [
            ConvergeClient(source: 0, pod: "sleep-a", reached: [0, 1]),
            ConvergeClient(source: 1, pod: "sleep-b", reached: [0, 1, 2]),
            ConvergeClient(source: 2, pod: "sleep-c"),
        ]
        #expect(
            plan().progressLine(clients, at: .seconds(18))
                == "converging (1m42s left): sleep-a@cluster-1 reached cluster-1,cluster-2 awaiting cluster-3; "
                + "sleep-b@cluster-2 reached cluster-1,cluster-2,cluster-3 (done); "
                + "sleep-c@cluster-3 reached none awaiting cluster-1,cluster-2,cluster-3")
    }

    @Test func theTimeLeftRoundsUpAndNeverGoesNegative() {
        let client = [ConvergeClient(source: 0, pod: "p", reached: [0, 1, 2])]
        #expect(plan().progressLine(client, at: .milliseconds(500)).hasPrefix("converging (2m left)"))
        #expect(plan().progressLine(client, at: .seconds(119) + .milliseconds(1)).hasPrefix("converging (1s left)"))
        #expect(plan().progressLine(client, at: .seconds(500)).hasPrefix("converging (0s left)"))
    }

    @Test func aPairPreflightFailedIsAwaitedOnlyForItsGrace() {
        let failed = plan(failedPairs: [ConvergePlan.Pair(source: 0, target: 2)])
        let client = ConvergeClient(source: 0, pod: "sleep-a", reached: [0, 1])
        #expect(failed.deadline(source: 0, target: 2) == .seconds(15))
        #expect(failed.deadline(source: 1, target: 2) == .seconds(120))
        #expect(!failed.isDone(client, at: .seconds(14)))
        #expect(failed.awaiting(client, at: .seconds(14)).awaited == [2])
        #expect(failed.progressLine([client], at: .seconds(14)).hasSuffix("awaiting cluster-3 (preflight failed)"))
        #expect(failed.isDone(client, at: .seconds(15)))
        #expect(failed.awaiting(client, at: .seconds(15)).givenUp == [2])
        #expect(failed.progressLine([client], at: .seconds(15)).hasSuffix("reached cluster-1,cluster-2 gave up on cluster-3"))
        // A healthy pair of the same client is still awaited for the full timeout.
        let lacking = ConvergeClient(source: 0, pod: "sleep-a", reached: [0])
        #expect(failed.awaiting(lacking, at: .seconds(60)).awaited == [1])
        #expect(failed.awaiting(lacking, at: .seconds(60)).givenUp == [2])
        #expect(failed.isDone(lacking, at: .seconds(120)))
    }

    @Test func aGraceLongerThanTheTimeoutIsCappedByIt() {
        #expect(plan(failedPairs: [ConvergePlan.Pair(source: 0, target: 1)], timeout: .seconds(10)).deadline(source: 0, target: 1) == .seconds(10))
    }

    @Test func failedPairsComeFromFailingPreflightFindingsOnThePath() {
        let scenario = Self.threeServingClusters()
        let findings = [
            PreflightFinding(
                check: PreflightCheckName.remoteSecret, cluster: "cluster-1", peer: "cluster-3", status: .fail, evidence: "no remote secret for cluster-3"),
            PreflightFinding(
                check: PreflightCheckName.remoteSecret, cluster: "cluster-2", peer: "cluster-3", status: .warn, evidence: "points at a private endpoint"),
            PreflightFinding(check: PreflightCheckName.eastWestGateway, cluster: "cluster-2", status: .pass, evidence: "ok"),
        ]
        let plan = ConvergePlan(
            scenario: scenario, expected: SourceExpectation.all(scenario: scenario, readyEndpoints: [:]), withEndpoints: [0, 1, 2], preflight: findings)
        #expect(plan.failedPairs == [ConvergePlan.Pair(source: 0, target: 2)])
        #expect(plan.failedPairGrace == PhaseTimeouts().convergeFailedPairGrace)
    }

    @Test func anyCrossClusterAwaitsEveryOtherClusterUntilOneAnswers() {
        var scenario = Self.threeServingClusters()
        scenario.expectations.balance = .anyCrossCluster
        let plan = ConvergePlan(
            names: Self.names, expected: SourceExpectation.all(scenario: scenario, readyEndpoints: [:]), withEndpoints: [0, 1, 2],
            failedPairs: [ConvergePlan.Pair(source: 0, target: 1)], timeout: .seconds(120), failedPairGrace: .seconds(15))
        let waiting = plan.awaiting(ConvergeClient(source: 0, pod: "p", reached: [0]), at: .seconds(20))
        #expect(waiting.awaited == [2])
        #expect(waiting.givenUp == [1])
        #expect(plan.isDone(ConvergeClient(source: 0, pod: "p", reached: [0, 2]), at: .zero))
    }

    @Test func aClusterWithoutEndpointsIsNeverAwaited() {
        let scenario = Self.threeServingClusters()
        let plan = ConvergePlan(
            names: Self.names, expected: SourceExpectation.all(scenario: scenario, readyEndpoints: ["cluster-1": 1, "cluster-2": 1, "cluster-3": 1]),
            withEndpoints: [0, 1], failedPairs: [], timeout: .seconds(120), failedPairGrace: .seconds(15))
        #expect(plan.isDone(ConvergeClient(source: 0, pod: "p", reached: [0, 1]), at: .zero))
    }
}
