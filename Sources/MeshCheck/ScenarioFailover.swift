// Failover and locality in a scenario: the DestinationRule meshcheck creates for Istio's locality load balancing
// (`routing.locality`), the timed disruptions it applies to its own objects during the load (`disruptions:`), the
// time-series window (`timeline:`), and what the `locality` and `failover` checks expect (`expectations.locality`,
// `expectations.failover`). Nothing here touches a cluster.

import Yams

/// `routing.locality`: `trafficPolicy.loadBalancer.localityLbSetting` and `trafficPolicy.outlierDetection` of a
/// DestinationRule for HelloWorld, with Istio's field names. Istio applies locality load balancing (and so failover)
/// only to a destination that has outlier detection: without it every endpoint is in one priority and nothing fails
/// over, which is why a scenario may leave it out (to see that) but the run says so.
package struct LocalityRouting: Sendable, Equatable {
    /// `localityLbSetting.failover`: traffic leaves region `from` for region `to` when `from` has no healthy endpoint.
    package var failover: [LocalityFailoverRule]
    /// `localityLbSetting.failoverPriority`: endpoint labels, most important first; an endpoint matching the client on
    /// more leading labels has the higher priority (`topology.kubernetes.io/region`, `topology.kubernetes.io/zone`, ...).
    package var failoverPriority: [String]
    /// `localityLbSetting.distribute`: per client locality, the percent of traffic each endpoint locality gets.
    package var distribute: [LocalityDistributeRule]
    /// `trafficPolicy.outlierDetection`; nil = not set.
    package var outlierDetection: OutlierDetectionSettings?

    package init(
        failover: [LocalityFailoverRule] = [], failoverPriority: [String] = [], distribute: [LocalityDistributeRule] = [],
        outlierDetection: OutlierDetectionSettings? = nil
    ) {
        self.failover = failover
        self.failoverPriority = failoverPriority
        self.distribute = distribute
        self.outlierDetection = outlierDetection
    }

    /// Whether Istio applies locality load balancing to the DestinationRule's host: `distribute` weights always apply;
    /// priorities (and so failover) only with outlier detection — the mesh default `localityLbSetting.enabled: true` then
    /// applies even without this block's fields. (istiod's ApplyLocalityLoadBalancer: "Failover needs outlier detection,
    /// otherwise Envoy will never drop down to a lower priority.")
    package var isInEffect: Bool { outlierDetection != nil || !distribute.isEmpty }
}

package struct LocalityFailoverRule: Sendable, Equatable {
    /// A region, e.g. `us-central1`.
    package var from: String
    package var to: String

    package init(from: String, to: String) {
        self.from = from
        self.to = to
    }
}

package struct LocalityDistributeRule: Sendable, Equatable {
    /// A client locality: `region`, `region/zone` or `region/zone/subzone`, `*` allowed as a whole segment.
    package var from: String
    /// Endpoint locality → percent; the percents add up to 100.
    package var to: [String: Int]

    package init(from: String, to: [String: Int]) {
        self.from = from
        self.to = to
    }
}

/// Istio's `OutlierDetection` fields meshcheck sets; nil leaves Istio's default.
package struct OutlierDetectionSettings: Sendable, Equatable {
    /// Istio's defaults, which the simulated sidecars and the expected failover window use when a field is unset.
    package static let defaultConsecutive5xxErrors = 5
    package static let defaultInterval: Duration = .seconds(10)
    package static let defaultBaseEjectionTime: Duration = .seconds(30)
    package static let defaultMaxEjectionPercent = 10

    package var consecutive5xxErrors: Int?
    package var consecutiveGatewayErrors: Int?
    package var interval: Duration?
    package var baseEjectionTime: Duration?
    package var maxEjectionPercent: Int?

    package init(
        consecutive5xxErrors: Int? = nil, consecutiveGatewayErrors: Int? = nil, interval: Duration? = nil,
        baseEjectionTime: Duration? = nil, maxEjectionPercent: Int? = nil
    ) {
        self.consecutive5xxErrors = consecutive5xxErrors
        self.consecutiveGatewayErrors = consecutiveGatewayErrors
        self.interval = interval
        self.baseEjectionTime = baseEjectionTime
        self.maxEjectionPercent = maxEjectionPercent
    }
}

