// Which endpoints a pod can reach, decided from a snapshot of the clusters' API objects the way a
// multi-network Istio mesh (multi-primary, primary-remote, or managed with connected discovery) decides
// it. Pure: no I/O.

/// An endpoint of a service: one ready pod's listener.
package struct MeshEndpoint: Hashable, Sendable {
    package var pod: String
    package var cluster: String
    /// Where the simulated pod really listens (127.0.0.1 and an ephemeral port).
    package var host: String
    package var port: Int
    /// The pod's `version` label, if any.
    package var version: String?
    /// Whether the pod runs a sidecar; a pod without one cannot terminate the mesh's mTLS, so it is
    /// reachable only from its own cluster.
    package var hasSidecar: Bool
    /// The pod's labels, which DestinationRule subsets select by.
    package var labels: [String: String]
    /// The pod's `status.podIP`: the address its cluster's sidecars list it by (Envoy's admin `/clusters`).
    package var podIP: String?
    /// The locality of the pod's node (its topology labels when the view was taken).
    package var locality: Locality

    package init(
        pod: String, cluster: String, host: String, port: Int, version: String?, hasSidecar: Bool,
        labels: [String: String] = [:], podIP: String? = nil, locality: Locality = Locality()
    ) {
        self.locality = locality
        self.pod = pod
        self.cluster = cluster
        self.host = host
        self.port = port
        self.version = version
        self.hasSidecar = hasSidecar
        self.labels = labels
        self.podIP = podIP
    }
}

package struct ServiceKey: Hashable, Sendable, CustomStringConvertible {
    package var namespace: String
    package var name: String

    package init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    package var description: String { "\(name).\(namespace)" }

    /// `name.namespace.svc.cluster.local`, the host Istio configuration names the Service by.
    package var fqdn: String { "\(name).\(namespace).svc.cluster.local" }
}

/// A Service as one cluster sees it: its ports and its ready endpoints in that cluster.
package struct ServiceView: Equatable, Sendable {
    package var ports: Set<Int>
    package var endpoints: [MeshEndpoint]
    /// Service port → numeric `targetPort`, where they differ (the pod port an endpoint is listed with).
    package var targetPorts: [Int: Int]

    package init(ports: Set<Int>, endpoints: [MeshEndpoint], targetPorts: [Int: Int] = [:]) {
        self.ports = ports
        self.endpoints = endpoints
        self.targetPorts = targetPorts
    }
}

/// A remote secret held by a cluster for a peer.
package struct RemoteSecretView: Equatable, Sendable {
    /// The kubeconfig in the secret points at the peer's real API server (a stale or wrong server means
    /// istiod cannot watch the peer).
    package var serverMatchesPeer: Bool

    package init(serverMatchesPeer: Bool = true) {
        self.serverMatchesPeer = serverMatchesPeer
    }
}

