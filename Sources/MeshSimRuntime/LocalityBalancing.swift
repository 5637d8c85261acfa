// Locality load balancing as Istio configures it and Envoy carries it out. istiod turns a DestinationRule's
// `localityLbSetting` into Envoy priorities (or locality weights, for `distribute`) relative to the client
// proxy's locality; priorities only when the rule also has `outlierDetection` ("failover needs outlier
// detection, otherwise Envoy will never drop down to a lower priority", istio/istio loadbalancer.go). Envoy then
// splits the load over the priorities by their health with an overprovisioning factor of 1.4, so a priority
// keeps all the traffic while at least ~72% of its hosts are healthy. Pure: no I/O, randomness passed in.
//
// Not modelled: Envoy's panic threshold (below 50% total availability Envoy balances over every host, healthy
// or not), degraded hosts, and subset-level traffic policies (`subsets[].trafficPolicy` is ignored).

/// Where an endpoint (or a client proxy) runs: its node's `topology.kubernetes.io/region`,
/// `topology.kubernetes.io/zone` and `topology.istio.io/subzone` labels (empty when unlabelled).
package struct Locality: Hashable, Sendable, CustomStringConvertible {
    package var region: String
    package var zone: String
    package var subzone: String

    package init(region: String = "", zone: String = "", subzone: String = "") {
        self.region = region
        self.zone = zone
        self.subzone = subzone
    }

    package static let regionLabel = "topology.kubernetes.io/region"
    package static let zoneLabel = "topology.kubernetes.io/zone"
    package static let subzoneLabel = "topology.istio.io/subzone"

    /// The locality of a node with these labels.
    package init(nodeLabels: [String: String]) {
        self.init(
            region: nodeLabels[Self.regionLabel] ?? "", zone: nodeLabels[Self.zoneLabel] ?? "",
            subzone: nodeLabels[Self.subzoneLabel] ?? "")
    }

    /// `region/zone/subzone`, as Istio writes localities.
    package var description: String { subzone.isEmpty ? "\(region)/\(zone)" : "\(region)/\(zone)/\(subzone)" }

    /// Istio's locality pattern match (`util.LocalityMatch`): `region[/zone[/subzone]]`, where `*` or a
    /// missing part matches anything.
    package func matches(_ pattern: String) -> Bool {
        let parts = pattern.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let mine = [region, zone, subzone]
        for (index, part) in parts.enumerated() where index < mine.count {
            if part == "*" { return true }
            if part != mine[index] { return false }
        }
        return true
    }
}

/// `localityLbSetting.distribute[]`: clients matching `from` send `to[locality pattern]` percent to each.
package struct LocalityDistributeRule: Equatable, Sendable {
    package var from: String
    package var to: [String: Int]

    package init(from: String, to: [String: Int]) {
        self.from = from
        self.to = to
    }
}

/// `localityLbSetting.failover[]`: clients in region `from` fail over to region `to` before any other.
package struct LocalityFailoverRule: Equatable, Sendable {
    package var from: String
    package var to: String

    package init(from: String, to: String) {
        self.from = from
        self.to = to
    }
}

/// `trafficPolicy.loadBalancer.localityLbSetting`.
package struct LocalityLbSettingRule: Equatable, Sendable {
    /// nil: the mesh default, which is enabled.
    package var enabled: Bool?
    package var distribute: [LocalityDistributeRule]
    package var failover: [LocalityFailoverRule]
    package var failoverPriority: [String]

    package init(
        enabled: Bool? = nil, distribute: [LocalityDistributeRule] = [], failover: [LocalityFailoverRule] = [],
        failoverPriority: [String] = []
    ) {
        self.enabled = enabled
        self.distribute = distribute
        self.failover = failover
        self.failoverPriority = failoverPriority
    }
}

/// `trafficPolicy.outlierDetection`, with Istio's (Envoy's) defaults for absent fields.
package struct OutlierDetectionRule: Equatable, Sendable {
    /// Ejects after this many consecutive 5xx (and local connect failures); 0 disables.
    package var consecutive5xxErrors: Int
    /// Ejects after this many consecutive 502/503/504 (and local connect failures); 0 disables.
    package var consecutiveGatewayErrors: Int
    package var interval: Duration
    package var baseEjectionTime: Duration
    package var maxEjectionPercent: Int

    package init(
        consecutive5xxErrors: Int = 5, consecutiveGatewayErrors: Int = 0, interval: Duration = .seconds(10),
        baseEjectionTime: Duration = .seconds(30), maxEjectionPercent: Int = 10
    ) {
        self.consecutive5xxErrors = consecutive5xxErrors
        self.consecutiveGatewayErrors = consecutiveGatewayErrors
        self.interval = interval
        self.baseEjectionTime = baseEjectionTime
        self.maxEjectionPercent = maxEjectionPercent
    }
}