/// One timed action on objects meshcheck owns, applied during the load and undone at `restoreAt`.
package struct Disruption: Sendable, Equatable {
    package enum Action: Sendable, Equatable {
        /// Scale the HelloWorld Deployment of each listed cluster to 0 replicas; restore sets the scenario's count back.
        case scaleToZero(clusters: [String])
        /// A VirtualService for HelloWorld in each listed (client) cluster whose route aborts `percent` of the requests
        /// with `httpStatus` (Istio's `fault.abort`); restore deletes it. Istio injects faults in the client's sidecar,
        /// per route, so a fault reaches the requests of the clusters whose sidecars it configures.
        case abort(percent: Double, httpStatus: Int, clusters: [String])

        /// The names scenario files and reports use.
        package var kind: String {
            switch self {
            case .scaleToZero: return "scale-to-zero"
            case .abort: return "abort"
            }
        }

        package var clusters: [String] {
            switch self {
            case .scaleToZero(let clusters), .abort(_, _, let clusters): return clusters
            }
        }

        /// An abort's percent and status, as reports state them; nil for other actions.
        package var abortFault: (percent: Double, httpStatus: Int)? {
            guard case .abort(let percent, let httpStatus, _) = self else { return nil }
            return (percent, httpStatus)
        }
    }

    /// DNS-1123 label, unique in the scenario; names the disruption in reports and in the objects' labels.
    package var name: String
    package var action: Action
    /// From the start of the load.
    package var at: Duration
    /// From the start of the load; nil = left in place until the load ends (cleanup still removes it).
    package var restoreAt: Duration?

    package init(name: String, action: Action, at: Duration, restoreAt: Duration? = nil) {
        self.name = name
        self.action = action
        self.at = at
        self.restoreAt = restoreAt
    }
}

/// `expectations.locality`: the share of each source's requests its own locality must serve while healthy.
package struct LocalityExpectation: Sendable, Equatable {
    package enum Scope: String, Sendable, Equatable, CaseIterable {
        case zone
        case region
    }

    package var scope: Scope
    /// Judged with the one-sided binomial test of `balance: local-preferred`, at the scenario's significance.
    package var minShare: Double

    package init(scope: Scope = .zone, minShare: Double = 0.9) {
        self.scope = scope
        self.minShare = minShare
    }
}

/// `expectations.failover`: bounds on the failover figures of every disruption and affected source.
package struct FailoverExpectation: Sendable, Equatable {
    /// From the action to the first window after which the disrupted clusters' share stays at or below
    /// `shareThreshold` and no request fails.
    package var maxFailoverSeconds: Double?
    /// Failed requests of one source between the action and its failover.
    package var maxErrorsDuringFailover: Int?
    /// From the restore to the first window after which the disrupted clusters serve their healthy share again.
    package var maxRecoverySeconds: Double?
    /// The share at or below which a disrupted cluster counts as failed away from.
    package var shareThreshold: Double

    package static let defaultShareThreshold = 0.05

    package init(
        maxFailoverSeconds: Double? = nil, maxErrorsDuringFailover: Int? = nil, maxRecoverySeconds: Double? = nil,
        shareThreshold: Double = FailoverExpectation.defaultShareThreshold
    ) {
        self.maxFailoverSeconds = maxFailoverSeconds
        self.maxErrorsDuringFailover = maxErrorsDuringFailover
        self.maxRecoverySeconds = maxRecoverySeconds
        self.shareThreshold = shareThreshold
    }
}

