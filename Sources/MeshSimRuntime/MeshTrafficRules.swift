// Istio traffic management as a sidecar applies it: the source cluster's VirtualServices choose an HTTP route
// and, per request, one of its weighted destinations; that cluster's DestinationRules define the subsets the
// destinations name; the endpoint is then picked among the subset's reachable endpoints (local and remote) as
// without rules. Pure: the weighted draw takes its random source as a parameter.
//
// Modelled: `hosts` (short names resolved in the rule's namespace, `*` wildcards), `gateways` (rules bound to
// gateways only do not apply to sidecars), `exportTo`, http `match` on uri / method / headers / port /
// sourceNamespace (with `ignoreUriCase`), `route` destinations with host, subset, port and weight. A match
// condition the simulation does not evaluate (`sourceLabels`, `queryParams`, ...) never matches, and routes
// without destinations (`redirect`, `directResponse`) are skipped.

/// How one string is matched (Istio's StringMatch).
package enum StringMatchRule: Equatable, Sendable {
    case exact(String)
    case prefix(String)
    /// RE2 in Istio; evaluated as a whole-string Swift regular expression (the same for the common subset).
    case regex(String)

    func matches(_ value: String, ignoreCase: Bool = false) -> Bool {
        let subject = ignoreCase ? value.lowercased() : value
        switch self {
        case .exact(let expected): return subject == (ignoreCase ? expected.lowercased() : expected)
        case .prefix(let expected): return subject.hasPrefix(ignoreCase ? expected.lowercased() : expected)
        case .regex(let pattern):
            guard let regex = try? Regex(pattern) else { return false }
            return (try? regex.wholeMatch(in: value)) != nil
        }
    }
}

/// One `http[].match[]` entry: every condition set must hold.
package struct HTTPMatchRule: Equatable, Sendable {
    package var uri: StringMatchRule?
    package var ignoreURICase: Bool
    package var method: StringMatchRule?
    /// Header name (lower-cased) → match; nil checks only that the header is present.
    package var headers: [String: StringMatchRule?]
    package var port: Int?
    package var sourceNamespace: String?
    /// Conditions present in the rule that the simulation does not evaluate; a match with any never matches.
    package var unmodelledConditions: [String]

    package init(
        uri: StringMatchRule? = nil, ignoreURICase: Bool = false, method: StringMatchRule? = nil,
        headers: [String: StringMatchRule?] = [:], port: Int? = nil, sourceNamespace: String? = nil,
        unmodelledConditions: [String] = []
    ) {
        self.uri = uri
        self.ignoreURICase = ignoreURICase
        self.method = method
        self.headers = headers
        self.port = port
        self.sourceNamespace = sourceNamespace
        self.unmodelledConditions = unmodelledConditions
    }

    func matches(_ request: MeshRequest, sourceNamespace source: String) -> Bool {
        guard unmodelledConditions.isEmpty else { return false }
        if let port, port != request.port { return false }
        if let sourceNamespace, sourceNamespace != source { return false }
        if let method, !method.matches(request.method) { return false }
        if let uri {
            // Envoy compares exact and regex paths without the query string, prefixes against the whole path.
            let withoutQuery = String(request.path.prefix { $0 != "?" })
            let subject: String
            if case .prefix = uri { subject = request.path } else { subject = withoutQuery }
            if !uri.matches(subject, ignoreCase: ignoreURICase) { return false }
        }
        for (name, rule) in headers {
            guard let value = request.headers[name] else { return false }
            if let rule, !rule.matches(value) { return false }
        }
        return true
    }
}

/// One weighted destination of an HTTP route.
package struct RouteDestinationRule: Equatable, Sendable {
    /// As written: a short name is resolved in the VirtualService's namespace.
    package var host: String
    package var subset: String?
    /// `destination.port.number`; nil = the port the request was sent to.
    package var port: Int?
    package var weight: Int

    package init(host: String, subset: String? = nil, port: Int? = nil, weight: Int = 0) {
        self.host = host
        self.subset = subset
        self.port = port
        self.weight = weight
    }
}

