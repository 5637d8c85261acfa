import Synchronization
import Testing

@testable import MeshSimRuntime

@Suite struct LocalityBalancingTests {
    static let centralA = Locality(region: "us-central1", zone: "us-central1-a")
    static let centralB = Locality(region: "us-central1", zone: "us-central1-b")
    static let east = Locality(region: "us-east1", zone: "us-east1-b")
    static let west = Locality(region: "us-west1", zone: "us-west1-a")
    static let client = LocalityClient(locality: centralA)
    static let outlier = OutlierDetectionRule()

    static func policy(_ setting: LocalityLbSettingRule? = nil, outlier: OutlierDetectionRule? = outlier) -> TrafficPolicyRule {
        TrafficPolicyRule(localityLbSetting: setting, outlierDetection: outlier)
    }

    @Test func withoutOutlierDetectionEveryEndpointIsOnePriority() {
        let layout = LocalityBalancing.layout(
            endpoints: [Self.centralA, Self.east], labels: [[:], [:]], client: Self.client,
            policy: Self.policy(LocalityLbSettingRule(failover: [LocalityFailoverRule(from: "us-central1", to: "us-east1")]), outlier: nil))
        #expect(layout == .flat)
        #expect(LocalityBalancing.layout(endpoints: [Self.centralA], labels: [[:]], client: Self.client, policy: nil) == .flat)
    }

    @Test func disabledLocalityLoadBalancingIsFlatEvenWithOutlierDetection() {
        let layout = LocalityBalancing.layout(
            endpoints: [Self.centralA, Self.east], labels: [[:], [:]], client: Self.client,
            policy: Self.policy(LocalityLbSettingRule(enabled: false)))
        #expect(layout == .flat)
    }

    @Test func defaultPrioritiesAreZoneThenRegionThenOthersWithoutGaps() {
        let layout = LocalityBalancing.layout(
            endpoints: [Self.east, Self.centralB, Self.centralA, Self.west], labels: Array(repeating: [:], count: 4),
            client: Self.client, policy: Self.policy())
        #expect(layout == .priorities([2, 1, 0, 2]))
    }

    @Test func failoverRanksTheTargetRegionBeforeOtherRegions() {
        let setting = LocalityLbSettingRule(failover: [LocalityFailoverRule(from: "us-central1", to: "us-west1")])
        #expect(LocalityBalancing.rank(Self.west, client: Self.centralA, failover: setting.failover) == 3)
        #expect(LocalityBalancing.rank(Self.east, client: Self.centralA, failover: setting.failover) == 4)
        let layout = LocalityBalancing.layout(
            endpoints: [Self.east, Self.west, Self.centralA], labels: Array(repeating: [:], count: 3), client: Self.client,
            policy: Self.policy(setting))
        #expect(layout == .priorities([2, 1, 0]))
    }

    @Test func failoverRulesForAnotherRegionChangeNothing() {
        let failover = [LocalityFailoverRule(from: "us-east1", to: "us-west1")]
        #expect(LocalityBalancing.rank(Self.east, client: Self.centralA, failover: failover) == 3)
        #expect(LocalityBalancing.rank(Self.west, client: Self.centralA, failover: failover) == 3)
    }

    @Test func subzoneSplitsTheSameZone() {
        let client = Locality(region: "r", zone: "z", subzone: "s1")
        #expect(LocalityBalancing.rank(Locality(region: "r", zone: "z", subzone: "s1"), client: client, failover: []) == 0)
        #expect(LocalityBalancing.rank(Locality(region: "r", zone: "z", subzone: "s2"), client: client, failover: []) == 1)
    }

    @Test func failoverPriorityCountsLeadingMatchingLabels() {
        let keys = ["topology.istio.io/network", "topology.kubernetes.io/region", "topology.kubernetes.io/zone"]
        let client = ["topology.istio.io/network": "n1", "topology.kubernetes.io/region": "r1", "topology.kubernetes.io/zone": "z1"]
        #expect(LocalityBalancing.labelRank(client, client: client, keys: keys) == 0)
        #expect(LocalityBalancing.labelRank(client.merging(["topology.kubernetes.io/zone": "z2"]) { $1 }, client: client, keys: keys) == 1)
        // A mismatch stops the count: a matching zone after a different region does not help.
        #expect(LocalityBalancing.labelRank(client.merging(["topology.kubernetes.io/region": "r2"]) { $1 }, client: client, keys: keys) == 2)
        #expect(LocalityBalancing.labelRank([:], client: client, keys: keys) == 3)
        // Absent on both sides counts as a match; `key=value` compares with the value written.
        #expect(LocalityBalancing.labelRank(["tier": "gold"], client: [:], keys: ["site", "tier"]) == 1)
        #expect(LocalityBalancing.labelRank(["tier": "gold"], client: ["tier": "silver"], keys: ["tier=gold"]) == 0)
    }