/// `timeline:` how the run's requests are grouped in time.
package struct TimelineSettings: Sendable, Equatable {
    package static let defaultWindow: Duration = .seconds(1)

    /// Width of one window of the per-source time series (100 ms to 60 s).
    package var window: Duration

    package init(window: Duration = TimelineSettings.defaultWindow) {
        self.window = window
    }

}

// MARK: - Reading

extension ScenarioReader {
    static let localityKeys = ["failover", "failoverPriority", "distribute", "outlierDetection"]
    static let localityFailoverKeys = ["from", "to"]
    static let distributeKeys = ["from", "to"]
    static let outlierKeys = ["consecutive5xxErrors", "consecutiveGatewayErrors", "interval", "baseEjectionTime", "maxEjectionPercent"]
    static let disruptionKeys = ["name", "scaleToZero", "abort", "at", "restoreAt"]
    static let scaleKeys = ["cluster", "clusters", "version"]
    static let abortKeys = ["percent", "httpStatus", "clusters"]
    static let timelineKeys = ["window"]
    static let localityExpectationKeys = ["scope", "minShare"]
    static let failoverExpectationKeys = ["maxFailoverSeconds", "maxErrorsDuringFailover", "maxRecoverySeconds", "shareThreshold"]
    /// Disruptions act within a run; a day bounds a typo like `at: 20h`.
    static let maxDisruptionTime: Duration = .seconds(24 * 3600)

    func locality(_ node: Node) -> LocalityRouting? {
        let path = "routing.locality"
        guard let fields = Fields(node, path: path, log: log, allowed: Self.localityKeys) else { return nil }
        var locality = LocalityRouting()
        if let node = fields["failover"], let items = read.list(node, fields.path("failover")) {
            for (index, item) in items.enumerated() {
                let itemPath = "\(path).failover[\(index)]"
                guard let rule = Fields(item, path: itemPath, log: log, allowed: Self.localityFailoverKeys) else { continue }
                guard let from = rule["from"].flatMap({ read.string($0, rule.path("from")) }),
                    let to = rule["to"].flatMap({ read.string($0, rule.path("to")) })
                else {
                    log.add(item, itemPath, "needs `from` and `to` regions, e.g. `{from: us-central1, to: us-east1}`")
                    continue
                }
                locality.failover.append(LocalityFailoverRule(from: from, to: to))
            }
        }
        if let node = fields["failoverPriority"], let items = read.list(node, fields.path("failoverPriority")) {
            locality.failoverPriority = items.enumerated().compactMap { read.string($1, "\(path).failoverPriority[\($0)]") }
        }
        if let node = fields["distribute"], let items = read.list(node, fields.path("distribute")) {
            for (index, item) in items.enumerated() {
                let itemPath = "\(path).distribute[\(index)]"
                guard let rule = Fields(item, path: itemPath, log: log, allowed: Self.distributeKeys) else { continue }
                guard let from = rule["from"].flatMap({ read.string($0, rule.path("from")) }), let toNode = rule["to"],
                    let entries = read.stringMap(toNode, rule.path("to"))
                else {
                    log.add(
                        item, itemPath,
                        "needs `from` (a locality) and `to` (locality: percent), e.g. `{from: us-central1/us-central1-a/*, to: {us-central1/us-central1-a/*: 80, us-central1/us-central1-b/*: 20}}`"
                    )
                    continue
                }
                var to: [String: Int] = [:]
                for entry in entries {
                    if let percent = read.integer(entry.value, "\(itemPath).to.\(entry.key)", in: 0...100) { to[entry.key] = percent }
                }
                locality.distribute.append(LocalityDistributeRule(from: from, to: to))
            }
        }
        if let node = fields["outlierDetection"] {
            locality.outlierDetection = outlierDetection(node)
        } else if case .mapping(let mapping) = node,
            mapping.contains(where: { $0.key.string == "outlierDetection" })
        {
            // `outlierDetection:` with no value (or `{}`) sets it with Istio's defaults.
            locality.outlierDetection = OutlierDetectionSettings()
        }
        return locality
    }

