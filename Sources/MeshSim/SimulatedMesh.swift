// The in-process API of the simulated mesh (docs/ARCHITECTURE.md, Contract 2): start N clusters joined into one mesh, write their
// kubeconfig, change faults at run time, stop everything.

import Foundation
import MeshSimRuntime
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// How the simulated clusters' control planes are arranged (Istio's multicluster install guides).
package enum SimulatedTopology: String, Sendable, CaseIterable {
    /// istiod in every cluster, each holding a remote secret for every peer.
    case multiPrimary = "multi-primary"
    /// istiod in cluster 1 only; the others are its remotes (no istiod, istio-system annotated
    /// `topology.istio.io/controlPlaneClusters`, an injector webhook that calls the primary through its
    /// east-west gateway), and only the primary holds remote secrets.
    case primaryRemote = "primary-remote"
}

/// How a managed control plane discovers its peers: the `multicluster_mode` it is installed with in
/// istio-system's ConfigMap `asm-options`.
package enum SimulatedManagedDiscovery: String, Sendable, CaseIterable {
    /// The fleet discovers every cluster's endpoints; no remote secrets are created.
    case connected
    /// Remote secrets, created as for multi-primary.
    case manual
}

package struct SimulatedMeshOptions: Sendable {
    package var clusters: Int = 2
    /// gcloud-style context names: `gke_<project>_<location>_<clusterPrefix><n>`.
    package var project = "meshcheck-sim"
    package var location = "us-central1-a"
    package var clusterPrefix = "cluster-"
    /// A managed control plane (ControlPlaneRevision `asm-managed`, no istiod pod) instead of in-cluster istiod.
    package var managedControlPlane = false
    /// How a managed control plane discovers its peers; ignored without `managedControlPlane`.
    package var managedDiscovery = SimulatedManagedDiscovery.connected
    package var topology = SimulatedTopology.multiPrimary
    /// Revision label of the in-cluster control plane; ignored for the managed one (`asm-managed`).
    package var revision = "asm-1-23"
    /// From pod creation to Running/Ready.
    package var startDelay: Duration = .milliseconds(300)
    package var crossClusterLatency: Duration = .zero
    package var crossClusterJitter: Duration = .zero
    /// Private-cluster endpoints, as in the install guide's "endpoint discovery between private clusters":
    /// each API server also listens on a second loopback address (`127.0.1.<n>` for cluster n), the peers'
    /// remote secrets name that one, and the written kubeconfig keeps the first.
    package var privateEndpoints = false
    /// Faults applied to every cluster's API server from the start.
    package var apiFaults = APIFaults.none
    package var hangNamespaceDeletion = false
    package var runtimeFaults = RuntimeFaults.none
    /// Pod faults by cluster name (unschedulable, crash loops, unready sidecars, refused creates), applied once
    /// the mesh's own control plane and gateways run, so that they meet the workloads deployed after.
    package var podFaults: [String: PodFaults] = [:]
    /// Globs over image references whose pulls fail, in every cluster (applied with `podFaults`).
    package var imagePullErrors: [String] = []
    /// Peers each cluster's istiod cannot reach, by cluster name (applied with `podFaults`).
    package var istiodUnreachablePeers: [String: Set<String>] = [:]
    /// Clusters whose istiod also answers proxied debug requests (a real one, and the simulated one by default, refuses
    /// them with 401; applied with `podFaults`).
    package var istiodDebugOpen: Set<String> = []
    /// Resources (`pods/exec@istio-system`) RBAC refuses in a cluster, by cluster name (applied with `podFaults`).
    package var deniedResources: [String: Set<String>] = [:]
    /// Where to write the kubeconfig; nil writes `kubeconfig` into a fresh temporary directory.
    package var kubeconfigPath: String?
    /// Also serve the fault-control endpoint (JSON over HTTP on 127.0.0.1) and write `<kubeconfig>.sim.json`.
    package var controlEndpoint = false
    /// Event-loop threads shared by all clusters.
    package var threads = 2
    /// Node localities by cluster name; a cluster not named is in `us-central1`, zone by its position
    /// (`us-central1-a`, `-b`, `-c`, `-f`, `-d`, ...).
    package var localities: [String: SimulatedLocality] = [:]
    /// How long sidecars keep listing an endpoint whose pod went away (istiod's debounce and push, a peer's
    /// watch); the pod's listener stops at once. Additions are not delayed.
    package var endpointRemovalDelay: Duration = .seconds(2)

    package init() {}

    var startDelaySeconds: Double {
        let parts = startDelay.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}

/// A node's region and zone (`topology.kubernetes.io/region`, `topology.kubernetes.io/zone`).
package struct SimulatedLocality: Sendable, Equatable {
    package var region: String
    package var zone: String

    package init(region: String, zone: String) {
        self.region = region
        self.zone = zone
    }

    /// `region/zone`, each a label value of lower-case letters, digits and dashes (`us-east1/us-east1-b`).
    package init?(parsing text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, parts.allSatisfy(Self.isLocalityName) else { return nil }
        self.init(region: parts[0], zone: parts[1])
    }

    static func isLocalityName(_ text: String) -> Bool {
        guard let first = text.first, let last = text.last, text.count <= 63 else { return false }
        let allowed = text.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
        return allowed && first != "-" && last != "-"
    }
}

package enum SimulatedMeshError: Error, CustomStringConvertible, Sendable {
    case invalidOptions(String)
    case kubeconfigNotWritable(path: String, reason: String)
    case notReady(String)

    package var description: String {
        switch self {
        case .invalidOptions(let why): return "invalid simulated mesh options: \(why)"
        case .kubeconfigNotWritable(let path, let reason):
            return "cannot write the kubeconfig to \(path): \(reason); choose a writable path with --kubeconfig-out"
        case .notReady(let why):
            return "the simulated mesh did not become ready: \(why); the machine may be overloaded, try fewer clusters"
        }
    }
}

/// What one started cluster offers.
package struct SimulatedClusterInfo: Sendable, Equatable {
    package var name: String
    package var context: String
    package var server: String
    package var network: String
    package var revision: String
    /// `primary`, `remote of cluster-1` or `managed (connected discovery)`.
    package var role: String
    /// The node's locality at start (`kubectl label node` may change it later).
    package var locality = SimulatedLocality(region: "", zone: "")
}

package final class SimulatedMesh: Sendable {
    package let kubeconfigPath: String
    package let contexts: [String]
    package let clusterInfo: [SimulatedClusterInfo]
    package let faults: FaultControl
    /// `http://127.0.0.1:<port>` of the fault-control endpoint, when enabled.
    package let controlURL: String?

    let clusters: [SimulatedCluster]
    let group: MultiThreadedEventLoopGroup
    let runtime: RuntimeBridge
    let control: ControlEndpoint?
    let ownedDirectory: String?
    private let stopped = NIOLockedValueBox(false)

    private init(
        kubeconfigPath: String, contexts: [String], clusterInfo: [SimulatedClusterInfo], faults: FaultControl,
        clusters: [SimulatedCluster], group: MultiThreadedEventLoopGroup, runtime: RuntimeBridge,
        control: ControlEndpoint?, ownedDirectory: String?
    ) {
        self.kubeconfigPath = kubeconfigPath
        self.contexts = contexts
        self.clusterInfo = clusterInfo
        self.faults = faults
        self.clusters = clusters
        self.group = group
        self.runtime = runtime
        self.control = control
        self.controlURL = control.map { "http://127.0.0.1:\($0.port)" }
        self.ownedDirectory = ownedDirectory
    }

    package static func start(_ options: SimulatedMeshOptions) async throws -> SimulatedMesh {
        guard (1...64).contains(options.clusters) else {
            throw SimulatedMeshError.invalidOptions("--clusters must be between 1 and 64 (got \(options.clusters))")
        }
        guard NameRules.isDNS1123Label(options.clusterPrefix + "1") else {
            throw SimulatedMeshError.invalidOptions("cluster prefix \"\(options.clusterPrefix)\" does not make DNS-1123 names")
        }
        let names = (1...options.clusters).map { "\(options.clusterPrefix)\($0)" }
        for cluster in options.podFaults.keys where !names.contains(cluster) {
            throw SimulatedMeshError.invalidOptions(
                "pod faults name no cluster \(cluster); the clusters are \(names.joined(separator: ", "))")
        }
        try PodFaults.validate(imagePullErrors: options.imagePullErrors)
        if options.topology == .primaryRemote {
            guard !options.managedControlPlane else {
                throw SimulatedMeshError.invalidOptions(
                    "--topology primary-remote needs an in-cluster istiod in the primary; drop --managed (managed control planes are multi-primary)")
            }
            guard options.clusters >= 2 else {
                throw SimulatedMeshError.invalidOptions("--topology primary-remote needs at least 2 clusters (a primary and a remote)")
            }
        }
        let plannedNames = Set((1...options.clusters).map { "\(options.clusterPrefix)\($0)" })
        for cluster in options.localities.keys.sorted() where !plannedNames.contains(cluster) {
            throw SimulatedMeshError.invalidOptions(
                "--locality names \(cluster), which is not one of \(plannedNames.sorted().joined(separator: ", "))")
        }
        guard options.endpointRemovalDelay >= .zero else {
            throw SimulatedMeshError.invalidOptions("--endpoint-removal-delay must not be negative")
        }
        let meshRoot = try CertificateAuthority.make(commonName: "Istio Mesh Root CA", organization: "cluster.local")
        let mismatchedRoot = try CertificateAuthority.make(commonName: "Istio Mesh Root CA", organization: "cluster.local")
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, options.threads))
        let runtimeFaults = RuntimeFaultControl(options.runtimeFaults)
        let runtime = RuntimeBridge(
            runtimeFaults: runtimeFaults,
            settings: PodRuntimeSettings(
                crossClusterLatency: CrossClusterLatency(
                    base: options.crossClusterLatency, jitter: options.crossClusterJitter)),
            group: group, endpointRemovalDelay: options.endpointRemovalDelay)
        var clusters: [SimulatedCluster] = []
        do {
            var timings = ClusterTimings()
            timings.podStartDelay = options.startDelaySeconds
            let now = SimulatedCluster.now()
            for index in 1...options.clusters {
                let name = "\(options.clusterPrefix)\(index)"
                var identity = ClusterIdentity(
                    name: name, index: index,
                    revision: options.managedControlPlane ? "asm-managed" : options.revision,
                    managedControlPlane: options.managedControlPlane)
                identity.managedDiscovery = options.managedDiscovery.rawValue
                if let locality = options.localities[name] {
                    identity.region = locality.region
                    identity.zone = locality.zone
                }
                if options.topology == .primaryRemote, index > 1 { identity.primaryCluster = "\(options.clusterPrefix)1" }
                let privateAddress: [UInt8]? = options.privateEndpoints ? [127, 0, 1, UInt8(index)] : nil
                let credentials = try ClusterCredentials.make(clusterName: name, extraAddresses: privateAddress.map { [$0] } ?? [])
                var state = ClusterState(
                    identity: identity, timings: timings,
                    meshRootCertificatePEM: meshRoot.certificatePEM, seed: UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
                state.clusterCACertificatePEM = credentials.authority.certificatePEM
                state.hangNamespaceDeletion = options.hangNamespaceDeletion
                state.installBaseAndMesh(now: now)
                let cluster = SimulatedCluster(
                    state: state, credentials: credentials, runtime: runtime,
                    eventLoop: group.next(), seed: UInt64(index) &* 0xBF58_476D_1CE4_E5B9)
                cluster.apiFaults.faults = options.apiFaults
                cluster.privateAddress = privateAddress.map { $0.map(String.init).joined(separator: ".") }
                try await cluster.start(group: group)
                clusters.append(cluster)
            }
            if let primary = clusters.first, options.topology == .primaryRemote {
                // The remotes' injector calls the primary's istiod through the primary's east-west gateway.
                let address = primary.withState { state -> String in
                    state.assignLoadBalancerAddresses()
                    return state.eastWestGatewayAddress ?? "istio-eastwestgateway.\(primary.identity.name).invalid"
                }
                let remotes = clusters.filter { $0.identity.primaryCluster == primary.identity.name }
                for remote in remotes {
                    remote.withState { $0.installRemoteInjectorWebhook(discoveryAddress: address, now: SimulatedCluster.now()) }
                }
                primary.setRemotes(remotes)
            }
            for cluster in clusters where cluster.identity.holdsRemoteSecrets {
                for peer in clusters where peer !== cluster {
                    let kubeconfig = KubeconfigWriter.remoteSecretKubeconfig(
                        clusterName: peer.identity.name, server: peer.discoveryServerURL,
                        certificateAuthorityPEM: peer.credentials.authority.certificatePEM,
                        token: peer.credentials.bearerToken)
                    cluster.withState {
                        $0.installRemoteSecret(peer: peer.identity.name, kubeconfig: kubeconfig, now: SimulatedCluster.now())
                    }
                }
            }
            runtime.meshView.attach(clusters, pods: runtime.pods)
        } catch {
            for cluster in clusters { await cluster.stop() }
            await runtime.stopAll()
            try? await group.shutdownGracefully()
            throw error
        }

        let contextName = { (cluster: SimulatedCluster) in
            "gke_\(options.project)_\(options.location)_\(cluster.identity.name)"
        }
        var ownedDirectory: String?
        let path: String
        if let requested = options.kubeconfigPath {
            path = requested
        } else {
            let directory = NSTemporaryDirectory() + "meshsim-" + UUID().uuidString.lowercased()
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            ownedDirectory = directory
            path = directory + "/kubeconfig"
        }
        let entries = clusters.map { cluster in
            KubeconfigCluster(
                contextName: contextName(cluster), server: cluster.serverURL,
                certificateAuthorityPEM: cluster.credentials.authority.certificatePEM,
                clientCertificatePEM: cluster.credentials.adminClient.certificatePEM,
                clientKeyPEM: cluster.credentials.adminClient.privateKeyPEM, token: cluster.credentials.bearerToken)
        }
        let faults = FaultControl(
            clusters: clusters, runtime: runtimeFaults, meshRoot: meshRoot.certificatePEM,
            mismatchedRoot: mismatchedRoot.certificatePEM)
        let info = clusters.map { cluster in
            SimulatedClusterInfo(
                name: cluster.identity.name, context: contextName(cluster), server: cluster.serverURL,
                network: cluster.identity.network, revision: cluster.identity.revision, role: cluster.identity.role,
                locality: SimulatedLocality(region: cluster.identity.region, zone: cluster.identity.zone))
        }
        var control: ControlEndpoint?
        do {
            try writePrivateFile(path, KubeconfigWriter.render(entries, currentContext: entries.first?.contextName))
            if options.controlEndpoint {
                let endpoint = ControlEndpoint(faults: faults, clusters: info)
                try await endpoint.start(group: group)
                control = endpoint
            }
        } catch {
            for cluster in clusters { await cluster.stop() }
            await runtime.stopAll()
            try? await group.shutdownGracefully()
            if let error = error as? SimulatedMeshError { throw error }
            throw SimulatedMeshError.kubeconfigNotWritable(path: path, reason: "\(error)")
        }
        let mesh = SimulatedMesh(
            kubeconfigPath: path, contexts: entries.map(\.contextName), clusterInfo: info, faults: faults,
            clusters: clusters, group: group, runtime: runtime, control: control, ownedDirectory: ownedDirectory)
        do {
            // Two seconds on a quiet machine; the margin is for one shared with many other meshes and builds, where a
            // 10 s budget ran out while the process waited for CPU.
            try await mesh.waitUntilReady(timeout: 30 + options.startDelaySeconds * 4)
            try faults.setImagePullErrors(options.imagePullErrors)
            for (cluster, podFaults) in options.podFaults { try faults.setPodFaults(podFaults, cluster: cluster) }
            for (cluster, peers) in options.istiodUnreachablePeers { try faults.setIstiodUnreachablePeers(peers, cluster: cluster) }
            for (cluster, denied) in options.deniedResources { try faults.setDeniedResources(denied, cluster: cluster) }
            for cluster in options.istiodDebugOpen { try faults.setIstiodDebugAuthentication(false, cluster: cluster) }
            // Written last, so that its existence tells scripts the mesh is ready.
            if let control {
                try writePrivateFile(path + ".sim.json", control.describe(kubeconfigPath: path).serialized() + "\n")
            }
        } catch {
            await mesh.stop()
            throw error
        }
        return mesh
    }

    static func writePrivateFile(_ path: String, _ text: String) throws {
        let created = FileManager.default.createFile(
            atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        if !created {
            throw SimulatedMeshError.kubeconfigNotWritable(path: path, reason: "the file could not be created")
        }
    }

    /// Waits until every installed Deployment of every cluster is available (control plane and gateway pods
    /// Running and Ready).
    package func waitUntilReady(timeout: Double) async throws {
        let deadline = SimulatedCluster.now() + timeout
        while true {
            let pending = clusters.compactMap { cluster -> String? in
                let waiting = cluster.read { state in
                    state.store.list(.deployments, namespace: nil).filter {
                        ($0["status"]["availableReplicas"].int ?? 0) < ($0["spec"]["replicas"].int ?? 1)
                    }.compactMap { $0["metadata"]["name"].string }
                }
                return waiting.isEmpty ? nil : "\(cluster.identity.name): \(waiting.joined(separator: ", "))"
            }
            if pending.isEmpty { return }
            if SimulatedCluster.now() > deadline {
                throw SimulatedMeshError.notReady(
                    "deployments not available after \(Int(timeout)) s: "
                        + pending.joined(separator: "; "))
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Stops every server, exec session and pod process it started; removes a kubeconfig it placed in a
    /// temporary directory. Safe to call more than once.
    package func stop() async {
        let first = stopped.withLockedValue { value in
            defer { value = true }
            return !value
        }
        guard first else { return }
        await control?.stop()
        for cluster in clusters { await cluster.stop() }
        await runtime.stopAll()
        try? await group.shutdownGracefully()
        if let ownedDirectory { try? FileManager.default.removeItem(atPath: ownedDirectory) }
    }
}

/// Run-time fault switches (Contract 2 `faults`). Changes apply to the next request or pass of the controllers.
package final class FaultControl: Sendable {
    let clusters: [SimulatedCluster]
    /// Data-plane and exec faults, owned by the pod runtime.
    package let runtime: RuntimeFaultControl
    let meshRoot: String
    let mismatchedRoot: String

    init(clusters: [SimulatedCluster], runtime: RuntimeFaultControl, meshRoot: String, mismatchedRoot: String) {
        self.clusters = clusters
        self.runtime = runtime
        self.meshRoot = meshRoot
        self.mismatchedRoot = mismatchedRoot
    }

    package var clusterNames: [String] { clusters.map(\.identity.name) }

    func selected(_ cluster: String?) throws(SimulatedMeshError) -> [SimulatedCluster] {
        guard let cluster else { return clusters }
        guard let match = clusters.first(where: { $0.identity.name == cluster }) else {
            throw SimulatedMeshError.invalidOptions(
                "no cluster named \(cluster); known: \(clusterNames.joined(separator: ", "))")
        }
        return [match]
    }

    /// API-server faults for one cluster, or all when `cluster` is nil.
    package func setAPIFaults(_ faults: APIFaults, cluster: String? = nil) throws(SimulatedMeshError) {
        guard [faults.throttleFraction, faults.serverErrorFraction, faults.dropFraction].allSatisfy({ (0...1).contains($0) }),
            faults.throttleFraction + faults.serverErrorFraction + faults.dropFraction <= 1
        else {
            throw SimulatedMeshError.invalidOptions("fault fractions must be in 0...1 and sum to at most 1")
        }
        for target in try selected(cluster) { target.apiFaults.faults = faults }
    }

    package func apiFaults(cluster: String) throws(SimulatedMeshError) -> APIFaults {
        try selected(cluster)[0].apiFaults.faults
    }

    /// Makes namespace deletion hang in Terminating (content removed, namespace never finalised), or resume.
    package func setNamespaceDeletionHangs(_ hangs: Bool, cluster: String? = nil) throws(SimulatedMeshError) {
        for target in try selected(cluster) { target.withState { $0.hangNamespaceDeletion = hangs } }
    }

    package func namespaceDeletionHangs(cluster: String) throws(SimulatedMeshError) -> Bool {
        try selected(cluster)[0].read { $0.hangNamespaceDeletion }
    }

    /// Gives a cluster a root CA different from the mesh's (its istio-ca-root-cert changes), or restores it.
    package func setRootCertificateMismatch(_ mismatched: Bool, cluster: String) throws(SimulatedMeshError) {
        let pem = mismatched ? mismatchedRoot : meshRoot
        for target in try selected(cluster) { target.withState { $0.meshRootCertificatePEM = pem } }
    }

    package func rootCertificateMismatch(cluster: String) throws(SimulatedMeshError) -> Bool {
        try selected(cluster)[0].read { $0.meshRootCertificatePEM != meshRoot }
    }

    /// Images whose pulls fail, in every cluster (a registry is shared); replaces the previous patterns.
    package func setImagePullErrors(_ patterns: [String]) throws(SimulatedMeshError) {
        try PodFaults.validate(imagePullErrors: patterns)
        for target in clusters { target.withState { $0.podFaults.imagePullErrors = patterns } }
    }

    /// One cluster's (or, with nil, every cluster's) scheduling, crash, sidecar and admission faults; the
    /// image pull patterns stay as they are.
    package func setPodFaults(_ faults: PodFaults, cluster: String? = nil) throws(SimulatedMeshError) {
        for target in try selected(cluster) {
            target.withState { state in
                let patterns = state.podFaults.imagePullErrors
                state.podFaults = faults
                state.podFaults.imagePullErrors = patterns
            }
        }
    }

    package func podFaults(cluster: String) throws(SimulatedMeshError) -> PodFaults {
        try selected(cluster)[0].read { $0.podFaults }
    }

    /// Cuts a cluster's istiod off from peers' API servers (a firewall, private-cluster authorized networks):
    /// `/debug/clusterz` shows them `timeout` and the cluster's sidecars lose their endpoints. Replaces the
    /// previous set; an empty set heals it.
    package func setIstiodUnreachablePeers(_ peers: Set<String>, cluster: String) throws(SimulatedMeshError) {
        for peer in peers where peer == cluster || !clusterNames.contains(peer) {
            throw SimulatedMeshError.invalidOptions(
                "istiod of \(cluster) cannot be cut off from \(peer): name another cluster of \(clusterNames.joined(separator: ", "))")
        }
        for target in try selected(cluster) { target.withState { $0.istiodUnreachablePeers = peers } }
        // Routing caches its view until some object changes; this fault changes no object.
        clusters.first?.runtime.meshView.invalidate()
    }

    package func istiodUnreachablePeers(cluster: String) throws(SimulatedMeshError) -> Set<String> {
        try selected(cluster)[0].read { $0.istiodUnreachablePeers }
    }

    /// Makes a cluster's istiod authenticate debug callers that are not on loopback, as a real istiod does:
    /// `/debug/clusterz` through the API server's proxy then answers 401 with an empty body.
    package func setIstiodDebugAuthentication(_ required: Bool, cluster: String) throws(SimulatedMeshError) {
        for target in try selected(cluster) { target.withState { $0.istiodDebugRequiresAuthentication = required } }
    }

    package func istiodDebugAuthentication(cluster: String) throws(SimulatedMeshError) -> Bool {
        try selected(cluster)[0].read { $0.istiodDebugRequiresAuthentication }
    }

    /// Resources RBAC refuses to the simulated user in a cluster (`pods/exec@istio-system`: `resource/subresource` or a
    /// plain resource, in one namespace after `@` or everywhere, every verb); replaces the previous set.
    package func setDeniedResources(_ resources: Set<String>, cluster: String) throws(SimulatedMeshError) {
        for resource in resources {
            let scoped = resource.split(separator: "@", omittingEmptySubsequences: false)
            let parts = scoped[0].split(separator: "/", omittingEmptySubsequences: false)
            guard scoped.count <= 2, scoped.allSatisfy({ !$0.isEmpty }), (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else {
                throw SimulatedMeshError.invalidOptions("a denied resource looks like pods/exec@istio-system, pods/proxy or secrets, got \(resource)")
            }
        }
        for target in try selected(cluster) { target.withState { $0.deniedResources = resources } }
    }

    package func deniedResources(cluster: String) throws(SimulatedMeshError) -> Set<String> {
        try selected(cluster)[0].read { $0.deniedResources }
    }
}
