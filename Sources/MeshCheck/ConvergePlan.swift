// What converge waits for, and until when: each client must be answered by the clusters its
// ``SourceExpectation`` names; a (source, target) pair that preflight has already failed is awaited only
// for a short grace, since its failure is known before the first request. Pure: converge keeps the
// clock and the reached sets, this decides what they mean and how the progress line reads them.

/// One client pod's converge state.
package struct ConvergeClient: Sendable, Equatable {
    /// Cluster index of the client pod.
    package var source: Int
    package var pod: String
    /// Cluster indexes that have answered it.
    package var reached: Set<Int>

    package init(source: Int, pod: String, reached: Set<Int> = []) {
        self.source = source
        self.pod = pod
        self.reached = reached
    }
}

package struct ConvergePlan: Sendable {
    package let names: [String]
    package let expected: [SourceExpectation]
    /// Serving clusters with at least one ready endpoint (one without can never answer).
    package let withEndpoints: Set<Int>
    /// Pairs (source, target) that preflight failed, awaited only for ``failedPairGrace``.
    package let failedPairs: Set<Pair>
    package let timeout: Duration
    package let failedPairGrace: Duration

    package struct Pair: Sendable, Hashable {
        package var source: Int
        package var target: Int

        package init(source: Int, target: Int) {
            self.source = source
            self.target = target
        }
    }

    package init(
        names: [String], expected: [SourceExpectation], withEndpoints: Set<Int>, failedPairs: Set<Pair>, timeout: Duration,
        failedPairGrace: Duration
    ) {
        self.names = names
        self.expected = expected
        self.withEndpoints = withEndpoints
        self.failedPairs = failedPairs
        self.timeout = timeout
        self.failedPairGrace = failedPairGrace
    }

    /// The plan of a run: pairs with a failing preflight finding on their path (``Diagnosis/pathFindings``)
    /// get the short grace.
    package init(scenario: Scenario, expected: [SourceExpectation], withEndpoints: Set<Int>, preflight: [PreflightFinding]) {
        let names = scenario.clusters.map(\.name)
        var failed = Set<Pair>()
        for source in names.indices {
            for target in withEndpoints
            where Diagnosis.pathFindings(source: names[source], target: names[target], findings: preflight).contains(where: { $0.status == .fail }) {
                failed.insert(Pair(source: source, target: target))
            }
        }
        self.init(
            names: names, expected: expected, withEndpoints: withEndpoints, failedPairs: failed, timeout: scenario.timeouts.converge,
            failedPairGrace: scenario.timeouts.convergeFailedPairGrace)
    }

    /// How long converge awaits `target` for `source`.
    package func deadline(source: Int, target: Int) -> Duration {
        failedPairs.contains(Pair(source: source, target: target)) ? min(failedPairGrace, timeout) : timeout
    }

    /// The clusters `client` still waits for after `elapsed`, and those it no longer waits for because
    /// their deadline passed. Both empty once its expectation is met.
    package func awaiting(_ client: ConvergeClient, at elapsed: Duration) -> (awaited: [Int], givenUp: [Int]) {
        let source = client.source
        let expectation = expected[source]
        guard !expectation.isSatisfied(by: client.reached, source: source, withEndpoints: withEndpoints) else { return ([], []) }
        // any-cross-cluster: any other cluster with endpoints will do, so each of them is awaited.
        let candidates =
            expectation.anyOther
            ? withEndpoints.filter { $0 != source }.sorted()
            : expectation.mustReach.filter { withEndpoints.contains($0) && !client.reached.contains($0) }
        let awaited = candidates.filter { elapsed < deadline(source: source, target: $0) }
        let givenUp = candidates.filter { elapsed >= deadline(source: source, target: $0) }
        return (awaited, givenUp)
    }

    /// Whether converge is over for `client`: its expectation is met, or every cluster it still lacks
    /// is past its deadline.
    package func isDone(_ client: ConvergeClient, at elapsed: Duration) -> Bool {
        awaiting(client, at: elapsed).awaited.isEmpty
    }

    /// `converging (1m42s left): sleep-…@cluster-1 reached cluster-1,cluster-2 awaiting cluster-3; …`
    package func progressLine(_ clients: [ConvergeClient], at elapsed: Duration) -> String {
        let leftText = formatWholeSeconds(timeout - elapsed, rounding: .up)
        let entries = clients.map { client in
            let reached = client.reached.sorted().map { names[$0] }
            var entry = "\(client.pod)@\(names[client.source]) reached " + (reached.isEmpty ? "none" : reached.joined(separator: ","))
            let (awaited, givenUp) = awaiting(client, at: elapsed)
            if !awaited.isEmpty {
                entry +=
                    " awaiting "
                    + awaited.map { target in
                        failedPairs.contains(Pair(source: client.source, target: target)) ? "\(names[target]) (preflight failed)" : names[target]
                    }.joined(separator: ",")
            }
            if !givenUp.isEmpty { entry += " gave up on " + givenUp.map { names[$0] }.joined(separator: ",") }
            if awaited.isEmpty, givenUp.isEmpty { entry += " (done)" }
            return entry
        }
        return "converging (\(leftText) left): " + entries.joined(separator: "; ")
    }
}
