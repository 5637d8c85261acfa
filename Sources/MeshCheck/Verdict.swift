// The verdict: named checks over a run's tally, each pass/fail/warn/skip with a one-line reason, plus
// the traffic matrix and per-source summaries the reports show. Pure; the statistics come from MeshStats.

import MeshStats

public enum PodRole: String, Sendable, Equatable {
    case helloworld, sleep
}

/// A workload pod as seen when the bursts started.
public struct PodState: Sendable, Equatable {
    public var cluster: String
    public var name: String
    public var role: PodRole
    /// An `istio-proxy` container or native-sidecar init container is present.
    public var hasSidecar: Bool

    public init(cluster: String, name: String, role: PodRole, hasSidecar: Bool) {
        self.cluster = cluster
        self.name = name
        self.role = role
        self.hasSidecar = hasSidecar
    }
}

public struct VerdictInput: Sendable {
    public var scenario: Scenario
    public var namespace: String
    /// Cluster names in `tally` must be the scenario's cluster names, in order.
    public var tally: TrafficTally
    /// Ready HelloWorld pods per serving cluster name.
    public var readyEndpoints: [String: Int]
    /// Every workload pod; empty when the pod lists are unknown (sidecar check skipped).
    public var pods: [PodState]

    public init(scenario: Scenario, namespace: String, tally: TrafficTally, readyEndpoints: [String: Int], pods: [PodState]) {
        self.scenario = scenario
        self.namespace = namespace
        self.tally = tally
        self.readyEndpoints = readyEndpoints
        self.pods = pods
    }
}

public struct VerdictOutcome: Sendable, Equatable {
    public var verdict: RunVerdict
    public var checks: [CheckResult]
    public var traffic: [TrafficRow]
    public var sources: [SourceSummary]
}

public enum CheckName {
    public static let sidecarInjection = "sidecar-injection"
    public static let reachability = "reachability"
    public static let errorRate = "error-rate"
    public static let allClustersReached = "all-clusters-reached"
    public static let balance = "balance"
    public static let latencySLO = "latency-slo"
}

public enum Verdict {
    public static func evaluate(_ input: VerdictInput) -> VerdictOutcome {
        let context = Context(input)
        var checks = [sidecarCheck(input)]
        var traffic: [TrafficRow] = []
        var sources: [SourceSummary] = []
        for source in context.sourceIndexes {
            let expected = context.expectedShares(source: source)
            checks.append(reachabilityCheck(context, source))
            checks.append(errorRateCheck(context, source))
            checks.append(allClustersReachedCheck(context, source, expected))
            checks.append(balanceCheck(context, source, expected))
            checks += latencyChecks(context, source)
            traffic += trafficRows(context, source, expected)
            sources.append(sourceSummary(context, source))
        }
        return VerdictOutcome(verdict: RunReport.verdict(of: checks), checks: checks, traffic: traffic, sources: sources)
    }

    /// Precomputed lookups shared by the checks.
    struct Context {
        let input: VerdictInput
        let names: [String]
        let sourceIndexes: [Int]
        let servingIndexes: [Int]
        var tally: TrafficTally { input.tally }
        var expectations: Expectations { input.scenario.expectations }

        init(_ input: VerdictInput) {
            self.input = input
            names = input.tally.clusterNames
            let clusters = input.scenario.clusters
            sourceIndexes = clusters.indices.filter { clusters[$0].clients }
            servingIndexes = clusters.indices.filter { clusters[$0].serves != nil }
        }

        /// Expected share per serving cluster index for `source`; nil when the expectation does not
        /// define a split (any-cross-cluster, local-preferred from a serving cluster).
        func expectedShares(source: Int) -> [Int: Double]? {
            switch expectations.balance {
            case .proportionalToEndpoints:
                return endpointShares(excluding: nil)
            case .weights(let weights):
                let total = servingIndexes.reduce(0.0) { $0 + (weights[names[$1]] ?? 0) }
                guard total > 0 else { return nil }
                return Dictionary(uniqueKeysWithValues: servingIndexes.map { ($0, (weights[names[$0]] ?? 0) / total) })
            case .localPreferred:
                // A source without local endpoints has nothing to prefer: it should spread over the rest.
                return servingIndexes.contains(source) ? nil : endpointShares(excluding: source)
            case .anyCrossCluster:
                return nil
            }
        }