    private func outlierDetection(_ node: Node) -> OutlierDetectionSettings? {
        let path = "routing.locality.outlierDetection"
        guard let fields = Fields(node, path: path, log: log, allowed: Self.outlierKeys) else { return nil }
        var settings = OutlierDetectionSettings()
        if let node = fields["consecutive5xxErrors"] {
            settings.consecutive5xxErrors = read.integer(node, fields.path("consecutive5xxErrors"), in: 0...1_000_000)
        }
        if let node = fields["consecutiveGatewayErrors"] {
            settings.consecutiveGatewayErrors = read.integer(node, fields.path("consecutiveGatewayErrors"), in: 0...1_000_000)
        }
        if let node = fields["interval"] { settings.interval = read.duration(node, fields.path("interval"), max: .seconds(24 * 3600)) }
        if let node = fields["baseEjectionTime"] { settings.baseEjectionTime = read.duration(node, fields.path("baseEjectionTime"), max: .seconds(24 * 3600)) }
        if let node = fields["maxEjectionPercent"] { settings.maxEjectionPercent = read.integer(node, fields.path("maxEjectionPercent"), in: 0...100) }
        return settings
    }

    /// `disruptions:`; cluster lists are resolved against `clusters` (a version names the clusters serving it, an
    /// abort without clusters reaches every client cluster).
    func disruptions(_ node: Node, clusters: [ClusterSpec]) -> [Disruption] {
        guard let items = read.list(node, "disruptions") else { return [] }
        var out: [Disruption] = []
        for (index, item) in items.enumerated() {
            let path = "disruptions[\(index)]"
            guard let fields = Fields(item, path: path, log: log, allowed: Self.disruptionKeys) else { continue }
            let scale = fields["scaleToZero"]
            let abort = fields["abort"]
            let action: Disruption.Action?
            switch (scale, abort) {
            case (let scale?, nil): action = scaleAction(scale, path: fields.path("scaleToZero"), clusters: clusters)
            case (nil, let abort?): action = abortAction(abort, path: fields.path("abort"), clusters: clusters)
            default:
                log.add(item, path, "needs exactly one action: `scaleToZero: {cluster: cluster-1}` or `abort: {percent: 50, httpStatus: 503}`")
                action = nil
            }
            guard let atNode = fields["at"] else {
                log.add(item, fields.path("at"), "is required: when the action starts, from the start of the load (e.g. `at: 20s`)")
                continue
            }
            guard let action, let at = read.duration(atNode, fields.path("at"), max: Self.maxDisruptionTime) else { continue }
            let restoreAt = fields["restoreAt"].flatMap { read.duration($0, fields.path("restoreAt"), max: Self.maxDisruptionTime) }
            let name = fields["name"].flatMap { read.string($0, fields.path("name")) } ?? "\(action.kind)-\(index + 1)"
            out.append(Disruption(name: name, action: action, at: at, restoreAt: restoreAt))
        }
        return out
    }

    private func scaleAction(_ node: Node, path: String, clusters: [ClusterSpec]) -> Disruption.Action? {
        guard let fields = Fields(node, path: path, log: log, allowed: Self.scaleKeys) else { return nil }
        var names: [String] = []
        if let node = fields["cluster"], let name = read.string(node, fields.path("cluster")) { names.append(name) }
        if let node = fields["clusters"], let items = read.list(node, fields.path("clusters")) {
            names += items.enumerated().compactMap { read.string($1, "\(path).clusters[\($0)]") }
        }
        if let node = fields["version"], let version = read.string(node, fields.path("version")) {
            let serving = clusters.filter { $0.serves == version }.map(\.name)
            if serving.isEmpty {
                log.add(
                    node, fields.path("version"),
                    "no cluster serves version \(NameRules.quoted(version)); served versions: \(Scenario(name: "", clusters: clusters).versions.joined(separator: ", "))"
                )
                return nil
            }
            names += serving
        }
        if names.isEmpty {
            log.add(node, path, "names what to scale to 0: `cluster`, `clusters` or `version`")
            return nil
        }
        return .scaleToZero(clusters: names)
    }