package struct HTTPRouteRule: Equatable, Sendable {
    /// Empty: the route matches every request.
    package var matches: [HTTPMatchRule]
    package var destinations: [RouteDestinationRule]
    /// `fault`: delays and aborts the client sidecar injects into the route's requests.
    package var fault: HTTPFaultRule?

    package init(matches: [HTTPMatchRule] = [], destinations: [RouteDestinationRule], fault: HTTPFaultRule? = nil) {
        self.matches = matches
        self.destinations = destinations
        self.fault = fault
    }
}

/// A VirtualService (networking.istio.io/v1) with the fields the data plane acts on.
package struct VirtualServiceView: Equatable, Sendable {
    package var namespace: String
    package var name: String
    /// RFC 3339; when several VirtualServices claim a host, the oldest applies (istiod's conflict rule).
    package var creationTimestamp: String
    package var hosts: [String]
    /// `spec.gateways`; empty or containing `mesh` means the rule applies to sidecars.
    package var gateways: [String]
    package var exportTo: [String]
    package var http: [HTTPRouteRule]

    package init(
        namespace: String, name: String, creationTimestamp: String = "", hosts: [String], gateways: [String] = [],
        exportTo: [String] = [], http: [HTTPRouteRule]
    ) {
        self.namespace = namespace
        self.name = name
        self.creationTimestamp = creationTimestamp
        self.hosts = hosts
        self.gateways = gateways
        self.exportTo = exportTo
        self.http = http
    }
}

package struct SubsetRule: Equatable, Sendable {
    package var name: String
    package var labels: [String: String]

    package init(name: String, labels: [String: String]) {
        self.name = name
        self.labels = labels
    }
}

/// A DestinationRule (networking.istio.io/v1) with the subsets and traffic policy it defines.
package struct DestinationRuleView: Equatable, Sendable {
    package var namespace: String
    package var name: String
    package var creationTimestamp: String
    package var host: String
    package var exportTo: [String]
    package var subsets: [SubsetRule]
    /// The top-level `trafficPolicy` (locality load balancing, outlier detection); subsets' own policies are
    /// not modelled.
    package var trafficPolicy: TrafficPolicyRule?

    package init(
        namespace: String, name: String, creationTimestamp: String = "", host: String, exportTo: [String] = [],
        subsets: [SubsetRule], trafficPolicy: TrafficPolicyRule? = nil
    ) {
        self.trafficPolicy = trafficPolicy
        self.namespace = namespace
        self.name = name
        self.creationTimestamp = creationTimestamp
        self.host = host
        self.exportTo = exportTo
        self.subsets = subsets
    }
}

/// The parts of an HTTP request that routing looks at.
package struct MeshRequest: Equatable, Sendable {
    package var host: String
    package var port: Int
    /// Path and query, e.g. `/hello?x=1`.
    package var path: String
    package var method: String
    /// Lower-cased names.
    package var headers: [String: String]

    package init(host: String, port: Int, path: String = "/", method: String = "GET", headers: [String: String] = [:]) {
        self.host = host
        self.port = port
        self.path = path
        self.method = method
        self.headers = headers
    }
}

/// A routing decision with the Envoy cluster (`outbound|port|subset|host`) it sends to, that cluster's traffic
/// policy (from the DestinationRule that applies) and the matched route's fault injection.
package struct RoutedRequest: Equatable, Sendable {
    package var decision: RoutingDecision
    /// nil when the request does not go through an Envoy outbound cluster (no sidecar, not a Service).
    package var upstreamCluster: String?
    package var trafficPolicy: TrafficPolicyRule?
    package var fault: HTTPFaultRule?

    package init(
        decision: RoutingDecision, upstreamCluster: String? = nil, trafficPolicy: TrafficPolicyRule? = nil, fault: HTTPFaultRule? = nil
    ) {
        self.decision = decision
        self.upstreamCluster = upstreamCluster
        self.trafficPolicy = trafficPolicy
        self.fault = fault
    }
}

/// What a sidecar does with one request.
package enum RoutingDecision: Equatable, Sendable {
    /// Send it to one of `endpoints` (never empty), balanced the default way.
    case forward(ServiceKey, endpoints: [MeshEndpoint])
    /// The chosen destination has no reachable endpoint: Envoy answers 503 `no healthy upstream` (UH).
    case noHealthyUpstream(ServiceKey)
    /// The route names a subset or host no DestinationRule or Service defines, so Envoy has no such cluster:
    /// 503 with an empty body (NC). `cluster` is Envoy's name, `outbound|port|subset|host`.
    case clusterNotFound(cluster: String)
    /// A VirtualService claims the host but none of its routes matches: Envoy answers 404 (NR).
    case routeNotFound(ServiceKey, virtualService: String)
    /// The name is not a Service of the source cluster (or not on that port).
    case notAService
}

