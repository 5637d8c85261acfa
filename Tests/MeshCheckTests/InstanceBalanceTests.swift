import MeshStats
import Testing

@testable import MeshCheck

/// `balance-instances`, the pure judge: expected shares per pod, each pair's test, and the source's row.
@Suite struct InstanceBalanceTests {
    typealias Pod = InstanceBalance.Pod

    func pair(_ target: String, _ answers: [Int], version: String? = "v2", source: String = "cluster-1") -> InstanceBalance.Pair {
        InstanceBalance.Pair(
            source: source, target: target,
            pods: answers.enumerated().map { Pod(name: "helloworld-\(version ?? "x")-\($0.offset)", version: version, answers: $0.element) })
    }

    func row(_ splits: [InstanceSplit], significance: Double = 0.001) -> CheckResult {
        InstanceBalance.row(source: "cluster-1", splits: splits, significance: significance, namespace: "meshcheck-t") { ($0, $1) }
    }

    // MARK: Expected shares

    @Test func withoutRoutingEveryReadyPodExpectsAnEvenShare() {
        let pods = [Pod(name: "a", version: "v1", answers: 3), Pod(name: "b", version: "v1", answers: 0), Pod(name: "c", version: "v1", answers: 9)]
        let third: Double = 1.0 / 3
        #expect(InstanceBalance.expectedShares(pods, weights: nil) == [third, third, third])
    }

    @Test func aPodThatWasNotReadyAndDidNotAnswerExpectsNothing() {
        let pods = [
            Pod(name: "a", version: "v1", answers: 3), Pod(name: "b", version: "v1", ready: false, answers: 0),
            Pod(name: "c", version: "v1", ready: false, answers: 2),
        ]
        #expect(InstanceBalance.expectedShares(pods, weights: nil) == [0.5, 0, 0.5])
    }

    /// A version's weight is divided among its pods, normalised within the cluster: v1 25 over two pods, v2 75 on one.
    @Test func routingWeightsAreDividedAmongAVersionsPods() {
        let pods = [Pod(name: "a", version: "v1", answers: 0), Pod(name: "b", version: "v1", answers: 0), Pod(name: "c", version: "v2", answers: 0)]
        #expect(InstanceBalance.expectedShares(pods, weights: ["v1": 25, "v2": 75]) == [0.125, 0.125, 0.75])
        // One version per cluster (every scenario today): its weight cancels out and the split is even.
        #expect(InstanceBalance.expectedShares(Array(pods.prefix(2)), weights: ["v1": 25, "v2": 75]) == [0.5, 0.5])
        // A cluster whose versions weigh nothing should get no requests (`balance` says so); its answers are judged evenly.
        #expect(InstanceBalance.expectedShares(Array(pods.prefix(2)), weights: ["v1": 0, "v2": 100]) == [0.5, 0.5])
    }

    // MARK: Pairs

    @Test func anEvenSplitPasses() {
        let splits = InstanceBalance.judge([pair("cluster-2", [52, 48])], weights: nil, significance: 0.001)
        #expect(splits[0].status == .pass)
        #expect(splits[0].test == "chi-square")
        #expect(splits[0].requests == 100)
        #expect(splits[0].significance == 0.001)
        #expect(splits[0].instances.map(\.expectedShare) == [0.5, 0.5])
        #expect(splits[0].instances.map(\.share) == [0.52, 0.48])
        let result = row(splits)
        #expect(result.status == .pass)
        #expect(result.message.hasPrefix("answers spread over each cluster's pods as expected: cluster-2 52/48 over 2 pods (chi-square p = "))
    }

