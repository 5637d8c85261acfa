import Testing

@testable import MeshSimRuntime

@Suite struct TrafficRulesTests {
    static let key = ServiceKey(namespace: "sample", name: "helloworld")
    static let fqdn = "helloworld.sample.svc.cluster.local"

    static func endpoint(_ pod: String, _ cluster: String, version: String) -> MeshEndpoint {
        MeshEndpoint(
            pod: pod, cluster: cluster, host: "127.0.0.1", port: 40000, version: version, hasSidecar: true,
            labels: ["app": "helloworld", "version": version])
    }

    static let v1 = endpoint("helloworld-v1-a", "cluster-1", version: "v1")
    static let v2 = endpoint("helloworld-v2-b", "cluster-2", version: "v2")

    static func weighted(
        _ weights: [(subset: String, weight: Int)], namespace: String = "sample", host: String = fqdn,
        created: String = "2026-11-23T10:00:00Z", name: String = "helloworld",
        matches: [HTTPMatchRule] = []
    ) -> VirtualServiceView {
        VirtualServiceView(
            namespace: namespace, name: name, creationTimestamp: created, hosts: [host],
            http: [
                HTTPRouteRule(
                    matches: matches,
                    destinations: weights.map {
                        RouteDestinationRule(host: fqdn, subset: $0.subset, port: 5000, weight: $0.weight)
                    })
            ])
    }

    static let subsets = DestinationRuleView(
        namespace: "sample", name: "helloworld", host: fqdn,
        subsets: [SubsetRule(name: "v1", labels: ["version": "v1"]), SubsetRule(name: "v2", labels: ["version": "v2"])])

    /// Two meshed clusters, v1 in the first and v2 in the second, with the given rules in each cluster.
    static func mesh(
        rules1: [VirtualServiceView] = [], destinationRules1: [DestinationRuleView] = [subsets],
        rules2: [VirtualServiceView] = [], secretFor2: Bool = true
    ) -> MeshView {
        MeshView(clusters: [
            ClusterView(
                name: "cluster-1", network: "network1", rootCAFingerprint: "ca",
                remoteSecrets: secretFor2 ? ["cluster-2": .init()] : [:], eastWestGatewayReadyPods: 1,
                services: [key: ServiceView(ports: [5000], endpoints: [v1])],
                virtualServices: rules1, destinationRules: destinationRules1),
            ClusterView(
                name: "cluster-2", network: "network2", rootCAFingerprint: "ca", remoteSecrets: ["cluster-1": .init()],
                eastWestGatewayReadyPods: 1, services: [key: ServiceView(ports: [5000], endpoints: [v2])],
                virtualServices: rules2, destinationRules: [subsets]),
        ])
    }

    static func decide(
        _ view: MeshView, host: String = "helloworld.sample", path: String = "/hello", headers: [String: String] = [:],
        from cluster: String = "cluster-1", namespace: String = "sample", sidecar: Bool = true,
        seed: UInt64 = 7
    ) -> RoutingDecision {
        var generator = SplitMix64(state: seed)
        return MeshRouting.decide(
            MeshRequest(host: host, port: 5000, path: path, headers: headers), sourceCluster: cluster,
            sourceNamespace: namespace, sourceHasSidecar: sidecar, in: view, using: &generator)
    }

    /// Counts of the version each decision would forward to, over `count` requests from one generator.
    static func versions(_ view: MeshView, count: Int, seed: UInt64 = 42) -> [String: Int] {
        var generator = SplitMix64(state: seed)
        var seen: [String: Int] = [:]
        for _ in 0..<count {
            let decision = MeshRouting.decide(
                MeshRequest(host: "helloworld.sample", port: 5000, path: "/hello"),
                sourceCluster: "cluster-1", sourceNamespace: "sample", sourceHasSidecar: true,
                in: view, using: &generator)
            guard case .forward(_, let endpoints) = decision else {
                Issue.record("expected a forward, got \(decision)")
                return seen
            }
            for version in Set(endpoints.compactMap(\.version)) { seen[version, default: 0] += 1 }
        }
        return seen
    }

