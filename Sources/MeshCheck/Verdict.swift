// The verdict: named checks over a run's tally, each pass/fail/warn/skip with a one-line reason, plus
// the traffic matrix and per-source summaries the reports show. Pure; the statistics come from MeshStats.

import MeshStats

package enum PodRole: String, Sendable, Equatable {
    case helloworld, sleep
}

/// A workload pod as seen when the bursts started.
package struct PodState: Sendable, Equatable {
    package var cluster: String
    package var name: String
    package var role: PodRole
    /// An `istio-proxy` container or native-sidecar init container is present.
    package var hasSidecar: Bool
    /// The pod's Ready condition: a HelloWorld pod that was not Ready is not expected to answer (`balance-instances`).
    package var ready: Bool

    package init(cluster: String, name: String, role: PodRole, hasSidecar: Bool, ready: Bool = true) {
        self.cluster = cluster
        self.name = name
        self.role = role
        self.hasSidecar = hasSidecar
        self.ready = ready
    }
}

package struct VerdictInput: Sendable {
    package var scenario: Scenario
    package var namespace: String
    /// Cluster names in `tally` must be the scenario's cluster names, in order.
    package var tally: TrafficTally
    /// Ready HelloWorld pods per serving cluster name.
    package var readyEndpoints: [String: Int]
    /// Every workload pod; empty when the pod lists are unknown (sidecar check skipped).
    package var pods: [PodState]
    /// What preflight found in the clusters' API objects: its checks lead the verdict's list, and
    /// failed traffic checks are explained with them (``Diagnosis``). Empty when judging saved records.
    package var preflight: [PreflightFinding]
    /// The checks of a saved report when judging its records again (`report --from-records`): those the
    /// traffic does not decide (preflight, cleanup) are kept as they were, and a traffic check judged
    /// exactly as before keeps the explanation the run gave it from evidence this input lacks.
    package var previousChecks: [CheckResult]
    /// Failed bursts' exec errors by source cluster index: a failing traffic row names them first, since whatever
    /// the records say, a session that failed is why requests went unreported (or why its records cannot be trusted).
    package var execFailures: [Int: [String]]
    /// istiod's `/debug/clusterz` by the cluster asked (preflight's), for each pair's sync layer.
    package var controlPlaneViews: [String: ControlPlaneView]
    /// The client sidecars' readings (both phases), for each pair's endpoint layer: the afterBursts readings judge,
    /// a source without them falls back to its afterConverge readings.
    package var sidecarReadings: [SidecarEndpointsReading]
    /// A saved report's pair layers when judging its records again: the views behind them are not saved.
    package var previousLayers: [PairLayers]
    /// The run's requests in time (windows of `scenario.timeline.window`); nil when records carry no time.
    package var timeline: TimelineTally?
    /// The disruptions as applied, on the same timeline.
    package var disruptions: [DisruptionRecord]
    /// Each cluster's region and zone by cluster name; a cluster missing here has an unknown locality.
    package var localities: [String: ClusterLocality]

    package init(
        scenario: Scenario, namespace: String, tally: TrafficTally, readyEndpoints: [String: Int], pods: [PodState],
        preflight: [PreflightFinding] = [], previousChecks: [CheckResult] = [], execFailures: [Int: [String]] = [:],
        controlPlaneViews: [String: ControlPlaneView] = [:], sidecarReadings: [SidecarEndpointsReading] = [], previousLayers: [PairLayers] = [],
        timeline: TimelineTally? = nil, disruptions: [DisruptionRecord] = [], localities: [String: ClusterLocality] = [:]
    ) {
        self.timeline = timeline
        self.disruptions = disruptions
        self.localities = localities
        self.controlPlaneViews = controlPlaneViews
        self.sidecarReadings = sidecarReadings
        self.previousLayers = previousLayers
        self.scenario = scenario
        self.namespace = namespace
        self.tally = tally
        self.readyEndpoints = readyEndpoints
        self.pods = pods
        self.preflight = preflight
        self.previousChecks = previousChecks
        self.execFailures = execFailures
    }
}

/// The judged run: every check row (preflight first), the traffic matrix with each pair's histogram,
/// the per-source summaries, each (source, serving cluster) pair's layers and answers per pod, and the verdict they
/// roll up to.
package struct VerdictOutcome: Sendable, Equatable {
    package var verdict: RunVerdict
    package var checks: [CheckResult]
    package var traffic: [TrafficRow]
    package var sources: [SourceSummary]
    package var layers: [PairLayers]
    package var instances: [InstanceSplit]
    /// Every applied disruption's figures per source it concerns (``FailoverFigures``).
    package var failover: [FailoverFigure] = []
}

