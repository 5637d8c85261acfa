// The `failover` and `locality` checks, and how a disrupted run's other checks see only its healthy windows.
// Pure; the figures come from ``FailoverFigures``.

import MeshStats

extension Verdict {
    /// Whether the run applied a disruption: then the checks that judge a steady mesh (error-rate, balance,
    /// balance-instances, all-clusters-reached) must not count the disrupted periods.
    static func isDisrupted(_ context: Context) -> Bool {
        context.input.disruptions.contains { $0.appliedAtMs != nil }
    }

    /// `source`'s windows outside every disruption's span (from its action to its recovery, or the end), added
    /// together; nil when the run was not disrupted or has no timeline.
    static func healthyWindows(_ context: Context, _ source: Int) -> TimelineWindow? {
        guard isDisrupted(context), let timeline = context.input.timeline else { return nil }
        let spans = context.failover.spans.filter { $0.source == source }
        let healthy = timeline.windows(source: source).filter { entry in !spans.contains { $0.contains(entry.index) } }.map(\.window)
        return FailoverFigures.sum(healthy, clusterCount: timeline.clusterCount)
    }

    /// A disrupted run without a timeline cannot separate the disruption from the steady state: the steady-state
    /// checks skip, naming the failover check.
    static func disruptedWithoutTimeline(_ context: Context, _ name: String, _ source: Int) -> CheckResult? {
        guard isDisrupted(context), context.input.timeline == nil else { return nil }
        return CheckResult(
            name: name, source: context.names[source], status: .skip,
            message: "the run applied disruptions and its records carry no time, so the healthy periods cannot be told apart (see failover)")
    }

    /// error-rate of a disrupted run: the failed requests of the healthy windows (the disrupted ones are the failover
    /// check's); records that never came back carry no time and are not counted here.
    static func healthyErrorRateCheck(_ context: Context, _ source: Int) -> CheckResult? {
        if let skipped = disruptedWithoutTimeline(context, CheckName.errorRate, source) { return skipped }
        guard let healthy = healthyWindows(context, source) else { return nil }
        let sourceName = context.names[source]
        let limit = context.expectations.maxErrorRate
        guard healthy.requests > 0 else {
            return CheckResult(
                name: CheckName.errorRate, source: sourceName, status: .skip,
                message: "no request from \(sourceName) fell outside the disruptions (see failover)")
        }
        let rate = Double(healthy.errors) / Double(healthy.requests)
        let summary =
            "\(healthy.errors) of \(healthy.requests) requests outside the disruptions failed (\(NumberFormat.percent(rate)), allowed \(NumberFormat.percent(limit)); the disrupted periods are judged by failover)"
        if rate <= limit { return CheckResult(name: CheckName.errorRate, source: sourceName, status: .pass, message: summary) }
        return CheckResult(
            name: CheckName.errorRate, source: sourceName, status: .fail, message: summary,
            cause: "requests failed while no disruption was in effect (before the first action or after recovery)",
            hint: "look at records.jsonl around the failed requests' times and at the timeline in report.html")
    }

    /// Why the default balance expectation stayed proportional although locality load balancing is in effect: the
    /// clusters' localities were not known, so Istio's locality split could not be derived.
    static func localityUnknownCause(_ context: Context, _ source: Int) -> String? {
        guard context.input.scenario.locality?.isInEffect == true, context.expectations.balance == .proportionalToEndpoints,
            context.expected[source].localityBasis == nil, context.input.localities[context.names[source]]?.region == nil
        else { return nil }
        return
            "routing.locality is in effect (outlier detection is set), so Istio prefers \(context.names[source])'s own locality, but its locality is unknown (no topology.kubernetes.io/region label was read), so the expected split stayed proportional to endpoints"
    }

    // MARK: - failover

