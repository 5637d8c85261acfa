// What each source cluster is expected to reach under the scenario's balance expectation, computed
// in one place for the two that need it: converge (which clusters to wait for) and the verdict
// (which clusters must answer, and the split the balance test compares with). Pure.

/// One source cluster's expectation, by cluster index in scenario order.
package struct SourceExpectation: Sendable, Equatable {
    /// The expected share per serving cluster; nil when the expectation defines no split
    /// (any-cross-cluster, local-preferred from a serving cluster, no ready endpoints or weights).
    package var shares: [Int: Double]?
    /// Clusters that must answer this source (`all-clusters-reached`).
    package var mustReach: [Int]
    /// any-cross-cluster: one cluster other than the source is enough, whichever it is.
    package var anyOther: Bool

    /// The expectation of every cluster of `scenario` as a source (index = source cluster index).
    /// `readyEndpoints`: ready HelloWorld pods per serving cluster name.
    package static func all(scenario: Scenario, readyEndpoints: [String: Int]) -> [SourceExpectation] {
        let names = scenario.clusters.map(\.name)
        let serving = scenario.clusters.indices.filter { scenario.clusters[$0].serves != nil }
        func ready(_ index: Int) -> Int { max(0, readyEndpoints[names[index]] ?? 0) }
        func endpointShares(excluding: Int?) -> [Int: Double]? {
            let counted = serving.filter { $0 != excluding }
            let total = counted.reduce(0) { $0 + ready($1) }
            guard total > 0 else { return nil }
            return Dictionary(uniqueKeysWithValues: counted.map { ($0, Double(ready($0)) / Double(total)) })
        }
        func positive(_ shares: [Int: Double]?) -> [Int] {
            shares.map { shares in serving.filter { (shares[$0] ?? 0) > 0 } } ?? serving
        }
        return scenario.clusters.indices.map { source in
            switch scenario.expectations.balance {
            case .proportionalToEndpoints:
                let shares = endpointShares(excluding: nil)
                return SourceExpectation(shares: shares, mustReach: positive(shares), anyOther: false)
            case .weights(let weights):
                let total = serving.reduce(0.0) { $0 + (weights[names[$1]] ?? 0) }
                let shares =
                    total > 0
                    ? Dictionary(uniqueKeysWithValues: serving.map { ($0, (weights[names[$0]] ?? 0) / total) }) : nil
                return SourceExpectation(shares: shares, mustReach: positive(shares), anyOther: false)
            case .localPreferred:
                // A source with local endpoints must answer locally; one without has nothing to
                // prefer and should spread over the rest.
                if serving.contains(source) { return SourceExpectation(shares: nil, mustReach: [source], anyOther: false) }
                let shares = endpointShares(excluding: source)
                return SourceExpectation(shares: shares, mustReach: positive(shares), anyOther: false)
            case .anyCrossCluster:
                return SourceExpectation(shares: nil, mustReach: [], anyOther: true)
            }
        }
    }

    /// Whether a source that has been answered by `reached` has met this expectation. Converge waits
    /// only for clusters that have ready endpoints (`withEndpoints`): one without can never answer.
    package func isSatisfied(by reached: Set<Int>, source: Int, withEndpoints: Set<Int>) -> Bool {
        if anyOther { return reached.contains { $0 != source } }
        return mustReach.allSatisfy { reached.contains($0) || !withEndpoints.contains($0) }
    }
}
