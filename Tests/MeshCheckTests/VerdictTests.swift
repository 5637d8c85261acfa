import MeshStats
import Testing

@testable import MeshCheck

/// Builds tallies the way the lifecycle does: instances interned in one NameTable and assigned to
/// their clusters, samples recorded per source.
struct TallyBuilder {
    var names = NameTable()
    var tally: TrafficTally
    let clusterNames: [String]

    init(clusters: [String], instances: [String: Int]) {
        clusterNames = clusters
        tally = TrafficTally(clusterNames: clusters)
        for (instance, cluster) in instances.sorted(by: { $0.key < $1.key }) where cluster < clusters.count {
            tally.assign(instance: names.intern(instance), named: instance, toCluster: cluster)
        }
    }

    mutating func add(source: Int, instance: String?, count: Int, status: UInt16 = 200, curlExit: UInt16 = 0, totalMicros: UInt64 = 5_000) {
        let id = instance.map { names.intern($0) } ?? .absent
        for seq in 0..<count {
            let sample = RequestSample(
                burst: 0, worker: 0, sequence: UInt32(seq), status: status, curlExit: curlExit, connectMicros: 100,
                firstByteMicros: totalMicros / 2, totalMicros: totalMicros, version: .absent, instance: id)
            tally.record(sample, source: source)
        }
    }
}

@Suite struct VerdictTests {
    static let instances = ["hw-1a": 0, "hw-2a": 1, "hw-2b": 1, "hw-2c": 1, "hw-3a": 2]

    func scenario(clusters: Int = 2, expectations: Expectations = Expectations()) throws -> Scenario {
        var scenario = try Scenario.guideCheck(contexts: (1...clusters).map { "gke_sim_zone_cluster-\($0)" })
        scenario.expectations = expectations
        return scenario
    }

    func pods(_ clusters: [String], sidecar: Bool = true) -> [PodState] {
        clusters.flatMap {
            [
                PodState(cluster: $0, name: "helloworld-x", role: .helloworld, hasSidecar: sidecar),
                PodState(cluster: $0, name: "sleep-x", role: .sleep, hasSidecar: true),
            ]
        }
    }

    func evaluate(_ scenario: Scenario, _ builder: TallyBuilder, ready: [String: Int]? = nil, pods: [PodState]? = nil) -> VerdictOutcome {
        let names = scenario.clusters.map(\.name)
        let endpoints = ready ?? Dictionary(uniqueKeysWithValues: names.map { ($0, 1) })
        return Verdict.evaluate(
            VerdictInput(
                scenario: scenario, namespace: "meshcheck-t", tally: builder.tally, readyEndpoints: endpoints,
                pods: pods ?? self.pods(names)))
    }

