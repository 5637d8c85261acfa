// Diagnosis: when a traffic check fails, say why by joining the views meshcheck has — what the
// traffic showed (who answered whom, from the tally), each pair's layers (``PairLayers``: remote secret,
// control plane sync, sidecar endpoints, answers; the first broken one leads) and what preflight found in the
// clusters' API objects. Pure. The verdict asks it while building a failing row (``Verdict/Context/explained``),
// so a row's cause and hint are written once; it is asked only when there are preflight findings or a broken layer.

struct Diagnosis {
    struct Explanation: Equatable {
        var cause: String
        var hint: String?
    }

    let context: Verdict.Context

    init(_ context: Verdict.Context) {
        self.context = context
    }

    private var names: [String] { context.names }
    private var findings: [PreflightFinding] { context.findings }

    /// Successful answers `target` gave `source`.
    private func answered(_ source: Int, _ target: Int) -> Int { context.tally.pair(source: source, target: target).successes }

    /// "cluster-1's clients reached only cluster-1 (0 of 200 answers from cluster-2)".
    private func trafficSummary(source: Int, missing: [Int]) -> String {
        let total = context.tally.sources[source].succeeded
        let reached = context.servingIndexes.filter { answered(source, $0) > 0 }.map { names[$0] }
        let reachedText = reached.isEmpty ? "reached no cluster" : "reached only \(reached.joined(separator: ", "))"
        let missingText = missing.map { "0 of \(total) answers from \(names[$0])" }.joined(separator: ", ")
        return "\(names[source])'s clients \(reachedText) (\(missingText))"
    }

    /// The first broken layer of each pair `source` → `targets` that has one: "layer <title>: <evidence>", and the
    /// first such layer's hint. nil when every layer of these pairs passed or could not be seen.
    func brokenLayers(source: Int, targets: [Int]) -> (text: String, hint: String?)? {
        let causes = targets.compactMap { context.layers(source: source, target: $0)?.explainingCause }
        guard let first = causes.first else { return nil }
        return (causes.map { "layer \($0.layer.title): \($0.evidence)" }.joined(separator: "; "), first.hint)
    }

    /// `explanation` led by the broken layers of the pairs `source` → `targets`, whose hint comes first.
    func ledByLayers(_ explanation: Explanation?, source: Int, targets: [Int]) -> Explanation? {
        guard let layers = brokenLayers(source: source, targets: targets) else { return explanation }
        guard let explanation else { return Explanation(cause: layers.text, hint: layers.hint) }
        return Explanation(cause: "\(layers.text); \(explanation.cause)", hint: layers.hint ?? explanation.hint)
    }

    // MARK: Cross-cluster reach

    /// Why serving clusters never answered `source`: the preflight findings on each missing path, and
    /// client pods without a sidecar. `cause`/`hint`: the check's own, used when preflight found nothing.
    func crossCluster(source: Int, cause: String?, hint: String?) -> Explanation? {
        let sourceName = names[source]
        // A remote's sidecars learn even their own cluster's endpoints from its primary (the topology row's peer).
        let isRemote = findings.contains { $0.check == PreflightCheckName.topology && $0.cluster == sourceName && $0.peer != nil }
        let missing = context.servingIndexes.filter { ($0 != source || isRemote) && answered(source, $0) == 0 }
        guard !missing.isEmpty else { return nil }
        let shown = brokenLayers(source: source, targets: missing)?.text
        return ledByLayers(
            preflightCrossCluster(source: source, missing: missing, cause: cause, hint: hint, shown: shown), source: source, targets: missing)
    }

    /// The preflight findings on each missing path (and client pods without a sidecar), after the traffic summary;
    /// a finding whose evidence the broken layers already quote (`shown`) is not repeated.
    private func preflightCrossCluster(source: Int, missing: [Int], cause: String?, hint: String?, shown: String?) -> Explanation {
        let sourceName = names[source]
        var reasons: [(text: String, hint: String?)] = []
        var quoted = false
        for target in missing {
            for finding in Self.pathFindings(source: sourceName, target: names[target], findings: findings)
            where !reasons.contains(where: { $0.text == Self.describe(finding) }) {
                if let shown, shown.contains(finding.evidence) {
                    quoted = true
                    continue
                }
                reasons.append((Self.describe(finding), finding.hint))
            }
        }
        if context.input.pods.contains(where: { $0.cluster == sourceName && $0.role == .sleep && !$0.hasSidecar }) {
            reasons.append(
                (
                    "\(sourceName)'s client pods run without a sidecar, so they reach only their own cluster",
                    Verdict.sidecarHint(context.input.namespace)
                ))
        }
        let traffic = trafficSummary(source: source, missing: missing)
        // The layers named what preflight found; or, judging saved records, there is no preflight to speak of.
        if reasons.isEmpty, quoted { return Explanation(cause: traffic, hint: hint) }
        if findings.isEmpty, reasons.isEmpty { return Explanation(cause: "\(traffic). \(cause ?? "")", hint: hint) }
        guard let first = reasons.first else {
            return Explanation(
                cause:
                    "\(traffic); preflight found no missing remote secret, unsynced peer, gateway, network label or root CA mismatch on this path, so endpoints may not have propagated yet. \(cause ?? "")",
                hint: hint)
        }
        return Explanation(cause: "\(traffic); " + reasons.map(\.text).joined(separator: "; "), hint: first.hint)
    }