    @Test func failoverPriorityAloneOrdersByLabelsAndWithFailoverAlsoByLocality() {
        let client = LocalityClient(locality: Self.centralA, labels: ["tier": "gold"])
        let labels: [[String: String]] = [["tier": "silver"], ["tier": "gold"], ["tier": "gold"]]
        let endpoints = [Self.centralA, Self.east, Self.centralA]
        let labelsOnly = LocalityBalancing.layout(
            endpoints: endpoints, labels: labels, client: client, policy: Self.policy(LocalityLbSettingRule(failoverPriority: ["tier"])))
        #expect(labelsOnly == .priorities([1, 0, 0]))
        let both = LocalityBalancing.layout(
            endpoints: endpoints, labels: labels, client: client,
            policy: Self.policy(
                LocalityLbSettingRule(failover: [LocalityFailoverRule(from: "us-central1", to: "us-east1")], failoverPriority: ["tier"])))
        #expect(both == .priorities([2, 1, 0]))
    }

    @Test func localityPatternsMatchLikeIstio() {
        #expect(Self.centralA.matches("*"))
        #expect(Self.centralA.matches("us-central1/*"))
        #expect(Self.centralA.matches("us-central1"))
        #expect(Self.centralA.matches("us-central1/us-central1-a/*"))
        #expect(!Self.centralA.matches("us-central1/us-central1-b/*"))
        #expect(!Self.centralA.matches("us-east1/*"))
    }

    @Test func distributeSplitsPatternWeightsOverTheLocalitiesTheyMatch() {
        let rule = LocalityDistributeRule(from: "us-central1/us-central1-a/*", to: ["us-central1/*": 80, "us-east1/*": 20])
        #expect(LocalityBalancing.distributeWeights([Self.centralA, Self.centralB, Self.east, Self.west], rule: rule) == [40, 40, 20, 0])
        let layout = LocalityBalancing.layout(
            endpoints: [Self.centralA, Self.east], labels: [[:], [:]], client: Self.client,
            policy: Self.policy(LocalityLbSettingRule(distribute: [rule])))
        // Only one central locality is present, so it takes the pattern's whole 80.
        #expect(layout == .weighted(localities: [Self.centralA, Self.east], weights: [80, 20]))
        // A client no `from` pattern matches gets no locality treatment at all (istiod applies distribute or failover, not both).
        let other = LocalityBalancing.layout(
            endpoints: [Self.centralA, Self.east], labels: [[:], [:]], client: LocalityClient(locality: Self.east),
            policy: Self.policy(LocalityLbSettingRule(distribute: [rule])))
        #expect(other == .flat)
        // A pattern matching several localities splits its weight by their endpoint counts, rounding up.
        #expect(LocalityBalancing.distributeWeights([Self.centralA, Self.centralA, Self.centralB, Self.east], rule: rule) == [54, 54, 27, 20])
    }

    @Test func distributeNeedsNoOutlierDetection() {
        let rule = LocalityDistributeRule(from: "*", to: ["us-central1/*": 80, "us-east1/*": 20])
        let layout = LocalityBalancing.layout(
            endpoints: [Self.centralA, Self.east], labels: [[:], [:]], client: Self.client,
            policy: Self.policy(LocalityLbSettingRule(distribute: [rule]), outlier: nil))
        #expect(layout == .weighted(localities: [Self.centralA, Self.east], weights: [80, 20]))
        let disabled = LocalityBalancing.layout(
            endpoints: [Self.centralA, Self.east], labels: [[:], [:]], client: Self.client,
            policy: Self.policy(LocalityLbSettingRule(enabled: false, distribute: [rule])))
        #expect(disabled == .flat)
    }

    @Test func healthIsOverprovisionedAndCapped() {
        #expect(LocalityBalancing.health(healthy: 10, total: 10) == 100)
        #expect(LocalityBalancing.health(healthy: 3, total: 4) == 100)
        #expect(LocalityBalancing.health(healthy: 1, total: 2) == 70)
        #expect(LocalityBalancing.health(healthy: 0, total: 2) == 0)
        #expect(LocalityBalancing.health(healthy: 0, total: 0) == 0)
    }

