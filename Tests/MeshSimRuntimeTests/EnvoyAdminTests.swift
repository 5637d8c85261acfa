import Foundation
import Testing

@testable import MeshSimRuntime

/// The simulated sidecar's Envoy admin `/clusters`: the endpoints it lists are exactly those its routing uses.
@Suite struct EnvoyAdminTests {
    static let key = ServiceKey(namespace: "sample", name: "helloworld")
    static let name = "outbound|5000||helloworld.sample.svc.cluster.local"

    static func endpoint(_ pod: String, cluster: String, ip: String, version: String) -> MeshEndpoint {
        MeshEndpoint(
            pod: pod, cluster: cluster, host: "127.0.0.1", port: 40_000, version: version, hasSidecar: true,
            labels: ["app": "helloworld", "version": version], podIP: ip)
    }

    /// cluster-1 (two pods) holds secrets for cluster-2 (two pods) and cluster-3 (one pod, gateway scaled
    /// to `gateway3` pods); every cluster on its own network with its own gateway address.
    static func view(gateway3: Int = 1, rules: [DestinationRuleView] = []) -> MeshView {
        func cluster(_ name: String, _ index: Int, gateway: Int = 1, endpoints: [MeshEndpoint], rules: [DestinationRuleView] = []) -> ClusterView {
            ClusterView(
                name: name, network: "network\(index)", rootCAFingerprint: "root",
                remoteSecrets: Dictionary(
                    uniqueKeysWithValues: ["cluster-1", "cluster-2", "cluster-3"].filter { $0 != name }.map { ($0, RemoteSecretView()) }),
                eastWestGatewayReadyPods: gateway,
                services: [key: ServiceView(ports: [5000], endpoints: endpoints, targetPorts: [5000: 5000])],
                destinationRules: rules, eastWestGatewayAddress: "192.0.2.\(index)")
        }
        return MeshView(clusters: [
            cluster(
                "cluster-1", 1,
                endpoints: [
                    endpoint("hw-v1-b", cluster: "cluster-1", ip: "10.0.0.3", version: "v1"),
                    endpoint("hw-v1-a", cluster: "cluster-1", ip: "10.0.0.2", version: "v1"),
                ],
                rules: rules),
            cluster(
                "cluster-2", 2,
                endpoints: [
                    endpoint("hw-v2-a", cluster: "cluster-2", ip: "10.1.0.2", version: "v2"),
                    endpoint("hw-v2-b", cluster: "cluster-2", ip: "10.1.0.3", version: "v2"),
                ]),
            cluster("cluster-3", 3, gateway: gateway3, endpoints: [endpoint("hw-v3-a", cluster: "cluster-3", ip: "10.2.0.2", version: "v3")]),
        ])
    }

    let source = ProxySource(cluster: "cluster-1", namespace: "sample", pod: "sleep-x")

    private func hosts(_ view: MeshView, cluster name: String = EnvoyAdminTests.name) -> [EnvoyAdminHost]? {
        EnvoyAdmin.clusters(source: source, in: view).first { $0.name == name }?.hosts
    }