    /// Non-passing findings that break requests from `source` to `target`, in the order a request
    /// meets them: the source's control plane and discovery (a remote's is its primary's), the network
    /// split, the target's gateway, then mTLS trust.
    static func pathFindings(source: String, target: String, findings: [PreflightFinding]) -> [PreflightFinding] {
        let bad = findings.filter { $0.status != .pass }
        let discovering = findings.first { $0.check == PreflightCheckName.topology && $0.cluster == source }?.peer ?? source
        var path: [PreflightFinding] = []
        path += bad.filter { $0.check == PreflightCheckName.controlPlane && $0.cluster == source }
        path += bad.filter { $0.check == PreflightCheckName.remoteSecret && $0.cluster == discovering && $0.peer == target }
        // istiod holds the secret but never synced with the target: it never learned the target's endpoints.
        path += bad.filter {
            $0.check == PreflightCheckName.controlPlaneSync && $0.status == .fail && $0.cluster == discovering
                && ($0.peer == target || $0.peer == nil && $0.evidence.contains(" \(target) "))
        }
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

    /// Pods without a sidecar: a namespace label naming a revision no injector serves.
    func sidecars() -> Explanation? {
        let revision = findings.filter { $0.check == PreflightCheckName.revision && $0.status == .fail }
        let control = findings.filter { $0.check == PreflightCheckName.controlPlane && $0.status == .fail }
        let reasons = revision + control
        guard let first = reasons.first else { return nil }
        return Explanation(
            cause: "the namespace's injection label names a revision no injector serves: " + reasons.map(Self.describe).joined(separator: "; "),
            hint: first.hint)
    }

    /// Errors by serving cluster, those no pod can be blamed for, and the gateway or trust findings
    /// that fail requests.
    func errors(source: Int) -> Explanation? {
        let tally = context.tally
        let byTarget = context.servingIndexes.compactMap { target -> String? in
            let pair = tally.pair(source: source, target: target)
            let total = pair.errors + pair.successes
            return total > 0 ? "\(names[target]) \(pair.errors) of \(total)" : nil
        }
        guard !byTarget.isEmpty else { return nil }
        var cause = "errors by serving cluster: " + byTarget.joined(separator: ", ")
        let attributed = context.servingIndexes.reduce(0) { $0 + tally.pair(source: source, target: $1).errors }
        let unattributed = tally.sources[source].errors - attributed
        if unattributed > 0 { cause += "; \(unattributed) failed without naming the instance that answered (no HelloWorld body)" }
        let missing = tally.sources[source].missingRecords
        if missing > 0 { cause += "; \(missing) requests never reported (broken or cut bursts)" }
        let suspects = findings.filter {
            $0.status != .pass && [PreflightCheckName.eastWestGateway, PreflightCheckName.rootCA].contains($0.check)
        }
        if !suspects.isEmpty { cause += "; " + suspects.map(Self.describe).joined(separator: "; ") }
        // The pairs that failed requests: a broken layer there (unhealthy endpoints, typically) leads.
        let failing = context.servingIndexes.filter { tally.pair(source: source, target: $0).errors > 0 }
        return ledByLayers(Explanation(cause: cause, hint: suspects.first?.hint), source: source, targets: failing)
    }

    /// A breached latency bound, told apart by direction: `directions` are the source's latency rows.
    func latency(source: Int, target: Int, directions: [CheckResult]) -> Explanation? {
        let sourceName = names[source]
        let targetName = names[target]
        if source == target {
            let crossFailing = directions.contains { $0.target != sourceName && $0.status == .fail }
            return crossFailing
                ? nil
                : Explanation(
                    cause:
                        "only the local direction \(sourceName) → \(sourceName) is slow; the cross-cluster pairs meet their bounds, so the HelloWorld pods or sidecars in \(sourceName) are the bottleneck",
                    hint: nil)
        }
        let local = directions.first { $0.target == sourceName }
        var cause = "the cross-cluster direction \(sourceName) → \(targetName) breaches its bound"
        if let local, local.status == .pass {
            cause +=
                " while the local direction \(sourceName) → \(sourceName) meets its own (\(local.message)); the extra time is added between the clusters (east-west gateway or the network path)"
        }
        let gateway = findings.filter { $0.status != .pass && $0.check == PreflightCheckName.eastWestGateway && $0.cluster == targetName }
        if !gateway.isEmpty { cause += "; " + gateway.map(Self.describe).joined(separator: "; ") }
        return Explanation(cause: cause, hint: gateway.first?.hint)
    }

    /// A DestinationRule that hashes requests onto pods (`consistentHash`): one client keeps one pod by design.
    func instances() -> Explanation? {
        let rules = findings.filter {
            $0.check == PreflightCheckName.destinationRules && $0.status != .pass && $0.evidence.contains("consistentHash")
        }
        guard !rules.isEmpty else { return nil }
        return Explanation(
            cause: "a DestinationRule hashes requests onto pods (consistentHash), so a client keeps to one pod: "
                + rules.map(Self.describe).joined(separator: "; "),
            hint: "remove consistentHash from the rule's trafficPolicy.loadBalancer, or leave it if sticky sessions are intended")
    }

    /// A DestinationRule that changes the split.
    func balance() -> Explanation? {
        let rules = findings.filter { $0.check == PreflightCheckName.destinationRules && $0.status != .pass }
        guard let first = rules.first else { return nil }
        return Explanation(cause: "a DestinationRule changes the split: " + rules.map(Self.describe).joined(separator: "; "), hint: first.hint)
    }
}

/// Preflight findings as report checks: one per check name, worst status first in its message.
package enum PreflightSummary {
    package static func checks(_ findings: [PreflightFinding]) -> [CheckResult] {
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

    package static func scope(_ finding: PreflightFinding) -> String {
        guard let cluster = finding.cluster else { return "all clusters" }
        return finding.peer.map { "\(cluster) → \($0)" } ?? cluster
    }
}