/// A DestinationRule's top-level `trafficPolicy`, the parts the simulation acts on.
package struct TrafficPolicyRule: Equatable, Sendable {
    package var localityLbSetting: LocalityLbSettingRule?
    package var outlierDetection: OutlierDetectionRule?

    package init(localityLbSetting: LocalityLbSettingRule? = nil, outlierDetection: OutlierDetectionRule? = nil) {
        self.localityLbSetting = localityLbSetting
        self.outlierDetection = outlierDetection
    }
}

/// The client proxy's side of the comparison: its locality and its labels (pod labels plus the topology labels
/// Istio adds: region, zone, subzone, `topology.istio.io/cluster` and `topology.istio.io/network`).
package struct LocalityClient: Equatable, Sendable {
    package var locality: Locality
    package var labels: [String: String]

    package init(locality: Locality, labels: [String: String] = [:]) {
        self.locality = locality
        self.labels = labels
    }
}

/// How istiod lays a cluster's endpoints out for one client.
package enum LocalityLayout: Equatable, Sendable {
    /// One priority, no locality weights: plain balancing over every endpoint (no outlier detection, or
    /// locality load balancing disabled).
    case flat
    /// `priorities[i]` is endpoint i's priority, 0 the most preferred, without gaps.
    case priorities([Int])
    /// One priority; `weights[i]` is endpoint i's locality's weight (0: left out, as istiod drops it).
    case weighted(localities: [Locality], weights: [Int])
}