    static func failoverChecks(_ context: Context, _ source: Int) -> [CheckResult] {
        let scenario = context.input.scenario
        guard !scenario.disruptions.isEmpty || !context.input.disruptions.isEmpty else {
            // Only a scenario that asks about failover gets a row saying there was nothing to judge.
            guard scenario.locality != nil || scenario.expectations.failover != FailoverExpectation() else { return [] }
            return [skipped(CheckName.failover, context, source, "the scenario has no disruptions, so nothing failed over")]
        }
        guard context.input.timeline != nil else {
            return [skipped(CheckName.failover, context, source, "the run's records carry no time, so failover cannot be measured")]
        }
        var rows: [CheckResult] = []
        for disruption in context.input.disruptions {
            guard disruption.appliedAtMs != nil else {
                var row = skipped(
                    CheckName.failover, context, source,
                    "\(disruption.name) was never applied" + (disruption.error.map { ": \($0)" } ?? " (the load ended first)"))
                row.target = disruption.name
                rows.append(row)
                continue
            }
            guard let figure = context.failover.figures.first(where: { $0.disruption == disruption.name && $0.source == context.names[source] })
            else {
                var row = skipped(
                    CheckName.failover, context, source,
                    "\(disruption.name) (\(disruption.kind)) faults only the requests of \(disruption.clusters.joined(separator: ", "))")
                row.target = disruption.name
                rows.append(row)
                continue
            }
            rows.append(judge(figure, context, source))
        }
        return rows
    }

    static func skipped(_ name: String, _ context: Context, _ source: Int, _ message: String) -> CheckResult {
        CheckResult(name: name, source: context.names[source], status: .skip, message: message)
    }

    static func judge(_ figure: FailoverFigure, _ context: Context, _ source: Int) -> CheckResult {
        var row = CheckResult(name: CheckName.failover, source: figure.source, target: figure.disruption, status: .pass, message: "")
        func fail(_ message: String, cause: String, hint: String) -> CheckResult {
            row.status = .fail
            row.message = message
            row.cause = cause
            row.hint = hint
            return row
        }
        let expectation = context.expectations.failover
        let errors = "\(figure.errorsDuringFailover) of \(figure.requestsDuringFailover) requests failed"
        let recovery = figure.recoverySeconds.map { ", recovered \(seconds($0)) after the restore" } ?? ""
        if figure.kind == "abort" {
            return judgeAbort(figure, context, row: row, errors: errors, recovery: recovery)
        }
        let affected = figure.affected.joined(separator: ", ")
        let localBefore = figure.localShareBefore.map { "kept \(NumberFormat.percent($0)) of its answers in its own zone before the action" }
        if let locality = context.input.scenario.locality, !locality.isInEffect {
            return fail(
                "locality routing is set without outlierDetection: nothing failed over" + (localBefore.map { "; \(figure.source) \($0)" } ?? ""),
                cause:
                    "Istio applies locality load balancing and failover only to destinations with outlier detection, so every endpoint was in one priority, traffic from \(figure.source) was never kept local"
                    + (figure.localShareBefore.map { " (local share \(NumberFormat.percent($0)) before the action)" } ?? "")
                    + " and nothing \"failed over\": requests simply went to whichever endpoints were left",
                hint:
                    "add `routing.locality.outlierDetection` (e.g. consecutive5xxErrors: 5, interval: 10s, baseEjectionTime: 30s) so Envoy ejects failing endpoints and keeps traffic in the source's locality while it is healthy"
            )
        }
        if let locality = context.input.scenario.locality, locality.isInEffect, let share = figure.localShareBefore,
            let local = FailoverFigures.localClusters(failoverInput(context), source: source),
            local.contains(where: { context.servingIndexes.contains($0) }),
            !LocalityTest.keeps(
                local: Int((share * Double(figure.baselineAnswers)).rounded()), of: figure.baselineAnswers,
                minShare: context.expectations.locality?.minShare ?? Expectations.defaultMinLocalShare, significance: context.expectations.significance)
        {
            return fail(
                "\(figure.source) kept only \(NumberFormat.percent(share)) of \(figure.baselineAnswers) answers local before \(figure.disruption): it never preferred its locality",
                cause:
                    "locality load balancing did not keep \(figure.source)'s traffic in its own locality although a serving cluster is there: the clusters' localities (node topology labels) differ from what the mesh sees, or the DestinationRule did not reach the client sidecars",
                hint: "compare the clusters' localities in the report with `istioctl proxy-config endpoints deploy/sleep -o json | grep -A3 locality`")
        }
        guard let baseline = figure.baselineShare else {
            row.status = .skip
            row.message = "no answers to \(figure.source) in the windows before \(figure.disruption), so there is no share to fail over from"
            return row
        }
        guard baseline > expectation.shareThreshold else {
            row.message =
                "\(figure.source) did not use \(affected) before \(figure.disruption) (share \(NumberFormat.percent(baseline)) ≤ \(NumberFormat.percent(expectation.shareThreshold))); \(errors) during it"
            return row
        }
        let hint =
            "see the timeline in report.html; the ejection settings (consecutive5xxErrors, interval, baseEjectionTime) bound how fast Envoy moves traffic"
        guard let failover = figure.failoverSeconds else {
            return fail(
                "\(figure.source) never failed over from \(affected) (share \(NumberFormat.percent(baseline)) before); \(errors)",
                cause: "requests from \(figure.source) kept reaching or failing at \(affected) until \(figure.restored ? "the restore" : "the end")",
                hint: hint)
        }
        let summary = "failed over from \(affected) in \(seconds(failover)) (share \(NumberFormat.percent(baseline)) before); \(errors)"
        if let bound = expectation.maxFailoverSeconds, failover > bound {
            return fail(
                "\(summary), more than the allowed \(seconds(bound))",
                cause: "Envoy took longer than expected to stop sending \(figure.source)'s requests to \(affected)", hint: hint)
        }
        if let bound = expectation.maxErrorsDuringFailover, figure.errorsDuringFailover > bound {
            return fail(
                "\(summary), more than the allowed \(bound) errors",
                cause:
                    "\(figure.errorsDuringFailover) requests failed before traffic moved: each endpoint needs consecutive errors to be ejected, and retries did not hide them",
                hint: hint)
        }
        if let judged = recoveryFailure(figure, expectation, summary: summary) { return fail(judged.message, cause: judged.cause, hint: hint) }
        if figure.localityReturned == false {
            return fail(
                "\(summary)\(recovery), but the local share did not return",
                cause: "after the restore \(figure.source)'s traffic stayed away from its own locality",
                hint: "ejected endpoints return after baseEjectionTime; a longer load after the restore shows whether it comes back")
        }
        row.message = summary + recovery
        return row
    }

