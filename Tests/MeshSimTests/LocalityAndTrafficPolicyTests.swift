import MeshSimRuntime
import Testing

@testable import MeshSim

/// Nodes carry the clusters' regions and zones, endpoints take their node's locality, and DestinationRule traffic
/// policies and VirtualService faults reach the data plane's view.
@Suite struct LocalityAndTrafficPolicyTests {
    static func endpoint(_ uid: String) -> MeshEndpoint? {
        MeshEndpoint(pod: uid, cluster: "cluster-1", host: "127.0.0.1", port: 1, version: "v1", hasSidecar: true)
    }

    @Test func clustersDefaultToGCPZonesOfOneRegion() {
        #expect(
            (1...6).map { ClusterIdentity.defaultZone(region: "us-central1", index: $0) } == [
                "us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f", "us-central1-d", "us-central1-e",
            ])
        let second = ClusterIdentity(name: "cluster-2", index: 2, revision: "asm-1-23", managedControlPlane: false)
        #expect(second.region == "us-central1" && second.zone == "us-central1-b")
    }

    @Test func localityOptionsParseRegionSlashZone() {
        #expect(SimulatedLocality(parsing: "us-east1/us-east1-b") == SimulatedLocality(region: "us-east1", zone: "us-east1-b"))
        for bad in ["us-east1", "us-east1/", "/us-east1-b", "US/East", "a/b/c", "us_east1/z", "-a/b"] {
            #expect(SimulatedLocality(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func theNodeIsServedWithTopologyLabelsAndSelectable() {
        var cluster = ClusterHarness(name: "cluster-2")
        let list = cluster.call("GET", "/api/v1/nodes?labelSelector=topology.kubernetes.io%2Fzone%3Dus-central1-b").json
        let nodes = list?["items"].array ?? []
        #expect(nodes.count == 1)
        let labels = nodes.first?["metadata"]["labels"].stringMap ?? [:]
        #expect(labels["topology.kubernetes.io/region"] == "us-central1")
        #expect(labels["kubernetes.io/hostname"] == cluster.state.nodeName)
        #expect(cluster.call("GET", "/api/v1/nodes?labelSelector=topology.kubernetes.io%2Fzone%3Dus-central1-a").json?["items"].array?.isEmpty == true)
        let table = cluster.call("GET", "/api/v1/nodes", accept: "application/json;as=Table;v=v1;g=meta.k8s.io").json
        #expect(table?["columnDefinitions"].array?.compactMap { $0["name"].string }.prefix(5) == ["Name", "Status", "Roles", "Age", "Version"])
        #expect(table?["rows"].array?.first?["cells"].array?[1] == "Ready")
        #expect(table?["rows"].array?.first?["object"]["metadata"]["labels"]["topology.kubernetes.io/zone"] == "us-central1-b")
    }

    @Test func endpointsTakeTheirNodesLocalityAndMoveWhenTheNodeIsRelabelled() {
        var cluster = ClusterHarness()
        cluster.call("POST", "/api/v1/namespaces", ClusterHarness.namespace("sample", labels: ["istio.io/rev": "asm-1-23"]))
        cluster.call(
            "POST", "/api/v1/namespaces/sample/services",
            ["metadata": ["name": "helloworld"], "spec": ["selector": ["app": "hw"], "ports": [["port": 5000]]]])
        cluster.call("POST", "/apis/apps/v1/namespaces/sample/deployments", ClusterHarness.deployment("hw", labels: ["app": "hw"]))
        cluster.advance(0.5)
        let key = ServiceKey(namespace: "sample", name: "helloworld")
        var view = ClusterMeshView.clusterView(cluster.state, peerServers: [:], endpoint: Self.endpoint)
        #expect(view.services[key]?.endpoints.first?.locality == Locality(region: "us-central1", zone: "us-central1-a"))
        let pod = cluster.pods("sample").first?["metadata"]["name"].string ?? ""
        #expect(view.pods["sample/\(pod)"]?.nodeName == cluster.state.nodeName)

        let relabel = cluster.call(
            "PATCH", "/api/v1/nodes/\(cluster.state.nodeName)",
            try! JSON.parse(#"{"metadata":{"labels":{"topology.kubernetes.io/region":"us-east1","topology.kubernetes.io/zone":"us-east1-b"}}}"#),
            contentType: "application/merge-patch+json")
        #expect(relabel.status == 200)
        view = ClusterMeshView.clusterView(cluster.state, peerServers: [:], endpoint: Self.endpoint)
        #expect(view.services[key]?.endpoints.first?.locality == Locality(region: "us-east1", zone: "us-east1-b"))
        let client = MeshView(clusters: [view]).localityClient(cluster: "cluster-1", namespace: "sample", pod: pod)
        #expect(client.locality.zone == "us-east1-b" && client.labels["app"] == "hw")
        #expect(client.labels["topology.istio.io/cluster"] == "cluster-1")
    }

    @Test func trafficPolicyIsReadWithIstioDefaults() throws {
        let policy = TrafficRuleViews.trafficPolicy(
            try JSON.parse(
                #"""
                {"loadBalancer": {"localityLbSetting": {"enabled": true,
                   "failover": [{"from": "us-central1", "to": "us-east1"}],
                   "failoverPriority": ["topology.istio.io/network"],
                   "distribute": [{"from": "us-central1/*", "to": {"us-central1/*": 80, "us-east1/*": 20}}]}},
                 "outlierDetection": {"consecutiveGatewayErrors": 2, "interval": "500ms", "baseEjectionTime": "1m"}}
                """#))
        #expect(
            policy
                == TrafficPolicyRule(
                    localityLbSetting: LocalityLbSettingRule(
                        enabled: true,
                        distribute: [LocalityDistributeRule(from: "us-central1/*", to: ["us-central1/*": 80, "us-east1/*": 20])],
                        failover: [LocalityFailoverRule(from: "us-central1", to: "us-east1")],
                        failoverPriority: ["topology.istio.io/network"]),
                    outlierDetection: OutlierDetectionRule(
                        consecutive5xxErrors: 5, consecutiveGatewayErrors: 2, interval: .milliseconds(500), baseEjectionTime: .seconds(60),
                        maxEjectionPercent: 10)))
        let defaults = TrafficRuleViews.trafficPolicy(try JSON.parse(#"{"outlierDetection": {}}"#))
        #expect(defaults == TrafficPolicyRule(outlierDetection: OutlierDetectionRule()))
        #expect(TrafficRuleViews.trafficPolicy(try JSON.parse(#"{"connectionPool": {}}"#)) == nil)
        #expect(TrafficRuleViews.trafficPolicy(.null) == nil)
    }

    @Test func faultsAreReadWithPercentageOrLegacyPercent() throws {
        let route = TrafficRuleViews.route(
            try JSON.parse(
                #"""
                {"fault": {"abort": {"httpStatus": 503, "percentage": {"value": 12.5}},
                           "delay": {"fixedDelay": "200ms", "percent": 30}},
                 "route": [{"destination": {"host": "helloworld"}}]}
                """#))
        #expect(
            route.fault
                == HTTPFaultRule(
                    abort: .init(httpStatus: 503, percentage: FaultPercentage(percent: 12.5)),
                    delay: .init(fixedDelay: .milliseconds(200), percentage: FaultPercentage(percent: 30))))
        let everyRequest = TrafficRuleViews.fault(try JSON.parse(#"{"abort": {"httpStatus": 418}}"#))
        #expect(everyRequest?.abort == .init(httpStatus: 418, percentage: FaultPercentage(percent: 100)))
        #expect(TrafficRuleViews.route(try JSON.parse(#"{"route": []}"#)).fault == nil)
    }
}