    private func abortAction(_ node: Node, path: String, clusters: [ClusterSpec]) -> Disruption.Action? {
        guard let fields = Fields(node, path: path, log: log, allowed: Self.abortKeys) else { return nil }
        guard let percentNode = fields["percent"] else {
            log.add(node, fields.path("percent"), "is required: the percent of requests aborted (0 < percent ≤ 100)")
            return nil
        }
        guard let percent = read.number(percentNode, fields.path("percent"), in: 0...100, openLower: true) else { return nil }
        let status = fields["httpStatus"].flatMap { read.integer($0, fields.path("httpStatus"), in: 200...599) } ?? 503
        var names = clusters.filter(\.clients).map(\.name)
        if let node = fields["clusters"], let items = read.list(node, fields.path("clusters")) {
            names = items.enumerated().compactMap { read.string($1, "\(path).clusters[\($0)]") }
        }
        return .abort(percent: percent, httpStatus: status, clusters: names)
    }

    func timeline(_ node: Node) -> TimelineSettings? {
        guard let fields = Fields(node, path: "timeline", log: log, allowed: Self.timelineKeys) else { return nil }
        var settings = TimelineSettings()
        if let node = fields["window"] { settings.window = read.duration(node, "timeline.window", max: .seconds(60)) ?? settings.window }
        return settings
    }

    func localityExpectation(_ node: Node) -> LocalityExpectation? {
        let path = "expectations.locality"
        guard let fields = Fields(node, path: path, log: log, allowed: Self.localityExpectationKeys) else { return nil }
        var expectation = LocalityExpectation()
        if let node = fields["scope"] {
            let options = LocalityExpectation.Scope.allCases.map(\.rawValue)
            expectation.scope = read.choice(node, fields.path("scope"), among: options).flatMap(LocalityExpectation.Scope.init(rawValue:)) ?? .zone
        }
        if let node = fields["minShare"] {
            expectation.minShare = read.number(node, fields.path("minShare"), in: 0...1, openLower: true) ?? expectation.minShare
        }
        return expectation
    }

    func failoverExpectation(_ node: Node) -> FailoverExpectation? {
        let path = "expectations.failover"
        guard let fields = Fields(node, path: path, log: log, allowed: Self.failoverExpectationKeys) else { return nil }
        var expectation = FailoverExpectation()
        if let node = fields["maxFailoverSeconds"] { expectation.maxFailoverSeconds = read.number(node, fields.path("maxFailoverSeconds"), in: 0...86_400) }
        if let node = fields["maxErrorsDuringFailover"] {
            expectation.maxErrorsDuringFailover = read.integer(node, fields.path("maxErrorsDuringFailover"), in: 0...1_000_000_000)
        }
        if let node = fields["maxRecoverySeconds"] { expectation.maxRecoverySeconds = read.number(node, fields.path("maxRecoverySeconds"), in: 0...86_400) }
        if let node = fields["shareThreshold"] {
            expectation.shareThreshold = read.number(node, fields.path("shareThreshold"), in: 0...1) ?? expectation.shareThreshold
        }
        return expectation
    }
}

// MARK: - Rules over the whole scenario

extension ScenarioValidator {
    /// The load must outlast the last disruption time by this much, so the figures see the traffic settle.
    static let loadAfterLastDisruption: Duration = .seconds(5)