    @Test func priorityLoadSpillsOverAndNormalizes() {
        #expect(LocalityBalancing.priorityLoad(health: [100, 100]) == [100, 0])
        #expect(LocalityBalancing.priorityLoad(health: [70, 100]) == [70, 30])
        #expect(LocalityBalancing.priorityLoad(health: [0, 100]) == [0, 100])
        // Summed health 60: each share scaled by 100 / 60, the rounding remainder to the first loaded priority.
        #expect(LocalityBalancing.priorityLoad(health: [20, 40]) == [34, 66])
        #expect(LocalityBalancing.priorityLoad(health: [0, 0]) == [100, 0])
        #expect(LocalityBalancing.priorityLoad(health: [30, 30, 30]) == [34, 33, 33])
    }

    @Test func candidatesStayInTheHealthyFirstPriority() {
        var generator = SplitMix64(state: 7)
        let layout = LocalityLayout.priorities([0, 0, 1])
        for _ in 0..<200 {
            #expect(LocalityBalancing.candidates(layout: layout, healthy: [true, true, true], using: &generator) == [0, 1])
        }
        // Priority 0 half healthy: health 70, so about 30% of draws go to priority 1.
        var spilled = 0
        for _ in 0..<2000 {
            let chosen = LocalityBalancing.candidates(layout: layout, healthy: [true, false, true], using: &generator)
            #expect(chosen == [0] || chosen == [2])
            if chosen == [2] { spilled += 1 }
        }
        #expect((450...750).contains(spilled))
        // Nothing healthy in priority 0: everything fails over.
        #expect(LocalityBalancing.candidates(layout: layout, healthy: [false, false, true], using: &generator) == [2])
    }

    @Test func weightedCandidatesFollowTheDistributeWeights() {
        var generator = SplitMix64(state: 11)
        let layout = LocalityLayout.weighted(localities: [Self.centralA, Self.centralA, Self.east], weights: [80, 80, 20])
        var central = 0
        for _ in 0..<2000 {
            let chosen = LocalityBalancing.candidates(layout: layout, healthy: [true, true, true], using: &generator)
            if chosen == [0, 1] { central += 1 } else { #expect(chosen == [2]) }
        }
        // 80/20 over 2000 draws: the mean is 1600, the standard deviation about 18.
        #expect((1500...1700).contains(central))
    }

    @Test func flatCandidatesSkipEjectedHostsUnlessAllAre() {
        var generator = SplitMix64(state: 3)
        #expect(LocalityBalancing.candidates(layout: .flat, healthy: [true, false], using: &generator) == [0])
        #expect(LocalityBalancing.candidates(layout: .flat, healthy: [false, false], using: &generator) == [0, 1])
    }
}

@Suite struct OutlierDetectionTests {
    static let start = ContinuousClock.now

    static func at(_ seconds: Double) -> ContinuousClock.Instant { start + .milliseconds(Int64(seconds * 1000)) }

    @Test func consecutive5xxEjectsAtTheThresholdAndSuccessResetsTheCount() {
        var detector = OutlierDetector(rule: OutlierDetectionRule(consecutive5xxErrors: 3, maxEjectionPercent: 100), now: Self.start)
        detector.record(.response(status: 500), host: "a", hostCount: 2, now: Self.at(0.1))
        detector.record(.response(status: 500), host: "a", hostCount: 2, now: Self.at(0.2))
        detector.record(.response(status: 200), host: "a", hostCount: 2, now: Self.at(0.3))
        detector.record(.response(status: 500), host: "a", hostCount: 2, now: Self.at(0.4))
        detector.record(.response(status: 500), host: "a", hostCount: 2, now: Self.at(0.5))
        #expect(!detector.isEjected("a"))
        let thirdInARow = detector.record(.response(status: 500), host: "a", hostCount: 2, now: Self.at(0.6))
        #expect(thirdInARow)
        #expect(detector.isEjected("a"))
        #expect(!detector.isEjected("b"))
    }

