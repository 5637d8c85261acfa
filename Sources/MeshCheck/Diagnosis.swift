// Diagnosis: when a traffic check fails, say why by joining the two views meshcheck has — what the
// traffic showed (who answered whom) and what preflight found in the clusters' API objects. Pure: it
// rewrites the `cause` and `hint` of failed checks and changes nothing else.

public enum Diagnosis {
    /// The verdict's checks with causes and hints that name the preflight findings behind them.
    /// `servingClusters`: the clusters that serve HelloWorld, in scenario order.
    public static func annotate(_ outcome: VerdictOutcome, findings: [PreflightFinding], servingClusters: [String]) -> VerdictOutcome {
        guard !findings.isEmpty else { return outcome }
        let evidence = TrafficEvidence(outcome, servingClusters: servingClusters)
        var annotated = outcome
        annotated.checks = outcome.checks.map { check in
            guard check.status == .fail else { return check }
            let explanation: Explanation?
            switch check.name {
            case CheckName.allClustersReached, CheckName.reachability:
                explanation = check.source.flatMap { crossCluster(source: $0, check: check, evidence: evidence, findings: findings, outcome: outcome) }
            case CheckName.sidecarInjection:
                explanation = sidecars(findings)
            case CheckName.errorRate:
                explanation = check.source.flatMap { errors(source: $0, evidence: evidence, findings: findings) }
            case CheckName.latencySLO:
                explanation = latency(check, outcome: outcome, findings: findings)
            case CheckName.balance:
                // A cluster that never answered skews the split for the same reason it was not reached.
                explanation = balance(findings)
                    ?? check.source.flatMap { crossCluster(source: $0, check: check, evidence: evidence, findings: findings, outcome: outcome) }
            default:
                explanation = nil
            }
            guard let explanation else { return check }
            var changed = check
            changed.cause = explanation.cause
            changed.hint = explanation.hint ?? check.hint
            return changed
        }
        return annotated
    }

    struct Explanation: Equatable {
        var cause: String
        var hint: String?
    }

    /// Successful answers per (source, serving cluster), from the traffic matrix.
    struct TrafficEvidence {
        var answered: [String: [String: Int]] = [:]
        var errors: [String: [String: Int]] = [:]
        var succeeded: [String: Int] = [:]
        /// Failed requests per source, attributed or not, and announced requests that never reported.
        var failed: [String: Int] = [:]
        var missing: [String: Int] = [:]
        var servingClusters: [String] = []

        init(_ outcome: VerdictOutcome, servingClusters: [String]) {
            for row in outcome.traffic {
                answered[row.source, default: [:]][row.target] = row.requests - row.errors
                errors[row.source, default: [:]][row.target] = row.errors
            }
            self.servingClusters = servingClusters
            for source in outcome.sources {
                succeeded[source.source] = source.succeeded
                failed[source.source] = source.errors
                missing[source.source] = source.missingRecords
            }
        }

        /// "cluster-1's clients reached only cluster-1 (0 of 200 answers from cluster-2)".
        func summary(source: String, missing: [String]) -> String {
            let total = succeeded[source] ?? 0
            let reached = servingClusters.filter { (answered[source]?[$0] ?? 0) > 0 }
            let reachedText = reached.isEmpty ? "reached no cluster" : "reached only \(reached.joined(separator: ", "))"
            let missingText = missing.map { "0 of \(total) answers from \($0)" }.joined(separator: ", ")
            return "\(source)'s clients \(reachedText) (\(missingText))"
        }
    }

    // MARK: Cross-cluster reach

    static func crossCluster(source: String, check: CheckResult, evidence: TrafficEvidence, findings: [PreflightFinding],
                             outcome: VerdictOutcome) -> Explanation? {
        let missing = evidence.servingClusters.filter { $0 != source && (evidence.answered[source]?[$0] ?? 0) == 0 }
        guard !missing.isEmpty else { return nil }
        var reasons: [(text: String, hint: String?)] = []
        for target in missing {
            for finding in pathFindings(source: source, target: target, findings: findings) where !reasons.contains(where: { $0.text == describe(finding) }) {
                reasons.append((describe(finding), finding.hint))
            }
        }
        if let sidecar = outcome.checks.first(where: { $0.name == CheckName.sidecarInjection && $0.status == .fail }),
           sidecar.message.contains("\(source)/") {
            reasons.append(("\(source)'s client pods run without a sidecar, so they reach only their own cluster", sidecar.hint))
        }
        let traffic = evidence.summary(source: source, missing: missing)
        guard let first = reasons.first else {
            return Explanation(cause: "\(traffic); preflight found no missing remote secret, gateway, network label or root CA mismatch on this path, so endpoints may not have propagated yet. \(check.cause ?? "")",
                               hint: check.hint)
        }
        return Explanation(cause: "\(traffic); " + reasons.map(\.text).joined(separator: "; "), hint: first.hint)
    }

    /// Non-passing findings that break requests from `source` to `target`, in the order a request
    /// meets them: the source's control plane and discovery, the network split, the target's
    /// gateway, then mTLS trust.
    static func pathFindings(source: String, target: String, findings: [PreflightFinding]) -> [PreflightFinding] {
        let bad = findings.filter { $0.status != .pass }
        var path: [PreflightFinding] = []
        path += bad.filter { $0.check == PreflightCheckName.controlPlane && $0.cluster == source }
        path += bad.filter { $0.check == PreflightCheckName.remoteSecret && $0.cluster == source && $0.peer == target }
        path += bad.filter { $0.check == PreflightCheckName.networkLabel && ($0.cluster == source || $0.cluster == target || $0.cluster == nil) }
        path += bad.filter { ($0.check == PreflightCheckName.eastWestGateway || $0.check == PreflightCheckName.crossNetworkGateway) && $0.cluster == target }
        path += bad.filter { $0.check == PreflightCheckName.rootCA && ($0.cluster == nil || $0.cluster == source || $0.cluster == target) }
        return path
    }