/// Every check name, spelled once.
package enum CheckName {
    package static let sidecarInjection = "sidecar-injection"
    package static let reachability = "reachability"
    package static let errorRate = "error-rate"
    package static let allClustersReached = "all-clusters-reached"
    package static let balance = "balance"
    package static let balanceInstances = "balance-instances"
    package static let latencySLO = "latency-slo"
    /// Per source and disruption: time to fail over, errors meanwhile, recovery (``FailoverFigures``).
    package static let failover = "failover"
    /// Per source: the share its own zone or region served while healthy (`expectations.locality`).
    package static let locality = "locality"
    /// Added by the run when cleanup left objects behind.
    package static let cleanup = "cleanup"
    /// Added by the run when workloads did not become ready: one row per reason (``DeployDiagnosis``).
    package static let deploy = "deploy"
}

/// The judge. A check is a function here that turns the ``Context`` (tally, expectations, preflight
/// findings) into result rows, registered in ``perSourceChecks`` or called from ``evaluate(_:)``;
/// failing rows take their cause and hint from ``Diagnosis`` when preflight evidence explains them.
package enum Verdict {
    /// The checks judged once per source (client) cluster, in report order.
    static let perSourceChecks: [@Sendable (Context, Int) -> [CheckResult]] = [
        { [reachabilityCheck($0, $1)] },
        { [errorRateCheck($0, $1)] },
        { [allClustersReachedCheck($0, $1)] },
        { [balanceCheck($0, $1)] },
        { [instanceBalanceCheck($0, $1)] },
        { latencyChecks($0, $1) },
        { failoverChecks($0, $1) },
        { localityChecks($0, $1) },
    ]

    package static func evaluate(_ input: VerdictInput) -> VerdictOutcome {
        let context = Context(input)
        // Saved records carry no pod list: a saved report's sidecar row stands (it is carried below).
        let sidecarKnown = !input.pods.isEmpty || !input.previousChecks.contains { $0.name == CheckName.sidecarInjection }
        var judged = sidecarKnown ? [sidecarCheck(context)] : []
        var traffic: [TrafficRow] = []
        var sources: [SourceSummary] = []
        for source in context.sourceIndexes {
            for check in perSourceChecks { judged += check(context, source) }
            traffic += trafficRows(context, source)
            sources.append(sourceSummary(context, source))
        }
        judged = judged.map { keepPreviousExplanation($0, previous: input.previousChecks) }
        // Carried rows keep their place around the judged ones (a run's cleanup row stays last).
        let previous = input.previousChecks
        let judgedNames = Set(judged.map(\.name))
        let firstJudged = previous.firstIndex { judgedNames.contains($0.name) } ?? previous.endIndex
        let carriedBefore = previous[..<firstJudged].filter { !judgedNames.contains($0.name) }
        let carriedAfter = previous[firstJudged...].filter { !judgedNames.contains($0.name) }
        let checks = PreflightSummary.checks(input.preflight) + carriedBefore + judged + carriedAfter
        let instances = context.sourceIndexes.flatMap { context.instanceSplits[$0] ?? [] }
        return VerdictOutcome(
            verdict: rollUp(checks), checks: checks, traffic: traffic, sources: sources, layers: context.layers, instances: instances,
            failover: context.failover.figures)
    }

    /// pass/fail from the checks: any failed check fails the run.
    static func rollUp(_ checks: [CheckResult]) -> RunVerdict {
        checks.contains { $0.status == .fail } ? .fail : .pass
    }

    /// A check judged exactly as a saved report judged it keeps that report's cause and hint.
    static func keepPreviousExplanation(_ check: CheckResult, previous: [CheckResult]) -> CheckResult {
        guard check.status != .pass,
            let same = previous.first(where: {
                $0.name == check.name && $0.source == check.source && $0.target == check.target && $0.status == check.status
                    && $0.message == check.message
            })
        else { return check }
        var kept = check
        kept.cause = same.cause
        kept.hint = same.hint
        return kept
    }

    /// Precomputed lookups shared by the checks and the diagnosis.
    struct Context: Sendable {
        let input: VerdictInput
        let names: [String]
        let sourceIndexes: [Int]
        let servingIndexes: [Int]
        /// What each source must reach and the split it is judged against, by cluster index.
        let expected: [SourceExpectation]
        /// Every pair's latency histogram, built once.
        let latencies: PairHistograms
        /// Every (source, serving cluster) pair's layers (``PairLayerJudge``), judged once.
        let layers: [PairLayers]
        /// Each source's answers per HelloWorld pod of every serving cluster, judged once (``InstanceBalance``).
        let instanceSplits: [Int: [InstanceSplit]]
        /// The failover figures and the spans each disruption held each source in (empty without a timeline).
        let failover: (figures: [FailoverFigure], spans: [FailoverFigures.Span])
        var tally: TrafficTally { input.tally }
        var expectations: Expectations { input.scenario.expectations }
        var findings: [PreflightFinding] { input.preflight }
        var host: String { "helloworld.\(input.namespace):5000" }

        init(_ input: VerdictInput) {
            self.input = input
            names = input.tally.clusterNames
            let clusters = input.scenario.clusters
            sourceIndexes = clusters.indices.filter { clusters[$0].clients }
            servingIndexes = clusters.indices.filter { clusters[$0].serves != nil }
            expected = SourceExpectation.all(scenario: input.scenario, readyEndpoints: input.readyEndpoints, localities: input.localities)
            latencies = input.tally.latencyHistograms()
            layers = Self.layers(input, names: names, sources: sourceIndexes, serving: servingIndexes, expected: expected)
            instanceSplits = Self.instanceSplits(input, names: names, sources: sourceIndexes, serving: servingIndexes)
            failover =
                input.timeline == nil ? ([], []) : FailoverFigures.compute(Verdict.failoverInput(input, names: names, sources: sourceIndexes))
        }

        /// How `source`'s sidecars reach `target`'s pods, from their endpoint readings: the own cluster is direct; a
        /// sidecar that lists the target network's gateway (a `peer` endpoint) leaves the pick to that gateway, per
        /// connection; one that lists no gateway for it holds the remote pods' addresses (a flat network) and picks
        /// itself; without a visible reading a cross-cluster pair is unknown.
        static func instancePath(_ input: VerdictInput, source: String, target: String) -> InstanceBalance.Path {
            if source == target { return .direct }
            let visible = input.sidecarReadings.filter { $0.source == source && $0.visible }
            if visible.isEmpty { return .unknown }
            let viaGateway = visible.contains { $0.endpoints.contains { $0.origin == .peer && $0.peer == target } }
            return viaGateway ? .eastWestGateway : .direct
        }

        /// Every registered HelloWorld pod of each serving cluster with its answers to each source. The pods expected to
        /// answer are the Ready ones of the pod list, as for `readyEndpoints`; saved records have no list, and their pods
        /// are those seen answering.
        static func instanceSplits(_ input: VerdictInput, names: [String], sources: [Int], serving: [Int]) -> [Int: [InstanceSplit]] {
            let ready = Set(input.pods.filter { $0.role == .helloworld && $0.ready }.map { "\($0.cluster)/\($0.name)" })
            // By name: a replay of saved records registers pods in the order they first answered, the run as it listed them.
            let registered = input.tally.instances.sorted { $0.name < $1.name }
            let expectations = input.scenario.expectations
            var out: [Int: [InstanceSplit]] = [:]
            for source in sources {
                let pairs = serving.map { target in
                    InstanceBalance.Pair(
                        source: names[source], target: names[target],
                        pods: registered.filter { $0.cluster == target }.map { pod in
                            InstanceBalance.Pod(
                                name: pod.name, version: input.scenario.clusters[target].serves,
                                ready: input.pods.isEmpty || ready.contains("\(names[target])/\(pod.name)"),
                                answers: input.tally.successes(source: source, instance: pod.id))
                        },
                        path: instancePath(input, source: names[source], target: names[target]))
                }
                out[source] = InstanceBalance.judge(pairs, weights: input.scenario.routing?.weights, significance: expectations.significance)
            }
            return out
        }

        static func layers(_ input: VerdictInput, names: [String], sources: [Int], serving: [Int], expected: [SourceExpectation]) -> [PairLayers] {
            var answers: [String: [String: Int]] = [:]
            var mustReach: [String: Set<String>] = [:]
            var sidecars: [String: [SidecarEndpointsReading]] = [:]
            for source in sources {
                answers[names[source]] = Dictionary(
                    uniqueKeysWithValues: names.indices.map { (names[$0], input.tally.pair(source: source, target: $0).successes) })
                mustReach[names[source]] = Set(expected[source].mustReach.map { names[$0] })
                let own = input.sidecarReadings.filter { $0.source == names[source] }
                let afterBursts = own.filter { $0.phase == .afterBursts }
                sidecars[names[source]] = afterBursts.isEmpty ? own : afterBursts
            }
            let judge = PairLayerJudge.Input(
                findings: input.preflight, sync: input.controlPlaneViews, sidecars: sidecars, answers: answers,
                mustReach: mustReach, namespace: input.namespace, previous: input.previousLayers)
            return PairLayerJudge.judge(judge, sources: sources.map { names[$0] }, targets: serving.map { names[$0] })
        }

        /// The layers of `source` → `target` (cluster indexes).
        func layers(source: Int, target: Int) -> PairLayers? {
            layers.first { $0.source == names[source] && $0.target == names[target] }
        }

        /// Successful requests from `source` per serving cluster index, in cluster order; in a disrupted run, those of
        /// the healthy windows only (the disrupted ones are the failover check's).
        func successes(source: Int) -> [(target: Int, count: Int)] {
            if let healthy = Verdict.healthyWindows(self, source) { return names.indices.map { ($0, healthy.successes[$0]) } }
            return names.indices.map { ($0, tally.pair(source: source, target: $0).successes) }
        }

        /// The explanation for a failing row: the diagnosis's when preflight evidence or a broken pair layer gives one, else the check's own;
        /// led by the source's failed exec sessions, if any.
        func explained(
            _ diagnosis: (Diagnosis) -> Diagnosis.Explanation?, source: Int? = nil, cause: String?, hint: String?
        ) -> (cause: String?, hint: String?) {
            var (cause, hint) = (cause, hint)
            let evidence = !findings.isEmpty || layers.contains { $0.explainingCause != nil && (source == nil || $0.source == names[source!]) }
            if evidence, let explanation = diagnosis(Diagnosis(self)) { (cause, hint) = (explanation.cause, explanation.hint ?? hint) }
            guard let source, let failures = input.execFailures[source], let first = failures.first else { return (cause, hint) }
            let bursts = failures.count == 1 ? "a burst's exec session failed" : "\(failures.count) bursts' exec sessions failed"
            return ("\(bursts) (first: \(first))" + (cause.map { "; \($0)" } ?? ""), hint)
        }
    }

    // MARK: - sidecar-injection

    static func sidecarCheck(_ context: Context) -> CheckResult {
        let name = CheckName.sidecarInjection
        let pods = context.input.pods
        guard !pods.isEmpty else {
            return CheckResult(name: name, status: .skip, message: "no pod list was taken, so sidecars were not checked")
        }
        let missing = pods.filter { !$0.hasSidecar }
        guard !missing.isEmpty else {
            return CheckResult(name: name, status: .pass, message: "all \(pods.count) workload pods run an istio-proxy sidecar")
        }
        let clusters = Array(Set(missing.map(\.cluster))).sorted()
        let listed = missing.prefix(4).map { "\($0.cluster)/\($0.name)" }.joined(separator: ", ") + (missing.count > 4 ? ", ..." : "")
        let (cause, hint) = context.explained(
            { $0.sidecars() },
            cause:
                "sidecar injection did not happen in \(clusters.joined(separator: ", ")): the namespace's injection label does not match an installed revision, or injection is disabled there; pods without a sidecar bypass the mesh and reach only their own cluster",
            hint: sidecarHint(context.input.namespace))
        return CheckResult(
            name: name, status: .fail,
            message: "\(missing.count) of \(pods.count) workload pods have no istio-proxy sidecar: \(listed)",
            cause: cause, hint: hint)
    }

    static func sidecarHint(_ namespace: String) -> String {
        "compare `kubectl get namespace \(namespace) --show-labels` with the revision istiod or the ControlPlaneRevision serves (set mesh.revision explicitly if auto-detection picked the wrong one), and run `istioctl analyze -n \(namespace)`"
    }

    // MARK: - reachability

    static func reachabilityCheck(_ context: Context, _ source: Int) -> CheckResult {
        let counters = context.tally.sources[source]
        let name = CheckName.reachability
        let sourceName = context.names[source]
        let host = context.host
        if counters.succeeded > 0 {
            return CheckResult(
                name: name, source: sourceName, status: .pass,
                message: "\(counters.succeeded) of \(counters.records + counters.missingRecords) requests to \(host) were answered by HelloWorld")
        }
        let message: String
        let ownCause: String
        let ownHint: String
        if counters.records == 0 {
            message = "no request from \(sourceName) produced a record"
            ownCause =
                counters.missingRecords > 0 ? "the bursts' exec sessions failed or were cut before any request finished" : "no burst ran from this cluster"
            ownHint = "check that the Sleep pod in \(sourceName) is running and that the exec API is reachable (`kubectl exec` into it)"
        } else {
            let dominant = counters.errorsByKind.max { ($0.value, $1.key) < ($1.value, $0.key) }!.key
            message = "none of \(counters.records) requests from \(sourceName) to \(host) succeeded (mostly \(dominant))"
            (ownCause, ownHint) = explain(dominant, host: host)
        }
        let (cause, hint) = context.explained(
            { $0.crossCluster(source: source, cause: ownCause, hint: ownHint) }, source: source, cause: ownCause, hint: ownHint)
        return CheckResult(name: name, source: sourceName, status: .fail, message: message, cause: cause, hint: hint)
    }

    static func explain(_ kind: RequestErrorKind, host: String) -> (cause: String, hint: String) {
        switch kind {
        case .curl(6):
            return (
                "\(host) did not resolve in the client pod (curl exit 6)",
                "the helloworld Service must exist in the client's cluster; check `kubectl get svc helloworld` and DNS in that cluster"
            )
        case .curl(7):
            return (
                "connections were refused (curl exit 7): nothing listens behind the address the client reached",
                "check that HelloWorld pods are ready and the Service's port 5000 targets them"
            )
        case .curl(28):
            return (
                "requests timed out (curl exit 28)",
                "check east-west gateway reachability and network policies; raise load.requestTimeout if the backend is just slow"
            )
        case .curl(52), .curl(56):
            return (
                "connections were closed or reset without a response (curl exit \(kind == .curl(52) ? 52 : 56))",
                "look at the client's istio-proxy logs (`kubectl logs <pod> -c istio-proxy`) for upstream resets and mTLS errors"
            )
        case .curl(let code):
            return ("curl failed with exit code \(code)", "run the request by hand with `kubectl exec` and `curl -v` to see the failure")
        case .http(503):
            return (
                "the client's sidecar answered 503: it has no healthy upstream for helloworld",
                "check `istioctl proxy-config endpoints <sleep pod> --cluster \"outbound|5000||helloworld.<ns>.svc.cluster.local\"` for endpoints"
            )
        case .http(let status):
            return ("HelloWorld or the mesh answered HTTP \(status)", "look at the HelloWorld pods' logs and the client's istio-proxy logs")
        case .unknownInstance:
            return (
                "answers named an instance that is not a HelloWorld pod of this run",
                "another workload answers for helloworld in this namespace, or pods were replaced during the run; list pods with `-l app=helloworld`"
            )
        }
    }

    // MARK: - error-rate

    static func errorRateCheck(_ context: Context, _ source: Int) -> CheckResult {
        if let healthy = healthyErrorRateCheck(context, source) { return healthy }
        let counters = context.tally.sources[source]
        let name = CheckName.errorRate
        let sourceName = context.names[source]
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
        let own = dominant.map { explain($0, host: context.host) }
        let (cause, hint) = context.explained(
            { $0.errors(source: source) }, source: source,
            cause: own?.cause ?? "bursts ended before reporting every request (exec sessions broke or were cut)",
            hint: own?.hint ?? "look for exec errors in the run log; `records.jsonl` lists every request that did report")
        return CheckResult(
            name: name, source: sourceName, status: .fail, message: "\(summary): \(kinds.joined(separator: ", "))",
            cause: cause, hint: hint)
    }

    // MARK: - all-clusters-reached

    static func allClustersReachedCheck(_ context: Context, _ source: Int) -> CheckResult {
        let name = CheckName.allClustersReached
        let sourceName = context.names[source]
        let succeeded = context.tally.sources[source].succeeded
        guard succeeded > 0 else {
            return CheckResult(name: name, source: sourceName, status: .skip, message: "no successful requests from \(sourceName) to attribute")
        }
        let expected = context.expected[source]
        let reached = context.successes(source: source).filter { $0.count > 0 }.map(\.target)
        let notReached: () -> CheckResult = {
            let (cause, hint) = context.explained(
                { $0.crossCluster(source: source, cause: crossClusterCause(sourceName), hint: crossClusterHint(sourceName, context.input.namespace)) },
                source: source, cause: crossClusterCause(sourceName), hint: crossClusterHint(sourceName, context.input.namespace))
            return CheckResult(name: name, source: sourceName, status: .fail, message: "", cause: cause, hint: hint)
        }
        if expected.anyOther {
            let others = reached.filter { $0 != source }
            if others.isEmpty {
                var failed = notReached()
                failed.message = "all \(succeeded) answers came from \(sourceName) itself; no other cluster was reached"
                return failed
            }
            return CheckResult(
                name: name, source: sourceName, status: .pass,
                message: "reached \(others.map { context.names[$0] }.joined(separator: ", ")) besides its own cluster")
        }
        let missed = expected.mustReach.filter { !reached.contains($0) }
        let reachedList = reached.map { context.names[$0] }.joined(separator: ", ")
        if missed.isEmpty {
            return CheckResult(
                name: name, source: sourceName, status: .pass,
                message: "reached every expected cluster (\(reachedList)) in \(succeeded) answers")
        }
        let missedNames = missed.map { context.names[$0] }
        var failed = notReached()
        failed.message = "\(missedNames.joined(separator: ", ")) never answered \(sourceName)'s \(succeeded) successful requests (reached: \(reachedList))"
        if let shares = expected.shares {
            let chance = missed.reduce(1.0) { $0 * BalanceTests.probabilityOfMissing(share: shares[$1] ?? 0, requests: succeeded) }
            if chance > 0 { failed.message += "; by chance alone that happens with probability \(NumberFormat.scientific(chance))" }
        }
        return failed
    }

    static func crossClusterCause(_ source: String) -> String {
        "\(source)'s sidecars have no endpoints in the missing cluster(s): typically a missing remote secret, an east-west gateway without an address, a root CA that differs between clusters, or endpoints not yet propagated"
    }

    static func crossClusterHint(_ source: String, _ namespace: String) -> String {
        "run `meshcheck preflight`; in \(source) check `istioctl remote-clusters` and `istioctl proxy-config endpoints deploy/sleep -n \(namespace) | grep helloworld`"
    }

    // MARK: - balance

    static func balanceCheck(_ context: Context, _ source: Int) -> CheckResult {
        let name = CheckName.balance
        if let skipped = disruptedWithoutTimeline(context, name, source) { return skipped }
        let sourceName = context.names[source]
        let expected = context.expected[source].shares
        // A cluster that never answered skews the split for the same reason it was not reached.
        func explained(cause: String, hint: String) -> (cause: String?, hint: String?) {
            context.explained(
                { $0.balance() ?? $0.crossCluster(source: source, cause: cause, hint: hint) }, source: source, cause: cause, hint: hint)
        }
        let balance = context.expectations.balance
        let alpha = context.expectations.significance
        let counts = context.successes(source: source)
        // Under locality load balancing the default expectation follows Istio's locality rules (``SourceExpectation``).
        let expectationName = context.expected[source].localityBasis ?? balance.name
        let n = counts.reduce(0) { $0 + $1.count }
        guard n > 0 else {
            return CheckResult(name: name, source: sourceName, status: .skip, message: "no successful requests from \(sourceName) to judge")
        }

        if let preference = context.expected[source].localPreference {
            let minimum = preference.minShare
            let local = preference.clusters.reduce(0) { $0 + counts[$1].count }
            let interval = ShareInterval.wilson(successes: UInt64(local), trials: UInt64(n))
            let shares = shareDetails(context, counts, n: n, expected: preference.expectedShares)
            let details = BalanceDetails(expectation: preference.name, requests: n, test: "wilson-interval", significance: alpha, shares: shares)
            let observed =
                "local share \(NumberFormat.percent(interval.share)) (95 % CI \(NumberFormat.percent(interval.lower))–\(NumberFormat.percent(interval.upper)))"
            if interval.upper >= minimum {
                return CheckResult(
                    name: name, source: sourceName, status: .pass, message: "\(observed), expected at least \(NumberFormat.percent(minimum))", balance: details)
            }
            let (cause, hint) = explained(
                cause:
                    "requests from \(sourceName) leave the cluster although local endpoints are ready: locality load balancing is off or outlier detection ejected the local endpoints",
                hint: "locality failover needs a DestinationRule with outlierDetection for helloworld; check it with `istioctl x describe`")
            return CheckResult(
                name: name, source: sourceName, status: .fail,
                message: "\(observed) is below the expected \(NumberFormat.percent(minimum)) even at the interval's upper end",
                cause: cause, hint: hint, balance: details)
        }

        guard let expected else {
            if case .anyCrossCluster = balance {
                let details = BalanceDetails(
                    expectation: expectationName, requests: n, test: "none", significance: alpha,
                    shares: shareDetails(context, counts, n: n, expected: [:]))
                return CheckResult(
                    name: name, source: sourceName, status: .skip,
                    message: "any-cross-cluster does not judge the split (see all-clusters-reached)", balance: details)
            }
            return CheckResult(
                name: name, source: sourceName, status: .skip,
                message: "no expected split: no serving cluster has ready endpoints or a positive weight")
        }

        // Categories: every serving cluster, plus any other cluster that answered (impossible by
        // expectation, which makes the split fail outright).
        let categories = context.names.indices.filter { context.servingIndexes.contains($0) || counts[$0].count > 0 }
        let shares = shareDetails(context, counts, n: n, expected: expected)
        guard categories.count >= 2 else {
            let details = BalanceDetails(expectation: expectationName, requests: n, test: "none", significance: alpha, shares: shares)
            return CheckResult(
                name: name, source: sourceName, status: .pass,
                message: "only \(context.names[categories.first ?? source]) serves, so every request landing there is the expected split",
                balance: details)
        }
        let observed = categories.map { UInt64(counts[$0].count) }
        let expectedShares = categories.map { expected[$0] ?? 0 }
        let fit = GoodnessOfFit.test(observed: observed, expectedShares: expectedShares)
        let power = powerStatement(n: n, expectedShares: expectedShares, alpha: alpha)
        let details = BalanceDetails(
            expectation: expectationName, requests: n, test: testName(fit.method), statistic: fit.statistic,
            degreesOfFreedom: fit.degreesOfFreedom, pValue: fit.pValue, significance: alpha, shares: shares,
            power: power)
        let split = wholePercents(categories.map { Double(counts[$0].count) / Double(n) }).map(String.init).joined(separator: "/")
        let expectedSplit = wholePercents(expectedShares).map(String.init).joined(separator: "/")
        let labels = categories.map { context.names[$0] }.joined(separator: "/")
        let pValue = "\(testName(fit.method)) p = \(NumberFormat.scientific(fit.pValue))"
        let significance = "α \(NumberFormat.shortest(alpha)), n = \(n)"
        if fit.pValue >= alpha {
            return CheckResult(
                name: name, source: sourceName, status: .pass,
                message: "split \(split) over \(labels) is consistent with the expected \(expectedSplit) (\(pValue) ≥ \(significance))",
                balance: details)
        }
        let unexpected = categories.filter { (expected[$0] ?? 0) == 0 && counts[$0].count > 0 }
        var cause =
            unexpected.isEmpty
            ? "the mesh does not spread \(sourceName)'s requests as expected (\(expectationName)): locality load balancing, a DestinationRule or VirtualService weight, or endpoints that were not ready for the whole run"
            : "\(unexpected.map { context.names[$0] }.joined(separator: ", ")) answered although the expectation gives it no share"
        if let unknown = localityUnknownCause(context, source) { cause = unknown }
        let explanation = explained(
            cause: cause,
            hint:
                "check DestinationRules and VirtualServices for helloworld (`istioctl x describe svc helloworld -n \(context.input.namespace)`) and compare the ready endpoints per cluster in the report"
        )
        return CheckResult(
            name: name, source: sourceName, status: .fail,
            message: "split \(split) over \(labels) differs from the expected \(expectedSplit) (\(pValue) < \(significance))",
            cause: explanation.cause, hint: explanation.hint, balance: details)
    }

    // MARK: - balance-instances

    static func instanceBalanceCheck(_ context: Context, _ source: Int) -> CheckResult {
        // The per-pod answers carry no time, so a disrupted run's cannot be split into healthy and disrupted periods.
        if isDisrupted(context) {
            return CheckResult(
                name: CheckName.balanceInstances, source: context.names[source], status: .skip,
                message: "the run applied disruptions and answers per pod carry no time, so the split over pods is not judged (see failover)")
        }
        let splits = context.instanceSplits[source] ?? []
        return InstanceBalance.row(
            source: context.names[source], splits: splits, significance: context.expectations.significance,
            namespace: context.input.namespace
        ) { cause, hint in
            context.explained({ $0.instances() }, source: source, cause: cause, hint: hint)
        }
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
        return
            "with \(n) requests, a \(skew) skew (expected \(base)) would be detected with power \(NumberFormat.fixed(power, 2)); \(needed) requests give power 0.9 at α \(NumberFormat.shortest(alpha))"
    }

    static func shareDetails(_ context: Context, _ counts: [(target: Int, count: Int)], n: Int, expected: [Int: Double]) -> [ShareDetail] {
        counts.filter { context.servingIndexes.contains($0.target) || $0.count > 0 }.map { entry in
            let interval = ShareInterval.wilson(successes: UInt64(entry.count), trials: UInt64(n))
            return ShareDetail(
                target: context.names[entry.target], observed: entry.count, share: interval.share,
                interval: WilsonInterval(interval), expectedShare: expected[entry.target] ?? 0)
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
            let bounds =
                slo.pairs.first { $0.source == sourceName && $0.target == targetName }?.bounds
                ?? (target == source ? slo.local : slo.crossCluster)
            guard !bounds.isEmpty else { continue }
            guard let histogram = context.latencies[source: source, target: target], histogram.count > 0 else {
                out.append(
                    CheckResult(
                        name: CheckName.latencySLO, source: sourceName, target: targetName, status: .skip,
                        message: "no successful \(direction) requests \(sourceName) → \(targetName) to measure"))
                continue
            }
            var parts: [String] = []
            var breaches: [String] = []
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
                out.append(
                    CheckResult(
                        name: CheckName.latencySLO, source: sourceName, target: targetName, status: .pass,
                        message: "\(direction) \(sourceName) → \(targetName): \(parts.joined(separator: ", ")) (n = \(histogram.count))"))
            } else {
                out.append(
                    CheckResult(
                        name: CheckName.latencySLO, source: sourceName, target: targetName, status: .fail,
                        message: "\(direction) \(sourceName) → \(targetName): \(breaches.joined(separator: ", ")) (n = \(histogram.count))",
                        cause: target == source
                            ? "in-cluster requests are slow: HelloWorld pods are CPU-starved or the sidecars are overloaded"
                            : "cross-cluster requests are slow: the path through the east-west gateway adds latency, or the gateway is overloaded",
                        hint:
                            "compare with the other pairs in the latency matrix; timings are measured in the client pod (curl time_total), so the exec round trip is not included"
                    ))
            }
        }
        // Which directions breach explains each breach, so failing rows are explained once all are judged.
        return out.map { check in
            guard check.status == .fail, let target = check.target.flatMap({ context.names.firstIndex(of: $0) }) else { return check }
            var explained = check
            (explained.cause, explained.hint) = context.explained(
                { $0.latency(source: source, target: target, directions: out) },
                cause: check.cause, hint: check.hint)
            return explained
        }
    }

    // MARK: - Matrix and summaries

    static func trafficRows(_ context: Context, _ source: Int) -> [TrafficRow] {
        // The whole run, disruptions included (the healthy-window counts are the checks').
        let n = context.names.indices.reduce(0) { $0 + context.tally.pair(source: source, target: $1).successes }
        let expected = context.expected[source].shares
        return context.names.indices.compactMap { target -> TrafficRow? in
            let pair = context.tally.pair(source: source, target: target)
            guard context.servingIndexes.contains(target) || pair.successes + pair.errors > 0 else { return nil }
            let interval = ShareInterval.wilson(successes: UInt64(pair.successes), trials: UInt64(n))
            var expectedShare = expected?[target]
            if expected == nil, let preference = context.expected[source].localPreference { expectedShare = preference.expectedShares[target] }
            let histogram = context.latencies[source: source, target: target].flatMap { $0.count > 0 ? $0 : nil }
            return TrafficRow(
                source: context.names[source], target: context.names[target], requests: pair.successes + pair.errors,
                errors: pair.errors, share: n == 0 ? 0 : interval.share,
                shareInterval: WilsonInterval(interval),
                expectedShare: expectedShare, latencyMs: histogram.flatMap(latencySummary),
                latencyHistogram: histogram.map(LatencyBuckets.init))
        }
    }

    static func sourceSummary(_ context: Context, _ source: Int) -> SourceSummary {
        let counters = context.tally.sources[source]
        var byKind: [String: Int] = [:]
        for (kind, count) in counters.errorsByKind { byKind[kind.description] = count }
        return SourceSummary(
            source: context.names[source], requests: counters.records, succeeded: counters.succeeded, errors: counters.errors,
            errorsByKind: byKind, missingRecords: counters.missingRecords, malformedLines: counters.malformedLines,
            lateStarts: counters.paced ? counters.lateStarts : nil)
    }

    /// p50/p90/p99/max in milliseconds; nil for an empty histogram.
    package static func latencySummary(_ histogram: LatencyHistogram) -> LatencySummary? {
        guard histogram.count > 0 else { return nil }
        let values = histogram.values(atPercentiles: [50, 90, 99]).map { Double($0) / 1000 }
        return LatencySummary(p50: values[0], p90: values[1], p99: values[2], max: Double(histogram.max ?? 0) / 1000)
    }
}
