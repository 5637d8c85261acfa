import MeshStats
import Testing

@testable import MeshCheck

@Suite struct LocalityExpectationTests {
    static let inEffect = LocalityRouting(outlierDetection: OutlierDetectionSettings(consecutive5xxErrors: 5))
    static let ready = ["cluster-1": 1, "cluster-2": 1, "cluster-3": 1]

    func scenario(_ locality: LocalityRouting?, balance: BalanceExpectation = .proportionalToEndpoints) throws -> Scenario {
        var scenario = try Scenario.guideCheck(contexts: TimelineScript.names)
        scenario.locality = locality
        scenario.expectations.balance = balance
        return scenario
    }

    @Test func patternsMatchAsIstioDoes() {
        let locality = ClusterLocality(region: "us-central1", zone: "us-central1-a")
        #expect(LocalityPattern.matches(locality, "us-central1"))
        #expect(LocalityPattern.matches(locality, "us-central1/*"))
        #expect(LocalityPattern.matches(locality, "*"))
        #expect(LocalityPattern.matches(locality, "us-central1/us-central1-a"))
        #expect(!LocalityPattern.matches(locality, "us-central1/us-central1-b"))
        #expect(!LocalityPattern.matches(locality, "us-east1/*"))
        #expect(!LocalityPattern.matches(locality, "us-central1/us-central1-a/rack-1"))
        #expect(!LocalityPattern.matches(ClusterLocality(region: nil, zone: "a"), "r"))
    }

    @Test func zoneThenRegionThenProportional() throws {
        // cluster-3 serves nothing and sits in cluster-1's region; cluster-2 is alone in another region.
        var scenario = try scenario(Self.inEffect)
        scenario.clusters[2].serves = nil
        let localities = [
            "cluster-1": ClusterLocality(region: "r1", zone: "z1"), "cluster-2": ClusterLocality(region: "r2", zone: "z2"),
            "cluster-3": ClusterLocality(region: "r1", zone: "z3"),
        ]
        let expected = SourceExpectation.all(scenario: scenario, readyEndpoints: Self.ready, localities: localities)
        #expect(expected[0].localPreference == .init(clusters: [0], minShare: 0.9, name: "locality-zone"))
        #expect(expected[0].mustReach == [0])
        #expect(expected[0].shares == nil)
        #expect(expected[1].localityBasis == "locality-zone")
        #expect(expected[2].localPreference == .init(clusters: [0], minShare: 0.9, name: "locality-region"))
        // The locality expectation's minimum applies.
        scenario.expectations.locality = LocalityExpectation(scope: .zone, minShare: 0.75)
        #expect(SourceExpectation.all(scenario: scenario, readyEndpoints: Self.ready, localities: localities)[0].localPreference?.minShare == 0.75)
        // A source whose region has no serving cluster keeps the proportional split.
        var lonely = localities
        lonely["cluster-3"] = ClusterLocality(region: "r3", zone: "z3")
        let proportional = SourceExpectation.all(scenario: scenario, readyEndpoints: Self.ready, localities: lonely)[2]
        #expect(proportional.localPreference == nil)
        #expect(proportional.shares == [0: 0.5, 1: 0.5])
    }

    @Test func onlyInEffectWithKnownLocalitiesAndTheDefaultExpectation() throws {
        let localities = TimelineScript.zones
        let notInEffect = SourceExpectation.all(scenario: try scenario(LocalityRouting()), readyEndpoints: Self.ready, localities: localities)
        #expect(notInEffect[0].localPreference == nil)
        #expect(notInEffect[0].shares?.count == 3)
        let unknown = SourceExpectation.all(scenario: try scenario(Self.inEffect), readyEndpoints: Self.ready, localities: [:])
        #expect(unknown[0].localityBasis == nil)
        let explicit = SourceExpectation.all(
            scenario: try scenario(Self.inEffect, balance: .weights(["cluster-1": 1, "cluster-2": 1, "cluster-3": 2])), readyEndpoints: Self.ready,
            localities: localities)
        #expect(explicit[0].shares == [0: 0.25, 1: 0.25, 2: 0.5])
        #expect(explicit[0].localityBasis == nil)
    }

    @Test func distributeMapsWeightsOntoClusters() throws {
        var routing = Self.inEffect
        routing.distribute = [
            LocalityDistributeRule(from: "r1/z1", to: ["r1/z1": 80, "r1/z2": 20]),
            LocalityDistributeRule(from: "r1/*", to: ["r1/*": 100]),
        ]
        let expected = SourceExpectation.all(scenario: try scenario(routing), readyEndpoints: Self.ready, localities: TimelineScript.zones)
        #expect(expected[0].shares == [0: 0.8, 1: 0.2, 2: 0])
        #expect(expected[0].mustReach == [0, 1])
        #expect(expected[0].localityBasis == "locality-distribute")
        // `r1/*` matches all three zones: its weight is split equally over them.
        let third = try #require(expected[1].shares)
        #expect(third.values.allSatisfy { abs($0 - 1.0 / 3) < 1e-12 })
        // A client no rule matches keeps Envoy's default, proportional to endpoints.
        var other = TimelineScript.zones
        other["cluster-3"] = ClusterLocality(region: "r2", zone: "z9")
        #expect(SourceExpectation.all(scenario: try scenario(routing), readyEndpoints: Self.ready, localities: other)[2].localityBasis == nil)
    }

    /// Locality in effect with unknown localities: the split stays proportional, and a failing balance says why.
    @Test func unknownLocalitiesExplainAFailingBalance() throws {
        var script = RunScript()
        for source in 0..<3 { script.add(source: source, windows: 0...9, answers: [source: 10]) }
        let outcome = Verdict.evaluate(
            VerdictInput(
                scenario: try scenario(Self.inEffect), namespace: "meshcheck-t", tally: script.tally.tally, readyEndpoints: Self.ready, pods: []))
        let balance = try #require(outcome.checks.first { $0.name == CheckName.balance && $0.source == "cluster-1" })
        #expect(balance.status == .fail)
        #expect(balance.cause?.hasPrefix("routing.locality is in effect (outlier detection is set), so Istio prefers cluster-1's own locality") == true)
    }

    /// An 80/20 distribute passes its own split and an explicit 80/20 expectation; an explicit 50/50 fails.
    @Test func balanceJudgesDistributeAndExplicitWeights() throws {
        var routing = Self.inEffect
        routing.distribute = [LocalityDistributeRule(from: "r1/*", to: ["r1/z1": 80, "r1/z2": 20])]
        var script = RunScript()
        script.add(source: 0, windows: 0...9, answers: [0: 80, 1: 20])
        func balance(_ expectation: BalanceExpectation) throws -> CheckResult? {
            var scenario = try scenario(routing, balance: expectation)
            scenario.clusters[2].serves = nil
            scenario.clusters[1].clients = false
            scenario.clusters[2].clients = false
            let outcome = Verdict.evaluate(
                VerdictInput(
                    scenario: scenario, namespace: "meshcheck-t", tally: script.tally.tally, readyEndpoints: Self.ready, pods: [],
                    localities: TimelineScript.zones))
            return outcome.checks.first { $0.name == CheckName.balance && $0.source == "cluster-1" }
        }
        let derived = try #require(try balance(.proportionalToEndpoints))
        #expect(derived.status == .pass)
        #expect(derived.balance?.expectation == "locality-distribute")
        #expect(try balance(.weights(["cluster-1": 80, "cluster-2": 20]))?.status == .pass)
        #expect(try balance(.weights(["cluster-1": 50, "cluster-2": 50]))?.status == .fail)
    }
}