package struct ClusterView: Equatable, Sendable {
    package var name: String
    /// `topology.istio.io/network` of istio-system; nil when unlabelled.
    package var network: String?
    /// Fingerprint of `root-cert.pem` in `istio-ca-root-cert`; nil when absent.
    package var rootCAFingerprint: String?
    /// Peers this cluster's control plane holds remote secrets for, by cluster name.
    package var remoteSecrets: [String: RemoteSecretView]
    /// The cluster whose control plane configures this cluster's sidecars (a primary-remote mesh's
    /// remote names its primary); nil when it has its own.
    package var configuredBy: String?
    /// This cluster's control plane discovers every cluster's endpoints without remote secrets (managed
    /// Cloud Service Mesh with `multicluster_mode: connected`).
    package var discoversFleet: Bool
    /// Peers whose API server this cluster's istiod cannot reach (a firewall, private-cluster authorized
    /// networks): it holds their secret but never learns their endpoints.
    package var unreachablePeers: Set<String>
    package var eastWestGatewayReadyPods: Int
    /// The east-west gateway Service's load-balancer address: where peers' sidecars send this cluster's
    /// traffic (port 15443), and how they list its endpoints. Nil until the cloud controller assigns one.
    package var eastWestGatewayAddress: String?
    package var services: [ServiceKey: ServiceView]
    /// This cluster's VirtualServices and DestinationRules: in a multi-primary mesh each istiod configures
    /// its own cluster's sidecars from its own cluster's objects.
    package var virtualServices: [VirtualServiceView]
    package var destinationRules: [DestinationRuleView]
    /// Node name → its labels (topology labels decide localities).
    package var nodeLabels: [String: [String: String]]
    /// `namespace/pod` → where the pod runs and its labels: a client sidecar's locality and failoverPriority labels.
    package var pods: [String: PodPlacement]

    package init(
        name: String, network: String?, rootCAFingerprint: String?, remoteSecrets: [String: RemoteSecretView],
        eastWestGatewayReadyPods: Int, services: [ServiceKey: ServiceView], virtualServices: [VirtualServiceView] = [],
        destinationRules: [DestinationRuleView] = [], configuredBy: String? = nil, discoversFleet: Bool = false,
        eastWestGatewayAddress: String? = nil, unreachablePeers: Set<String> = [],
        nodeLabels: [String: [String: String]] = [:], pods: [String: PodPlacement] = [:]
    ) {
        self.nodeLabels = nodeLabels
        self.pods = pods
        self.name = name
        self.network = network
        self.rootCAFingerprint = rootCAFingerprint
        self.remoteSecrets = remoteSecrets
        self.configuredBy = configuredBy
        self.discoversFleet = discoversFleet
        self.unreachablePeers = unreachablePeers
        self.eastWestGatewayReadyPods = eastWestGatewayReadyPods
        self.eastWestGatewayAddress = eastWestGatewayAddress
        self.services = services
        self.virtualServices = virtualServices
        self.destinationRules = destinationRules
    }
}

/// A pod's node and labels.
package struct PodPlacement: Equatable, Sendable {
    package var nodeName: String
    package var labels: [String: String]

    package init(nodeName: String, labels: [String: String]) {
        self.nodeName = nodeName
        self.labels = labels
    }
}