    @Test func localPodsByIPAndPeersAsTheirGatewayWeightedByEndpoints() throws {
        #expect(
            hosts(Self.view()) == [
                EnvoyAdminHost(address: "10.0.0.2", port: 5000, weight: 1), EnvoyAdminHost(address: "10.0.0.3", port: 5000, weight: 1),
                EnvoyAdminHost(address: "192.0.2.2", port: 15443, weight: 2), EnvoyAdminHost(address: "192.0.2.3", port: 15443, weight: 1),
            ])
    }

    @Test func aGatewayScaledToZeroTakesItsNetworksEndpointsAway() throws {
        let listed = try #require(hosts(Self.view(gateway3: 0)))
        #expect(!listed.contains { $0.address == "192.0.2.3" })
        #expect(listed.count == 3)
    }

    /// Whatever the view, the listed hosts stand for exactly the endpoints routing resolves.
    @Test(arguments: [0, 1]) func listingMatchesRouting(gateway3: Int) throws {
        let view = Self.view(gateway3: gateway3)
        guard
            case .service(_, let endpoints) = MeshRouting.resolve(
                host: "helloworld.sample", port: 5000, sourceCluster: "cluster-1", sourceNamespace: "sample", sourceHasSidecar: true, in: view)
        else {
            Issue.record("helloworld does not resolve")
            return
        }
        let listed = try #require(hosts(view))
        #expect(listed.filter { $0.port == 5000 }.map(\.address).sorted() == endpoints.filter { $0.cluster == "cluster-1" }.compactMap(\.podIP).sorted())
        #expect(listed.reduce(0) { $0 + $1.weight } == endpoints.count)
    }

    @Test func destinationRuleSubsetsGetTheirOwnClusters() throws {
        let rule = DestinationRuleView(
            namespace: "sample", name: "helloworld", host: "helloworld",
            subsets: [SubsetRule(name: "v1", labels: ["version": "v1"]), SubsetRule(name: "v2", labels: ["version": "v2"])])
        let view = Self.view(rules: [rule])
        #expect(hosts(view, cluster: "outbound|5000|v1|helloworld.sample.svc.cluster.local")?.map(\.address) == ["10.0.0.2", "10.0.0.3"])
        #expect(hosts(view, cluster: "outbound|5000|v2|helloworld.sample.svc.cluster.local") == [EnvoyAdminHost(address: "192.0.2.2", port: 15443, weight: 2)])
    }

    /// envoy.admin.v3.Clusters as Envoy prints it (api/envoy/admin/v3/clusters.proto, clusters_handler.cc).
    @Test func jsonHasEnvoysShape() throws {
        let text = EnvoyAdmin.json(EnvoyAdmin.clusters(source: source, in: Self.view()))
        let root = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let statuses = try #require(root["cluster_statuses"] as? [[String: Any]])
        let helloworld = try #require(statuses.first { $0["name"] as? String == Self.name })
        #expect(helloworld["added_via_api"] as? Bool == true)
        #expect(helloworld["eds_service_name"] as? String == Self.name)
        let hosts = try #require(helloworld["host_statuses"] as? [[String: Any]])
        let socket = try #require((hosts[2]["address"] as? [String: Any])?["socket_address"] as? [String: Any])
        #expect(socket["address"] as? String == "192.0.2.2" && socket["port_value"] as? Int == 15443)
        #expect((hosts[2]["health_status"] as? [String: Any])?["eds_health_status"] as? String == "HEALTHY")
        #expect(hosts[2]["weight"] as? Int == 2)
        #expect(hosts[2]["priority"] == nil, "protobuf JSON omits a priority of 0")
        #expect(hosts[2]["locality"] is [String: Any] && hosts[2]["stats"] is [Any])
        #expect(text.hasPrefix("{\n  \"cluster_statuses\": [\n    {\n      \"name\": "))
    }

    @Test func textHasEnvoysLines() {
        let text = EnvoyAdmin.text(EnvoyAdmin.clusters(source: source, in: Self.view()))
        let lines = Set(text.split(separator: "\n").map(String.init))
        for line in [
            "\(Self.name)::added_via_api::true", "\(Self.name)::default_priority::max_retries::4294967295",
            "\(Self.name)::10.0.0.2:5000::health_flags::healthy", "\(Self.name)::192.0.2.2:15443::weight::2",
            "\(Self.name)::192.0.2.2:15443::region::", "\(Self.name)::192.0.2.2:15443::priority::0", "\(Self.name)::10.0.0.2:5000::rq_total::0",
        ] {
            #expect(lines.contains(line), "missing \(line)")
        }
    }

    /// With outlier detection a DestinationRule turns on locality load balancing: hosts carry their locality and
    /// priority, and ejected ones `failed_outlier_check`, in both formats.
    @Test func localityPriorityAndEjectionAreShown() throws {
        var view = Self.view(rules: [
            DestinationRuleView(
                namespace: "sample", name: "helloworld", host: "helloworld", subsets: [],
                trafficPolicy: TrafficPolicyRule(outlierDetection: OutlierDetectionRule()))
        ])
        let zones = ["cluster-1": "us-central1-a", "cluster-2": "us-central1-b", "cluster-3": "us-central1-c"]
        for (name, zone) in zones {
            let endpoints = view.clusters[name]?.services[Self.key]?.endpoints ?? []
            view.clusters[name]?.services[Self.key]?.endpoints = endpoints.map { endpoint in
                var placed = endpoint
                placed.locality = Locality(region: "us-central1", zone: zone)
                return placed
            }
        }
        view.clusters["cluster-1"]?.nodeLabels = ["node-1": ["topology.kubernetes.io/region": "us-central1", "topology.kubernetes.io/zone": "us-central1-a"]]
        view.clusters["cluster-1"]?.pods = ["sample/sleep-x": PodPlacement(nodeName: "node-1", labels: ["app": "sleep"])]
        let clusters = EnvoyAdmin.clusters(source: source, in: view, ejected: [Self.name: ["cluster-1/hw-v1-a"]])
        let listed = try #require(clusters.first { $0.name == Self.name }?.hosts)
        #expect(listed.map(\.priority) == [0, 0, 1, 1])
        #expect(listed.map(\.failedOutlierCheck) == [true, false, false, false])
        #expect(listed[2].locality == Locality(region: "us-central1", zone: "us-central1-b"))

        let lines = Set(EnvoyAdmin.text(clusters).split(separator: "\n").map(String.init))
        for line in [
            "\(Self.name)::10.0.0.2:5000::health_flags::/failed_outlier_check", "\(Self.name)::10.0.0.3:5000::health_flags::healthy",
            "\(Self.name)::192.0.2.2:15443::zone::us-central1-b", "\(Self.name)::192.0.2.2:15443::priority::1",
            "\(Self.name)::10.0.0.2:5000::region::us-central1",
        ] {
            #expect(lines.contains(line), "missing \(line)")
        }
        let text = EnvoyAdmin.json(clusters)
        let root = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let statuses = try #require(root["cluster_statuses"] as? [[String: Any]])
        let hosts = try #require(statuses.first { $0["name"] as? String == Self.name }?["host_statuses"] as? [[String: Any]])
        let health = try #require(hosts[0]["health_status"] as? [String: Any])
        #expect(health["failed_outlier_check"] as? Bool == true && health["eds_health_status"] as? String == "HEALTHY")
        #expect(hosts[2]["priority"] as? Int == 1)
        #expect((hosts[2]["locality"] as? [String: Any])?["zone"] as? String == "us-central1-b")
        #expect(text.contains("\"failed_outlier_check\": true,\n"), "failed_outlier_check (field 2) precedes eds_health_status (3)")
    }

    @Test func theSidecarAnswersItsPodsLocalhost15000() async throws {
        let store = MeshViewStore(Self.view())
        let proxy = try await SidecarProxy.start(source: source, settings: ProxySettings(mode: .sidecar), view: store, faults: RuntimeFaultControl())
        let plain = try await SidecarProxy.start(source: source, settings: ProxySettings(mode: .plainForwarder), view: store, faults: RuntimeFaultControl())
        defer {
            Task {
                await proxy.stop()
                await plain.stop()
            }
        }
        let json = try curl(["http://localhost:15000/clusters?format=json"], proxy: proxy.url)
        #expect(json.status == 200 && json.headers.lowercased().contains("content-type: application/json"))
        #expect(json.body.contains("\"address\": \"192.0.2.2\""))
        let text = try curl(["http://127.0.0.1:15000/clusters"], proxy: proxy.url)
        #expect(text.status == 200 && text.body.contains("\(Self.name)::192.0.2.3:15443::weight::1"))
        #expect(try curl(["http://localhost:15000/config_dump"], proxy: proxy.url).status == 404)
        // Without a sidecar nothing listens on the pod's port 15000.
        #expect(try curl(["http://localhost:15000/clusters?format=json"], proxy: plain.url).status == 502)
    }
}