extension MeshRouting {
    static let rootNamespace = "istio-system"

    /// The decision for `request` from a pod of `sourceCluster`/`sourceNamespace`. Traffic rules apply only to
    /// pods with a sidecar; without a VirtualService for the host the request goes to any reachable endpoint.
    package static func decide<Generator: RandomNumberGenerator>(
        _ request: MeshRequest, sourceCluster: String, sourceNamespace: String, sourceHasSidecar: Bool, in view: MeshView,
        using generator: inout Generator
    ) -> RoutingDecision {
        route(
            request, sourceCluster: sourceCluster, sourceNamespace: sourceNamespace, sourceHasSidecar: sourceHasSidecar,
            in: view, using: &generator
        ).decision
    }

    /// The decision with what the sidecar needs beyond it: the Envoy cluster it sends to, that cluster's
    /// traffic policy and the matched route's fault.
    package static func route<Generator: RandomNumberGenerator>(
        _ request: MeshRequest, sourceCluster: String, sourceNamespace: String, sourceHasSidecar: Bool, in view: MeshView,
        using generator: inout Generator
    ) -> RoutedRequest {
        let resolution = resolve(
            host: request.host, port: request.port, sourceCluster: sourceCluster,
            sourceNamespace: sourceNamespace, sourceHasSidecar: sourceHasSidecar, in: view)
        guard case .service(let key, let endpoints) = resolution else { return RoutedRequest(decision: .notAService) }
        let defaultCluster = "outbound|\(request.port)||\(key.fqdn)"
        guard sourceHasSidecar, let cluster = view.clusters[sourceCluster] else {
            return RoutedRequest(decision: endpoints.isEmpty ? .noHealthyUpstream(key) : .forward(key, endpoints: endpoints))
        }
        guard let virtualService = virtualService(for: key, in: cluster, sourceNamespace: sourceNamespace) else {
            return RoutedRequest(
                decision: endpoints.isEmpty ? .noHealthyUpstream(key) : .forward(key, endpoints: endpoints),
                upstreamCluster: defaultCluster,
                trafficPolicy: destinationRule(for: key, in: cluster, sourceNamespace: sourceNamespace)?.trafficPolicy)
        }

        let routes = virtualService.http.filter { !$0.destinations.isEmpty }
        guard
            let route = routes.first(where: { route in
                route.matches.isEmpty || route.matches.contains { $0.matches(request, sourceNamespace: sourceNamespace) }
            })
        else {
            return RoutedRequest(decision: .routeNotFound(key, virtualService: "\(virtualService.namespace)/\(virtualService.name)"))
        }
        guard let destination = pickDestination(route.destinations, using: &generator) else {
            return RoutedRequest(decision: .noHealthyUpstream(key), fault: route.fault)
        }
        var routed = target(
            of: destination, ruleNamespace: virtualService.namespace, request: request, sourceCluster: sourceCluster,
            sourceNamespace: sourceNamespace, in: view, cluster: cluster)
        routed.fault = route.fault
        return routed
    }

    /// One destination, drawn with probability weight / (sum of weights). A route with a single destination
    /// sends it everything whatever its weight; weight-0 destinations are never drawn; nil when every weight
    /// is 0 (which Istio's validation refuses for several destinations).
    package static func pickDestination<Generator: RandomNumberGenerator>(
        _ destinations: [RouteDestinationRule], using generator: inout Generator
    ) -> RouteDestinationRule? {
        if destinations.count == 1 { return destinations[0] }
        let total = destinations.reduce(0) { $0 + max($1.weight, 0) }
        guard total > 0 else { return nil }
        var draw = Int.random(in: 0..<total, using: &generator)
        for destination in destinations where destination.weight > 0 {
            if draw < destination.weight { return destination }
            draw -= destination.weight
        }
        return nil
    }