    /// Every source × serving cluster gets its layers; the endpoints are judged from the afterBursts readings,
    /// and a source without them falls back to afterConverge. A pair that passes is green on every layer.
    @Test func layersForEveryPairFromTheLatestSidecarReadings() throws {
        var builder = TallyBuilder(clusters: ["cluster-1", "cluster-2"], instances: Self.instances)
        builder.add(source: 0, instance: "hw-1a", count: 10)
        builder.add(source: 0, instance: "hw-2a", count: 10)
        builder.add(source: 1, instance: "hw-1a", count: 10)
        builder.add(source: 1, instance: "hw-2a", count: 10)
        let toBoth = [PairLayersTests.endpoint("cluster-1"), PairLayersTests.endpoint("cluster-2", gateway: true)]
        var converged = PairLayersTests.reading("cluster-1", [])
        converged[0].phase = .afterConverge
        var fallback = PairLayersTests.reading("cluster-2", [PairLayersTests.endpoint("cluster-2"), PairLayersTests.endpoint("cluster-1", gateway: true)])
        fallback[0].phase = .afterConverge
        let views: [String: ControlPlaneView] = PairLayersTests.synced()
        let outcome = Verdict.evaluate(
            VerdictInput(
                scenario: try scenario(), namespace: "meshcheck-t", tally: builder.tally, readyEndpoints: ["cluster-1": 1, "cluster-2": 1],
                pods: pods(["cluster-1", "cluster-2"]), preflight: PairLayersTests.secretFindings(), controlPlaneViews: views,
                sidecarReadings: converged + PairLayersTests.reading("cluster-1", toBoth) + fallback))
        #expect(
            outcome.layers.map { "\($0.source)→\($0.target)" } == ["cluster-1→cluster-1", "cluster-1→cluster-2", "cluster-2→cluster-1", "cluster-2→cluster-2"])
        #expect(outcome.layers.allSatisfy { $0.firstBroken == nil })
        #expect(outcome.layers[1].layers.map(\.status) == [.pass, .pass, .pass, .pass], "afterBursts, not the empty afterConverge reading")
        #expect(outcome.layers[2].layers.map(\.status) == [.pass, .pass, .pass, .pass], "cluster-2 falls back to afterConverge")
        #expect(outcome.layers[0].layers.map(\.status) == [.notApplicable, .notApplicable, .pass, .pass])
        #expect(outcome.layers[1].endpointCounts == PairEndpointCounts(healthy: 1, unhealthy: 0))
        #expect(outcome.verdict == .pass)
    }

    func check(_ outcome: VerdictOutcome, _ name: String, source: String? = nil, target: String? = nil) -> CheckResult? {
        outcome.checks.first { $0.name == name && $0.source == source && $0.target == target }
    }

    @Test func evenSplitFromBothSourcesPasses() throws {
        let scenario = try scenario()
        var builder = TallyBuilder(clusters: ["cluster-1", "cluster-2"], instances: Self.instances)
        for source in 0..<2 {
            builder.add(source: source, instance: "hw-1a", count: 11)
            builder.add(source: source, instance: "hw-2a", count: 9)
        }
        let outcome = evaluate(scenario, builder)
        #expect(outcome.verdict == .pass)
        #expect(
            outcome.checks.map(\.name) == ["sidecar-injection"]
                + Array(repeating: ["reachability", "error-rate", "all-clusters-reached", "balance", "balance-instances"], count: 2).flatMap { $0 })
        // One HelloWorld pod per cluster: nothing to judge within a cluster.
        #expect(outcome.checks.allSatisfy { $0.status == ($0.name == CheckName.balanceInstances ? .skip : .pass) })
        let balance = try #require(check(outcome, "balance", source: "cluster-1"))
        #expect(balance.message == "split 55/45 over cluster-1/cluster-2 is consistent with the expected 50/50 (chi-square p = 0.65 ≥ α 0.001, n = 20)")
        let details = try #require(balance.balance)
        #expect(details.requests == 20 && details.expectation == "proportional-to-endpoints")
        #expect(details.shares.map(\.observed) == [11, 9])
        #expect(details.shares.map(\.expectedShare) == [0.5, 0.5])
        #expect(details.power?.hasPrefix("with 20 requests, a 60/40 skew (expected 50/50) would be detected with power 0.") == true)
        #expect(outcome.traffic.count == 4)
        let row = outcome.traffic[0]
        #expect(row.source == "cluster-1" && row.target == "cluster-1" && row.requests == 11 && row.errors == 0)
        #expect(abs(row.share - 0.55) < 1e-12)
        #expect(row.latencyMs?.p50 == 5)
        #expect(outcome.sources.map(\.succeeded) == [20, 20])
        #expect(outcome.sources[0].lateStarts == nil)
    }

    @Test func tenToTenSplitMatchesTheReferenceInterval() throws {
        var builder = TallyBuilder(clusters: ["cluster-1", "cluster-2"], instances: Self.instances)
        builder.add(source: 0, instance: "hw-1a", count: 10)
        builder.add(source: 0, instance: "hw-2a", count: 10)
        builder.add(source: 1, instance: "hw-2a", count: 20)
        let outcome = evaluate(try scenario(), builder)
        let interval = outcome.traffic[0].shareInterval
        #expect(abs(interval.low - 0.29930) < 1e-5 && abs(interval.high - 0.70070) < 1e-5)
        let reached = try #require(check(outcome, "all-clusters-reached", source: "cluster-2"))
        #expect(reached.status == .fail)
        // 0.5^20 ≈ 9.5e-7 (statistics.md: "every cluster reached").
        #expect(
            reached.message
                == "cluster-1 never answered cluster-2's 20 successful requests (reached: cluster-2); by chance alone that happens with probability 9.5e-7")
        #expect(reached.cause?.contains("remote secret") == true)
        #expect(check(outcome, "balance", source: "cluster-2")?.status == .fail)
        #expect(outcome.verdict == .fail)
    }

    @Test func threeToOneEndpointsPassProportionalAndWeightsButNotAnEvenSplit() throws {
        var builder = TallyBuilder(clusters: ["cluster-1", "cluster-2"], instances: Self.instances)
        for source in 0..<2 {
            builder.add(source: source, instance: "hw-1a", count: 100)
            builder.add(source: source, instance: "hw-2a", count: 100)
            builder.add(source: source, instance: "hw-2b", count: 100)
            builder.add(source: source, instance: "hw-2c", count: 100)
        }
        let ready = ["cluster-1": 1, "cluster-2": 3]
        let proportional = evaluate(try scenario(), builder, ready: ready)
        #expect(proportional.verdict == .pass)
        #expect(check(proportional, "balance", source: "cluster-1")?.balance?.shares.map(\.expectedShare) == [0.25, 0.75])

        let weighted = evaluate(try scenario(expectations: Expectations(balance: .weights(["cluster-1": 1, "cluster-2": 3]))), builder, ready: ready)
        #expect(weighted.verdict == .pass)

        let even = evaluate(try scenario(expectations: Expectations(balance: .weights(["cluster-1": 1, "cluster-2": 1]))), builder, ready: ready)
        let balance = try #require(check(even, "balance", source: "cluster-1"))
        #expect(balance.status == .fail)
        #expect(balance.message.hasPrefix("split 25/75 over cluster-1/cluster-2 differs from the expected 50/50 (chi-square p = "))
        #expect((balance.balance?.pValue ?? 1) < 1e-20)
        #expect(balance.balance?.statistic == 100)
        #expect(even.verdict == .fail)
        #expect(check(even, "all-clusters-reached", source: "cluster-1")?.status == .pass)
    }

    @Test func chiSquareReferenceValue() throws {
        var builder = TallyBuilder(clusters: ["cluster-1", "cluster-2"], instances: Self.instances)
        builder.add(source: 0, instance: "hw-1a", count: 600)
        builder.add(source: 0, instance: "hw-2a", count: 400)
        builder.add(source: 1, instance: "hw-1a", count: 500)
        builder.add(source: 1, instance: "hw-2a", count: 500)
        let outcome = evaluate(try scenario(), builder)
        let details = try #require(check(outcome, "balance", source: "cluster-1")?.balance)
        #expect(details.test == "chi-square" && details.degreesOfFreedom == 1)
        #expect(abs((details.statistic ?? 0) - 40) < 1e-9)
        #expect(abs((details.pValue ?? 1) - 2.54e-10) / 2.54e-10 < 0.01)
        #expect(check(outcome, "balance", source: "cluster-2")?.status == .pass)
    }

    @Test func refusedConnectionsFailReachabilityWithACause() throws {
        var builder = TallyBuilder(clusters: ["cluster-1", "cluster-2"], instances: Self.instances)
        builder.add(source: 0, instance: nil, count: 20, status: 0, curlExit: 7, totalMicros: 200)
        builder.add(source: 1, instance: "hw-1a", count: 10)
        builder.add(source: 1, instance: "hw-2a", count: 9)
        builder.add(source: 1, instance: "hw-2a", count: 1, status: 503)
        let outcome = evaluate(try scenario(), builder)
        let reach = try #require(check(outcome, "reachability", source: "cluster-1"))
        #expect(reach.status == .fail)
        #expect(reach.message == "none of 20 requests from cluster-1 to helloworld.meshcheck-t:5000 succeeded (mostly curl-7)")
        #expect(reach.cause?.contains("refused") == true)
        #expect(check(outcome, "all-clusters-reached", source: "cluster-1")?.status == .skip)
        #expect(check(outcome, "balance", source: "cluster-1")?.status == .skip)
        let errors = try #require(check(outcome, "error-rate", source: "cluster-2"))
        #expect(errors.status == .fail)
        #expect(errors.message == "1 of 20 requests failed (5 %, allowed 0 %): http-503 ×1")
        #expect(outcome.sources[1].errorsByKind == ["http-503": 1])
        #expect(outcome.traffic.first { $0.source == "cluster-2" && $0.target == "cluster-2" }?.errors == 1)
        #expect(outcome.verdict == .fail)
    }

    @Test func toleratedErrorsAndMissingRecords() throws {
        var builder = TallyBuilder(clusters: ["cluster-1", "cluster-2"], instances: Self.instances)
        for source in 0..<2 {
            builder.add(source: source, instance: "hw-1a", count: 50)
            builder.add(source: source, instance: "hw-2a", count: 49)
            builder.add(source: source, instance: nil, count: 1, status: 0, curlExit: 28)
        }
        builder.tally.recordMissing(source: 1, count: 5)
        let outcome = evaluate(try scenario(expectations: Expectations(maxErrorRate: 0.02)), builder)
        #expect(check(outcome, "error-rate", source: "cluster-1")?.status == .pass)
        let second = try #require(check(outcome, "error-rate", source: "cluster-2"))
        #expect(second.status == .fail)
        #expect(second.message == "6 of 105 requests failed (5.7 %, allowed 2 %): curl-28 ×1, missing records ×5")
    }

    @Test func unknownInstancesAreErrorsNotGuesses() throws {
        var builder = TallyBuilder(clusters: ["cluster-1", "cluster-2"], instances: Self.instances)
        builder.add(source: 0, instance: "imposter-pod", count: 3)
        builder.add(source: 0, instance: "hw-1a", count: 10)
        builder.add(source: 0, instance: "hw-2a", count: 10)
        let outcome = evaluate(try scenario(), builder)
        #expect(outcome.sources[0].errorsByKind == ["unknown-instance": 3])
        #expect(outcome.sources[0].succeeded == 20)
        #expect(check(outcome, "error-rate", source: "cluster-1")?.status == .fail)
    }

    @Test func missingSidecarsFailWithNames() throws {
        var builder = TallyBuilder(clusters: ["cluster-1", "cluster-2"], instances: Self.instances)
        builder.add(source: 0, instance: "hw-1a", count: 10)
        let pods = [
            PodState(cluster: "cluster-2", name: "helloworld-v2-abc", role: .helloworld, hasSidecar: false),
            PodState(cluster: "cluster-1", name: "sleep-1", role: .sleep, hasSidecar: true),
        ]
        let outcome = evaluate(try scenario(), builder, pods: pods)
        let sidecar = try #require(check(outcome, "sidecar-injection"))
        #expect(sidecar.status == .fail)
        #expect(sidecar.message == "1 of 2 workload pods have no istio-proxy sidecar: cluster-2/helloworld-v2-abc")
        #expect(sidecar.hint?.contains("kubectl get namespace meshcheck-t --show-labels") == true)
        #expect(evaluate(try scenario(), builder, pods: []).checks[0].status == .skip)
    }

    @Test func latencySLOsPerDirectionAndPair() throws {
        let slo = LatencySLO(
            local: LatencyBounds(p99: 10), crossCluster: LatencyBounds(p50: 50, p99: 100),
            pairs: [PairLatencySLO(source: "cluster-2", target: "cluster-1", bounds: LatencyBounds(p90: 1))])
        var builder = TallyBuilder(clusters: ["cluster-1", "cluster-2"], instances: Self.instances)
        for source in 0..<2 {
            builder.add(source: source, instance: "hw-1a", count: 10, totalMicros: source == 0 ? 4_000 : 80_000)
            builder.add(source: source, instance: "hw-2a", count: 10, totalMicros: source == 0 ? 150_000 : 3_000)
        }
        let outcome = evaluate(try scenario(expectations: Expectations(latencySLO: slo)), builder)
        let local = try #require(check(outcome, "latency-slo", source: "cluster-1", target: "cluster-1"))
        #expect(local.status == .pass && local.message == "local cluster-1 → cluster-1: p99 4.00 ms ≤ 10 ms (n = 10)")
        let cross = try #require(check(outcome, "latency-slo", source: "cluster-1", target: "cluster-2"))
        #expect(cross.status == .fail && cross.message == "cross-cluster cluster-1 → cluster-2: p50 150.0 ms > 50 ms, p99 150.0 ms > 100 ms (n = 10)")
        let pair = try #require(check(outcome, "latency-slo", source: "cluster-2", target: "cluster-1"))
        #expect(pair.status == .fail && pair.message == "cross-cluster cluster-2 → cluster-1: p90 80.0 ms > 1 ms (n = 10)")
        #expect(check(outcome, "latency-slo", source: "cluster-2", target: "cluster-2")?.status == .pass)
    }

    @Test func localPreferredAndAnyCrossCluster() throws {
        var builder = TallyBuilder(clusters: ["cluster-1", "cluster-2", "cluster-3"], instances: Self.instances)
        builder.add(source: 0, instance: "hw-1a", count: 95)
        builder.add(source: 0, instance: "hw-2a", count: 5)
        builder.add(source: 1, instance: "hw-1a", count: 50)
        builder.add(source: 1, instance: "hw-2a", count: 50)
        builder.add(source: 2, instance: "hw-3a", count: 100)
        let preferred = evaluate(try scenario(clusters: 3, expectations: Expectations(balance: .localPreferred(minLocalShare: 0.9))), builder)
        #expect(check(preferred, "balance", source: "cluster-1")?.status == .pass)
        let half = try #require(check(preferred, "balance", source: "cluster-2"))
        #expect(half.status == .fail)
        #expect(half.message == "local share 50 % (95 % CI 40.4 %–59.6 %) is below the expected 90 % even at the interval's upper end")
        #expect(check(preferred, "all-clusters-reached", source: "cluster-3")?.status == .pass)

        let any = evaluate(try scenario(clusters: 3, expectations: Expectations(balance: .anyCrossCluster)), builder)
        #expect(check(any, "all-clusters-reached", source: "cluster-1")?.status == .pass)
        #expect(check(any, "all-clusters-reached", source: "cluster-3")?.status == .fail)
        #expect(check(any, "balance", source: "cluster-1")?.status == .skip)
    }

    @Test func threeClustersUseMoreThanTwoCategories() throws {
        var builder = TallyBuilder(clusters: ["cluster-1", "cluster-2", "cluster-3"], instances: Self.instances)
        for source in 0..<3 {
            builder.add(source: source, instance: "hw-1a", count: 350)
            builder.add(source: source, instance: "hw-2a", count: 330)
            builder.add(source: source, instance: "hw-3a", count: 320)
        }
        let outcome = evaluate(try scenario(clusters: 3), builder)
        let details = try #require(check(outcome, "balance", source: "cluster-2")?.balance)
        #expect(details.degreesOfFreedom == 2)
        #expect(abs((details.statistic ?? 0) - 1.4) < 1e-9)
        #expect(abs((details.pValue ?? 0) - 0.4966) < 1e-4)
        #expect(outcome.verdict == .pass)
    }

    @Test func mergedTalliesEqualOneTally() throws {
        var whole = TallyBuilder(clusters: ["cluster-1", "cluster-2"], instances: Self.instances)
        var first = TallyBuilder(clusters: ["cluster-1", "cluster-2"], instances: Self.instances)
        var second = TallyBuilder(clusters: ["cluster-1", "cluster-2"], instances: Self.instances)
        for builder in [0, 1] {
            for (instance, count, exit) in [("hw-1a", 7, UInt16(0)), ("hw-2a", 5, 0), ("hw-2b", 2, 56)] {
                whole.add(source: builder, instance: instance, count: count, curlExit: exit, totalMicros: UInt64(1000 * count))
                if builder == 0 {
                    first.add(source: builder, instance: instance, count: count, curlExit: exit, totalMicros: UInt64(1000 * count))
                } else {
                    second.add(source: builder, instance: instance, count: count, curlExit: exit, totalMicros: UInt64(1000 * count))
                }
            }
        }
        first.tally.recordLateStarts(source: 0, count: 3)
        whole.tally.recordLateStarts(source: 0, count: 3)
        first.tally.merge(second.tally)
        let scenario = try scenario()
        #expect(evaluate(scenario, first) == evaluate(scenario, whole))
        #expect(first.tally.sources == whole.tally.sources)
        #expect(first.tally.pair(source: 1, target: 1) == PairCounters(successes: 5, errors: 2))
    }

    @Test func splitsAddUpToOneHundred() {
        #expect(Verdict.wholePercents([0.255, 0.745]) == [26, 74])
        #expect(Verdict.wholePercents([1.0 / 3, 1.0 / 3, 1.0 / 3]) == [34, 33, 33])
        #expect(Verdict.wholePercents([0.25, 0.75]) == [25, 75])
        #expect(Verdict.wholePercents([1, 3]) == [25, 75])
        #expect(Verdict.wholePercents([0, 0]) == [0, 0])
    }

    @Test func messageNumberFormatting() {
        #expect(NumberFormat.scientific(2.54e-10) == "2.5e-10")
        #expect(NumberFormat.scientific(0.0009999) == "1.0e-3")
        #expect(NumberFormat.scientific(0.4966) == "0.50")
        #expect(NumberFormat.scientific(0.04139) == "0.041")
        #expect(NumberFormat.percent(0.057142) == "5.7 %")
        #expect(NumberFormat.percent(1) == "100 %")
        #expect(NumberFormat.fixed(-0.004, 2) == "0.00")
        #expect(NumberFormat.fixed(2.5, 0) == "3")
        #expect(RunVerdict.pass.exitCode(cleanupFailed: false) == 0)
        #expect(RunVerdict.fail.exitCode(cleanupFailed: true) == 4)
        #expect(RunVerdict.interrupted.exitCode(cleanupFailed: true) == 130)
        #expect(RunVerdict.error.exitCode(cleanupFailed: false) == 3)
    }
}