    @Test func localConnectFailuresCountAsGatewayErrors() {
        var detector = OutlierDetector(
            rule: OutlierDetectionRule(consecutive5xxErrors: 0, consecutiveGatewayErrors: 2, maxEjectionPercent: 100), now: Self.start)
        detector.record(.localFailure, host: "a", hostCount: 1, now: Self.at(0.1))
        let secondGatewayError = detector.record(.response(status: 503), host: "a", hostCount: 1, now: Self.at(0.2))
        #expect(secondGatewayError)
        // A 500 is not a gateway error: it resets the gateway count.
        detector.record(.response(status: 502), host: "b", hostCount: 2, now: Self.at(0.3))
        detector.record(.response(status: 500), host: "b", hostCount: 2, now: Self.at(0.4))
        let afterAReset = detector.record(.response(status: 502), host: "b", hostCount: 2, now: Self.at(0.5))
        #expect(!afterAReset)
    }

    @Test func ejectionLastsBaseTimesCountAndEndsAtAnIntervalTick() {
        let rule = OutlierDetectionRule(consecutive5xxErrors: 1, interval: .seconds(1), baseEjectionTime: .seconds(3), maxEjectionPercent: 100)
        var detector = OutlierDetector(rule: rule, now: Self.start)
        detector.record(.localFailure, host: "a", hostCount: 1, now: Self.at(0.5))
        detector.advance(to: Self.at(3.4))
        #expect(detector.isEjected("a"))
        // 3 s after 0.5 s is 3.5 s; the next tick is at 4 s.
        detector.advance(to: Self.at(3.9))
        #expect(detector.isEjected("a"))
        detector.advance(to: Self.at(4.0))
        #expect(!detector.isEjected("a"))
        // Ejected again before any healthy tick: now for 2 × 3 s from 4.1 s, so until the tick at 11 s.
        detector.record(.localFailure, host: "a", hostCount: 1, now: Self.at(4.1))
        #expect(detector.ejectionMultiplier("a") == 2)
        detector.advance(to: Self.at(10.9))
        #expect(detector.isEjected("a"))
        detector.advance(to: Self.at(11.0))
        #expect(!detector.isEjected("a"))
        // Healthy ticks (12 s, 13 s) bring the multiplier back down.
        detector.advance(to: Self.at(13.0))
        #expect(detector.ejectionMultiplier("a") == 0)
    }

    @Test func maxEjectionPercentCapsEjectionsButOneIsAlwaysAllowed() {
        var detector = OutlierDetector(rule: OutlierDetectionRule(consecutive5xxErrors: 1, maxEjectionPercent: 10), now: Self.start)
        let firstEjection = detector.record(.localFailure, host: "a", hostCount: 4, now: Self.at(0.1))
        #expect(firstEjection)
        let overTheCap = detector.record(.localFailure, host: "b", hostCount: 4, now: Self.at(0.2))
        #expect(!overTheCap)
        #expect(detector.ejected == ["a"])
        var generous = OutlierDetector(rule: OutlierDetectionRule(consecutive5xxErrors: 1, maxEjectionPercent: 50), now: Self.start)
        let firstOfFour = generous.record(.localFailure, host: "a", hostCount: 4, now: Self.at(0.1))
        #expect(firstOfFour)
        let secondOfFour = generous.record(.localFailure, host: "b", hostCount: 4, now: Self.at(0.2))
        #expect(secondOfFour)
        let thirdOfFour = generous.record(.localFailure, host: "c", hostCount: 4, now: Self.at(0.3))
        #expect(!thirdOfFour)
    }

    @Test func registryUsesItsClockAndStartsOverWhenThePolicyChanges() {
        let clock = FakeClock(Self.start)
        let registry = OutlierRegistry(now: { clock.now })
        let rule = OutlierDetectionRule(consecutive5xxErrors: 1, interval: .seconds(1), baseEjectionTime: .seconds(2), maxEjectionPercent: 100)
        registry.record(.localFailure, cluster: "outbound|5000||h", rule: rule, host: "c1/a", hostCount: 2)
        #expect(registry.healthy(cluster: "outbound|5000||h", rule: rule, hosts: ["c1/a", "c1/b"]) == [false, true])
        #expect(registry.ejected() == ["outbound|5000||h": ["c1/a"]])
        clock.advance(.seconds(2))
        #expect(registry.healthy(cluster: "outbound|5000||h", rule: rule, hosts: ["c1/a", "c1/b"]) == [true, true])
        registry.record(.localFailure, cluster: "outbound|5000||h", rule: rule, host: "c1/b", hostCount: 2)
        var changed = rule
        changed.consecutive5xxErrors = 5
        #expect(registry.healthy(cluster: "outbound|5000||h", rule: changed, hosts: ["c1/a", "c1/b"]) == [true, true])
        #expect(registry.healthy(cluster: "outbound|5000||h", rule: nil, hosts: ["c1/a"]) == [true])
    }
}

/// A clock tests move by hand.
final class FakeClock: Sendable {
    private let instant: Mutex<ContinuousClock.Instant>

