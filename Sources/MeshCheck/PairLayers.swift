// Why a pair does not balance (issue 15): for each (source, target) pair, the layers a cross-cluster request
// depends on, in the order it meets them — the remote secret the source's control plane holds for the target, that
// control plane's sync with the target's API server, the endpoints the source's sidecars hold for the target, and
// the answers the target gave. The first layer that fails is the pair's cause; a layer meshcheck could not see is
// "not visible" with the reason, never a failure. Istio's troubleshooting guide walks the same layers by hand
// (`istioctl remote-clusters`, `istioctl proxy-config endpoints`, then curl). Pure: the views are read elsewhere.

/// The layers, in the order a request from source to target depends on them.
package enum PairLayerName: String, CaseIterable, Codable, Sendable {
    case secret
    case sync
    case endpoints
    case traffic

    /// The column heading in the pair × layer matrix.
    package var title: String {
        switch self {
        case .secret: "remote secret"
        case .sync: "control plane sync"
        case .endpoints: "sidecar endpoints"
        case .traffic: "answers"
        }
    }
}

package enum PairLayerStatus: String, Codable, Sendable, Equatable {
    case pass
    case fail
    /// meshcheck could not read this layer (permission, managed control plane, an error); the reason says why.
    case notVisible = "not-visible"
    /// The layer does not apply to this pair (a cluster needs no secret or sync for itself).
    case notApplicable = "not-applicable"
}

package struct PairLayerResult: Codable, Sendable, Equatable {
    package var layer: PairLayerName
    package var status: PairLayerStatus
    /// One line: what this layer showed for the pair.
    package var evidence: String
    /// What to do, when the layer failed.
    package var hint: String?

    package init(layer: PairLayerName, status: PairLayerStatus, evidence: String, hint: String? = nil) {
        self.layer = layer
        self.status = status
        self.evidence = evidence
        self.hint = hint
    }
}

/// How many endpoints leading to the target one client sidecar held, by health (`metrics.prom`).
package struct PairEndpointCounts: Codable, Sendable, Equatable {
    package var healthy: Int
    /// Every endpoint not `healthy` (unhealthy, degraded, draining).
    package var unhealthy: Int

    package init(healthy: Int, unhealthy: Int) {
        self.healthy = healthy
        self.unhealthy = unhealthy
    }
}

/// One (source, target) pair's layers, in order, and the first that failed.
package struct PairLayers: Codable, Sendable, Equatable {
    package var source: String
    package var target: String
    package var layers: [PairLayerResult]
    package var firstBroken: PairLayerName?
    /// The endpoints the judged sidecar (the first that failed, else the first read) held for the target; nil when
    /// no sidecar was visible.
    package var endpointCounts: PairEndpointCounts?

    package init(source: String, target: String, layers: [PairLayerResult], endpointCounts: PairEndpointCounts? = nil) {
        self.source = source
        self.target = target
        self.layers = layers
        self.endpointCounts = endpointCounts
        firstBroken = layers.first { $0.status == .fail }?.layer
    }

    package func result(_ layer: PairLayerName) -> PairLayerResult? { layers.first { $0.layer == layer } }

    /// The failing layer's result, if any: the pair's cause.
    package var cause: PairLayerResult? { firstBroken.flatMap(result) }

    /// The cause when it says more than the traffic checks do: a broken secret, sync or endpoint layer, or answers
    /// missing although the sidecar held healthy endpoints (the data path). Missing answers with the layers before
    /// them unseen only repeat what the check found.
    package var explainingCause: PairLayerResult? {
        guard let cause, cause.layer != .traffic || result(.endpoints)?.status == .pass else { return nil }
        return cause
    }
}

// MARK: - Judging