    static func failoverProblems(_ scenario: Scenario) -> [(String, String)] {
        var out: [(String, String)] = []
        if let locality = scenario.locality { out += localityRoutingProblems(locality) }
        let window = scenario.timeline.window
        if window < .milliseconds(100) || window > .seconds(60) {
            out.append(("timeline.window", "must be between 100ms and 60s, got \(formatDuration(window))"))
        }
        if let expectation = scenario.expectations.locality, !(expectation.minShare > 0 && expectation.minShare <= 1) {
            out.append(("expectations.locality.minShare", "must be greater than 0 and at most 1"))
        }
        let threshold = scenario.expectations.failover.shareThreshold
        if !(threshold >= 0 && threshold < 1) {
            out.append(("expectations.failover.shareThreshold", "must be at least 0 and below 1"))
        }
        out += disruptionProblems(scenario)
        return out
    }

    private static func localityRoutingProblems(_ locality: LocalityRouting) -> [(String, String)] {
        let path = "routing.locality"
        var out: [(String, String)] = []
        if !locality.failover.isEmpty, !locality.distribute.isEmpty {
            // Istio's validation refuses the combination: distribute fixes the weights failover would change.
            out.append((path, "sets both `failover` and `distribute`, which Istio refuses; use one"))
        }
        for (index, rule) in locality.failover.enumerated() {
            for (key, region) in [("from", rule.from), ("to", rule.to)] where region.isEmpty || region.contains("/") || region.contains("*") {
                out.append(("\(path).failover[\(index)].\(key)", "must be a region (no `/` or `*`), got \(NameRules.quoted(region))"))
            }
            if rule.from == rule.to { out.append(("\(path).failover[\(index)]", "fails region \(NameRules.quoted(rule.from)) over to itself")) }
        }
        for (index, label) in locality.failoverPriority.enumerated() where label.isEmpty || label.contains(" ") {
            out.append(("\(path).failoverPriority[\(index)]", "must be a label key, e.g. topology.kubernetes.io/zone, got \(NameRules.quoted(label))"))
        }
        for (index, rule) in locality.distribute.enumerated() {
            if let problem = localityPatternProblem(rule.from) { out.append(("\(path).distribute[\(index)].from", problem)) }
            for key in rule.to.keys.sorted() {
                if let problem = localityPatternProblem(key) { out.append(("\(path).distribute[\(index)].to.\(key)", problem)) }
            }
            let total = rule.to.values.reduce(0, +)
            if total != 100 { out.append(("\(path).distribute[\(index)].to", "percents must add up to 100, got \(total)")) }
        }
        if let detection = locality.outlierDetection {
            for (key, value) in [("interval", detection.interval), ("baseEjectionTime", detection.baseEjectionTime)] {
                if let value, value < .milliseconds(1) { out.append(("\(path).outlierDetection.\(key)", "must be at least 1ms")) }
            }
        }
        return out
    }

    /// Istio's locality form: `region`, `region/zone` or `region/zone/subzone`, `*` only as a whole (last) segment.
    static func localityPatternProblem(_ pattern: String) -> String? {
        let segments = pattern.split(separator: "/", omittingEmptySubsequences: false)
        let shape = "must be region[/zone[/subzone]] with `*` only as a whole last segment, got \(NameRules.quoted(pattern))"
        guard (1...3).contains(segments.count), !segments.contains(where: \.isEmpty) else { return shape }
        for (index, segment) in segments.enumerated() where segment.contains("*") {
            if segment != "*" || index != segments.count - 1 { return shape }
        }
        return nil
    }