    static func describe(_ finding: PreflightFinding) -> String {
        let scope = finding.cluster ?? "across clusters"
        return "preflight \(finding.check) (\(scope)): \(finding.evidence)"
    }

    // MARK: Other checks

    static func sidecars(_ findings: [PreflightFinding]) -> Explanation? {
        let revision = findings.filter { $0.check == PreflightCheckName.revision && $0.status == .fail }
        let control = findings.filter { $0.check == PreflightCheckName.controlPlane && $0.status == .fail }
        let reasons = revision + control
        guard let first = reasons.first else { return nil }
        return Explanation(cause: "the namespace's injection label names a revision no injector serves: " + reasons.map(describe).joined(separator: "; "),
                           hint: first.hint)
    }

    static func errors(source: String, evidence: TrafficEvidence, findings: [PreflightFinding]) -> Explanation? {
        let byTarget = evidence.servingClusters.compactMap { target -> String? in
            let failed = evidence.errors[source]?[target] ?? 0
            let total = failed + (evidence.answered[source]?[target] ?? 0)
            return total > 0 ? "\(target) \(failed) of \(total)" : nil
        }
        guard !byTarget.isEmpty else { return nil }
        var cause = "errors by serving cluster: " + byTarget.joined(separator: ", ")
        let attributed = evidence.servingClusters.reduce(0) { $0 + (evidence.errors[source]?[$1] ?? 0) }
        let unattributed = (evidence.failed[source] ?? 0) - attributed
        if unattributed > 0 { cause += "; \(unattributed) failed without naming the instance that answered (no HelloWorld body)" }
        if let missing = evidence.missing[source], missing > 0 { cause += "; \(missing) requests never reported (broken or cut bursts)" }
        let suspects = findings.filter {
            $0.status != .pass && [PreflightCheckName.eastWestGateway, PreflightCheckName.rootCA].contains($0.check)
        }
        if !suspects.isEmpty { cause += "; " + suspects.map(describe).joined(separator: "; ") }
        return Explanation(cause: cause, hint: suspects.first?.hint)
    }

    static func latency(_ check: CheckResult, outcome: VerdictOutcome, findings: [PreflightFinding]) -> Explanation? {
        guard let source = check.source, let target = check.target else { return nil }
        let pairs = outcome.checks.filter { $0.name == CheckName.latencySLO && $0.source == source }
        if source == target {
            let crossFailing = pairs.contains { $0.target != source && $0.status == .fail }
            return crossFailing ? nil : Explanation(cause: "only the local direction \(source) → \(source) is slow; the cross-cluster pairs meet their bounds, so the HelloWorld pods or sidecars in \(source) are the bottleneck", hint: nil)
        }
        let local = pairs.first { $0.target == source }
        var cause = "the cross-cluster direction \(source) → \(target) breaches its bound"
        if let local, local.status == .pass {
            cause += " while the local direction \(source) → \(source) meets its own (\(local.message)); the extra time is added between the clusters (east-west gateway or the network path)"
        }
        let gateway = findings.filter { $0.status != .pass && $0.check == PreflightCheckName.eastWestGateway && $0.cluster == target }
        if !gateway.isEmpty { cause += "; " + gateway.map(describe).joined(separator: "; ") }
        return Explanation(cause: cause, hint: gateway.first?.hint)
    }

    static func balance(_ findings: [PreflightFinding]) -> Explanation? {
        let rules = findings.filter { $0.check == PreflightCheckName.destinationRules && $0.status != .pass }
        guard let first = rules.first else { return nil }
        return Explanation(cause: "a DestinationRule changes the split: " + rules.map(describe).joined(separator: "; "), hint: first.hint)
    }
}

/// Preflight findings as report checks: one per check name, worst status first in its message.
public enum PreflightSummary {
    public static func checks(_ findings: [PreflightFinding]) -> [CheckResult] {
        var order: [String] = []
        var grouped: [String: [PreflightFinding]] = [:]
        for finding in findings {
            if grouped[finding.check] == nil { order.append(finding.check) }
            grouped[finding.check, default: []].append(finding)
        }
        return order.map { name in
            let group = grouped[name]!
            let worst = group.map(\.status).max() ?? .pass
            let shown = worst == .pass ? group : group.filter { $0.status != .pass }
            var message = shown.map { "\(scope($0)): \($0.evidence)" }.joined(separator: "; ")
            if worst == .pass {
                // Passing checks stay one short line: the mesh-wide finding if there is one, else the first.
                let first = group.first { $0.cluster == nil } ?? group[0]
                message = "\(scope(first)): \(first.evidence)" + (group.count > 1 ? " (+\(group.count - 1) more passing)" : "")
            }
            let status: CheckStatus = worst == .fail ? .fail : worst == .warn ? .warn : .pass
            return CheckResult(name: name, status: status, message: message, hint: shown.lazy.compactMap(\.hint).first)
        }
    }

    public static func scope(_ finding: PreflightFinding) -> String {
        guard let cluster = finding.cluster else { return "all clusters" }
        return finding.peer.map { "\(cluster) → \($0)" } ?? cluster
    }
}