    /// The pinned client: one pod with everything, the other with nothing.
    @Test func aClientPinnedToOnePodFailsWithThePinningCause() {
        let splits = InstanceBalance.judge([pair("cluster-2", [40, 0])], weights: nil, significance: 0.001)
        #expect(splits[0].status == .fail)
        let result = row(splits)
        #expect(result.status == .fail)
        #expect(result.name == CheckName.balanceInstances)
        #expect(result.message.hasPrefix("cluster-2's answers to cluster-1 came from 1 of 2 pods (helloworld-v2-0: 100 %, chi-square p = "))
        #expect(result.message.hasSuffix("< α 0.001, n = 40)"))
        #expect(
            result.cause?.hasPrefix(
                "helloworld-v2-1 (cluster-2) answered none of cluster-1's requests: requests are pinned to a connection or a pod is not receiving traffic")
                == true)
        #expect(result.hint?.contains("consistentHash") == true)
        #expect(result.hint?.contains("-n meshcheck-t") == true)
    }

    @Test func aSkewOverEveryPodFailsWithoutCallingItPinning() {
        let result = row(InstanceBalance.judge([pair("cluster-1", [180, 20])], weights: nil, significance: 0.001))
        #expect(result.status == .fail)
        #expect(
            result.message.hasPrefix("cluster-1's answers to cluster-1 split 90/10 over its 2 pods (helloworld-v2-0: 90 %, helloworld-v2-1: 10 %, chi-square"))
        #expect(result.cause == "the mesh does not spread cluster-1's requests evenly over the pods of cluster-1")
    }

    @Test func weightsWithinAClusterAreTheExpectedSplit() {
        let pods = [
            Pod(name: "v1-a", version: "v1", answers: 25), Pod(name: "v1-b", version: "v1", answers: 25), Pod(name: "v2-a", version: "v2", answers: 150),
        ]
        let weighted = InstanceBalance.Pair(source: "cluster-1", target: "cluster-2", pods: pods)
        let passed = InstanceBalance.judge([weighted], weights: ["v1": 25, "v2": 75], significance: 0.001)
        #expect(passed[0].status == .pass)
        #expect(row(passed).message.contains("cluster-2 13/12/75 over 3 pods, expected 13/12/75 (chi-square"))
        // The same answers against an even split fail.
        #expect(InstanceBalance.judge([weighted], weights: nil, significance: 0.001)[0].status == .fail)
    }

    @Test func aClusterWithOnePodIsNotJudged() {
        let splits = InstanceBalance.judge([pair("cluster-1", [20]), pair("cluster-2", [20])], weights: nil, significance: 0.001)
        #expect(splits.map(\.status) == [.skip, .skip])
        #expect(splits.map(\.test) == ["none", "none"])
        let result = row(splits)
        #expect(result.status == .skip)
        #expect(result.message.hasPrefix("every serving cluster runs one HelloWorld pod, so there is no split within a cluster to judge"))
    }

    @Test func aClusterWithoutAnswersIsNotJudgedAndTheOthersAre() {
        let splits = InstanceBalance.judge(
            [pair("cluster-1", [10, 10]), pair("cluster-2", [0, 0]), pair("cluster-3", [7])], weights: nil, significance: 0.001)
        #expect(splits.map(\.status) == [.pass, .skip, .skip])
        #expect(splits[1].requests == 0)
        #expect(splits[1].instances.map(\.share) == [0, 0])
        let result = row(splits)
        #expect(result.status == .pass)
        #expect(result.message.contains("cluster-2 gave no answers; cluster-3 has one pod"))
    }

    @Test func noAnswersAnywhereIsNothingToJudge() {
        let result = row(InstanceBalance.judge([pair("cluster-2", [0, 0])], weights: nil, significance: 0.001))
        #expect(result.status == .skip)
        #expect(result.message == "nothing to judge per pod: cluster-2 gave no answers")
    }

    /// Two pods at α 0.001: ten answers on one pod cannot show pinning (p ≈ 0.0016), eleven can (p ≈ 0.0009).
    @Test func tooFewAnswersToShowPinningAreNotJudged() {
        let ten = InstanceBalance.judge([pair("cluster-2", [10, 0])], weights: nil, significance: 0.001)
        #expect(ten[0].status == .skip)
        #expect(ten[0].pValue != nil)
        #expect(row(ten).message == "nothing to judge per pod: cluster-2's 10 answers are too few to show pinning over 2 pods")
        let eleven = InstanceBalance.judge([pair("cluster-2", [11, 0])], weights: nil, significance: 0.001)
        #expect(eleven[0].status == .fail)
        // An even split of as few answers is as unjudged as a pinned one.
        #expect(InstanceBalance.judge([pair("cluster-2", [5, 5])], weights: nil, significance: 0.001)[0].status == .skip)
    }

    /// Each tested cluster gets α over the number tested, so the source's row false-alarms at most α.
    @Test func theSignificanceIsSharedByTheTestedClusters() {
        let splits = InstanceBalance.judge(
            [pair("cluster-1", [30, 30]), pair("cluster-2", [31, 29]), pair("cluster-3", [9])], weights: nil, significance: 0.001)
        #expect(splits.map(\.significance) == [0.0005, 0.0005, nil])
        #expect(row(splits, significance: 0.001).message.hasPrefix("answers spread over each cluster's pods as expected (α 0.001 shared by 2 clusters): "))
    }

    /// A pod that was not Ready and answered nothing is listed with an expected share of 0 and does not count as idle.
    @Test func aPodThatWasNotReadyIsNotCalledIdle() {
        var pinnedLooking = pair("cluster-2", [30, 30, 0])
        pinnedLooking.pods[2].ready = false
        let splits = InstanceBalance.judge([pinnedLooking], weights: nil, significance: 0.001)
        #expect(splits[0].status == .pass)
        #expect(splits[0].instances.map(\.expectedShare) == [0.5, 0.5, 0])
    }
}

