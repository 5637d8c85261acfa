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
    /// local-preferred: the clusters whose answers count as local and the share they must serve.
    package var localPreference: LocalPreference?
    /// Under locality load balancing, the Istio rule the default expectation follows (`locality-distribute`,
    /// `locality-zone`, `locality-region`); nil when the scenario's expectation applies as written.
    package var localityBasis: String?

    package init(
        shares: [Int: Double]?, mustReach: [Int], anyOther: Bool, localPreference: LocalPreference? = nil, localityBasis: String? = nil
    ) {
        self.shares = shares
        self.mustReach = mustReach
        self.anyOther = anyOther
        self.localPreference = localPreference
        self.localityBasis = localityBasis
    }

    package struct LocalPreference: Sendable, Equatable {
        /// Serving cluster indexes.
        package var clusters: [Int]
        package var minShare: Double
        /// `local-preferred`, or the locality rule it comes from.
        package var name: String

        /// The minimum share spread over the local clusters, for the reports' expected column.
        package var expectedShares: [Int: Double] {
            Dictionary(uniqueKeysWithValues: clusters.map { ($0, minShare / Double(max(clusters.count, 1))) })
        }
    }

    /// The expectation of every cluster of `scenario` as a source (index = source cluster index).
    /// `readyEndpoints`: ready HelloWorld pods per serving cluster name; `localities`: each cluster's region and zone
    /// (the default expectation follows Istio's locality rules when `routing.locality` is in effect and they are known).
    package static func all(scenario: Scenario, readyEndpoints: [String: Int], localities: [String: ClusterLocality] = [:]) -> [SourceExpectation] {
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
                if let routing = scenario.locality, routing.isInEffect,
                    let underLocality = locality(
                        routing, source: source, names: names, serving: serving.filter { ready($0) > 0 }, localities: localities,
                        minShare: scenario.expectations.locality?.minShare ?? Expectations.defaultMinLocalShare, ready: ready)
                {
                    return underLocality
                }
                let shares = endpointShares(excluding: nil)
                return SourceExpectation(shares: shares, mustReach: positive(shares), anyOther: false)
            case .weights(let weights):
                let total = serving.reduce(0.0) { $0 + (weights[names[$1]] ?? 0) }
                let shares =
                    total > 0
                    ? Dictionary(uniqueKeysWithValues: serving.map { ($0, (weights[names[$0]] ?? 0) / total) }) : nil
                return SourceExpectation(shares: shares, mustReach: positive(shares), anyOther: false)
            case .localPreferred(let minimum):
                // A source with local endpoints must answer locally; one without has nothing to
                // prefer and should spread over the rest.
                if serving.contains(source) {
                    return SourceExpectation(
                        shares: nil, mustReach: [source], anyOther: false,
                        localPreference: LocalPreference(clusters: [source], minShare: minimum, name: scenario.expectations.balance.name))
                }
                let shares = endpointShares(excluding: source)
                return SourceExpectation(shares: shares, mustReach: positive(shares), anyOther: false)
            case .anyCrossCluster:
                return SourceExpectation(shares: nil, mustReach: [], anyOther: true)
            }
        }
    }

    /// The split Istio's locality load balancing gives `source` while every cluster is healthy: with `distribute`, the
    /// matching rule's weights mapped onto the clusters by their localities; otherwise its traffic stays in its own
    /// zone when a serving cluster with ready endpoints is there (local-preferred at `minShare`), else in its region;
    /// nil when neither applies or the localities are unknown (the endpoint-proportional split then stands).
    static func locality(
        _ routing: LocalityRouting, source: Int, names: [String], serving: [Int], localities: [String: ClusterLocality], minShare: Double,
        ready: (Int) -> Int
    ) -> SourceExpectation? {
        guard let own = localities[names[source]] else { return nil }
        if !routing.distribute.isEmpty {
            guard
                let shares = LocalityPattern.distributeShares(
                    rules: routing.distribute, source: own, serving: serving, names: names, localities: localities, readyEndpoints: ready)
            else { return nil }
            return SourceExpectation(
                shares: shares, mustReach: serving.filter { (shares[$0] ?? 0) > 0 }, anyOther: false, localityBasis: "locality-distribute")
        }
        for scope in LocalityExpectation.Scope.allCases {
            let local =
                LocalityTest.localClusters(of: names[source], names: names, localities: localities, scope: scope)?
                .filter { serving.contains($0) } ?? []
            guard !local.isEmpty else { continue }
            let name = "locality-\(scope.rawValue)"
            return SourceExpectation(
                shares: nil, mustReach: local, anyOther: false, localPreference: LocalPreference(clusters: local, minShare: minShare, name: name),
                localityBasis: name)
        }
        return nil
    }

    /// Whether a source that has been answered by `reached` has met this expectation. Converge waits
    /// only for clusters that have ready endpoints (`withEndpoints`): one without can never answer.
    package func isSatisfied(by reached: Set<Int>, source: Int, withEndpoints: Set<Int>) -> Bool {
        if anyOther { return reached.contains { $0 != source } }
        return mustReach.allSatisfy { reached.contains($0) || !withEndpoints.contains($0) }
    }
}
