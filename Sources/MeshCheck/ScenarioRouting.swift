// `routing:` in a scenario — weighted routing by HelloWorld version through an Istio VirtualService — read
// and checked before anything touches a cluster.

import Yams

extension ScenarioReader {
    static let routingKeys = ["weights", "locality"]

    /// `routing:` — the weighted routing by version (nil when `weights` is absent) and `routing.locality`.
    func routing(_ node: Node) -> (weights: RoutingSettings?, locality: LocalityRouting?) {
        guard let fields = Fields(node, path: "routing", log: log, allowed: Self.routingKeys) else { return (nil, nil) }
        let locality = fields["locality"].flatMap { self.locality($0) }
        guard let weightsNode = fields["weights"], let entries = read.stringMap(weightsNode, "routing.weights") else {
            if fields["weights"] == nil, fields["locality"] == nil {
                log.add(node, "routing.weights", "is required: percent of requests per version, e.g. `weights: {v1: 25, v2: 75}`")
            }
            return (nil, locality)
        }
        var weights: [String: Int] = [:]
        var unreadable = false
        for entry in entries {
            if let weight = read.integer(entry.value, "routing.weights.\(entry.key)", in: 0...100) {
                weights[entry.key] = weight
            } else {
                unreadable = true
            }
        }
        // The sum and coverage rules would only repeat an unreadable weight's problem.
        return (unreadable ? nil : RoutingSettings(weights: weights), locality)
    }
}

extension ScenarioValidator {
    /// Weights name served versions only, give every served version one, and add up to 100: newer Istio
    /// releases accept any total above 0 (weights are relative), older ones insist on 100, so 100 applies
    /// everywhere.
    static func routingProblems(_ scenario: Scenario) -> [(String, String)] {
        guard let routing = scenario.routing else { return [] }
        var out: [(String, String)] = []
        let served = scenario.versions
        for version in routing.weights.keys.sorted() where !served.contains(version) {
            var message = "no cluster serves version \(NameRules.quoted(version)); served versions: \(served.joined(separator: ", "))"
            if let suggestion = NameRules.suggestion(for: version, among: served) { message += "; did you mean `\(suggestion)`?" }
            out.append(("routing.weights.\(version)", message))
        }
        let unweighted = served.filter { routing.weights[$0] == nil }
        if !unweighted.isEmpty {
            out.append(("routing.weights", "gives no weight to \(unweighted.joined(separator: ", ")); list every served version (0 sends it nothing)"))
        }
        let total = routing.weights.values.reduce(0, +)
        if total != 100 {
            out.append(("routing.weights", "must add up to 100 (percent of requests), got \(total)"))
        }
        return out
    }
}