package enum PairLayerJudge {
    /// Everything the layers of every pair are judged from.
    package struct Input: Sendable {
        /// Preflight's findings (remote secrets, topology: which control plane discovers for whom).
        package var findings: [PreflightFinding]
        /// istiod's `/debug/clusterz`, by the cluster whose control plane was asked; missing: not asked.
        package var sync: [String: ControlPlaneView]
        /// The sidecar readings each source's client pods gave in the phase judged, by source; missing: not read.
        package var sidecars: [String: [SidecarEndpointsReading]]
        /// Answers per (source, target), from the tally; nil when no traffic was sent (preflight).
        package var answers: [String: [String: Int]]?
        /// The targets each source must reach (the verdict's expectation), by source.
        package var mustReach: [String: Set<String>]
        package var namespace: String
        /// A saved report's layers (`report --from-records`): its secret, sync and endpoint layers stand, since the
        /// views behind them are not saved; only the answers are judged again.
        package var previous: [PairLayers]

        package init(
            findings: [PreflightFinding], sync: [String: ControlPlaneView], sidecars: [String: [SidecarEndpointsReading]],
            answers: [String: [String: Int]]?, mustReach: [String: Set<String>], namespace: String, previous: [PairLayers] = []
        ) {
            self.previous = previous
            self.findings = findings
            self.sync = sync
            self.sidecars = sidecars
            self.answers = answers
            self.mustReach = mustReach
            self.namespace = namespace
        }
    }

    /// The layers of every ordered pair of `sources` × `targets`, sources in order, then targets.
    package static func judge(_ input: Input, sources: [String], targets: [String]) -> [PairLayers] {
        sources.flatMap { source in targets.map { target in pair(input, source: source, target: target) } }
    }

    /// Without answers (preflight: nothing deployed, so no sidecar either) only the control plane's layers.
    package static func pair(_ input: Input, source: String, target: String) -> PairLayers {
        if let saved = input.previous.first(where: { $0.source == source && $0.target == target }), let endpoints = saved.result(.endpoints) {
            var layers = saved.layers.filter { $0.layer != .traffic }
            if let traffic = traffic(input, source: source, target: target, endpoints: endpoints) { layers.append(traffic) }
            return PairLayers(source: source, target: target, layers: layers, endpointCounts: saved.endpointCounts)
        }
        // A remote's sidecars are configured by its primary's control plane, which needs the secrets and the sync.
        let discovering = input.findings.first { $0.check == PreflightCheckName.topology && $0.cluster == source }?.peer ?? source
        let controlPlane = [secret(input, discovering: discovering, target: target), sync(input, discovering: discovering, target: target)]
        guard input.answers != nil else { return PairLayers(source: source, target: target, layers: controlPlane) }
        let (endpoints, counts) = endpoints(input, source: source, target: target)
        var layers = controlPlane + [endpoints]
        if let traffic = traffic(input, source: source, target: target, endpoints: endpoints) { layers.append(traffic) }
        return PairLayers(source: source, target: target, layers: layers, endpointCounts: counts)
    }

    static func secret(_ input: Input, discovering: String, target: String) -> PairLayerResult {
        if discovering == target {
            return PairLayerResult(layer: .secret, status: .notApplicable, evidence: "\(target) is the control plane's own cluster")
        }
        let findings = input.findings.filter { $0.check == PreflightCheckName.remoteSecret && $0.cluster == discovering }
        if let finding = findings.first(where: { $0.peer == target }) {
            let failed = finding.status == .fail
            return PairLayerResult(
                layer: .secret, status: failed ? .fail : .pass, evidence: "\(discovering): \(finding.evidence)", hint: failed ? finding.hint : nil)
        }
        if let whole = findings.first(where: { $0.peer == nil }) {
            // One finding for the whole cluster: connected discovery needs no secrets; a failure there is a failure to look.
            return whole.status == .fail
                ? PairLayerResult(layer: .secret, status: .notVisible, evidence: "\(discovering): \(whole.evidence)")
                : PairLayerResult(layer: .secret, status: .pass, evidence: "\(discovering): \(whole.evidence)")
        }
        return PairLayerResult(layer: .secret, status: .notVisible, evidence: "preflight did not look at \(discovering)'s remote secrets")
    }

    static func sync(_ input: Input, discovering: String, target: String) -> PairLayerResult {
        if discovering == target {
            return PairLayerResult(layer: .sync, status: .notApplicable, evidence: "\(target) is the control plane's own cluster")
        }
        switch input.sync[discovering] ?? .notFetched {
        case .notFetched:
            return PairLayerResult(layer: .sync, status: .notVisible, evidence: "the control plane of \(discovering) was not asked")
        case .notVisible(let reason):
            return PairLayerResult(layer: .sync, status: .notVisible, evidence: "\(discovering): \(reason)")
        case .clusters(let pod, let watched):
            // As preflight's control-plane-sync matches it: the cluster ID, or the secret named for the target.
            guard let peer = watched.first(where: { $0.id == target || $0.secretName.hasSuffix("/istio-remote-secret-\(target)") }) else {
                let listed = watched.isEmpty ? "no cluster" : watched.map(\.id).joined(separator: ", ")
                return PairLayerResult(
                    layer: .sync, status: .fail, evidence: "\(pod) in \(discovering) does not watch \(target) (its clusterz lists \(listed))",
                    hint: "istiod has no remote secret it could use for \(target): check the remote-secret layer and istiod's log for \(target)")
            }
            let secret = peer.secretName.isEmpty ? "" : " from \(peer.secretName)"
            if peer.isSynced {
                return PairLayerResult(layer: .sync, status: .pass, evidence: "\(pod) in \(discovering): \(target) \(peer.syncStatus)\(secret)")
            }
            return PairLayerResult(
                layer: .sync, status: .fail, evidence: "\(pod) in \(discovering): \(target) \(peer.syncStatus)\(secret), not synced",
                hint:
                    "istiod in \(discovering) cannot read \(target)'s API server through the remote secret: check the secret's server address, and private-cluster authorized networks or firewalls between \(discovering)'s control plane and \(target)'s API server (`istioctl remote-clusters --context <\(discovering)>`)"
            )
        }
    }

    static func endpoints(_ input: Input, source: String, target: String) -> (PairLayerResult, PairEndpointCounts?) {
        let readings = input.sidecars[source] ?? []
        guard !readings.isEmpty else {
            return (PairLayerResult(layer: .endpoints, status: .notVisible, evidence: "the sidecars of \(source) were not read"), nil)
        }
        let visible = readings.filter(\.visible)
        guard let first = visible.first else {
            return (PairLayerResult(layer: .endpoints, status: .notVisible, evidence: "\(readings[0].pod): \(readings[0].reason ?? "not visible")"), nil)
        }
        func counts(_ held: [SidecarEndpoint]) -> PairEndpointCounts {
            let healthy = held.filter { $0.health == .healthy }.count
            return PairEndpointCounts(healthy: healthy, unhealthy: held.count - healthy)
        }
        let envoyCluster = first.envoyCluster
        // Every client pod must hold a healthy endpoint for the target: the first that does not is the evidence.
        for reading in visible {
            let held = reading.endpoints.filter { leadsTo($0, target: target, source: source) }
            let healthy = held.filter { $0.health == .healthy }
            if !healthy.isEmpty { continue }
            let pod = reading.pod
            if held.isEmpty {
                let expected = input.mustReach[source]?.contains(target) ?? true
                let what = reading.clusterPresent ? "\(reading.endpoints.count) endpoint(s) in \(envoyCluster)" : "no \(envoyCluster) at all"
                let result = PairLayerResult(
                    layer: .endpoints, status: expected ? .fail : .pass, evidence: "\(pod)'s sidecar holds no endpoint for \(target) (\(what))",
                    hint: expected
                        ? (source == target
                            ? "no ready helloworld pod of \(target) is in the sidecar's view: check the pods' readiness and the Service's selector"
                            : "the control plane sends no endpoint for \(target): check \(target)'s east-west gateway (its Service address and replicas) and the namespaces' topology.istio.io/network labels, then `istioctl proxy-config endpoints \(pod) --cluster \"\(envoyCluster)\"`")
                        : nil)
                return (result, counts(held))
            }
            let viaGateway = held.contains { $0.origin == .peer }
            let result = PairLayerResult(
                layer: .endpoints, status: .fail,
                evidence: "\(pod)'s sidecar holds \(held.count) endpoint(s) for \(target), none healthy: \(labels(held))",
                hint:
                    "outlier detection ejected them or the health check fails: check \(viaGateway ? "\(target)'s east-west gateway reachability on port 15443" : "the helloworld pods of \(target)") and `istioctl proxy-config endpoints \(pod) --cluster \"\(envoyCluster)\"`"
            )
            return (result, counts(held))
        }
        let held = first.endpoints.filter { leadsTo($0, target: target, source: source) }
        let healthy = held.filter { $0.health == .healthy }
        let pods = visible.count == 1 ? "\(first.pod)'s sidecar holds" : "each of \(visible.count) client sidecars holds; \(first.pod):"
        return (
            PairLayerResult(
                layer: .endpoints, status: .pass, evidence: "\(pods) \(healthy.count) healthy endpoint(s) for \(target): \(labels(healthy))"),
            counts(held)
        )
    }

    /// The endpoint leads to `target`: a pod of the source's own cluster when that is the target, else the target's gateway.
    static func leadsTo(_ endpoint: SidecarEndpoint, target: String, source: String) -> Bool {
        switch endpoint.origin {
        case .local: target == source
        case .peer: endpoint.peer == target
        case .unknown: false
        }
    }

    /// `192.0.2.12:15443 (weight 2)`, at most three, then `…`.
    static func labels(_ endpoints: [SidecarEndpoint]) -> String {
        let shown = endpoints.prefix(3).map { endpoint in
            let health = endpoint.health == .healthy ? "" : ((endpoint.healthReasons ?? [endpoint.health.rawValue]).joined(separator: ",") + ", ")
            return "\(endpoint.address):\(endpoint.port.map(String.init) ?? "?") (\(health)weight \(endpoint.weight))"
        }
        return shown.joined(separator: ", ") + (endpoints.count > 3 ? ", …" : "")
    }

    /// nil when no traffic was sent (preflight), so the matrix has no answers column.
    static func traffic(_ input: Input, source: String, target: String, endpoints: PairLayerResult) -> PairLayerResult? {
        guard let answers = input.answers else { return nil }
        let count = answers[source]?[target] ?? 0
        let total = answers[source]?.values.reduce(0, +) ?? 0
        if count > 0 {
            return PairLayerResult(layer: .traffic, status: .pass, evidence: "\(count) of \(total) answers from \(source) came from \(target)")
        }
        guard input.mustReach[source]?.contains(target) ?? false else {
            return PairLayerResult(layer: .traffic, status: .notApplicable, evidence: "\(source) is not expected to reach \(target)")
        }
        let hint =
            endpoints.status == .pass
            ? "the sidecar has healthy endpoints for \(target) and still got no answer from it: check the data path between the gateways (port 15443 open between the networks, the same mTLS root in both clusters)"
            : "the layers before this one could not be seen: grant the reads marked not visible, or check them by hand (`istioctl remote-clusters`, `istioctl proxy-config endpoints <sleep pod>`)"
        return PairLayerResult(layer: .traffic, status: .fail, evidence: "none of \(total) answers from \(source) came from \(target)", hint: hint)
    }

}