    static func judgeAbort(_ figure: FailoverFigure, _ context: Context, row: CheckResult, errors: String, recovery: String) -> CheckResult {
        var row = row
        let expectation = context.expectations.failover
        let window =
            figure.errorWindowStartSeconds.map { start in "errors from \(seconds(start)) to \(seconds(figure.errorWindowEndSeconds ?? start))" }
            ?? "no errors"
        let rate =
            "\(NumberFormat.percent(figure.requestsDuringFailover == 0 ? 0 : Double(figure.errorsDuringFailover) / Double(figure.requestsDuringFailover))) (95 % CI \(NumberFormat.percent(figure.errorRate.low))–\(NumberFormat.percent(figure.errorRate.high)))"
        var summary = "\(window); \(errors) while the fault was in place, \(rate)"
        if let configured = figure.configuredErrorRate { summary += " for a configured \(NumberFormat.percent(configured))" }
        let hint =
            "check the fault VirtualService in the client cluster (`kubectl get virtualservice -l app=helloworld -o yaml`) and the timeline in report.html"
        if let configured = figure.configuredErrorRate, figure.requestsDuringFailover > 0 {
            // At the scenario's significance, not 95 %: a correct fault must not fail one run in twenty.
            let interval = ShareInterval.wilson(
                successes: UInt64(figure.errorsDuringFailover), trials: UInt64(figure.requestsDuringFailover),
                confidence: min(max(1 - context.expectations.significance, 0.5), 0.999_999))
            if configured < interval.lower || configured > interval.upper {
                row.status = .fail
                row.message = "\(summary): the error rate differs from the configured abort percentage"
                row.cause =
                    "the fault did not abort the configured share of \(figure.source)'s requests: it reached only some routes or sidecars, or retries or other failures changed the rate"
                row.hint = hint
                return row
            }
        }
        if let judged = recoveryFailure(figure, expectation, summary: summary) {
            row.status = .fail
            row.message = judged.message
            row.cause = judged.cause
            row.hint = hint
            return row
        }
        row.message = summary + recovery
        return row
    }