    @Test func weightsSplitRequestsBetweenSubsetsRegardlessOfEndpointCounts() {
        let view = Self.mesh(rules1: [Self.weighted([("v1", 25), ("v2", 75)])])
        let count = 40_000
        let seen = Self.versions(view, count: count)
        #expect(seen["v1", default: 0] + seen["v2", default: 0] == count, "each decision names exactly one subset: \(seen)")
        // Binomial(40000, 0.25): sd ≈ 87; six standard deviations either side.
        #expect((9_480...10_520).contains(seen["v1", default: 0]), "\(seen)")
        // A different seed draws differently but within the same band.
        let other = Self.versions(view, count: count, seed: 2026)
        #expect(other != seen && (9_480...10_520).contains(other["v1", default: 0]), "\(other)")
    }

    @Test func weightedPicksFollowTheWeightsExactlyInTheLimit() {
        let destinations = [
            RouteDestinationRule(host: "a", weight: 1), RouteDestinationRule(host: "b", weight: 0),
            RouteDestinationRule(host: "c", weight: 3),
        ]
        var generator = SplitMix64(state: 1)
        var counts: [String: Int] = [:]
        for _ in 0..<8_000 {
            counts[MeshRouting.pickDestination(destinations, using: &generator)?.host ?? "none", default: 0] += 1
        }
        #expect(counts["b"] == nil && counts["none"] == nil, "\(counts)")
        #expect((1_850...2_150).contains(counts["a", default: 0]), "\(counts)")
        // One destination takes everything whatever its weight; several with no weight take nothing.
        #expect(MeshRouting.pickDestination([RouteDestinationRule(host: "only", weight: 0)], using: &generator)?.host == "only")
        #expect(MeshRouting.pickDestination([RouteDestinationRule(host: "a"), RouteDestinationRule(host: "b")], using: &generator) == nil)
        #expect(MeshRouting.pickDestination([], using: &generator) == nil)
    }

    @Test func subsetSelectsEndpointsByLabelAcrossClusters() {
        let allV2 = Self.mesh(rules1: [Self.weighted([("v1", 0), ("v2", 100)])])
        #expect(Self.decide(allV2) == .forward(Self.key, endpoints: [Self.v2]))
        let allV1 = Self.mesh(rules1: [Self.weighted([("v1", 100), ("v2", 0)])])
        #expect(Self.decide(allV1) == .forward(Self.key, endpoints: [Self.v1]))
    }

    @Test func subsetWithoutReachableEndpointsIsNoHealthyUpstream() {
        // v2 runs only in cluster 2, which cluster 1 cannot reach without a remote secret.
        let view = Self.mesh(rules1: [Self.weighted([("v2", 100)])], secretFor2: false)
        #expect(Self.decide(view) == .noHealthyUpstream(Self.key))
        // The same rule routes fine once cluster 2 is discovered.
        #expect(Self.decide(Self.mesh(rules1: [Self.weighted([("v2", 100)])])) == .forward(Self.key, endpoints: [Self.v2]))
    }

    @Test func unknownSubsetHasNoEnvoyCluster() {
        let undefined = Self.mesh(rules1: [Self.weighted([("v3", 100)])])
        #expect(Self.decide(undefined) == .clusterNotFound(cluster: "outbound|5000|v3|\(Self.fqdn)"))
        // Without any DestinationRule even v1 is undefined.
        let noRule = Self.mesh(rules1: [Self.weighted([("v1", 100)])], destinationRules1: [])
        #expect(Self.decide(noRule) == .clusterNotFound(cluster: "outbound|5000|v1|\(Self.fqdn)"))
        // A destination host that is no Service of the cluster.
        let elsewhere = VirtualServiceView(
            namespace: "sample", name: "x", hosts: [Self.fqdn],
            http: [HTTPRouteRule(destinations: [RouteDestinationRule(host: "nowhere", weight: 100)])])
        #expect(Self.decide(Self.mesh(rules1: [elsewhere])) == .clusterNotFound(cluster: "outbound|5000||nowhere.sample.svc.cluster.local"))
    }

