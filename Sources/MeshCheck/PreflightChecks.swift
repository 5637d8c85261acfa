// The preflight checks: pure judgements over every cluster's facts at once, so that cross-cluster
// rules (a remote secret for every peer, one root CA, distinct networks) are decided where all the
// evidence is. Each finding says what was seen and, when it is not a pass, what to do.

import Foundation

package enum PreflightStatus: String, Codable, Sendable, Equatable, Comparable {
    case pass, warn, fail

    private var rank: Int { self == .pass ? 0 : self == .warn ? 1 : 2 }
    package static func < (lhs: PreflightStatus, rhs: PreflightStatus) -> Bool { lhs.rank < rhs.rank }
}

/// One check's outcome for one cluster (or for the mesh as a whole when `cluster` is nil).
package struct PreflightFinding: Codable, Sendable, Equatable {
    package var check: String
    package var cluster: String?
    /// The peer the finding is about: for `remote-secret` the secret's peer, for a remote's `topology` row
    /// its primary (whose control plane configures it).
    package var peer: String?
    package var status: PreflightStatus
    /// One line: what was found.
    package var evidence: String
    /// What to do, for warn and fail.
    package var hint: String?

    package init(check: String, cluster: String?, peer: String? = nil, status: PreflightStatus, evidence: String, hint: String? = nil) {
        self.check = check
        self.cluster = cluster
        self.peer = peer
        self.status = status
        self.evidence = evidence
        self.hint = hint
    }
}

package enum PreflightCheckName {
    package static let api = "api"
    package static let rbac = "rbac"
    package static let topology = "topology"
    package static let controlPlane = "control-plane"
    package static let revision = "revision"
    package static let remoteSecret = "remote-secret"
    package static let controlPlaneSync = "control-plane-sync"
    package static let eastWestGateway = "east-west-gateway"
    package static let crossNetworkGateway = "cross-network-gateway"
    package static let networkLabel = "network-label"
    package static let rootCA = "root-ca"
    package static let destinationRules = "destination-rules"
    package static let sidecars = "sidecars"

    /// Report order.
    package static let all = [
        api, rbac, topology, controlPlane, revision, remoteSecret, controlPlaneSync, eastWestGateway,
        crossNetworkGateway, networkLabel, rootCA, destinationRules, sidecars,
    ]
}

/// What the checks need besides the facts.
package struct PreflightExpectations: Sendable, Equatable {
    /// The revision the run will label its namespace with; nil = auto (detected from the first cluster).
    package var revision: String?
    /// Namespace of the test service, for DestinationRule hosts.
    package var namespace: String?
    package var testService: String
    /// Warn when the root certificate expires within this many seconds.
    package var expiryWarning: Double
    /// Now, in seconds since 1970.
    package var now: Double

    package init(
        revision: String? = nil, namespace: String? = nil, testService: String = "helloworld",
        expiryWarning: Double = 30 * 86_400, now: Double
    ) {
        self.revision = revision
        self.namespace = namespace
        self.testService = testService
        self.expiryWarning = expiryWarning
        self.now = now
    }
}