    /// The recovery bound: a restored disruption must be recovered from by the end, within maxRecoverySeconds.
    static func recoveryFailure(_ figure: FailoverFigure, _ expectation: FailoverExpectation, summary: String) -> (message: String, cause: String)? {
        guard figure.recoveryApplicable else { return nil }
        let what = figure.kind == "abort" ? "errors did not stop" : "traffic did not return to \(figure.affected.joined(separator: ", "))"
        guard let recovered = figure.recoverySeconds else {
            return ("\(summary); \(what) after the restore, by the end of the load", "\(figure.source) never recovered from \(figure.disruption)")
        }
        if let bound = expectation.maxRecoverySeconds, recovered > bound {
            return (
                "\(summary); recovered \(seconds(recovered)) after the restore, more than the allowed \(seconds(bound))",
                "\(what) for \(seconds(recovered)) after the restore: endpoints come back when their pods are ready and propagated, ejected ones after baseEjectionTime"
            )
        }
        return nil
    }

    static func seconds(_ value: Double) -> String { FailoverFigure.secondsText(value) }

    // MARK: - locality

    static func localityChecks(_ context: Context, _ source: Int) -> [CheckResult] {
        guard let expectation = context.expectations.locality else { return [] }
        let name = CheckName.locality
        let sourceName = context.names[source]
        let scope = expectation.scope.rawValue
        guard
            let local = LocalityTest.localClusters(
                of: sourceName, names: context.names, localities: context.input.localities, scope: expectation.scope)
        else {
            return [skipped(name, context, source, "\(sourceName)'s \(scope) is unknown (no topology.kubernetes.io/\(scope) label was read)")]
        }
        let localServing = local.filter { context.servingIndexes.contains($0) }
        guard !localServing.isEmpty else {
            return [skipped(name, context, source, "no serving cluster is in \(sourceName)'s \(scope), so it has nothing to keep local")]
        }
        if let skipped = disruptedWithoutTimeline(context, name, source) { return [skipped] }
        let answers: [Int] =
            healthyWindows(context, source)?.successes ?? context.names.indices.map { context.tally.pair(source: source, target: $0).successes }
        let total = answers.reduce(0, +)
        let kept = localServing.reduce(0) { $0 + answers[$1] }
        guard total > 0 else {
            return [skipped(name, context, source, "no successful request from \(sourceName) in healthy periods to judge")]
        }
        let alpha = context.expectations.significance
        let upper = LocalityTest.upperBound(local: kept, of: total, significance: alpha)
        let observed =
            "\(NumberFormat.percent(Double(kept) / Double(total))) of \(total) answers from \(sourceName)'s \(scope) (\(localServing.map { context.names[$0] }.joined(separator: ", "))\(isDisrupted(context) ? ", healthy periods" : ""); one-sided bound \(NumberFormat.percent(upper)) at α \(NumberFormat.shortest(alpha)))"
        let minimum = "at least \(NumberFormat.percent(expectation.minShare))"
        if upper >= expectation.minShare {
            return [CheckResult(name: name, source: sourceName, status: .pass, message: "\(observed), expected \(minimum)")]
        }
        let inEffect = context.input.scenario.locality?.isInEffect ?? false
        let cause =
            inEffect
            ? "locality load balancing is configured but \(sourceName)'s requests left its \(scope): the mesh sees other localities than the node labels say, or local endpoints were ejected"
            : "locality load balancing is not in effect: Istio applies it only to destinations with outlier detection, and "
                + (context.input.scenario.locality == nil ? "the scenario sets no routing.locality" : "routing.locality has no outlierDetection")
                + ", so every endpoint is in one priority and requests spread over all clusters"
        let hint =
            inEffect
            ? "compare the clusters' localities in the report with `istioctl proxy-config endpoints deploy/sleep -o json | grep -A3 locality`"
            : "add `routing.locality.outlierDetection` (e.g. consecutive5xxErrors: 5, interval: 10s, baseEjectionTime: 30s)"
        return [CheckResult(name: name, source: sourceName, status: .fail, message: "\(observed), below the expected \(minimum)", cause: cause, hint: hint)]
    }

    /// The figures' input from a verdict input; nil without a timeline.
    static func failoverInput(_ context: Context) -> FailoverFigures.Input {
        failoverInput(context.input, names: context.names, sources: context.sourceIndexes)
    }

    static func failoverInput(_ input: VerdictInput, names: [String], sources: [Int]) -> FailoverFigures.Input {
        let expectations = input.scenario.expectations
        return FailoverFigures.Input(
            timeline: input.timeline ?? TimelineTally(clusterCount: names.count, windowMicros: 1), names: names, sources: sources,
            disruptions: input.disruptions, expectation: expectations.failover, locality: expectations.locality,
            localities: input.localities, significance: expectations.significance)
    }
}