    @Test func withoutAVirtualServiceTheDefaultIsUnchanged() {
        let plain = Self.mesh()
        let expected = MeshRouting.resolve(
            host: "helloworld.sample", port: 5000, sourceCluster: "cluster-1", sourceNamespace: "sample",
            sourceHasSidecar: true, in: plain)
        #expect(expected == .service(Self.key, endpoints: [Self.v1, Self.v2]))
        #expect(Self.decide(plain) == .forward(Self.key, endpoints: [Self.v1, Self.v2]))
        #expect(Self.decide(Self.mesh(secretFor2: false)) == .forward(Self.key, endpoints: [Self.v1]))
        #expect(Self.decide(plain, host: "other.sample") == .notAService)
    }

    @Test func eachClusterRoutesByItsOwnRules() {
        // Multi-primary: only cluster 2 holds the rule, so only cluster 2's sidecars apply it.
        let view = Self.mesh(rules2: [Self.weighted([("v1", 100)])])
        #expect(Self.decide(view) == .forward(Self.key, endpoints: [Self.v1, Self.v2]))
        #expect(Self.decide(view, from: "cluster-2") == .forward(Self.key, endpoints: [Self.v1]))
        // A pod without a sidecar has no Envoy to apply it.
        #expect(Self.decide(view, from: "cluster-2", sidecar: false) == .forward(Self.key, endpoints: [Self.v2]))
    }

    @Test func routesMatchInOrderAndUnmatchedRequestsGet404() {
        let canary = HTTPRouteRule(
            matches: [HTTPMatchRule(headers: ["end-user": .exact("jason")])],
            destinations: [RouteDestinationRule(host: "helloworld", subset: "v2")])
        let rest = HTTPRouteRule(
            matches: [HTTPMatchRule(uri: .prefix("/hello"))],
            destinations: [RouteDestinationRule(host: "helloworld", subset: "v1")])
        let rule = VirtualServiceView(namespace: "sample", name: "split", hosts: ["helloworld"], http: [canary, rest])
        let view = Self.mesh(rules1: [rule])
        #expect(Self.decide(view, headers: ["end-user": "jason"]) == .forward(Self.key, endpoints: [Self.v2]))
        #expect(Self.decide(view) == .forward(Self.key, endpoints: [Self.v1]))
        #expect(Self.decide(view, path: "/health") == .routeNotFound(Self.key, virtualService: "sample/split"))

        let exact = HTTPMatchRule(uri: .exact("/HELLO"), ignoreURICase: true)
        #expect(exact.matches(MeshRequest(host: "h", port: 5000, path: "/hello?x=1"), sourceNamespace: "sample"))
        #expect(HTTPMatchRule(uri: .regex("/hel+o")).matches(MeshRequest(host: "h", port: 5000, path: "/hello"), sourceNamespace: "s"))
        #expect(!HTTPMatchRule(uri: .regex("/hel")).matches(MeshRequest(host: "h", port: 5000, path: "/hello"), sourceNamespace: "s"))
        #expect(!HTTPMatchRule(port: 80).matches(MeshRequest(host: "h", port: 5000), sourceNamespace: "s"))
        #expect(!HTTPMatchRule(sourceNamespace: "other").matches(MeshRequest(host: "h", port: 5000), sourceNamespace: "s"))
        #expect(HTTPMatchRule(headers: ["x-canary": nil]).matches(MeshRequest(host: "h", port: 5000, headers: ["x-canary": ""]), sourceNamespace: "s"))
        #expect(!HTTPMatchRule(unmodelledConditions: ["sourceLabels"]).matches(MeshRequest(host: "h", port: 5000), sourceNamespace: "s"))
    }

    @Test func rulesApplyByHostVisibilityAndAge() {
        let toV1 = Self.weighted([("v1", 100)])
        let view = { (rules: [VirtualServiceView]) in Self.mesh(rules1: rules) }
        // A short host name means the Service in the rule's own namespace.
        #expect(Self.decide(view([Self.weighted([("v1", 100)], host: "helloworld")])) == .forward(Self.key, endpoints: [Self.v1]))
        #expect(
            Self.decide(view([Self.weighted([("v1", 100)], namespace: "other", host: "helloworld")]))
                == .forward(Self.key, endpoints: [Self.v1, Self.v2]))
        // Dotted names are taken literally: Istio does not expand `helloworld.sample`.
        #expect(Self.decide(view([Self.weighted([("v1", 100)], host: "helloworld.sample")])) == .forward(Self.key, endpoints: [Self.v1, Self.v2]))
        #expect(Self.decide(view([Self.weighted([("v1", 100)], host: "*.sample.svc.cluster.local")])) == .forward(Self.key, endpoints: [Self.v1]))