package enum LocalityBalancing {
    /// Envoy's default overprovisioning factor, in percent.
    package static let overprovisioningFactor = 140

    /// The layout istiod sends a client for `endpoints` (with `labels[i]` endpoint i's labels plus topology
    /// labels) under `policy` (istio/istio `ApplyLocalityLoadBalancer`): `distribute` weights need only locality
    /// load balancing enabled (the mesh default); priorities need outlierDetection as well.
    package static func layout(
        endpoints localities: [Locality], labels: [[String: String]], client: LocalityClient, policy: TrafficPolicyRule?
    ) -> LocalityLayout {
        let setting = policy?.localityLbSetting ?? LocalityLbSettingRule()
        guard setting.enabled ?? true else { return .flat }
        if !setting.distribute.isEmpty {
            // Only the first rule whose `from` matches the client applies; with none, istiod leaves the endpoints as they are.
            guard let rule = setting.distribute.first(where: { client.locality.matches($0.from) }) else { return .flat }
            return .weighted(localities: localities, weights: distributeWeights(localities, rule: rule))
        }
        guard policy?.outlierDetection != nil else { return .flat }
        let localityRanks = localities.map { rank($0, client: client.locality, failover: setting.failover) }
        guard !setting.failoverPriority.isEmpty else { return .priorities(compact(localityRanks.map { [$0] })) }
        let labelRanks = labels.map { labelRank($0, client: client.labels, keys: setting.failoverPriority) }
        // istiod applies failoverPriority first and, when `failover` is also given, the locality order inside
        // each label priority (label priority × 5 + locality priority, then compacted).
        if setting.failover.isEmpty { return .priorities(compact(labelRanks.map { [$0] })) }
        return .priorities(compact(zip(labelRanks, localityRanks).map { [$0, $1] }))
    }

    /// Istio's locality priority before compaction: 0 region, zone and subzone match; 1 region and zone; 2
    /// region; 3 another region; 4 another region when a `failover` rule for the client's region names a
    /// different one.
    package static func rank(_ endpoint: Locality, client: Locality, failover: [LocalityFailoverRule]) -> Int {
        if endpoint.region == client.region {
            if endpoint.zone == client.zone { return endpoint.subzone == client.subzone ? 0 : 1 }
            return 2
        }
        if let rule = failover.first(where: { $0.from == client.region }), rule.to != endpoint.region { return 4 }
        return 3
    }

    /// `failoverPriority`: the count of leading keys whose values the endpoint shares with the client (a key
    /// absent on both sides counts as shared, as in istiod), turned into a priority (all match → 0, none →
    /// keys.count). A key written `label=value` compares the endpoint with `value` instead of the client's label.
    package static func labelRank(_ endpoint: [String: String], client: [String: String], keys: [String]) -> Int {
        var matched = 0
        for key in keys {
            let parts = key.split(separator: "=", maxSplits: 1).map(String.init)
            let wanted = parts.count == 2 ? parts[1] : client[parts[0]]
            guard endpoint[parts[0]] == wanted else { break }
            matched += 1
        }
        return keys.count - matched
    }

    /// Renumbers sort keys into priorities 0, 1, 2, ... without gaps, as istiod does.
    static func compact(_ keys: [[Int]]) -> [Int] {
        let distinct = Array(Set(keys)).sorted { $0.lexicographicallyPrecedes($1) }
        let index = Dictionary(uniqueKeysWithValues: distinct.enumerated().map { ($1, $0) })
        return keys.map { index[$0] ?? 0 }
    }

    /// `distribute` (istiod's `applyLocalityWeights`): each `to` pattern claims the localities it matches that no
    /// pattern before it (in sorted order; istiod's map order is random) claimed, and splits its weight over them in
    /// proportion to their endpoint counts, rounding up. Endpoints whose locality no pattern claims get 0 (istiod
    /// drops them). The result is per endpoint: its locality's weight.
    package static func distributeWeights(_ localities: [Locality], rule: LocalityDistributeRule) -> [Int] {
        var counts: [Locality: Int] = [:]
        for locality in localities { counts[locality, default: 0] += 1 }
        var localityWeight: [Locality: Int] = [:]
        for pattern in rule.to.keys.sorted() {
            let claimed = counts.keys.filter { localityWeight[$0] == nil && $0.matches(pattern) }
            let total = claimed.reduce(0) { $0 + (counts[$1] ?? 0) }
            guard total > 0 else { continue }
            let weight = max(rule.to[pattern] ?? 0, 0)
            for locality in claimed { localityWeight[locality] = (weight * (counts[locality] ?? 0) + total - 1) / total }
        }
        return localities.map { localityWeight[$0] ?? 0 }
    }

    /// A priority's (or locality's) health in percent: 140 × healthy / total, at most 100.
    package static func health(healthy: Int, total: Int) -> Int {
        guard total > 0 else { return 0 }
        return min(100, overprovisioningFactor * healthy / total)
    }

    /// Envoy's priority load (`recalculatePerPriorityState`): priorities take their health in order until 100
    /// is handed out; when the summed health is under 100 every share is scaled up by 100 / sum; a rounding
    /// remainder goes to the first priority that took load. No healthy host anywhere: all to priority 0.
    package static func priorityLoad(health: [Int]) -> [Int] {
        guard !health.isEmpty else { return [] }
        let total = min(100, health.reduce(0, +))
        var load = Array(repeating: 0, count: health.count)
        guard total > 0 else {
            load[0] = 100
            return load
        }
        var remaining = 100
        var firstLoaded: Int?
        for (index, value) in health.enumerated() {
            let share = min(remaining, value * 100 / total)
            remaining -= share
            load[index] = share
            if share > 0, firstLoaded == nil { firstLoaded = index }
        }
        if remaining > 0, let firstLoaded { load[firstLoaded] += remaining }
        return load
    }

    /// Index of a weighted draw over `weights` (non-positive weights never drawn); nil when all are 0.
    package static func drawIndex<Generator: RandomNumberGenerator>(_ weights: [Int], using generator: inout Generator) -> Int? {
        let total = weights.reduce(0) { $0 + max($1, 0) }
        guard total > 0 else { return nil }
        var draw = Int.random(in: 0..<total, using: &generator)
        for (index, weight) in weights.enumerated() where weight > 0 {
            if draw < weight { return index }
            draw -= weight
        }
        return nil
    }

    /// The endpoints (indices into the layout's endpoint list) one request may be balanced over: the priority
    /// (or, for `distribute`, the locality) drawn by load, restricted to its healthy endpoints. Every endpoint
    /// healthy or not, when nothing is healthy (Envoy then still sends to priority 0, and the request fails).
    package static func candidates<Generator: RandomNumberGenerator>(
        layout: LocalityLayout, healthy: [Bool], using generator: inout Generator
    ) -> [Int] {
        let all = Array(healthy.indices)
        switch layout {
        case .flat:
            let usable = all.filter { healthy[$0] }
            return usable.isEmpty ? all : usable
        case .priorities(let priorities):
            let count = (priorities.max() ?? -1) + 1
            guard count > 0 else { return [] }
            var totals = Array(repeating: 0, count: count)
            var healthyCounts = Array(repeating: 0, count: count)
            for index in all {
                totals[priorities[index]] += 1
                if healthy[index] { healthyCounts[priorities[index]] += 1 }
            }
            let load = priorityLoad(health: zip(healthyCounts, totals).map { health(healthy: $0, total: $1) })
            let chosen = drawIndex(load, using: &generator) ?? 0
            let members = all.filter { priorities[$0] == chosen }
            let usable = members.filter { healthy[$0] }
            return usable.isEmpty ? members : usable
        case .weighted(let localities, let weights):
            // Envoy's locality-weighted balancing: a locality's effective weight is its weight times its
            // availability (health, overprovisioned); the host is then chosen inside the drawn locality.
            let distinct = Array(Set(zip(localities, weights).filter { $0.1 > 0 }.map(\.0))).sorted { $0.description < $1.description }
            let effective = distinct.map { locality -> Int in
                let members = all.filter { localities[$0] == locality }
                let weight = members.first.map { weights[$0] } ?? 0
                return weight * health(healthy: members.filter { healthy[$0] }.count, total: members.count)
            }
            guard let chosen = drawIndex(effective, using: &generator) else {
                return all.filter { weights[$0] > 0 }
            }
            return all.filter { localities[$0] == distinct[chosen] && healthy[$0] }
        }
    }
}
