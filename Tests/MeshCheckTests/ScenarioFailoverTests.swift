import Foundation
import KubeClient
import Testing

@testable import MeshCheck

/// `routing.locality`, `disruptions:`, `timeline:` and the locality/failover expectations: read, checked before any
/// cluster is touched, turned into Istio objects, and scheduled.
@Suite struct ScenarioFailoverTests {
    static let clusters = """
        clusters:
          - context: gke_p_us-central1-a_cluster-1
          - context: gke_p_us-central1-b_cluster-2
          - context: gke_p_us-central1-c_cluster-3
        """

    func parse(_ yaml: String) throws -> Scenario { try ScenarioLoader.parse(yaml: yaml, file: "test.yaml") }

    func problems(_ yaml: String) -> [String] {
        do {
            _ = try ScenarioLoader.parse(yaml: yaml, file: "test.yaml")
            return []
        } catch {
            return error.problems.map(\.description)
        }
    }

    static let pacedLoad = """
        load: {mode: paced, ratePerSecond: 10, requestsPerBurst: 400}
        timeouts: {bursts: 2m}
        """

    @Test func theShippedFailoverScenarioIsReadWhole() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../scenarios/failover.yaml")
        let scenario = try ScenarioLoader.load(path: url.standardizedFileURL.path)
        #expect(scenario.clusters.count == 3)
        #expect(
            scenario.locality?.outlierDetection
                == OutlierDetectionSettings(
                    consecutive5xxErrors: 3, interval: .seconds(1), baseEjectionTime: .seconds(30), maxEjectionPercent: 100))
        #expect(scenario.locality?.isInEffect == true)
        #expect(scenario.routing == nil)
        #expect(
            scenario.disruptions == [
                Disruption(name: "cluster-1-down", action: .scaleToZero(clusters: ["cluster-1"]), at: .seconds(20), restoreAt: .seconds(40))
            ])
        #expect(scenario.timeline.window == .seconds(1))
        #expect(scenario.expectations.locality == LocalityExpectation(scope: .zone, minShare: 0.9))
        #expect(scenario.expectations.failover == FailoverExpectation(maxFailoverSeconds: 5, maxErrorsDuringFailover: 20, maxRecoverySeconds: 15))
    }

    @Test func localityRoutingReadsIstiosFields() throws {
        let scenario = try parse(
            Self.clusters + """

                routing:
                  locality:
                    distribute:
                      - from: us-central1/us-central1-a/*
                        to: {"us-central1/us-central1-a/*": 80, "us-central1/us-central1-b/*": 20}
                    failoverPriority: [topology.kubernetes.io/region]
                    outlierDetection:
                """)
        let locality = try #require(scenario.locality)
        #expect(
            locality.distribute == [
                LocalityDistributeRule(from: "us-central1/us-central1-a/*", to: ["us-central1/us-central1-a/*": 80, "us-central1/us-central1-b/*": 20])
            ])
        #expect(locality.failoverPriority == ["topology.kubernetes.io/region"])
        // An empty `outlierDetection:` sets it with Istio's defaults, which is what makes locality apply.
        #expect(locality.outlierDetection == OutlierDetectionSettings())
        #expect(locality.isInEffect)
        let without = try parse(Self.clusters + "\nrouting:\n  locality:\n    failover: [{from: us-central1, to: us-east1}]\n")
        #expect(without.locality?.isInEffect == false)
        #expect(without.locality?.failover == [LocalityFailoverRule(from: "us-central1", to: "us-east1")])
    }

    @Test func disruptionsResolveClustersVersionsAndDefaults() throws {
        let scenario = try parse(
            Self.clusters + "\n" + Self.pacedLoad + """

                disruptions:
                  - scaleToZero: {version: v3}
                    at: 5s
                    restoreAt: 10s
                  - name: faults
                    abort: {percent: 50}
                    at: 12s
                """)
        #expect(
            scenario.disruptions[0]
                == Disruption(name: "scale-to-zero-1", action: .scaleToZero(clusters: ["cluster-3"]), at: .seconds(5), restoreAt: .seconds(10)))
        // An abort without clusters reaches every client cluster, with Envoy's usual 503.
        #expect(
            scenario.disruptions[1]
                == Disruption(
                    name: "faults", action: .abort(percent: 50, httpStatus: 503, clusters: ["cluster-1", "cluster-2", "cluster-3"]), at: .seconds(12)))
    }

    @Test func everyRuleIsCheckedBeforeAnyClusterIsTouched() {
        let found = problems(
            Self.clusters + """

                load: {mode: sequential, requestsPerBurst: 20}
                timeline: {window: 10ms}
                routing:
                  locality:
                    failover: [{from: a, to: a}]
                    distribute: [{from: "us/*/x", to: {"us/z": 60}}]
                disruptions:
                  - name: Down
                    scaleToZero: {cluster: cluster-4}
                    at: 10s
                    restoreAt: 5s
                  - name: Down
                    abort: {percent: 0}
                    at: 1s
                  - at: 2s
                """)
        let expected = [
            "routing.locality: sets both `failover` and `distribute`, which Istio refuses; use one",
            "routing.locality.failover[0]: fails region \"a\" over to itself",
            "routing.locality.distribute[0].from: must be region[/zone[/subzone]]",
            "routing.locality.distribute[0].to: percents must add up to 100, got 60",
            "timeline.window: must be between 100ms and 60s",
            "disruptions[0].name: ",
            "disruptions[0].scaleToZero.clusters: \"cluster-4\" is not a cluster of this scenario",
            "disruptions[0].restoreAt: (5s) must come after `at` (10s)",
            "disruptions[1].abort.percent: ",
            "disruptions[2]: needs exactly one action",
        ]
        for text in expected {
            #expect(found.contains { $0.contains(text) }, "missing \(text) in \(found)")
        }
    }

    @Test func disruptionsNeedAPacedLoadThatOutlastsThem() {
        let unpaced = problems(Self.clusters + "\ndisruptions: [{scaleToZero: {cluster: cluster-1}, at: 5s}]\n")
        #expect(unpaced.contains { $0.contains("load.mode: must be paced when the scenario has disruptions") })
        let short = problems(
            Self.clusters + "\nload: {mode: paced, ratePerSecond: 10, requestsPerBurst: 100}\n"
                + "disruptions: [{scaleToZero: {cluster: cluster-1}, at: 5s, restoreAt: 10s}]\n")
        #expect(short.contains { $0.contains("the paced load lasts about 10s but the disruptions need it until 15s") && $0.contains("requestsPerBurst ≥ 150") })
        let reuse = problems(
            Self.clusters + "\nnamespace: canary\nreuse: true\n" + Self.pacedLoad + "\ndisruptions: [{abort: {percent: 5}, at: 5s}]\n")
        #expect(reuse.contains { $0.contains("disruptions[0].restoreAt: is required with `reuse: true`") })
        let fine = problems(Self.clusters + "\n" + Self.pacedLoad + "\ndisruptions: [{scaleToZero: {cluster: cluster-1}, at: 5s, restoreAt: 10s}]\n")
        #expect(fine.isEmpty, "\(fine)")
    }

    @Test func faultsMayNotOverlapInOneCluster() {
        let overlapping = problems(
            Self.clusters + "\n" + Self.pacedLoad + """

                disruptions:
                  - {name: first, abort: {percent: 10, clusters: [cluster-1, cluster-2]}, at: 5s, restoreAt: 15s}
                  - {name: second, abort: {percent: 20, clusters: [cluster-2]}, at: 10s, restoreAt: 20s}
                  - {name: third, abort: {percent: 20, clusters: [cluster-1]}, at: 15s}
                  - {name: scale, scaleToZero: {cluster: cluster-1}, at: 6s, restoreAt: 8s}
                """)
        #expect(overlapping.count == 1, "\(overlapping)")
        #expect(overlapping.first?.contains("disruptions[1]: injects a fault in cluster-2 while \"first\" still does") == true)
    }

    @Test func theLocalityPolicyIsEncodedAsIstioReadsIt() throws {
        var scenario = try Scenario.guideCheck(contexts: ["ctx-1", "ctx-2"])
        scenario.locality = LocalityRouting(
            failover: [LocalityFailoverRule(from: "us-central1", to: "us-east1")],
            outlierDetection: OutlierDetectionSettings(consecutive5xxErrors: 3, interval: .milliseconds(1500), baseEjectionTime: .seconds(30)))
        let manifests = Workloads.manifests(for: scenario.clusters[0], scenario: scenario, namespace: "meshcheck-ab12", runID: "r1", revision: "default")
        let rules = manifests.items.filter { $0.kind == "DestinationRule" }
        #expect(rules.count == 1)
        #expect(!manifests.items.contains { $0.kind == "VirtualService" })
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(rules[0].body), as: UTF8.self)
        #expect(json.contains(#""host":"helloworld.meshcheck-ab12.svc.cluster.local""#))
        #expect(
            json.contains(
                #""trafficPolicy":{"loadBalancer":{"localityLbSetting":{"enabled":true,"failover":[{"from":"us-central1","to":"us-east1"}]}},"outlierDetection":{"baseEjectionTime":"30s","consecutive5xxErrors":3,"interval":"1.5s"}}"#
            ), "\(json)")
        #expect(!json.contains("subsets"))
    }

    @Test func durationsUseTheProtobufForm() {
        #expect(DestinationRuleObject.TrafficPolicy.protobufDuration(.seconds(30)) == "30s")
        #expect(DestinationRuleObject.TrafficPolicy.protobufDuration(.milliseconds(500)) == "0.5s")
        #expect(DestinationRuleObject.TrafficPolicy.protobufDuration(.milliseconds(1250)) == "1.25s")
        #expect(DestinationRuleObject.TrafficPolicy.protobufDuration(.milliseconds(1005)) == "1.005s")
    }

    @Test func aFaultGoesIntoTheWeightedRouteWhenThereIsOne() throws {
        let fault = VirtualServiceObject.Fault(percent: 50, httpStatus: 503)
        let weighted = Workloads.faultRoutes(fault, routing: RoutingSettings(weights: ["v1": 25, "v2": 75]), versions: ["v1", "v2"], namespace: "ns")
        #expect(weighted.count == 1)
        #expect(weighted[0].route.map(\.weight) == [25, 75])
        #expect(weighted[0].fault == fault)
        let own = Workloads.faultVirtualService(
            name: "helloworld-faults", percent: 50, httpStatus: 503, namespace: "ns", runID: "r1", scenarioName: "s", disruption: "faults")
        #expect(own.metadata.labels[Ownership.runIDKey] == "r1")
        #expect(own.metadata.labels[Workloads.disruptionKey] == "faults")
        #expect(own.spec.http[0].route.map(\.destination.subset) == [nil])
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(own), as: UTF8.self)
        #expect(json.contains(#""fault":{"abort":{"httpStatus":503,"percentage":{"value":50}}}"#), "\(json)")
    }

    @Test func stepsRunInTimeOrderApplyBeforeRestore() {
        let disruptions = [
            Disruption(name: "a", action: .scaleToZero(clusters: ["cluster-1"]), at: .seconds(10), restoreAt: .seconds(20)),
            Disruption(name: "b", action: .abort(percent: 10, httpStatus: 503, clusters: ["cluster-2"]), at: .seconds(5), restoreAt: .seconds(10)),
            Disruption(name: "c", action: .scaleToZero(clusters: ["cluster-2"]), at: .seconds(20)),
        ]
        let steps = DisruptionExecutor.schedule(disruptions).map { "\($0.index)\($0.restore ? "-" : "+")@\($0.at)" }
        #expect(steps == ["1+@5.0 seconds", "0+@10.0 seconds", "1-@10.0 seconds", "2+@20.0 seconds", "0-@20.0 seconds"])
        let records = DisruptionExecutor.records(disruptions)
        #expect(records.map(\.kind) == ["scale-to-zero", "abort", "scale-to-zero"])
        #expect(records[1].percent == 10 && records[1].httpStatus == 503 && records[1].restoreAt == 10)
        #expect(records.allSatisfy { $0.appliedAtMs == nil })
    }

    @Test func theEchoRebuildsTheScenario() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../scenarios/failover.yaml")
        let scenario = try ScenarioLoader.load(path: url.standardizedFileURL.path)
        let data = try JSONEncoder().encode(ScenarioEcho(scenario))
        let rebuilt = try JSONDecoder().decode(ScenarioEcho.self, from: data).scenario()
        #expect(rebuilt.locality == scenario.locality)
        #expect(rebuilt.disruptions == scenario.disruptions)
        #expect(rebuilt.timeline == scenario.timeline)
        #expect(rebuilt.expectations.locality == scenario.expectations.locality)
        #expect(rebuilt.expectations.failover == scenario.expectations.failover)
    }
}