    init(_ start: ContinuousClock.Instant) { instant = Mutex(start) }

    var now: ContinuousClock.Instant { instant.withLock { $0 } }

    func advance(_ duration: Duration) { instant.withLock { $0 += duration } }
}

@Suite struct FaultInjectionTests {
    @Test func percentagesDrawAboutTheirShare() {
        var generator = SplitMix64(state: 42)
        let half = FaultPercentage(percent: 50)
        let hits = (0..<4000).filter { _ in half.applies(using: &generator) }.count
        // Binomial(4000, 0.5): sd ≈ 32; ±5 sd.
        #expect((1840...2160).contains(hits))
        #expect(!(0..<100).contains { _ in FaultPercentage(percent: 0).applies(using: &generator) })
        #expect((0..<100).allSatisfy { _ in FaultPercentage(percent: 100).applies(using: &generator) })
        #expect(FaultPercentage(percent: 150).percent == 100)
    }

    @Test func drawAppliesDelayThenAbort() {
        var generator = SplitMix64(state: 1)
        let fault = HTTPFaultRule(
            abort: .init(httpStatus: 503, percentage: FaultPercentage(percent: 100)),
            delay: .init(fixedDelay: .milliseconds(20), percentage: FaultPercentage(percent: 100)))
        let drawn = fault.draw(using: &generator)
        #expect(drawn.delay == .milliseconds(20))
        #expect(drawn.abortStatus == 503)
        #expect(HTTPFaultRule().draw(using: &generator).abortStatus == nil)
    }

    @Test func istioDurationsParse() {
        #expect(IstioDuration.parse("1s") == .seconds(1))
        #expect(IstioDuration.parse("500ms") == .milliseconds(500))
        #expect(IstioDuration.parse("1m") == .seconds(60))
        #expect(IstioDuration.parse("1.5s") == .milliseconds(1500))
        #expect(IstioDuration.parse("2h") == .seconds(7200))
        #expect(IstioDuration.parse("10") == nil)
        #expect(IstioDuration.parse("-1s") == nil)
    }
}

@Suite struct EndpointRemovalDelayTests {
    static let key = ServiceKey(namespace: "sample", name: "helloworld")

    static func view(_ pods: [String]) -> MeshView {
        MeshView(clusters: [
            ClusterView(
                name: "cluster-1", network: "network-1", rootCAFingerprint: "ca", remoteSecrets: [:], eastWestGatewayReadyPods: 1,
                services: [
                    key: ServiceView(
                        ports: [5000],
                        endpoints: pods.map { MeshEndpoint(pod: $0, cluster: "cluster-1", host: "127.0.0.1", port: 1, version: "v1", hasSidecar: true) })
                ])
        ])
    }

    static func pods(_ view: MeshView) -> [String] { (view.clusters["cluster-1"]?.services[key]?.endpoints ?? []).map(\.pod).sorted() }

    @Test func departedEndpointsStayForTheDelayAndAdditionsAreImmediate() {
        let start = ContinuousClock.now
        var removal = EndpointRemovalDelay(delay: .seconds(2))
        #expect(Self.pods(removal.apply(to: Self.view(["a", "b"]), now: start)) == ["a", "b"])
        #expect(removal.nextExpiry == nil)
        #expect(Self.pods(removal.apply(to: Self.view(["b", "c"]), now: start + .seconds(1))) == ["a", "b", "c"])
        #expect(removal.nextExpiry == start + .seconds(3))
        #expect(Self.pods(removal.apply(to: Self.view(["b", "c"]), now: start + .milliseconds(2999))) == ["a", "b", "c"])
        #expect(Self.pods(removal.apply(to: Self.view(["b", "c"]), now: start + .seconds(3))) == ["b", "c"])
        #expect(removal.nextExpiry == nil)
    }

    @Test func zeroDelayRemovesAtOnce() {
        let start = ContinuousClock.now
        var removal = EndpointRemovalDelay(delay: .zero)
        _ = removal.apply(to: Self.view(["a"]), now: start)
        #expect(Self.pods(removal.apply(to: Self.view([]), now: start)) == [])
    }
}