/// `balance-instances` through the verdict: the tally's pods per cluster, readiness from the pod list, the
/// preflight evidence that explains pinning, and the splits the report carries.
@Suite struct InstanceBalanceVerdictTests {
    let verdict = VerdictTests()

    /// The pod list of a run with `VerdictTests.instances` as its HelloWorld pods (Ready unless named) and a Sleep pod per cluster.
    func listed(notReady: Set<String> = []) -> [PodState] {
        VerdictTests.instances.sorted { $0.key < $1.key }.filter { $0.value < 2 }.map {
            PodState(cluster: "cluster-\($0.value + 1)", name: $0.key, role: .helloworld, hasSidecar: true, ready: !notReady.contains($0.key))
        } + ["cluster-1", "cluster-2"].map { PodState(cluster: $0, name: "sleep-x", role: .sleep, hasSidecar: true) }
    }

    /// cluster-1's sidecar lists cluster-2's pods by their own addresses (one network): it picks the pod per request.
    static let flatNetwork = PairLayersTests.reading("cluster-1", [PairLayersTests.endpoint("cluster-1"), PairLayersTests.endpoint(nil)])
    /// cluster-1's sidecar lists cluster-2's east-west gateway: that gateway picks the pod, per connection.
    static let throughGateway = PairLayersTests.reading(
        "cluster-1", [PairLayersTests.endpoint("cluster-1"), PairLayersTests.endpoint("cluster-2", gateway: true)])

    func instanceRow(_ outcome: VerdictOutcome, source: String = "cluster-1") -> CheckResult? {
        outcome.checks.first { $0.name == CheckName.balanceInstances && $0.source == source }
    }