        var gatewayOnly = toV1
        gatewayOnly.gateways = ["istio-system/ingress"]
        #expect(Self.decide(view([gatewayOnly])) == .forward(Self.key, endpoints: [Self.v1, Self.v2]))
        gatewayOnly.gateways.append("mesh")
        #expect(Self.decide(view([gatewayOnly])) == .forward(Self.key, endpoints: [Self.v1]))

        var privateRule = Self.weighted([("v1", 100)], namespace: "other")
        privateRule.exportTo = ["."]
        #expect(Self.decide(view([privateRule])) == .forward(Self.key, endpoints: [Self.v1, Self.v2]))
        #expect(MeshRouting.isExported(["sample"], from: "other", to: "sample") && !MeshRouting.isExported(["."], from: "other", to: "sample"))

        // The oldest VirtualService for a host wins; an exact host beats a wildcard.
        let older = Self.weighted([("v2", 100)], created: "2026-11-23T09:00:00Z", name: "older")
        #expect(Self.decide(view([toV1, older])) == .forward(Self.key, endpoints: [Self.v2]))
        let wildcard = Self.weighted([("v2", 100)], host: "*", created: "2026-01-01T00:00:00Z", name: "everything")
        #expect(Self.decide(view([wildcard, toV1])) == .forward(Self.key, endpoints: [Self.v1]))
    }

    @Test func destinationRuleIsLookedUpInTheClientsNamespaceFirst() {
        let swapped = DestinationRuleView(
            namespace: "client", name: "swapped", host: Self.fqdn,
            subsets: [SubsetRule(name: "v1", labels: ["version": "v2"])])
        let root = DestinationRuleView(
            namespace: "istio-system", name: "root", host: Self.fqdn,
            subsets: [SubsetRule(name: "v9", labels: ["version": "v1"])])
        let route = Self.weighted([("v1", 100)])
        let view = Self.mesh(rules1: [route], destinationRules1: [Self.subsets, swapped, root])
        #expect(Self.decide(view, namespace: "client") == .forward(Self.key, endpoints: [Self.v2]))
        #expect(Self.decide(view) == .forward(Self.key, endpoints: [Self.v1]))
        // The root namespace is consulted when neither the client's nor the Service's namespace has one.
        let fromRoot = Self.mesh(rules1: [Self.weighted([("v9", 100)])], destinationRules1: [root])
        #expect(Self.decide(fromRoot) == .forward(Self.key, endpoints: [Self.v1]))
    }

    @Test func routeNamesTheEnvoyClusterItsPolicyAndTheRoutesFault() {
        var generator = SplitMix64(state: 5)
        let policy = TrafficPolicyRule(outlierDetection: OutlierDetectionRule(consecutive5xxErrors: 1))
        let rule = DestinationRuleView(
            namespace: "sample", name: "helloworld", host: "helloworld",
            subsets: [SubsetRule(name: "v1", labels: ["version": "v1"])], trafficPolicy: policy)
        let fault = HTTPFaultRule(abort: .init(httpStatus: 503, percentage: FaultPercentage(percent: 50)))
        var service = Self.weighted([("v1", 100)])
        service.http[0].fault = fault
        let request = MeshRequest(host: "helloworld.sample", port: 5000)
        let routed = MeshRouting.route(
            request, sourceCluster: "cluster-1", sourceNamespace: "sample", sourceHasSidecar: true,
            in: Self.mesh(rules1: [service], destinationRules1: [rule]), using: &generator)
        #expect(routed.decision == .forward(Self.key, endpoints: [Self.v1]))
        #expect(routed.upstreamCluster == "outbound|5000|v1|\(Self.fqdn)")
        #expect(routed.trafficPolicy == policy && routed.fault == fault)
        let plain = MeshRouting.route(
            request, sourceCluster: "cluster-1", sourceNamespace: "sample", sourceHasSidecar: true,
            in: Self.mesh(destinationRules1: [rule]), using: &generator)
        #expect(plain.upstreamCluster == "outbound|5000||\(Self.fqdn)" && plain.trafficPolicy == policy && plain.fault == nil)
    }
}