// MARK: - The pair × layer matrix

/// The compact matrix the text outputs show (preflight's checklist, the terminal summary, summary.md): a row per
/// pair, a column per layer judged, each cell `pass`, `FAIL`, `n/v` (not visible) or `–` (not applicable).
package enum PairLayerMatrix {
    /// The layers any of `pairs` has, in layer order.
    package static func columns(_ pairs: [PairLayers]) -> [PairLayerName] {
        PairLayerName.allCases.filter { layer in pairs.contains { $0.result(layer) != nil } }
    }

    package static func header(_ pairs: [PairLayers]) -> [String] { ["pair"] + columns(pairs).map(\.title) }

    package static func rows(_ pairs: [PairLayers]) -> [[String]] {
        let columns = columns(pairs)
        return pairs.map { pair in ["\(pair.source) → \(pair.target)"] + columns.map { cell(pair.result($0)?.status) } }
    }

    package static func cell(_ status: PairLayerStatus?) -> String {
        switch status {
        case .pass: "pass"
        case .fail: "FAIL"
        case .notVisible: "n/v"
        case .notApplicable, nil: "–"
        }
    }

    /// Left-aligned columns two spaces apart, header first.
    package static func lines(_ pairs: [PairLayers]) -> [String] {
        let table = [header(pairs)] + rows(pairs)
        let widths = table[0].indices.map { column in table.map { $0[column].count }.max() ?? 0 }
        return table.map { row in
            row.enumerated().map { index, text in
                index == row.count - 1 ? text : text + String(repeating: " ", count: widths[index] - text.count)
            }.joined(separator: "  ")
        }
    }
}