    @Test func everySourceGetsARowAfterBalanceAndTheReportGetsEveryPair() throws {
        var builder = TallyBuilder(clusters: ["cluster-1", "cluster-2"], instances: VerdictTests.instances)
        builder.add(source: 0, instance: "hw-1a", count: 30)
        for pod in ["hw-2a", "hw-2b", "hw-2c"] { builder.add(source: 0, instance: pod, count: 10) }
        builder.add(source: 1, instance: "hw-1a", count: 30)
        builder.add(source: 1, instance: "hw-2a", count: 30)
        let outcome = verdict.evaluate(try verdict.scenario(), builder, ready: ["cluster-1": 1, "cluster-2": 3], pods: listed())
        let names = outcome.checks.filter { $0.source == "cluster-1" }.map(\.name)
        #expect(names.firstIndex(of: CheckName.balanceInstances) == names.firstIndex(of: CheckName.balance)! + 1)
        #expect(instanceRow(outcome)?.status == .pass)
        #expect(instanceRow(outcome, source: "cluster-2")?.status == .fail)
        #expect(instanceRow(outcome, source: "cluster-2")?.message.hasPrefix("cluster-2's answers to cluster-2 came from 1 of 3 pods (hw-2a: 100 %") == true)
        #expect(outcome.verdict == .fail)
        #expect(
            outcome.instances.map { "\($0.source)→\($0.target)" } == [
                "cluster-1→cluster-1", "cluster-1→cluster-2", "cluster-2→cluster-1", "cluster-2→cluster-2",
            ])
        #expect(outcome.instances[1].instances.map(\.instance) == ["hw-2a", "hw-2b", "hw-2c"])
        #expect(outcome.instances[1].instances.map(\.observed) == [10, 10, 10])
        #expect(outcome.instances[1].instances.map(\.version) == ["v2", "v2", "v2"])
    }

    /// Who picks the pod decides whether a skew fails: cluster-1's own sidecar on one network (fail); cluster-2's
    /// east-west gateway, per connection (warn, saying so); a sidecar meshcheck could not read (warn, saying that).
    @Test(arguments: [("flat", CheckStatus.fail), ("gateway", .warn), ("unread", .warn)])
    func aCrossClusterSkewFailsOnlyWhereTheSidecarPicksThePod(network: String, expected: CheckStatus) throws {
        var builder = TallyBuilder(clusters: ["cluster-1", "cluster-2"], instances: VerdictTests.instances)
        builder.add(source: 0, instance: "hw-2a", count: 60)
        let readings = ["flat": Self.flatNetwork, "gateway": Self.throughGateway, "unread": []][network] ?? []
        let outcome = Verdict.evaluate(
            VerdictInput(
                scenario: try verdict.scenario(), namespace: "meshcheck-t", tally: builder.tally,
                readyEndpoints: ["cluster-1": 1, "cluster-2": 3], pods: listed(), sidecarReadings: readings))
        let row = try #require(instanceRow(outcome))
        #expect(row.status == expected)
        let split = try #require(outcome.instances.first { $0.source == "cluster-1" && $0.target == "cluster-2" })
        #expect(split.status == expected)
        switch network {
        case "gateway":
            #expect(split.path == .eastWestGateway)
            #expect(
                row.cause?.hasPrefix(
                    "cluster-1's requests reach cluster-2 through its east-west gateway, which passes mTLS through and picks a pod per connection") == true)
        case "unread":
            #expect(split.path == .unknown)
            #expect(row.cause?.contains("sidecar endpoints for cluster-2 could not be read") == true)
        default:
            #expect(split.path == nil)
            #expect(row.cause?.contains("answered none of cluster-1's requests") == true)
        }
    }

    /// Answers naming a pod the run did not list are unknown-instance errors, not anyone's share.
    @Test func unknownInstancesAreIgnored() throws {
        var builder = TallyBuilder(clusters: ["cluster-1", "cluster-2"], instances: VerdictTests.instances)
        for pod in ["hw-2a", "hw-2b"] { builder.add(source: 0, instance: pod, count: 20) }
        builder.add(source: 0, instance: "hw-2-stranger", count: 50)
        let outcome = verdict.evaluate(try verdict.scenario(), builder, pods: listed())
        let split = try #require(outcome.instances.first { $0.source == "cluster-1" && $0.target == "cluster-2" })
        #expect(split.requests == 40)
        #expect(split.instances.map(\.instance) == ["hw-2a", "hw-2b", "hw-2c"])
        // hw-2c, listed and Ready, answered nothing; without cluster-1's sidecar endpoints the path is unknown, so warned.
        #expect(split.status == .warn)
    }

    /// Only the pod list's Ready pods are expected to answer (as for `readyEndpoints`).
    @Test func aPodTheListShowsNotReadyIsExpectedToGetNothing() throws {
        var builder = TallyBuilder(clusters: ["cluster-1", "cluster-2"], instances: VerdictTests.instances)
        for pod in ["hw-2a", "hw-2b"] { builder.add(source: 0, instance: pod, count: 20) }
        let outcome = verdict.evaluate(try verdict.scenario(), builder, pods: listed(notReady: ["hw-2c"]))
        let split = try #require(outcome.instances.first { $0.source == "cluster-1" && $0.target == "cluster-2" })
        #expect(split.instances.map(\.expectedShare) == [0.5, 0.5, 0])
        #expect(split.status == .pass)
    }

    /// A DestinationRule with consistentHash explains pinning better than a guess: it leads the cause and the hint.
    @Test func aConsistentHashDestinationRuleExplainsPinning() throws {
        var builder = TallyBuilder(clusters: ["cluster-1", "cluster-2"], instances: VerdictTests.instances)
        builder.add(source: 0, instance: "hw-2a", count: 40)
        let rule = PreflightFinding(
            check: PreflightCheckName.destinationRules, cluster: "cluster-1", status: .warn,
            evidence: "meshcheck-t/sticky (host helloworld: consistentHash) changes how helloworld is balanced", hint: "set expectations.balance")
        let scenario = try verdict.scenario()
        let outcome = Verdict.evaluate(
            VerdictInput(
                scenario: scenario, namespace: "meshcheck-t", tally: builder.tally, readyEndpoints: ["cluster-1": 1, "cluster-2": 3],
                pods: listed(), preflight: [rule], sidecarReadings: Self.flatNetwork))
        let row = try #require(instanceRow(outcome))
        #expect(row.status == .fail)
        #expect(row.cause?.hasPrefix("a DestinationRule hashes requests onto pods (consistentHash), so a client keeps to one pod: ") == true)
        #expect(row.cause?.contains("meshcheck-t/sticky") == true)
        #expect(row.hint?.hasPrefix("remove consistentHash") == true)
    }
}