        private func endpointShares(excluding: Int?) -> [Int: Double]? {
            let counted = servingIndexes.filter { $0 != excluding }
            let total = counted.reduce(0) { $0 + max(0, input.readyEndpoints[names[$1]] ?? 0) }
            guard total > 0 else { return nil }
            return Dictionary(uniqueKeysWithValues: counted.map { ($0, Double(max(0, input.readyEndpoints[names[$0]] ?? 0)) / Double(total)) })
        }

        /// Successful requests from `source` per serving cluster index, in cluster order.
        func successes(source: Int) -> [(target: Int, count: Int)] {
            names.indices.map { ($0, tally.pair(source: source, target: $0).successes) }
        }
    }

    // MARK: - sidecar-injection

    static func sidecarCheck(_ input: VerdictInput) -> CheckResult {
        let name = CheckName.sidecarInjection
        guard !input.pods.isEmpty else {
            return CheckResult(name: name, status: .skip, message: "no pod list was taken, so sidecars were not checked")
        }
        let missing = input.pods.filter { !$0.hasSidecar }
        guard !missing.isEmpty else {
            return CheckResult(name: name, status: .pass, message: "all \(input.pods.count) workload pods run an istio-proxy sidecar")
        }
        let clusters = Array(Set(missing.map(\.cluster))).sorted()
        let listed = missing.prefix(4).map { "\($0.cluster)/\($0.name)" }.joined(separator: ", ") + (missing.count > 4 ? ", ..." : "")
        return CheckResult(
            name: name, status: .fail,
            message: "\(missing.count) of \(input.pods.count) workload pods have no istio-proxy sidecar: \(listed)",
            cause: "sidecar injection did not happen in \(clusters.joined(separator: ", ")): the namespace's injection label does not match an installed revision, or injection is disabled there; pods without a sidecar bypass the mesh and reach only their own cluster",
            hint: "compare `kubectl get namespace \(input.namespace) --show-labels` with the revision istiod or the ControlPlaneRevision serves (set mesh.revision explicitly if auto-detection picked the wrong one), and run `istioctl analyze -n \(input.namespace)`")
    }

    // MARK: - reachability

    static func reachabilityCheck(_ context: Context, _ source: Int) -> CheckResult {
        let counters = context.tally.sources[source]
        let name = CheckName.reachability, sourceName = context.names[source]
        let host = "helloworld.\(context.input.namespace):5000"
        if counters.succeeded > 0 {
            return CheckResult(name: name, source: sourceName, status: .pass,
                               message: "\(counters.succeeded) of \(counters.records + counters.missingRecords) requests to \(host) were answered by HelloWorld")
        }
        if counters.records == 0 {
            return CheckResult(name: name, source: sourceName, status: .fail,
                               message: "no request from \(sourceName) produced a record",
                               cause: counters.missingRecords > 0 ? "the bursts' exec sessions failed or were cut before any request finished" : "no burst ran from this cluster",
                               hint: "check that the Sleep pod in \(sourceName) is running and that the exec API is reachable (`kubectl exec` into it)")
        }
        let dominant = counters.errorsByKind.max { ($0.value, $1.key) < ($1.value, $0.key) }!.key
        let explanation = explain(dominant, host: host)
        return CheckResult(name: name, source: sourceName, status: .fail,
                           message: "none of \(counters.records) requests from \(sourceName) to \(host) succeeded (mostly \(dominant))",
                           cause: explanation.cause, hint: explanation.hint)
    }

    static func explain(_ kind: RequestErrorKind, host: String) -> (cause: String, hint: String) {
        switch kind {
        case .curl(6):
            return ("\(host) did not resolve in the client pod (curl exit 6)",
                    "the helloworld Service must exist in the client's cluster; check `kubectl get svc helloworld` and DNS in that cluster")
        case .curl(7):
            return ("connections were refused (curl exit 7): nothing listens behind the address the client reached",
                    "check that HelloWorld pods are ready and the Service's port 5000 targets them")
        case .curl(28):
            return ("requests timed out (curl exit 28)",
                    "check east-west gateway reachability and network policies; raise load.requestTimeout if the backend is just slow")
        case .curl(52), .curl(56):
            return ("connections were closed or reset without a response (curl exit \(kind == .curl(52) ? 52 : 56))",
                    "look at the client's istio-proxy logs (`kubectl logs <pod> -c istio-proxy`) for upstream resets and mTLS errors")
        case .curl(let code):
            return ("curl failed with exit code \(code)", "run the request by hand with `kubectl exec` and `curl -v` to see the failure")
        case .http(503):
            return ("the client's sidecar answered 503: it has no healthy upstream for helloworld",
                    "check `istioctl proxy-config endpoints <sleep pod> --cluster \"outbound|5000||helloworld.<ns>.svc.cluster.local\"` for endpoints")
        case .http(let status):
            return ("HelloWorld or the mesh answered HTTP \(status)", "look at the HelloWorld pods' logs and the client's istio-proxy logs")
        case .unknownInstance:
            return ("answers named an instance that is not a HelloWorld pod of this run",
                    "another workload answers for helloworld in this namespace, or pods were replaced during the run; list pods with `-l app=helloworld`")
        }
    }