/// The whole mesh at one moment.
package struct MeshView: Equatable, Sendable {
    package var clusters: [String: ClusterView]

    package init(clusters: [ClusterView] = []) {
        self.clusters = Dictionary(clusters.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
    }

    /// A client pod as locality load balancing compares it: its node's locality, and its labels plus the
    /// topology labels Istio adds to proxies and endpoints alike.
    package func localityClient(cluster: String, namespace: String, pod: String) -> LocalityClient {
        let clusterView = clusters[cluster]
        let placement = clusterView?.pods["\(namespace)/\(pod)"]
        let locality = Locality(nodeLabels: placement.flatMap { clusterView?.nodeLabels[$0.nodeName] } ?? [:])
        return LocalityClient(
            locality: locality, labels: topologyLabels(placement?.labels ?? [:], locality: locality, cluster: cluster))
    }

    /// An endpoint's labels for `failoverPriority`: its pod's labels plus its locality, cluster and network.
    package func topologyLabels(of endpoint: MeshEndpoint) -> [String: String] {
        topologyLabels(endpoint.labels, locality: endpoint.locality, cluster: endpoint.cluster)
    }

    private func topologyLabels(_ labels: [String: String], locality: Locality, cluster: String) -> [String: String] {
        var result = labels
        result[Locality.regionLabel] = locality.region
        result[Locality.zoneLabel] = locality.zone
        if !locality.subzone.isEmpty { result[Locality.subzoneLabel] = locality.subzone }
        result["topology.istio.io/cluster"] = cluster
        if let network = clusters[cluster]?.network { result["topology.istio.io/network"] = network }
        return result
    }
}

/// Why (or why not) a source cluster's sidecars reach a target cluster's endpoints.
package enum ClusterReachability: Equatable, Sendable {
    case sameCluster
    /// Discovered through the remote secret and reached through the target's east-west gateway.
    case throughEastWestGateway
    case noSidecar
    case noRemoteSecret
    case remoteSecretPointsElsewhere
    /// The control plane holds the peer's secret but cannot reach its API server, so it never learns the
    /// peer's endpoints.
    case peerAPIServerUnreachable
    /// Istio treats an unlabelled or equal network as flat and dials pod addresses, which do not route
    /// between the clusters' separate networks.
    case networkNotDistinguished
    case eastWestGatewayDown
    case rootCAMismatch
    case unknownCluster

    package var isReachable: Bool { self == .sameCluster || self == .throughEastWestGateway }
}

/// The outcome of resolving a request's host.
package enum MeshResolution: Equatable, Sendable {
    /// A Service of the source cluster; `endpoints` are the reachable ones (possibly none).
    case service(ServiceKey, endpoints: [MeshEndpoint])
    /// The name is not a Service the source cluster's DNS knows (or the port is not one of its ports).
    case notAService
}

package enum MeshRouting {
    /// The decision table. Checks run in the order a request would fail on them: discovery (remote
    /// secret), the cross-network hop (distinct networks, gateway up), then mTLS (shared root CA).
    package static func reachability(from source: String, to target: String, sourceHasSidecar: Bool, in view: MeshView)
        -> ClusterReachability
    {
        // A sidecar knows the endpoints its control plane discovers: a remote's is its primary's, which
        // knows its own cluster and the clusters it holds remote secrets for (or all, in connected mode) —
        // the remote itself included, so without the primary's secret for it a remote's sidecars do not
        // know even their own cluster's endpoints.
        let controlPlane = sourceHasSidecar ? view.clusters[source]?.configuredBy ?? source : source
        if source == target, controlPlane == source { return .sameCluster }
        guard sourceHasSidecar else { return .noSidecar }
        guard let from = view.clusters[source], let to = view.clusters[target] else { return .unknownCluster }
        if controlPlane != target {
            guard let discovering = view.clusters[controlPlane] else { return .unknownCluster }
            if !discovering.discoversFleet {
                guard let secret = discovering.remoteSecrets[target] else { return .noRemoteSecret }
                guard secret.serverMatchesPeer else { return .remoteSecretPointsElsewhere }
            }
            guard !discovering.unreachablePeers.contains(target) else { return .peerAPIServerUnreachable }
        }
        if source == target { return .sameCluster }
        guard let fromNetwork = from.network, let toNetwork = to.network, !fromNetwork.isEmpty, fromNetwork != toNetwork
        else { return .networkNotDistinguished }
        guard to.eastWestGatewayReadyPods > 0 else { return .eastWestGatewayDown }
        guard let fromCA = from.rootCAFingerprint, let toCA = to.rootCAFingerprint, fromCA == toCA else {
            return .rootCAMismatch
        }
        return .throughEastWestGateway
    }

    /// Parses `svc`, `svc.ns`, `svc.ns.svc` or `svc.ns.svc.cluster.local` (a trailing dot allowed, case
    /// ignored); a bare name takes the source pod's namespace, as the pod's DNS search path does.
    package static func serviceKey(forHost host: String, sourceNamespace: String) -> ServiceKey? {
        var name = host.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !labels.contains(where: \.isEmpty) else { return nil }
        switch labels.count {
        case 1: return ServiceKey(namespace: sourceNamespace, name: labels[0])
        case 2: return ServiceKey(namespace: labels[1], name: labels[0])
        case 3 where labels[2] == "svc": return ServiceKey(namespace: labels[1], name: labels[0])
        case 5 where labels[2...] == ["svc", "cluster", "local"]: return ServiceKey(namespace: labels[1], name: labels[0])
        default: return nil
        }
    }

    /// The endpoints a pod in `source` (namespace `sourceNamespace`) reaches for `host:port`.
    package static func resolve(
        host: String, port: Int, sourceCluster source: String, sourceNamespace: String, sourceHasSidecar: Bool,
        in view: MeshView
    ) -> MeshResolution {
        guard let key = serviceKey(forHost: host, sourceNamespace: sourceNamespace),
            let local = view.clusters[source]?.services[key], local.ports.contains(port)
        else { return .notAService }
        var endpoints: [MeshEndpoint] = []
        for clusterName in view.clusters.keys.sorted() {
            guard let service = view.clusters[clusterName]?.services[key], service.ports.contains(port) else { continue }
            let reach = reachability(from: source, to: clusterName, sourceHasSidecar: sourceHasSidecar, in: view)
            guard reach.isReachable else { continue }
            endpoints += service.endpoints.filter { clusterName == source || $0.hasSidecar }
        }
        return .service(key, endpoints: endpoints)
    }
}
