// Istio's locality rules as the verdict needs them: which serving clusters are "local" to a source, how a
// `localityLbSetting.distribute` rule maps onto clusters, and the one-sided test that a source kept enough of its
// traffic local. Pure.

import MeshStats

package enum LocalityTest {
    /// The clusters in `source`'s own zone (both region and zone equal) or region, by index in `names`; nil when the
    /// source's locality, or the part `scope` compares, is unknown.
    package static func localClusters(
        of source: String, names: [String], localities: [String: ClusterLocality], scope: LocalityExpectation.Scope
    ) -> [Int]? {
        guard let own = localities[source], let region = own.region else { return nil }
        switch scope {
        case .region:
            return names.indices.filter { localities[names[$0]]?.region == region }
        case .zone:
            guard let zone = own.zone else { return nil }
            return names.indices.filter { localities[names[$0]]?.region == region && localities[names[$0]]?.zone == zone }
        }
    }

    /// The one-sided binomial test of `balance: local-preferred`: the local share passes unless even the upper end of
    /// its Wilson interval is below `minShare`. A two-sided interval at confidence 1 − 2α has an upper end that a
    /// share of `minShare` exceeds with probability α, so this is a one-sided test at the scenario's significance α.
    package static func keeps(local: Int, of answers: Int, minShare: Double, significance: Double) -> Bool {
        upperBound(local: local, of: answers, significance: significance) >= minShare
    }

    /// The upper end of the one-sided (1 − α) bound on the local share.
    package static func upperBound(local: Int, of answers: Int, significance: Double) -> Double {
        let confidence = min(max(1 - 2 * significance, 0.5), 0.999_999)
        return ShareInterval.wilson(successes: UInt64(max(0, min(local, answers))), trials: UInt64(max(answers, 0)), confidence: confidence).upper
    }
}

/// Istio's locality strings (`region/zone/subzone`) and the patterns of `localityLbSetting.distribute`.
package enum LocalityPattern {
    /// Whether `locality` matches `pattern` as Istio's `LocalityMatch` does: segment by segment, `*` matches any
    /// segment and ends the comparison, and a pattern with fewer segments matches every locality below it.
    package static func matches(_ locality: ClusterLocality, _ pattern: String) -> Bool {
        let parts = [locality.region, locality.zone]
        for (index, segment) in pattern.split(separator: "/", omittingEmptySubsequences: false).enumerated() {
            if segment == "*" { return true }
            guard index < parts.count else { return false } // a subzone pattern: clusters carry no subzone
            guard let part = parts[index], part == segment else { return false }
        }
        return true
    }

    /// The share of a source's traffic each serving cluster gets under `distribute`: Istio takes the first rule whose
    /// `from` matches the client's locality, splits each `to` weight equally over the endpoint localities it matches
    /// (Envoy then spreads a locality's weight over its endpoints), and sends nothing to a locality no `to` matches.
    /// nil when no rule matches the source or a serving cluster's locality is unknown (Istio's default applies then).
    package static func distributeShares(
        rules: [LocalityDistributeRule], source: ClusterLocality, serving: [Int], names: [String], localities: [String: ClusterLocality],
        readyEndpoints: (Int) -> Int
    ) -> [Int: Double]? {
        guard let rule = rules.first(where: { matches(source, $0.from) }) else { return nil }
        var clusterLocality: [Int: ClusterLocality] = [:]
        for index in serving {
            guard let locality = localities[names[index]], readyEndpoints(index) > 0 else { continue }
            clusterLocality[index] = locality
        }
        guard !clusterLocality.isEmpty, serving.allSatisfy({ localities[names[$0]] != nil }) else { return nil }
        let groups = Set(clusterLocality.values)
        var groupWeight: [ClusterLocality: Double] = [:]
        for (pattern, percent) in rule.to {
            let matched = groups.filter { matches($0, pattern) }
            for group in matched { groupWeight[group, default: 0] += Double(percent) / Double(matched.count) }
        }
        var weights: [Int: Double] = [:]
        for (group, weight) in groupWeight {
            let members = clusterLocality.filter { $0.value == group }.map(\.key)
            let endpoints = members.reduce(0) { $0 + readyEndpoints($1) }
            for member in members { weights[member] = weight * Double(readyEndpoints(member)) / Double(endpoints) }
        }
        let total = weights.values.reduce(0, +)
        guard total > 0 else { return nil }
        return Dictionary(uniqueKeysWithValues: serving.map { ($0, (weights[$0] ?? 0) / total) })
    }
}