    private static func disruptionProblems(_ scenario: Scenario) -> [(String, String)] {
        var out: [(String, String)] = []
        let names = scenario.clusters.map(\.name)
        let serving = Set(scenario.servingClusters.map(\.name))
        let clients = Set(scenario.clientClusters.map(\.name))
        var seen = Set<String>()
        var lastMoment: Duration = .zero
        for (index, disruption) in scenario.disruptions.enumerated() {
            let path = "disruptions[\(index)]"
            if let problem = NameRules.dns1123LabelProblem(disruption.name) { out.append(("\(path).name", problem)) }
            if !seen.insert(disruption.name).inserted { out.append(("\(path).name", "\(NameRules.quoted(disruption.name)) names an earlier disruption too")) }
            let actionPath = "\(path).\(disruption.action.kind == "abort" ? "abort" : "scaleToZero").clusters"
            for cluster in disruption.action.clusters {
                guard names.contains(cluster) else {
                    var message = "\(NameRules.quoted(cluster)) is not a cluster of this scenario"
                    if let suggestion = NameRules.suggestion(for: cluster, among: names) { message += "; did you mean `\(suggestion)`?" }
                    out.append((actionPath, message))
                    continue
                }
                switch disruption.action {
                case .scaleToZero:
                    if !serving.contains(cluster) { out.append((actionPath, "cluster \(cluster) serves no HelloWorld to scale down")) }
                case .abort:
                    if !clients.contains(cluster) {
                        out.append((actionPath, "cluster \(cluster) runs no clients; a fault is injected in the clients' sidecars"))
                    }
                }
            }
            if disruption.action.clusters.isEmpty { out.append((actionPath, "names no cluster")) }
            if let restoreAt = disruption.restoreAt, restoreAt <= disruption.at {
                out.append(("\(path).restoreAt", "(\(formatDuration(restoreAt))) must come after `at` (\(formatDuration(disruption.at)))"))
            }
            if scenario.reuse, disruption.restoreAt == nil {
                out.append(("\(path).restoreAt", "is required with `reuse: true`: the kept workloads must be whole for the next run"))
            }
            lastMoment = max(lastMoment, disruption.restoreAt ?? disruption.at)
        }
        out += overlappingFaults(scenario.disruptions)
        guard !scenario.disruptions.isEmpty else { return out }
        let load = scenario.load
        guard case .paced(let rate, _) = load.mode else {
            out.append(("load.mode", "must be paced when the scenario has disruptions: the load has to run on a schedule across them"))
            return out
        }
        let planned = Duration.seconds(Double(load.requestsPerBurst) / rate * Double(load.bursts))
        let needed = lastMoment + loadAfterLastDisruption
        if planned < needed {
            let requests = Int((needed / .seconds(1) * rate / Double(load.bursts)).rounded(.up))
            out.append(
                (
                    "load.requestsPerBurst",
                    "the paced load lasts about \(formatDuration(planned)) but the disruptions need it until \(formatDuration(needed)) (the last one at \(formatDuration(lastMoment)) plus \(formatDuration(loadAfterLastDisruption)) to settle); use requestsPerBurst ≥ \(requests)"
                ))
        }
        if scenario.timeouts.bursts < planned + .seconds(30) {
            out.append(
                ("timeouts.bursts", "(\(formatDuration(scenario.timeouts.bursts))) must exceed the paced load's \(formatDuration(planned)) by 30s at least"))
        }
        return out
    }

    /// Two aborts at once in one cluster would be two VirtualServices for one host, of which Istio applies only the
    /// oldest (or, with `routing.weights`, one fault overwriting the other in meshcheck's route).
    private static func overlappingFaults(_ disruptions: [Disruption]) -> [(String, String)] {
        var out: [(String, String)] = []
        for (index, later) in disruptions.enumerated() where later.action.abortFault != nil {
            for earlier in disruptions[..<index] where earlier.action.abortFault != nil {
                let shared = Set(later.action.clusters).intersection(earlier.action.clusters)
                let overlaps = later.at < (earlier.restoreAt ?? .seconds(Int64.max)) && earlier.at < (later.restoreAt ?? .seconds(Int64.max))
                if overlaps, !shared.isEmpty {
                    out.append(
                        (
                            "disruptions[\(index)]",
                            "injects a fault in \(shared.sorted().joined(separator: ", ")) while \(NameRules.quoted(earlier.name)) still does; Istio would apply only one of them — give them separate times or clusters"
                        ))
                }
            }
        }
        return out
    }
}
