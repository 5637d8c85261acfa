// `balance-instances`: whether a source's answers from one serving cluster spread over that cluster's HelloWorld
// pods as the mesh should spread them. A sidecar picks an endpoint per request, even on a reused connection, so
// every Ready pod gets its share; a client pinned to one pod (a naive proxy, consistentHash, a broken mesh that
// balances per connection) shows as one pod with everything and the others with nothing. `balance` cannot see
// this: it counts answers per cluster. Pure: per-pod counts in, judged splits and the source's row out.

import MeshStats

package enum InstanceBalance {
    /// One HelloWorld pod of a serving cluster and its answers to one source.
    package struct Pod: Sendable, Equatable {
        package var name: String
        /// The version the pod serves (its cluster's).
        package var version: String?
        /// Whether the pod was Ready when the bursts started: a pod that was not and did not answer is expected to
        /// get nothing (the mesh rightly skips it); one that answered anyway is judged like the others.
        package var ready: Bool
        package var answers: Int

        package init(name: String, version: String?, ready: Bool = true, answers: Int) {
            self.name = name
            self.version = version
            self.ready = ready
            self.answers = answers
        }
    }

    /// How the source's sidecar reaches the target's pods, which decides who picks the pod for a request.
    package enum Path: String, Codable, Sendable, Equatable {
        /// The sidecar lists the pods themselves (its own cluster, or a flat network): it picks a pod per request.
        case direct
        /// The sidecar lists the target network's east-west gateway, which passes mTLS through and picks a pod per
        /// connection (Istio's AUTO_PASSTHROUGH): requests of one upstream connection all reach the same pod.
        case eastWestGateway = "east-west-gateway"
        /// A cross-cluster pair whose sidecar endpoints meshcheck could not read.
        case unknown
    }

    /// One (source, serving cluster) pair to judge.
    package struct Pair: Sendable, Equatable {
        package var source: String
        package var target: String
        package var pods: [Pod]
        package var path: Path

        package init(source: String, target: String, pods: [Pod], path: Path = .direct) {
            self.source = source
            self.target = target
            self.pods = pods
            self.path = path
        }
    }

    /// Each pod's expected share of its cluster's answers. Without routing weights the mesh spreads requests evenly
    /// over the Ready endpoints; with weights per version (a VirtualService over DestinationRule subsets) a version's
    /// weight is divided among its pods, normalised within the cluster. When the cluster's versions weigh nothing
    /// (the cluster should get no requests at all, which `balance` judges), answers it gave anyway are judged against
    /// an even split.
    package static func expectedShares(_ pods: [Pod], weights: [String: Int]?) -> [Double] {
        let counted = pods.map { $0.ready || $0.answers > 0 }
        var podsOfVersion: [String: Int] = [:]
        for (pod, isCounted) in zip(pods, counted) where isCounted { podsOfVersion[pod.version ?? "", default: 0] += 1 }
        func weight(_ pod: Pod) -> Double {
            guard let weights else { return 1 }
            return Double(pod.version.flatMap { weights[$0] } ?? 0) / Double(podsOfVersion[pod.version ?? ""] ?? 1)
        }
        var raw = zip(pods, counted).map { pod, isCounted in isCounted ? weight(pod) : 0 }
        if raw.reduce(0, +) == 0 { raw = counted.map { $0 ? 1 : 0 } }
        let total = raw.reduce(0, +)
        return total > 0 ? raw.map { $0 / total } : raw
    }

    /// Judges every pair of one source. Each cluster is tested at `significance` divided by the number of clusters
    /// tested (Bonferroni), so the source's row false-alarms at most as often as its `balance` row.
    package static func judge(_ pairs: [Pair], weights: [String: Int]?, significance: Double) -> [InstanceSplit] {
        let expected = pairs.map { expectedShares($0.pods, weights: weights) }
        let testable = pairs.indices.filter { isTestable(pairs[$0], expected[$0]) }
        let alpha = significance / Double(max(1, testable.count))
        return pairs.indices.map { index in
            split(pairs[index], expected: expected[index], alpha: testable.contains(index) ? alpha : nil)
        }
    }

    /// A pair is tested when it had answers and at least two pods could share them (two expected to, or one expected
    /// to and another that answered anyway, which the test rejects outright).
    static func isTestable(_ pair: Pair, _ expected: [Double]) -> Bool {
        let answers = pair.pods.reduce(0) { $0 + $1.answers }
        let possible = zip(pair.pods, expected).filter { $0.answers > 0 || $1 > 0 }.count
        return answers > 0 && possible >= 2 && expected.contains { $0 > 0 }
    }

    static func split(_ pair: Pair, expected: [Double], alpha: Double?) -> InstanceSplit {
        let n = pair.pods.reduce(0) { $0 + $1.answers }
        let shares = zip(pair.pods, expected).map { pod, expectedShare in
            let interval = ShareInterval.wilson(successes: UInt64(pod.answers), trials: UInt64(n))
            return InstanceShare(
                instance: pod.name, version: pod.version, observed: pod.answers, share: n == 0 ? 0 : interval.share,
                interval: WilsonInterval(interval), expectedShare: expectedShare)
        }
        var out = InstanceSplit(source: pair.source, target: pair.target, requests: n, status: .skip, test: "none", instances: shares)
        guard let alpha else { return out }
        let fit = GoodnessOfFit.test(observed: pair.pods.map { UInt64($0.answers) }, expectedShares: expected)
        out.test = Verdict.testName(fit.method)
        out.statistic = fit.statistic
        out.degreesOfFreedom = fit.degreesOfFreedom
        out.pValue = fit.pValue
        out.significance = alpha
        if fit.pValue < alpha {
            // Behind a gateway that picks per connection, a skew is what a healthy mesh does with few connections:
            // said, not failed. Where the path is unknown it may be so, and a wrong failure is worse than a warning.
            out.status = pair.path == .direct ? .fail : .warn
            out.path = pair.path == .direct ? nil : pair.path
        } else {
            // Few answers cannot show pinning: when even every answer on the least expected pod would pass, a pass
            // would claim what the sample cannot tell, so the pair is left unjudged.
            out.status = mostExtremePValue(n: n, expected: expected) < alpha ? .pass : .skip
        }
        return out
    }

    /// The p-value of every one of `n` answers landing on the pod with the smallest positive expected share.
    static func mostExtremePValue(n: Int, expected: [Double]) -> Double {
        guard let least = expected.indices.filter({ expected[$0] > 0 }).min(by: { expected[$0] < expected[$1] }) else { return 1 }
        let observed = expected.indices.map { $0 == least ? UInt64(n) : 0 }
        return GoodnessOfFit.test(observed: observed, expectedShares: expected).pValue
    }

    // MARK: - The source's row

    /// The `balance-instances` row of one source from its judged splits: fail when a cluster's split failed, pass when
    /// one passed and none failed, else skip (every cluster has one pod, gave no answers, or too few to judge).
    /// `explained` turns the row's own cause and hint into the final ones (exec failures and preflight evidence lead).
    static func row(
        source: String, splits: [InstanceSplit], significance: Double, namespace: String,
        explained: (_ cause: String, _ hint: String) -> (cause: String?, hint: String?)
    ) -> CheckResult {
        let name = CheckName.balanceInstances
        let failed = splits.filter { $0.status == .fail }
        let warned = splits.filter { $0.status == .warn }
        let passed = splits.filter { $0.status == .pass }
        let tested = splits.filter { $0.pValue != nil }.count
        let level = tested > 1 ? " (α \(NumberFormat.shortest(significance)) shared by \(tested) clusters)" : ""
        let others = splits.filter { $0.status != .fail && $0.status != .warn }.map(describe).joined(separator: "; ")
        if failed.isEmpty, !warned.isEmpty {
            let message = warned.map(describe).joined(separator: "; ") + (others.isEmpty ? "" : "; \(others)") + level
            let gateways = warned.filter { $0.path == .eastWestGateway }.map(\.target)
            let unknown = warned.filter { $0.path != .eastWestGateway }.map(\.target)
            var causes: [String] = []
            if !gateways.isEmpty {
                causes.append(
                    "\(source)'s requests reach \(gateways.joined(separator: ", ")) through its east-west gateway, which passes mTLS through and picks a pod per connection, not per request: with few upstream connections from the sidecar a skew over those pods is expected, not a fault"
                )
            }
            if !unknown.isEmpty {
                causes.append(
                    "\(source)'s sidecar endpoints for \(unknown.joined(separator: ", ")) could not be read, so meshcheck cannot tell whether a gateway picks the pod per connection there"
                )
            }
            let hint =
                "a pod-level split across networks is not judged; to see per-request balancing over remote pods, put the clusters on one network or compare the pods' own request counts (`istioctl proxy-config endpoints <sleep pod> -n \(namespace) | grep helloworld` shows what the sidecar balances over)"
            return CheckResult(
                name: name, source: source, status: .warn, message: message, cause: causes.joined(separator: "; "), hint: hint)
        }
        if failed.isEmpty {
            if passed.isEmpty, splits.allSatisfy({ $0.instances.count < 2 }) {
                return CheckResult(
                    name: name, source: source, status: .skip,
                    message: "every serving cluster runs one HelloWorld pod, so there is no split within a cluster to judge (replicas.helloworld ≥ 2 makes one)"
                )
            }
            let lead = passed.isEmpty ? "nothing to judge per pod" : "answers spread over each cluster's pods as expected\(level)"
            return CheckResult(name: name, source: source, status: passed.isEmpty ? .skip : .pass, message: "\(lead): \(others)")
        }
        let message = (failed + warned).map(describe).joined(separator: "; ") + (others.isEmpty ? "" : "; \(others)") + level
        // Pods expected to answer that answered nothing: the mark of pinning (or of a pod the mesh does not route to).
        let idle = failed.flatMap { split in split.instances.filter { $0.expectedShare > 0 && $0.observed == 0 }.map { "\($0.instance) (\(split.target))" } }
        let cause =
            idle.isEmpty
            ? "the mesh does not spread \(source)'s requests evenly over the pods of \(failed.map(\.target).joined(separator: ", "))"
            : "\(idle.prefix(3).joined(separator: ", "))\(idle.count > 3 ? " and \(idle.count - 3) more" : "") answered none of \(source)'s requests: requests are pinned to a connection or a pod is not receiving traffic"
        let hint =
            "check the sidecar's load-balancing policy (a DestinationRule with consistentHash, or connection pinning: `istioctl x describe pod <sleep pod> -n \(namespace)`) and that every HelloWorld pod is Ready and listed as an endpoint (`kubectl get pods -l app=helloworld -n \(namespace) -o wide`, `istioctl proxy-config endpoints <sleep pod> -n \(namespace) | grep helloworld`)"
        let explanation = explained(cause, hint)
        return CheckResult(name: name, source: source, status: .fail, message: message, cause: explanation.cause, hint: explanation.hint)
    }

    /// One split in words. Failed: "cluster-2's answers to cluster-1 came from 1 of 2 pods (helloworld-v2-a: 100 %,
    /// exact-binomial p = 1.9e-06 < α 0.001, n = 20)"; passed: "cluster-2 48/52 over 2 pods (chi-square p = 0.72)".
    static func describe(_ split: InstanceSplit) -> String {
        let pods = split.instances.count
        let answering = split.instances.filter { $0.observed > 0 }.count
        let test = split.pValue.map { "\(split.test) p = \(NumberFormat.scientific($0))" } ?? ""
        let percents = Verdict.wholePercents(split.instances.map { Double($0.observed) })
        let expectedPercents = Verdict.wholePercents(split.instances.map(\.expectedShare))
        let expected = expectedPercents.allSatisfy { $0 == expectedPercents.first } ? "" : ", expected \(joined(expectedPercents))"
        switch split.status {
        case .fail, .warn:
            let top = zip(split.instances, percents).filter { $0.0.observed > 0 }.sorted { $0.0.observed > $1.0.observed }.prefix(2)
            let topText = top.map { "\($0.0.instance): \($0.1) %" }.joined(separator: ", ")
            let level = split.significance.map { " < α \(NumberFormat.shortest($0))" } ?? ""
            let shape =
                answering < pods
                ? "came from \(answering) of \(pods) pods (\(topText)\(expected)"
                : "split \(joined(percents)) over its \(pods) pods (\(topText)\(expected)"
            return "\(split.target)'s answers to \(split.source) \(shape), \(test)\(level), n = \(split.requests))"
        case .pass:
            return "\(split.target) \(joined(percents)) over \(pods) pods\(expected) (\(test), n = \(split.requests))"
        default:
            if pods < 2 { return pods == 1 ? "\(split.target) has one pod" : "\(split.target) has no pods listed" }
            if split.requests == 0 { return "\(split.target) gave no answers" }
            if split.pValue == nil { return "\(split.target): only one of its \(pods) pods is expected to answer" }
            return "\(split.target)'s \(split.requests) answers are too few to show pinning over \(pods) pods"
        }
    }

    static func joined(_ percents: [Int]) -> String { percents.map(String.init).joined(separator: "/") }
}
