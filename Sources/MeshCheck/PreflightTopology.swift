// Which shape of mesh the clusters form, read from the objects each install leaves (Istio's multicluster
// install guides and Cloud Service Mesh's): a primary runs istiod; a remote runs none, names its primary in
// istio-system's `topology.istio.io/controlPlaneClusters` annotation and has a sidecar injector that calls a
// URL (the primary's istiod through its east-west gateway); a managed cluster has a ControlPlaneRevision and
// discovers its peers either through the fleet (`asm-options` `multicluster_mode: connected`) or through
// remote secrets. The checks judge each cluster by its role. Pure: no I/O.

import Foundation

/// How a managed control plane discovers its peers' endpoints (`asm-options` `multicluster_mode`).
package enum ManagedDiscovery: Sendable, Equatable {
    /// The fleet discovers every cluster's endpoints; no remote secrets are needed.
    case connected
    /// Remote secrets, made by the operator.
    case manual
    /// No `multicluster_mode`: remote secrets, as `manual`.
    case absent
    /// A value the guide does not define, or asm-options could not be read.
    case other(String)

    init(_ mode: Fetched<String?>) {
        switch mode {
        case .value(nil): self = .absent
        case .value("connected"): self = .connected
        case .value("manual"): self = .manual
        case .value(.some(let value)): self = .other("multicluster_mode=\(value)")
        case .failed(let why): self = .other("asm-options unreadable: \(why)")
        }
    }

    /// `connected discovery`, `manual discovery`.
    package var label: String {
        switch self {
        case .connected: "connected discovery"
        case .manual: "manual discovery"
        case .absent: "remote-secret discovery (no multicluster_mode)"
        case .other(let what): "remote-secret discovery (\(what))"
        }
    }

    /// What asm-options says, for evidence lines.
    var setting: String {
        switch self {
        case .connected: "asm-options multicluster_mode=connected"
        case .manual: "asm-options multicluster_mode=manual"
        case .absent: "no multicluster_mode in istio-system/asm-options"
        case .other(let what): what
        }
    }
}

/// One cluster's part in the mesh.
package enum ClusterRole: Sendable, Equatable {
    /// istiod runs here (also what a cluster without any control plane is judged as, so that
    /// `control-plane` says what is missing).
    case primary
    /// No istiod: configured by the control plane of `primaries` (from the annotation; empty when only
    /// the injector webhook shows it), whose injector is called at `injectorURL`.
    case remote(primaries: [String], injectorURL: String?)
    /// A managed control plane (ControlPlaneRevision, no istiod pod).
    case managed(ManagedDiscovery)

    package var isRemote: Bool {
        if case .remote = self { return true }
        return false
    }
}

/// The mesh's shape: every examined cluster's role.
package struct MeshTopology: Sendable, Equatable {
    package struct Entry: Sendable, Equatable {
        package var cluster: String
        package var role: ClusterRole
    }

    /// Roles of the reachable clusters, in the scenario's order.
    package var roles: [Entry]

    package init(_ clusters: [ClusterFacts]) {
        roles = clusters.filter { $0.version != nil }.map { Entry(cluster: $0.name, role: Self.role($0)) }
    }

    package static func role(_ cluster: ClusterFacts) -> ClusterRole {
        let istiod = cluster.istiodPods.value ?? []
        if istiod.isEmpty, !(cluster.controlPlaneRevisions.value ?? []).isEmpty {
            return .managed(ManagedDiscovery(cluster.multiclusterMode))
        }
        let primaries = (cluster.controlPlaneClusters.value ?? nil).map(Self.clusterList) ?? []
        let webhooks = cluster.injectorWebhooks.value ?? []
        let injectorURL = webhooks.lazy.compactMap(\.url).first
        let callsOut = injectorURL != nil && !webhooks.contains { $0.service != nil }
        if istiod.isEmpty, !primaries.isEmpty || callsOut {
            return .remote(primaries: primaries, injectorURL: injectorURL)
        }
        return .primary
    }

    /// The annotation's comma-separated cluster names.
    static func clusterList(_ value: String) -> [String] {
        value.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    package func role(of cluster: String) -> ClusterRole? {
        roles.first { $0.cluster == cluster }?.role
    }

    /// Clusters whose annotation names `primary` as their control plane.
    package func remotes(of primary: String) -> [String] {
        roles.compactMap { entry in
            if case .remote(let primaries, _) = entry.role, primaries.contains(primary) || primaries == ["*"] { return entry.cluster }
            return nil
        }
    }

    /// Managed clusters that use connected (fleet) discovery.
    package var connectedClusters: [String] {
        roles.filter { $0.role == .managed(.connected) }.map(\.cluster)
    }

    /// One line naming the shape: `multi-primary`, `primary-remote (primary cluster-1; remotes cluster-2,
    /// cluster-3)`, `managed, connected discovery`.
    package var summary: String {
        let primaries = roles.filter { $0.role == .primary }.map(\.cluster)
        let remotes = roles.filter { $0.role.isRemote }.map(\.cluster)
        var managed: [String: [String]] = [:]
        for entry in roles {
            if case .managed(let discovery) = entry.role { managed[discovery.label, default: []].append(entry.cluster) }
        }
        let list = { (names: [String]) in names.joined(separator: ", ") }
        if managed.isEmpty, remotes.isEmpty {
            return roles.count == 1 ? "single cluster (primary)" : "multi-primary"
        }
        if managed.isEmpty {
            let head = primaries.count > 1 ? "multi-primary with remotes (primaries" : "primary-remote (primary"
            let served = primaries.isEmpty ? "none" : list(primaries)
            return "\(head) \(served); remotes \(list(remotes)))"
        }
        if primaries.isEmpty, remotes.isEmpty {
            if managed.count == 1, let label = managed.keys.first { return "managed, \(label)" }
            let modes = managed.sorted { $0.key < $1.key }.map { "\($0.key) (\(list($0.value)))" }
            return "managed, mixed discovery: " + modes.joined(separator: "; ")
        }
        var parts: [String] = []
        if !primaries.isEmpty { parts.append("in-cluster istiod (\(list(primaries)))") }
        if !remotes.isEmpty { parts.append("remotes (\(list(remotes)))") }
        for (label, clusters) in managed.sorted(by: { $0.key < $1.key }) { parts.append("managed, \(label) (\(list(clusters)))") }
        return "mixed control planes: " + parts.joined(separator: "; ")
    }

    /// The Cloud Service Mesh guide's command that turns on connected discovery in one cluster.
    package static func connectHint(context: String) -> String {
        "`kubectl --context \(context) patch configmap/asm-options -n istio-system --type merge -p '{\"data\":{\"multicluster_mode\":\"connected\"}}'`"
    }
}