    /// The VirtualService a sidecar in `sourceNamespace` applies to the Service: visible to that namespace,
    /// bound to sidecars, naming the host exactly before by wildcard, the oldest on a tie.
    static func virtualService(for key: ServiceKey, in cluster: ClusterView, sourceNamespace: String) -> VirtualServiceView? {
        var best: (rank: Int, rule: VirtualServiceView)?
        for rule in cluster.virtualServices
        where (rule.gateways.isEmpty || rule.gateways.contains("mesh")) && isExported(rule.exportTo, from: rule.namespace, to: sourceNamespace) {
            let ranks = rule.hosts.compactMap { hostRank($0, ruleNamespace: rule.namespace, fqdn: key.fqdn) }
            guard let rank = ranks.min() else { continue }
            if let current = best,
                (current.rank, current.rule.creationTimestamp, current.rule.namespace, current.rule.name)
                    <= (rank, rule.creationTimestamp, rule.namespace, rule.name)
            {
                continue
            }
            best = (rank, rule)
        }
        return best?.rule
    }

    /// The DestinationRule for the Service as seen from `sourceNamespace`: Istio looks in the client's
    /// namespace, then the Service's, then the root namespace; the oldest wins within one.
    static func destinationRule(for key: ServiceKey, in cluster: ClusterView, sourceNamespace: String) -> DestinationRuleView? {
        for namespace in [sourceNamespace, key.namespace, rootNamespace] {
            let candidates = cluster.destinationRules.filter { rule in
                rule.namespace == namespace && isExported(rule.exportTo, from: rule.namespace, to: sourceNamespace)
                    && hostRank(rule.host, ruleNamespace: rule.namespace, fqdn: key.fqdn) != nil
            }
            if let oldest = candidates.min(by: { ($0.creationTimestamp, $0.name) < ($1.creationTimestamp, $1.name) }) {
                return oldest
            }
        }
        return nil
    }

    /// 0 for an exact match of the Service's FQDN, 1 for a wildcard match, nil for none. A name without dots
    /// is a short name in the rule's namespace; a dotted name is taken literally (Istio expands only short names).
    static func hostRank(_ host: String, ruleNamespace: String, fqdn: String) -> Int? {
        let name = host.lowercased()
        if name == "*" { return 1 }
        if name.hasPrefix("*") { return fqdn.hasSuffix(name.dropFirst()) ? 1 : nil }
        let expanded = name.contains(".") ? name : "\(name).\(ruleNamespace).svc.cluster.local"
        return expanded == fqdn ? 0 : nil
    }

    /// `exportTo`: empty or `*` = every namespace, `.` = the rule's own namespace, otherwise the names listed.
    static func isExported(_ exportTo: [String], from ruleNamespace: String, to namespace: String) -> Bool {
        if exportTo.isEmpty || exportTo.contains("*") { return true }
        return exportTo.contains { $0 == namespace || ($0 == "." && ruleNamespace == namespace) }
    }

    private static func target(
        of destination: RouteDestinationRule, ruleNamespace: String, request: MeshRequest, sourceCluster: String,
        sourceNamespace: String, in view: MeshView, cluster: ClusterView
    ) -> RoutedRequest {
        let port = destination.port ?? request.port
        let host = destination.host.contains(".") ? destination.host : "\(destination.host).\(ruleNamespace).svc.cluster.local"
        let envoyCluster = "outbound|\(port)|\(destination.subset ?? "")|\(host.lowercased())"
        let resolution = resolve(
            host: host, port: port, sourceCluster: sourceCluster, sourceNamespace: ruleNamespace,
            sourceHasSidecar: true, in: view)
        guard case .service(let key, var endpoints) = resolution else {
            return RoutedRequest(decision: .clusterNotFound(cluster: envoyCluster))
        }
        let rule = destinationRule(for: key, in: cluster, sourceNamespace: sourceNamespace)
        if let subsetName = destination.subset {
            guard let subset = rule?.subsets.first(where: { $0.name == subsetName }) else {
                return RoutedRequest(decision: .clusterNotFound(cluster: envoyCluster))
            }
            endpoints = endpoints.filter { endpoint in subset.labels.allSatisfy { endpoint.labels[$0.key] == $0.value } }
        }
        return RoutedRequest(
            decision: endpoints.isEmpty ? .noHealthyUpstream(key) : .forward(key, endpoints: endpoints),
            upstreamCluster: envoyCluster, trafficPolicy: rule?.trafficPolicy)
    }
}