    // MARK: - error-rate

    static func errorRateCheck(_ context: Context, _ source: Int) -> CheckResult {
        let counters = context.tally.sources[source]
        let name = CheckName.errorRate, sourceName = context.names[source]
        let total = counters.records + counters.missingRecords
        guard total > 0 else {
            return CheckResult(name: name, source: sourceName, status: .skip, message: "no requests were sent from \(sourceName)")
        }
        let failed = counters.errors + counters.missingRecords
        let rate = Double(failed) / Double(total)
        let limit = context.expectations.maxErrorRate
        let summary = "\(failed) of \(total) requests failed (\(NumberFormat.percent(rate)), allowed \(NumberFormat.percent(limit)))"
        if rate <= limit {
            return CheckResult(name: name, source: sourceName, status: .pass, message: summary)
        }
        var kinds = counters.errorsByKind.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) ×\($0.value)" }
        if counters.missingRecords > 0 { kinds.append("missing records ×\(counters.missingRecords)") }
        let dominant = counters.errorsByKind.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key
        let explanation = dominant.map { explain($0, host: "helloworld.\(context.input.namespace):5000") }
        return CheckResult(name: name, source: sourceName, status: .fail, message: "\(summary): \(kinds.joined(separator: ", "))",
                           cause: explanation?.cause ?? "bursts ended before reporting every request (exec sessions broke or were cut)",
                           hint: explanation?.hint ?? "look for exec errors in the run log; `records.jsonl` lists every request that did report")
    }

    // MARK: - all-clusters-reached

    static func allClustersReachedCheck(_ context: Context, _ source: Int, _ expected: [Int: Double]?) -> CheckResult {
        let name = CheckName.allClustersReached, sourceName = context.names[source]
        let succeeded = context.tally.sources[source].succeeded
        guard succeeded > 0 else {
            return CheckResult(name: name, source: sourceName, status: .skip, message: "no successful requests from \(sourceName) to attribute")
        }
        let reached = context.successes(source: source).filter { $0.count > 0 }.map(\.target)
        let required: [Int]
        switch context.expectations.balance {
        case .anyCrossCluster:
            let others = reached.filter { $0 != source }
            if others.isEmpty {
                return CheckResult(name: name, source: sourceName, status: .fail,
                                   message: "all \(succeeded) answers came from \(sourceName) itself; no other cluster was reached",
                                   cause: crossClusterCause(sourceName), hint: crossClusterHint(sourceName, context.input.namespace))
            }
            return CheckResult(name: name, source: sourceName, status: .pass,
                               message: "reached \(others.map { context.names[$0] }.joined(separator: ", ")) besides its own cluster")
        case .localPreferred where context.servingIndexes.contains(source):
            required = [source]
        default:
            required = expected.map { shares in context.servingIndexes.filter { (shares[$0] ?? 0) > 0 } } ?? context.servingIndexes
        }
        let missed = required.filter { !reached.contains($0) }
        let reachedList = reached.map { context.names[$0] }.joined(separator: ", ")
        if missed.isEmpty {
            return CheckResult(name: name, source: sourceName, status: .pass,
                               message: "reached every expected cluster (\(reachedList)) in \(succeeded) answers")
        }
        let missedNames = missed.map { context.names[$0] }
        var message = "\(missedNames.joined(separator: ", ")) never answered \(sourceName)'s \(succeeded) successful requests (reached: \(reachedList))"
        if let shares = expected {
            let chance = missed.reduce(1.0) { $0 * BalanceTests.probabilityOfMissing(share: shares[$1] ?? 0, requests: succeeded) }
            if chance > 0 { message += "; by chance alone that happens with probability \(NumberFormat.scientific(chance))" }
        }
        return CheckResult(name: name, source: sourceName, status: .fail, message: message,
                           cause: crossClusterCause(sourceName), hint: crossClusterHint(sourceName, context.input.namespace))
    }

    static func crossClusterCause(_ source: String) -> String {
        "\(source)'s sidecars have no endpoints in the missing cluster(s): typically a missing remote secret, an east-west gateway without an address, a root CA that differs between clusters, or endpoints not yet propagated"
    }

    static func crossClusterHint(_ source: String, _ namespace: String) -> String {
        "run `meshcheck preflight`; in \(source) check `istioctl remote-clusters` and `istioctl proxy-config endpoints deploy/sleep -n \(namespace) | grep helloworld`"
    }

    // MARK: - balance

    static func balanceCheck(_ context: Context, _ source: Int, _ expected: [Int: Double]?) -> CheckResult {
        let name = CheckName.balance, sourceName = context.names[source]
        let balance = context.expectations.balance
        let alpha = context.expectations.significance
        let counts = context.successes(source: source)
        let n = counts.reduce(0) { $0 + $1.count }
        guard n > 0 else {
            return CheckResult(name: name, source: sourceName, status: .skip, message: "no successful requests from \(sourceName) to judge")
        }

        if case .localPreferred(let minimum) = balance, context.servingIndexes.contains(source) {
            let local = counts[source].count
            let interval = ShareInterval.wilson(successes: UInt64(local), trials: UInt64(n))
            let shares = shareDetails(context, counts, n: n, expected: [source: minimum])
            let details = BalanceDetails(expectation: balance.name, requests: n, test: "wilson-interval", significance: alpha, shares: shares)
            let observed = "local share \(NumberFormat.percent(interval.share)) (95 % CI \(NumberFormat.percent(interval.lower))–\(NumberFormat.percent(interval.upper)))"
            if interval.upper >= minimum {
                return CheckResult(name: name, source: sourceName, status: .pass, message: "\(observed), expected at least \(NumberFormat.percent(minimum))", balance: details)
            }
            return CheckResult(name: name, source: sourceName, status: .fail,
                               message: "\(observed) is below the expected \(NumberFormat.percent(minimum)) even at the interval's upper end",
                               cause: "requests from \(sourceName) leave the cluster although local endpoints are ready: locality load balancing is off or outlier detection ejected the local endpoints",
                               hint: "locality failover needs a DestinationRule with outlierDetection for helloworld; check it with `istioctl x describe`",
                               balance: details)
        }

        guard let expected else {
            if case .anyCrossCluster = balance {
                let details = BalanceDetails(expectation: balance.name, requests: n, test: "none", significance: alpha,
                                             shares: shareDetails(context, counts, n: n, expected: [:]))
                return CheckResult(name: name, source: sourceName, status: .skip,
                                   message: "any-cross-cluster does not judge the split (see all-clusters-reached)", balance: details)
            }
            return CheckResult(name: name, source: sourceName, status: .skip,
                               message: "no expected split: no serving cluster has ready endpoints or a positive weight")
        }

        // Categories: every serving cluster, plus any other cluster that answered (impossible by
        // expectation, which makes the split fail outright).
        let categories = context.names.indices.filter { context.servingIndexes.contains($0) || counts[$0].count > 0 }
        let shares = shareDetails(context, counts, n: n, expected: expected)
        guard categories.count >= 2 else {
            let details = BalanceDetails(expectation: balance.name, requests: n, test: "none", significance: alpha, shares: shares)
            return CheckResult(name: name, source: sourceName, status: .pass,
                               message: "only \(context.names[categories.first ?? source]) serves, so every request landing there is the expected split",
                               balance: details)
        }
        let observed = categories.map { UInt64(counts[$0].count) }
        let expectedShares = categories.map { expected[$0] ?? 0 }
        let fit = GoodnessOfFit.test(observed: observed, expectedShares: expectedShares)
        let power = powerStatement(n: n, expectedShares: expectedShares, alpha: alpha)
        let details = BalanceDetails(expectation: balance.name, requests: n, test: testName(fit.method), statistic: fit.statistic,
                                     degreesOfFreedom: fit.degreesOfFreedom, pValue: fit.pValue, significance: alpha, shares: shares,
                                     power: power)
        let split = wholePercents(categories.map { Double(counts[$0].count) / Double(n) }).map(String.init).joined(separator: "/")
        let expectedSplit = wholePercents(expectedShares).map(String.init).joined(separator: "/")
        let labels = categories.map { context.names[$0] }.joined(separator: "/")
        let pValue = "\(testName(fit.method)) p = \(NumberFormat.scientific(fit.pValue))"
        let significance = "α \(NumberFormat.shortest(alpha)), n = \(n)"
        if fit.pValue >= alpha {
            return CheckResult(name: name, source: sourceName, status: .pass,
                               message: "split \(split) over \(labels) is consistent with the expected \(expectedSplit) (\(pValue) ≥ \(significance))",
                               balance: details)
        }
        let unexpected = categories.filter { (expected[$0] ?? 0) == 0 && counts[$0].count > 0 }
        let cause = unexpected.isEmpty
            ? "the mesh does not spread \(sourceName)'s requests as expected (\(balance.name)): locality load balancing, a DestinationRule or VirtualService weight, or endpoints that were not ready for the whole run"
            : "\(unexpected.map { context.names[$0] }.joined(separator: ", ")) answered although the expectation gives it no share"
        return CheckResult(name: name, source: sourceName, status: .fail,
                           message: "split \(split) over \(labels) differs from the expected \(expectedSplit) (\(pValue) < \(significance))",
                           cause: cause,
                           hint: "check DestinationRules and VirtualServices for helloworld (`istioctl x describe svc helloworld -n \(context.input.namespace)`) and compare the ready endpoints per cluster in the report",
                           balance: details)
    }

    /// Shares as whole percentages that add up to 100 (largest remainder), so a split reads 26/74, not 26/75.
    static func wholePercents(_ shares: [Double]) -> [Int] {
        let total = shares.reduce(0, +)
        guard total > 0 else { return shares.map { _ in 0 } }
        let exact = shares.map { $0 / total * 100 }
        var whole = exact.map { Int($0.rounded(.down)) }
        let order = exact.indices.sorted { (exact[$0] - Double(whole[$0]), $1) > (exact[$1] - Double(whole[$1]), $0) }
        for index in order.prefix(max(0, 100 - whole.reduce(0, +))) { whole[index] += 1 }
        return whole
    }

    static func testName(_ method: GoodnessOfFitMethod) -> String {
        switch method {
        case .chiSquare: return "chi-square"
        case .exactBinomial: return "exact-binomial"
        case .exactMultinomial: return "exact-multinomial"
        case .monteCarlo: return "monte-carlo-multinomial"
        }
    }

    /// "with 200 requests, a 60/40 skew (expected 50/50) would be detected with power 0.74; 259 requests
    /// give power 0.9". Judged on the first category's share moved 10 points towards the middle or away.
    static func powerStatement(n: Int, expectedShares: [Double], alpha: Double) -> String? {
        guard let p0 = expectedShares.first, p0 > 0, p0 < 1 else { return nil }
        let p1 = p0 <= 0.5 ? p0 + 0.1 : p0 - 0.1
        let power = BalanceTests.power(requests: n, p0: p0, p1: p1, alpha: alpha)
        let needed = BalanceTests.requiredSampleSize(p0: p0, p1: p1, alpha: alpha, power: 0.9)
        let skew = "\(NumberFormat.percentNumber(p1))/\(NumberFormat.percentNumber(1 - p1))"
        let base = "\(NumberFormat.percentNumber(p0))/\(NumberFormat.percentNumber(1 - p0))"
        return "with \(n) requests, a \(skew) skew (expected \(base)) would be detected with power \(NumberFormat.fixed(power, 2)); \(needed) requests give power 0.9 at α \(NumberFormat.shortest(alpha))"
    }

    static func shareDetails(_ context: Context, _ counts: [(target: Int, count: Int)], n: Int, expected: [Int: Double]) -> [ShareDetail] {
        counts.filter { context.servingIndexes.contains($0.target) || $0.count > 0 }.map { entry in
            let interval = ShareInterval.wilson(successes: UInt64(entry.count), trials: UInt64(n))
            return ShareDetail(target: context.names[entry.target], observed: entry.count, share: interval.share,
                               interval: WilsonInterval(low: interval.lower, high: interval.upper), expectedShare: expected[entry.target] ?? 0)
        }
    }

    // MARK: - latency-slo

    static func latencyChecks(_ context: Context, _ source: Int) -> [CheckResult] {
        let slo = context.expectations.latencySLO
        guard !slo.isEmpty else { return [] }
        let sourceName = context.names[source]
        var out: [CheckResult] = []
        for target in context.servingIndexes {
            let targetName = context.names[target]
            let direction = target == source ? "local" : "cross-cluster"
            let bounds = slo.pairs.first { $0.source == sourceName && $0.target == targetName }?.bounds
                ?? (target == source ? slo.local : slo.crossCluster)
            guard !bounds.isEmpty else { continue }
            guard let histogram = context.tally.latency(source: source, target: target), histogram.count > 0 else {
                out.append(CheckResult(name: CheckName.latencySLO, source: sourceName, target: targetName, status: .skip,
                                       message: "no successful \(direction) requests \(sourceName) → \(targetName) to measure"))
                continue
            }
            var parts: [String] = [], breaches: [String] = []
            for bound in bounds.quantileBounds {
                let measured = Double(histogram.value(atPercentile: bound.quantile * 100) ?? 0) / 1000
                let part = "\(bound.label) \(NumberFormat.milliseconds(measured)) ms"
                if measured > bound.milliseconds {
                    breaches.append("\(part) > \(NumberFormat.shortest(bound.milliseconds)) ms")
                } else {
                    parts.append("\(part) ≤ \(NumberFormat.shortest(bound.milliseconds)) ms")
                }
            }
            if breaches.isEmpty {
                out.append(CheckResult(name: CheckName.latencySLO, source: sourceName, target: targetName, status: .pass,
                                       message: "\(direction) \(sourceName) → \(targetName): \(parts.joined(separator: ", ")) (n = \(histogram.count))"))
            } else {
                out.append(CheckResult(
                    name: CheckName.latencySLO, source: sourceName, target: targetName, status: .fail,
                    message: "\(direction) \(sourceName) → \(targetName): \(breaches.joined(separator: ", ")) (n = \(histogram.count))",
                    cause: target == source ? "in-cluster requests are slow: HelloWorld pods are CPU-starved or the sidecars are overloaded"
                                            : "cross-cluster requests are slow: the path through the east-west gateway adds latency, or the gateway is overloaded",
                    hint: "compare with the other pairs in the latency matrix; timings are measured in the client pod (curl time_total), so the exec round trip is not included"))
            }
        }
        return out
    }

    // MARK: - Matrix and summaries

    static func trafficRows(_ context: Context, _ source: Int, _ expected: [Int: Double]?) -> [TrafficRow] {
        let counts = context.successes(source: source)
        let n = counts.reduce(0) { $0 + $1.count }
        return context.names.indices.compactMap { target -> TrafficRow? in
            let pair = context.tally.pair(source: source, target: target)
            guard context.servingIndexes.contains(target) || pair.successes + pair.errors > 0 else { return nil }
            let interval = ShareInterval.wilson(successes: UInt64(pair.successes), trials: UInt64(n))
            var expectedShare = expected?[target]
            if expected == nil, case .localPreferred(let minimum) = context.expectations.balance, target == source { expectedShare = minimum }
            return TrafficRow(source: context.names[source], target: context.names[target], requests: pair.successes + pair.errors,
                              errors: pair.errors, share: n == 0 ? 0 : interval.share,
                              shareInterval: WilsonInterval(low: interval.lower, high: interval.upper),
                              expectedShare: expectedShare, latencyMs: context.tally.latency(source: source, target: target).flatMap(latencySummary))
        }
    }

    static func sourceSummary(_ context: Context, _ source: Int) -> SourceSummary {
        let counters = context.tally.sources[source]
        var byKind: [String: Int] = [:]
        for (kind, count) in counters.errorsByKind { byKind[kind.description] = count }
        return SourceSummary(source: context.names[source], requests: counters.records, succeeded: counters.succeeded, errors: counters.errors,
                             errorsByKind: byKind, missingRecords: counters.missingRecords, malformedLines: counters.malformedLines,
                             lateStarts: counters.paced ? counters.lateStarts : nil)
    }

    /// p50/p90/p99/max in milliseconds; nil for an empty histogram.
    public static func latencySummary(_ histogram: LatencyHistogram) -> LatencySummary? {
        guard histogram.count > 0 else { return nil }
        let values = histogram.values(atPercentiles: [50, 90, 99]).map { Double($0) / 1000 }
        return LatencySummary(p50: values[0], p90: values[1], p99: values[2], max: Double(histogram.max ?? 0) / 1000)
    }
}