package enum PreflightChecks {
    static let istioSystem = "istio-system"

    /// Every finding for the given clusters. Unreachable clusters get only their `api` failure; peers
    /// still judge their remote secrets for them (the server comes from the kubeconfig).
    package static func evaluate(_ clusters: [ClusterFacts], _ expected: PreflightExpectations) -> [PreflightFinding] {
        var findings: [PreflightFinding] = []
        let reachable = clusters.filter { $0.version != nil }
        let multiNetwork = Set(reachable.compactMap { $0.networkLabel.value ?? nil }).count > 1
        let revision = expected.revision ?? reachable.first.flatMap { detectedRevision($0) }
        let topology = MeshTopology(clusters)
        for cluster in clusters {
            findings.append(api(cluster))
            guard cluster.version != nil else { continue }
            let role = topology.role(of: cluster.name) ?? .primary
            let peers = clusters.filter { $0.name != cluster.name }
            findings.append(rbac(cluster))
            findings.append(controlPlane(cluster, role: role, peers: peers))
            if let revision { findings.append(revisionCheck(cluster, revision: revision, role: role, peers: peers)) }
            findings += remoteSecrets(cluster, role: role, topology: topology, peers: peers)
            if let sync = controlPlaneSync(cluster, role: role, peers: peers) { findings.append(sync) }
            if clusters.count > 1 {
                findings.append(clusterRole(cluster, role: role, topology: topology))
                findings.append(eastWestGateway(cluster, required: multiNetwork))
                findings.append(crossNetworkGateway(cluster, required: multiNetwork))
                findings.append(networkLabel(cluster))
            }
            findings.append(rootCertificate(cluster, expected))
            findings.append(destinationRules(cluster, expected))
            findings.append(sidecars(cluster))
        }
        if reachable.count > 1 {
            findings.append(
                PreflightFinding(check: PreflightCheckName.topology, cluster: nil, status: .pass, evidence: topology.summary))
            findings.append(networksAcrossClusters(reachable))
            if let shared = sharedRoot(reachable) { findings.append(shared) }
        }
        return findings.sorted { lhs, rhs in
            let left = PreflightCheckName.all.firstIndex(of: lhs.check) ?? .max
            let right = PreflightCheckName.all.firstIndex(of: rhs.check) ?? .max
            return left < right
        }
    }

    /// The revision the run would detect: istiod's `istio.io/rev`, else a ControlPlaneRevision's name, else
    /// (a remote cluster) the revision its sidecar injector serves.
    package static func detectedRevision(_ cluster: ClusterFacts) -> String? {
        cluster.istiodPods.value?.first?.revision ?? cluster.controlPlaneRevisions.value?.first?.name
            ?? cluster.injectorWebhooks.value?.lazy.compactMap(\.revision).first
    }

    // MARK: topology

    /// The cluster's role as its objects show it, and what is inconsistent about it.
    static func clusterRole(_ cluster: ClusterFacts, role: ClusterRole, topology: MeshTopology) -> PreflightFinding {
        let name = PreflightCheckName.topology
        let annotation = "topology.istio.io/controlPlaneClusters"
        switch role {
        case .primary:
            let remotes = topology.remotes(of: cluster.name)
            let evidence = "primary: istiod runs here" + (remotes.isEmpty ? "" : " and configures the remotes \(remotes.joined(separator: ", "))")
            return PreflightFinding(check: name, cluster: cluster.name, status: .pass, evidence: evidence)
        case .remote(let primaries, let url):
            let injector = url.map { "; its sidecar injector calls \($0)" } ?? ""
            guard !primaries.isEmpty else {
                return PreflightFinding(
                    check: name, cluster: cluster.name, status: .warn,
                    evidence: "remote: no istiod runs here\(injector), but namespace istio-system has no \(annotation) annotation naming its primary",
                    hint:
                        "`kubectl --context \(cluster.context) annotate namespace istio-system \(annotation)=<primary cluster>` (Istio's primary-remote guide)")
            }
            let evidence = "remote of \(primaries.joined(separator: ", ")): istio-system \(annotation)=\(primaries.joined(separator: ","))\(injector)"
            let primary = primaries.first { $0 != "*" }
            let unknown = primaries.filter { primary in primary != "*" && topology.role(of: primary) == nil }
            if !unknown.isEmpty {
                return PreflightFinding(
                    check: name, cluster: cluster.name, peer: primary, status: .warn,
                    evidence: evidence
                        + "; \(unknown.joined(separator: ", ")) is not among the checked clusters, so its control plane and remote secrets are not checked",
                    hint: "add the primary's context to the scenario (or `--context`) so that its discovery of \(cluster.name) is checked too")
            }
            return PreflightFinding(check: name, cluster: cluster.name, peer: primary, status: .pass, evidence: evidence)
        case .managed(let discovery):
            let evidence = "managed control plane, \(discovery.setting)"
            let connected = topology.connectedClusters
            if discovery != .connected, !connected.isEmpty {
                return PreflightFinding(
                    check: name, cluster: cluster.name, status: .fail,
                    evidence:
                        "\(evidence) while \(connected.joined(separator: ", ")) use connected discovery: the fleet does not make remote secrets for \(cluster.name), so its control plane sees only the peers it holds remote secrets for",
                    hint: MeshTopology.connectHint(context: cluster.context))
            }
            let means =
                discovery == .connected
                ? ": the fleet discovers every cluster's endpoints, no remote secrets needed" : ": remote secrets make the peers' endpoints known"
            return PreflightFinding(check: name, cluster: cluster.name, status: .pass, evidence: evidence + means)
        }
    }

    // MARK: api

    static func api(_ cluster: ClusterFacts) -> PreflightFinding {
        if let version = cluster.version {
            return PreflightFinding(
                check: PreflightCheckName.api, cluster: cluster.name, status: .pass,
                evidence: "Kubernetes \(version) at \(cluster.server)")
        }
        let hint =
            switch cluster.failure ?? .unreachable {
            case .credentials: "fix the context's user entry or its credential plugin; `kubectl --context \(cluster.context) version` runs the same plugin"
            case .rejected: "the API server refused the context's credentials: refresh them (e.g. log in again) and check the user's RBAC"
            case .unreachable: "check the context's server, certificate authority and network path with `kubectl --context \(cluster.context) version`"
            case .noAnswer:
                "the address accepts connections but does not answer: check the API server's health and any proxy or load balancer in front of it (`kubectl --context \(cluster.context) get --raw /version`)"
            case .tooSlow: "the answer arrived too slowly: check for a throttling proxy or a saturated link between here and the API server"
            case .tooLarge:
                "no API server answers /version with that much: check that the context's server is the API server; raise --max-response-size only for a legitimately large answer"
            }
        return PreflightFinding(
            check: PreflightCheckName.api, cluster: cluster.name, status: .fail,
            evidence: "context \(cluster.context): \(cluster.unreachable ?? "no answer") (\(cluster.server))", hint: hint)
    }

    // MARK: rbac

    static func rbac(_ cluster: ClusterFacts) -> PreflightFinding {
        var denied: [String] = []
        var unknown: [String] = []
        for question in AccessQuestion.runNeeds {
            switch cluster.access[question] {
            case .allowed: continue
            case .denied(let reason): denied.append(reason.isEmpty ? "\(question)" : "\(question) (\(reason))")
            case .unknown(let why): unknown.append("\(question): \(why)")
            case nil: unknown.append("\(question): not asked")
            }
        }
        let name = PreflightCheckName.rbac
        if !denied.isEmpty {
            return PreflightFinding(
                check: name, cluster: cluster.name, status: .fail, evidence: "denied: " + denied.joined(separator: ", "),
                hint: "grant these verbs to the identity of context \(cluster.context) (a Role/ClusterRole binding); exec needs `create` on `pods/exec`")
        }
        if !unknown.isEmpty {
            return PreflightFinding(
                check: name, cluster: cluster.name, status: .warn,
                evidence: "could not ask SelfSubjectAccessReview: " + unknown.joined(separator: "; "),
                hint: "try `kubectl auth can-i create pods --subresource=exec --context \(cluster.context)`")
        }
        return PreflightFinding(
            check: name, cluster: cluster.name, status: .pass,
            evidence: "allowed: " + AccessQuestion.runNeeds.map(\.description).joined(separator: ", "))
    }

    // MARK: control plane and revision

    static func controlPlane(_ cluster: ClusterFacts, role: ClusterRole, peers: [ClusterFacts]) -> PreflightFinding {
        let name = PreflightCheckName.controlPlane
        if case .remote(let primaries, _) = role {
            return remoteControlPlane(cluster, primaries: primaries, peers: peers)
        }
        let pods = cluster.istiodPods.value ?? []
        let revisions = cluster.controlPlaneRevisions.value ?? []
        let readyPods = pods.filter(\.ready)
        if !readyPods.isEmpty {
            let byRevision = Dictionary(grouping: pods, by: \.revision).sorted { $0.key < $1.key }.map { revision, pods in
                "revision \(revision): \(pods.filter(\.ready).count)/\(pods.count) istiod pods ready"
            }
            return PreflightFinding(check: name, cluster: cluster.name, status: .pass, evidence: byRevision.joined(separator: "; "))
        }
        if let reconciled = revisions.first(where: { $0.reconciled == true }) {
            return PreflightFinding(
                check: name, cluster: cluster.name, status: .pass,
                evidence: "managed ControlPlaneRevision \(reconciled.name) is Reconciled (no in-cluster istiod needed)")
        }
        if !pods.isEmpty {
            return PreflightFinding(
                check: name, cluster: cluster.name, status: .fail,
                evidence: "none of \(pods.count) istiod pods is ready (\(pods.map(\.name).joined(separator: ", ")))",
                hint: "`kubectl --context \(cluster.context) -n istio-system describe pods -l app=istiod` shows why")
        }
        if let pending = revisions.first {
            let state = pending.reconciled == false ? "not Reconciled" : "without a Reconciled condition"
            return PreflightFinding(
                check: name, cluster: cluster.name, status: .fail,
                evidence: "ControlPlaneRevision \(pending.name) is \(state)" + (pending.message.map { ": \($0)" } ?? ""),
                hint: "wait for provisioning, or look at the fleet mesh feature state (`gcloud container fleet mesh describe`)")
        }
        var evidence = "no istiod pod (label app=istiod) and no ControlPlaneRevision in istio-system"
        if case .failed(let why) = cluster.istiodPods { evidence += "; listing istiod pods failed: \(why)" }
        return PreflightFinding(
            check: name, cluster: cluster.name, status: .fail, evidence: evidence,
            hint: "install the mesh in this cluster (istioctl install, or enable managed Cloud Service Mesh)")
    }

    /// A remote runs no istiod: its primary's must be ready (when the primary is among the checked clusters).
    static func remoteControlPlane(_ cluster: ClusterFacts, primaries: [String], peers: [ClusterFacts]) -> PreflightFinding {
        let name = PreflightCheckName.controlPlane
        let checked = peers.filter { primaries.contains($0.name) && $0.version != nil }
        let ready = checked.filter { peer in (peer.istiodPods.value ?? []).contains(where: \.ready) }
        let configuredBy = primaries.isEmpty ? "its primary's control plane" : "the control plane of \(primaries.joined(separator: ", "))"
        if !checked.isEmpty, ready.isEmpty {
            return PreflightFinding(
                check: name, cluster: cluster.name, status: .fail,
                evidence: "remote cluster: no istiod here, and \(checked.map(\.name).joined(separator: ", ")) has no ready istiod pod to configure it",
                hint: "`kubectl --context \(checked[0].context) -n istio-system describe pods -l app=istiod` shows why")
        }
        let state = ready.isEmpty ? "" : " (\(ready.map(\.name).joined(separator: ", ")): istiod ready)"
        return PreflightFinding(
            check: name, cluster: cluster.name, status: .pass,
            evidence: "remote cluster: no istiod needed here, its sidecars are configured by \(configuredBy)\(state)")
    }

    static func revisionCheck(_ cluster: ClusterFacts, revision: String, role: ClusterRole, peers: [ClusterFacts]) -> PreflightFinding {
        let name = PreflightCheckName.revision
        var istiod = Set((cluster.istiodPods.value ?? []).map(\.revision))
        if case .remote(let primaries, _) = role {
            // A remote's sidecars come from its primary's istiod, through the injector webhook it calls.
            istiod.formUnion((cluster.injectorWebhooks.value ?? []).compactMap(\.revision))
            istiod.formUnion(peers.filter { primaries.contains($0.name) }.flatMap { ($0.istiodPods.value ?? []).map(\.revision) })
        }
        let managed = Set((cluster.controlPlaneRevisions.value ?? []).map(\.name))
        let installed = istiod.union(managed)
        if installed.contains(revision) {
            let label = revision == "default" ? "istio-injection=enabled" : "istio.io/rev=\(revision)"
            return PreflightFinding(
                check: name, cluster: cluster.name, status: .pass,
                evidence: "revision \(revision) is served here; the namespace will be labelled \(label)")
        }
        let list = installed.isEmpty ? "none" : installed.sorted().joined(separator: ", ")
        return PreflightFinding(
            check: name, cluster: cluster.name, status: .fail,
            evidence: "revision \(revision) is not installed (installed revisions: \(list)); pods in a namespace labelled for it get no sidecar",
            hint: installed.isEmpty
                ? "install the mesh first"
                : "set mesh.revision to one of \(list) in the scenario, or leave it on auto")
    }

    // MARK: control plane sync

    /// istiod's own view (`/debug/clusterz`): every checked peer it holds a secret for must be synced. A
    /// peer it has no entry for is the `remote-secret` check's to report; a view meshcheck cannot read is
    /// a warning that says why, never a failure.
    static func controlPlaneSync(_ cluster: ClusterFacts, role: ClusterRole, peers: [ClusterFacts]) -> PreflightFinding? {
        let name = PreflightCheckName.controlPlaneSync
        switch cluster.controlPlaneView {
        case .notFetched:
            return nil
        case .notVisible(let why):
            if case .remote(let primaries, _) = role, (cluster.istiodPods.value ?? []).isEmpty {
                let primary = primaries.isEmpty ? "its primary" : primaries.joined(separator: ", ")
                return PreflightFinding(
                    check: name, cluster: cluster.name, status: .pass,
                    evidence: "remote cluster: no istiod here; \(primary)'s istiod watches it (see that cluster's row)")
            }
            let hint =
                why.hasPrefix("forbidden")
                ? "grant `create` (and `get`) on `pods/exec` in istio-system to the identity of context \(cluster.context) (a Role there, as deploy/canary/kubernetes/20-rbac.yaml does) to see istiod's view: meshcheck runs `pilot-discovery request GET /debug/clusterz` in the istiod pod"
                : nil
            return PreflightFinding(check: name, cluster: cluster.name, status: .warn, evidence: "not visible: \(why)", hint: hint)
        case .clusters(let pod, let entries):
            func entry(for peer: ClusterFacts) -> RemoteClusterStatus? {
                entries.first { $0.id == peer.name || $0.secretName.hasSuffix("/istio-remote-secret-\(peer.name)") }
            }
            let watched = peers.compactMap { peer in entry(for: peer).map { (peer, $0) } }
            let unsynced = watched.filter { !$0.1.isSynced }
            let described = { (pairs: [(ClusterFacts, RemoteClusterStatus)]) in
                pairs.map { "\($0.0.name) \($0.1.syncStatus) (secret \($0.1.secretName))" }.joined(separator: ", ")
            }
            if !unsynced.isEmpty {
                let servers = unsynced.map { peer, _ in
                    let server = cluster.remoteSecrets.value?.first { $0.key == peer.name || $0.clusterName == peer.name }?.server
                    return "\(peer.name): \(server ?? "the secret's server")"
                }
                return PreflightFinding(
                    check: name, cluster: cluster.name, peer: unsynced.count == 1 ? unsynced[0].0.name : nil, status: .fail,
                    evidence: "istiod \(pod) has not synced with " + described(unsynced)
                        + " — it holds the secret but never learned the peer's endpoints",
                    hint:
                        "istiod in \(cluster.name) cannot reach the API server of \(unsynced.map(\.0.name).joined(separator: ", ")): "
                        + "check private-cluster authorized networks or a firewall between them, and that the remote secret's server address ("
                        + servers.joined(separator: "; ") + ") is one this istiod can reach (`istioctl remote-clusters --context \(cluster.context)`)")
            }
            let unwatched = peers.filter { entry(for: $0) == nil }.map(\.name)
            let extra = unwatched.isEmpty ? "" : "; not watched: \(unwatched.joined(separator: ", ")) (see remote-secret)"
            let evidence =
                watched.isEmpty
                ? "istiod \(pod) watches no peer" : "istiod \(pod) has synced with " + described(watched)
            return PreflightFinding(check: name, cluster: cluster.name, status: .pass, evidence: evidence + extra)
        }
    }

    // MARK: remote secrets

    /// What remote secrets a cluster needs by its role: a remote none (its primary holds one for it); a
    /// managed cluster with connected discovery none (the fleet discovers its peers); every other control
    /// plane — a primary, of multi-primary or of remotes, and a managed one with manual discovery — one per
    /// peer.
    static func remoteSecrets(_ cluster: ClusterFacts, role: ClusterRole, topology: MeshTopology, peers: [ClusterFacts]) -> [PreflightFinding] {
        let name = PreflightCheckName.remoteSecret
        switch role {
        case .remote(let primaries, _):
            let holders = primaries.isEmpty ? "its primary holds" : "\(primaries.joined(separator: ", ")) holds"
            return [
                PreflightFinding(
                    check: name, cluster: cluster.name, status: .pass,
                    evidence: "remote cluster: needs no remote secrets of its own (\(holders) the secret for it)")
            ]
        case .managed(.connected):
            return [
                PreflightFinding(
                    check: name, cluster: cluster.name, status: .pass,
                    evidence: "asm-options multicluster_mode=connected: the fleet discovers the peers' endpoints, no remote secrets needed")
            ]
        case .managed, .primary:
            // Where the rest of the mesh uses connected discovery, the fix for a missing secret here is to
            // connect this cluster too.
            let connectHint = role != .primary && !topology.connectedClusters.isEmpty ? MeshTopology.connectHint(context: cluster.context) : nil
            return remoteSecrets(cluster, peers: peers).map { finding in
                var finding = finding
                if finding.status != .pass, let connectHint { finding.hint = connectHint }
                return finding
            }
        }
    }

    /// For every peer: a remote-secret entry whose kubeconfig points at the peer's API server (as our
    /// kubeconfig reaches it), or at least names it.
    static func remoteSecrets(_ cluster: ClusterFacts, peers: [ClusterFacts]) -> [PreflightFinding] {
        let name = PreflightCheckName.remoteSecret
        let entries: [RemoteSecretEntry]
        switch cluster.remoteSecrets {
        case .failed(let why):
            return [
                PreflightFinding(
                    check: name, cluster: cluster.name, status: .fail,
                    evidence: "cannot list remote secrets (istio/multiCluster=true) in istio-system: \(why)",
                    hint: "the context needs `list secrets` in istio-system for this check")
            ]
        case .value(let list): entries = list
        }
        var findings: [PreflightFinding] = []
        let everyCluster = peers + [cluster]
        for peer in peers {
            let recreate =
                "recreate it: `istioctl create-remote-secret --context \(peer.context) --name \(peer.name) | kubectl apply --context \(cluster.context) -f -`"
            // A secret is matched to its peer by what identifies the cluster, not by URL text: the guide's
            // private-cluster procedure points secrets at the peer's private endpoint, which the user's
            // kubeconfig does not use. The CA identifies the peer only if no other cluster shares it.
            let identity = peer.certificateAuthority
            let identityIsUnique =
                identity.isKnown && !everyCluster.contains { $0.name != peer.name && $0.certificateAuthority.matches(identity) }
            let byServer = entries.first { $0.server != nil && $0.server == peer.server }
            // A secret named for another cluster of the mesh is that cluster's, whatever CA it carries.
            func isNamed(_ entry: RemoteSecretEntry, for cluster: ClusterFacts) -> Bool {
                entry.key == cluster.name || entry.clusterName == cluster.name || entry.secretName == "istio-remote-secret-\(cluster.name)"
            }
            let byIdentity =
                identityIsUnique
                ? entries.first { entry in
                    entry.problem == nil && entry.certificateAuthority.matches(identity)
                        && !everyCluster.contains { $0.name != peer.name && isNamed(entry, for: $0) }
                } : nil
            let byName = entries.first { isNamed($0, for: peer) }
            if let entry = byServer {
                findings.append(
                    PreflightFinding(
                        check: name, cluster: cluster.name, peer: peer.name, status: .pass,
                        evidence: "\(entry.secretName) points at \(peer.name)'s API server \(peer.server)"))
            } else if let entry = byIdentity {
                findings.append(
                    PreflightFinding(
                        check: name, cluster: cluster.name, peer: peer.name, status: .pass,
                        evidence:
                            "\(entry.secretName) points at \(entry.server ?? "an endpoint") with \(peer.name)'s certificate authority: another endpoint of \(peer.name) than \(peer.server) (e.g. a private one), which meshcheck cannot reach from here"
                    ))
            } else if let entry = byName {
                let problem: String
                if let unreadable = entry.problem {
                    problem = "cannot be read: \(unreadable)"
                } else if entry.certificateAuthority.isKnown, !entry.certificateAuthority.matches(identity),
                    let other = everyCluster.first(where: { $0.name != peer.name && $0.certificateAuthority.matches(entry.certificateAuthority) })
                {
                    problem = "points at another cluster: \(entry.server ?? "its server") presents \(other.name)'s certificate authority, not \(peer.name)'s"
                } else {
                    let distrusted = entry.certificateAuthority.isKnown && identity.isKnown && !entry.certificateAuthority.matches(identity)
                    let trust = distrusted ? ", and its certificate authority is not \(peer.name)'s" : ""
                    problem = "points at \(entry.server ?? "no server"), not at \(peer.name)'s API server \(peer.server)\(trust)"
                }
                findings.append(
                    PreflightFinding(
                        check: name, cluster: cluster.name, peer: peer.name, status: .fail,
                        evidence: "\(entry.secretName) for \(peer.name) \(problem)", hint: recreate))
            } else {
                let others = entries.isEmpty ? "none at all" : entries.map(\.secretName).joined(separator: ", ")
                findings.append(
                    PreflightFinding(
                        check: name, cluster: cluster.name, peer: peer.name, status: .fail,
                        evidence:
                            "no remote secret for \(peer.name) (remote secrets here: \(others)), so \(cluster.name)'s control plane cannot discover \(peer.name)'s endpoints",
                        hint: "`istioctl create-remote-secret --context \(peer.context) --name \(peer.name) | kubectl apply --context \(cluster.context) -f -`")
                )
            }
        }
        return findings
    }

    // MARK: east-west gateway, cross-network Gateway, network label

    static func eastWestGateway(_ cluster: ClusterFacts, required: Bool) -> PreflightFinding {
        let name = PreflightCheckName.eastWestGateway
        let missing: PreflightStatus = required ? .fail : .warn
        let hint = "deploy it with samples/multicluster/gen-eastwest-gateway.sh (network \(cluster.networkLabel.value.flatMap { $0 } ?? "<network>"))"
        switch (cluster.eastWestDeployment, cluster.eastWestService) {
        case (.failed(let why), _), (_, .failed(let why)):
            return PreflightFinding(
                check: name, cluster: cluster.name, status: missing,
                evidence: "cannot read istio-system/istio-eastwestgateway: \(why)", hint: hint)
        case (.value(nil), _):
            return PreflightFinding(
                check: name, cluster: cluster.name, status: missing,
                evidence: "no istio-eastwestgateway Deployment in istio-system"
                    + (required ? "; peers on other networks cannot reach this cluster" : " (not needed while all clusters share one network)"),
                hint: hint)
        case (.value(.some(let deployment)), .value(let service)):
            if deployment.replicas == 0 {
                return PreflightFinding(
                    check: name, cluster: cluster.name, status: .fail,
                    evidence: "istio-eastwestgateway is scaled to 0 replicas; cross-network traffic into \(cluster.name) has no entry point",
                    hint: "`kubectl --context \(cluster.context) -n istio-system scale deployment istio-eastwestgateway --replicas=1`")
            }
            if deployment.availableReplicas == 0 {
                return PreflightFinding(
                    check: name, cluster: cluster.name, status: .fail,
                    evidence: "istio-eastwestgateway has 0 of \(deployment.replicas) replicas available",
                    hint: "`kubectl --context \(cluster.context) -n istio-system describe pods -l istio=eastwestgateway`")
            }
            guard let service else {
                return PreflightFinding(
                    check: name, cluster: cluster.name, status: .fail,
                    evidence: "istio-eastwestgateway runs (\(deployment.availableReplicas)/\(deployment.replicas)) but has no Service",
                    hint: hint)
            }
            guard let address = service.addresses.first else {
                return PreflightFinding(
                    check: name, cluster: cluster.name, status: .fail,
                    evidence: "Service istio-eastwestgateway (\(service.type)) has no external address (status.loadBalancer.ingress is empty)",
                    hint:
                        "a LoadBalancer Service needs the cloud's load-balancer controller; check `kubectl --context \(cluster.context) -n istio-system describe svc istio-eastwestgateway`"
                )
            }
            return PreflightFinding(
                check: name, cluster: cluster.name, status: .pass,
                evidence: "\(deployment.availableReplicas)/\(deployment.replicas) replicas available, address \(address)")
        }
    }

    static func crossNetworkGateway(_ cluster: ClusterFacts, required: Bool) -> PreflightFinding {
        let name = PreflightCheckName.crossNetworkGateway
        let missing: PreflightStatus = required ? .fail : .warn
        let hint = "apply samples/multicluster/expose-services.yaml (Gateway cross-network-gateway, port 15443, AUTO_PASSTHROUGH) in istio-system"
        switch cluster.crossNetworkGateways {
        case .failed(let why):
            return PreflightFinding(
                check: name, cluster: cluster.name, status: missing,
                evidence: "cannot list networking.istio.io Gateways in istio-system: \(why)", hint: hint)
        case .value(let gateways):
            if let good = gateways.first(where: \.passthrough15443) {
                return PreflightFinding(
                    check: name, cluster: cluster.name, status: .pass,
                    evidence: "Gateway \(good.name) passes port 15443 through (AUTO_PASSTHROUGH)")
            }
            if let named = gateways.first(where: { $0.name == "cross-network-gateway" }) {
                return PreflightFinding(
                    check: name, cluster: cluster.name, status: missing,
                    evidence: "Gateway \(named.name) has no port 15443 server with tls.mode AUTO_PASSTHROUGH", hint: hint)
            }
            return PreflightFinding(
                check: name, cluster: cluster.name, status: missing,
                evidence: "no cross-network Gateway in istio-system" + (required ? "; services are not exposed to the other networks" : ""),
                hint: hint)
        }
    }

    static func networkLabel(_ cluster: ClusterFacts) -> PreflightFinding {
        let name = PreflightCheckName.networkLabel
        let label = "topology.istio.io/network"
        switch cluster.networkLabel {
        case .failed(let why):
            return PreflightFinding(check: name, cluster: cluster.name, status: .warn, evidence: "cannot read namespace istio-system: \(why)")
        case .value(nil):
            return PreflightFinding(
                check: name, cluster: cluster.name, status: .fail,
                evidence: "namespace istio-system has no \(label) label",
                hint: "`kubectl --context \(cluster.context) label namespace istio-system \(label)=<network>` (one network name per cluster network)")
        case .value(.some(let network)):
            if let gateway = cluster.eastWestDeployment.value ?? nil, let gatewayNetwork = gateway.networkLabel, gatewayNetwork != network {
                return PreflightFinding(
                    check: name, cluster: cluster.name, status: .fail,
                    evidence: "istio-system is on network \(network) but istio-eastwestgateway says \(gatewayNetwork)",
                    hint: "regenerate the east-west gateway for network \(network)")
            }
            return PreflightFinding(check: name, cluster: cluster.name, status: .pass, evidence: "istio-system \(label)=\(network)")
        }
    }

    /// Mesh-wide: clusters with east-west gateways should be on distinct networks; a shared network
    /// means Istio dials pod addresses directly across clusters.
    static func networksAcrossClusters(_ clusters: [ClusterFacts]) -> PreflightFinding {
        let name = PreflightCheckName.networkLabel
        var byNetwork: [String: [String]] = [:]
        for cluster in clusters {
            if let network = cluster.networkLabel.value ?? nil { byNetwork[network, default: []].append(cluster.name) }
        }
        let shared = byNetwork.filter { $0.value.count > 1 }.sorted { $0.key < $1.key }
        if shared.isEmpty {
            return PreflightFinding(
                check: name, cluster: nil, status: .pass,
                evidence: "\(byNetwork.count) distinct networks: "
                    + byNetwork.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value.joined(separator: ", ")))" }.joined(separator: ", "))
        }
        let text = shared.map { "\($0.value.joined(separator: ", ")) share network \($0.key)" }.joined(separator: "; ")
        return PreflightFinding(
            check: name, cluster: nil, status: .warn,
            evidence: "\(text): Istio sends traffic between them to pod addresses directly, which works only on a flat network",
            hint: "give each cluster network its own label value if the pod networks are not routable between the clusters")
    }

    // MARK: root CA

    static func rootCertificate(_ cluster: ClusterFacts, _ expected: PreflightExpectations) -> PreflightFinding {
        let name = PreflightCheckName.rootCA
        let pem: String
        switch cluster.rootCertificatePEM {
        case .failed(let why):
            return PreflightFinding(check: name, cluster: cluster.name, status: .fail, evidence: "cannot read istio-system/istio-ca-root-cert: \(why)")
        case .value(nil):
            return PreflightFinding(
                check: name, cluster: cluster.name, status: .fail,
                evidence: "ConfigMap istio-system/istio-ca-root-cert with root-cert.pem is missing",
                hint: "istiod publishes it; check that the control plane runs and watches istio-system")
        case .value(.some(let text)): pem = text
        }
        let certificates: [CertificateSummary]
        do {
            certificates = try CertificateReader.summaries(pem: pem)
        } catch {
            return PreflightFinding(check: name, cluster: cluster.name, status: .fail, evidence: "root-cert.pem is unreadable: \(error)")
        }
        let first = certificates[0]
        let expiry = certificates.map(\.notAfter).min() ?? first.notAfter
        let described =
            "\(first.subject), SHA-256 \(first.shortFingerprint)…, expires \(Self.day(expiry))"
            + (certificates.count > 1 ? " (+\(certificates.count - 1) more)" : "")
        if expiry <= expected.now {
            return PreflightFinding(
                check: name, cluster: cluster.name, status: .fail, evidence: "root certificate has expired: \(described)",
                hint: "rotate the mesh root CA (istio.io: plugin CA certificates)")
        }
        if expiry - expected.now <= expected.expiryWarning {
            let days = Int((expiry - expected.now) / 86_400)
            return PreflightFinding(
                check: name, cluster: cluster.name, status: .warn, evidence: "root certificate expires in \(days) days: \(described)",
                hint: "plan the root CA rotation before it expires")
        }
        return PreflightFinding(check: name, cluster: cluster.name, status: .pass, evidence: described)
    }

    /// Mesh-wide: every cluster must trust the same root (same set of fingerprints).
    static func sharedRoot(_ clusters: [ClusterFacts]) -> PreflightFinding? {
        var roots: [(cluster: String, fingerprints: [String], subject: String)] = []
        for cluster in clusters {
            guard let pem = cluster.rootCertificatePEM.value ?? nil, let certificates = try? CertificateReader.summaries(pem: pem) else { continue }
            roots.append((cluster.name, certificates.map(\.sha256).sorted(), certificates[0].subject))
        }
        guard roots.count > 1 else { return nil }
        let groups = Dictionary(grouping: roots, by: \.fingerprints).sorted { $0.value[0].cluster < $1.value[0].cluster }
        if groups.count == 1 {
            return PreflightFinding(
                check: PreflightCheckName.rootCA, cluster: nil, status: .pass,
                evidence: "all \(roots.count) clusters share root SHA-256 \(String(roots[0].fingerprints[0].prefix(16)))…")
        }
        let text = groups.map { fingerprints, members in
            "\(members.map(\.cluster).joined(separator: ", ")): \(String(fingerprints[0].prefix(16)))… (\(members[0].subject))"
        }.joined(separator: " vs ")
        let overlapping = Set(groups[0].key).intersection(groups.dropFirst().flatMap(\.key)).isEmpty == false
        return PreflightFinding(
            check: PreflightCheckName.rootCA, cluster: nil, status: overlapping ? .warn : .fail,
            evidence: "istio-ca-root-cert differs between clusters: \(text)"
                + (overlapping ? " (they share a certificate; a root rotation may be in progress)" : "; mTLS between them fails"),
            hint: "plug the same root CA into every cluster (istio.io: plugin CA certificates), then restart istiod and the workloads")
    }

    static func day(_ seconds: Double) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }

    // MARK: DestinationRules and sidecars

    static func destinationRules(_ cluster: ClusterFacts, _ expected: PreflightExpectations) -> PreflightFinding {
        let name = PreflightCheckName.destinationRules
        switch cluster.destinationRules {
        case .failed(let why):
            return PreflightFinding(
                check: name, cluster: cluster.name, status: .pass,
                evidence: "DestinationRules not readable (\(why)); assuming none change the split")
        case .value(let rules):
            let changing = rules.filter { !$0.splitChanges.isEmpty }
            if changing.isEmpty {
                return PreflightFinding(
                    check: name, cluster: cluster.name, status: .pass,
                    evidence: rules.isEmpty
                        ? "no DestinationRule for \(expected.testService)"
                        : "\(rules.count) DestinationRules for \(expected.testService), none changes the split")
            }
            let text = changing.map { "\($0.namespace)/\($0.name) (host \($0.host): \($0.splitChanges.joined(separator: ", ")))" }.joined(separator: "; ")
            return PreflightFinding(
                check: name, cluster: cluster.name, status: .warn,
                evidence: "\(text) changes how \(expected.testService) is balanced",
                hint: "set expectations.balance to match (local-preferred for locality settings, weights for subsets), or remove the rule")
        }
    }

    /// Whether a DestinationRule host names the test service in `namespace` (short, namespaced or FQDN),
    /// or covers it with a wildcard.
    package static func hostMatches(_ host: String, service: String, ruleNamespace: String, namespace: String?) -> Bool {
        let fqdnTail = ".svc.cluster.local"
        if host == "*" || host == "*.local" || host == "*.cluster.local" || host == "*.svc.cluster.local" { return true }
        guard let namespace else { return host.hasPrefix(service + ".") || host == service }
        if host == service { return ruleNamespace == namespace }
        return host == "\(service).\(namespace)" || host == "\(service).\(namespace).svc" || host == "\(service).\(namespace)\(fqdnTail)"
            || host == "*.\(namespace)\(fqdnTail)"
    }

    static func sidecars(_ cluster: ClusterFacts) -> PreflightFinding {
        let name = PreflightCheckName.sidecars
        guard let count = cluster.sidecars.value else {
            return PreflightFinding(check: name, cluster: cluster.name, status: .pass, evidence: "injected pods not listed")
        }
        let total = count.classic + count.native
        if total == 0 {
            return PreflightFinding(check: name, cluster: cluster.name, status: .pass, evidence: "no injected pods yet")
        }
        return PreflightFinding(
            check: name, cluster: cluster.name, status: .pass,
            evidence:
                "\(total) injected pods: \(count.classic) with an istio-proxy container, \(count.native) with a native sidecar (restartable init container); both count as sidecars"
        )
    }
}
