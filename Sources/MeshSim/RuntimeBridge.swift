// The one place where MeshSim meets MeshSimRuntime: pods that became Running or went away start and stop
// their listeners and proxies, exec sessions are handed over after the 101, and the sidecars read a MeshView
// derived live from the clusters' API objects.

import Crypto
import MeshSimRuntime
import NIOConcurrencyHelpers
import NIOCore

final class RuntimeBridge: Sendable {
    let execRegistry = ExecServerRegistry()
    let runtimeFaults: RuntimeFaultControl
    let meshView: ClusterMeshView
    let pods: PodRuntimes
    private let launches = NIOLockedValueBox<[String: PodLaunch]>([:])

    init(runtimeFaults: RuntimeFaultControl, settings: PodRuntimeSettings, group: EventLoopGroup, endpointRemovalDelay: Duration = .zero) {
        self.runtimeFaults = runtimeFaults
        let meshView = ClusterMeshView(endpointRemovalDelay: endpointRemovalDelay)
        self.meshView = meshView
        self.pods = PodRuntimes(view: meshView, faults: runtimeFaults, settings: settings, group: group)
    }

    /// Carries out the controllers' pod work; `podStarted` reports a pod whose listeners are up (by uid),
    /// `podFailed` one whose listeners could not start.
    func perform(
        _ actions: [PodRuntimeAction], podStarted: @escaping @Sendable (String) -> Void,
        podFailed: @escaping @Sendable (String, String) -> Void
    ) {
        for action in actions {
            switch action {
            case .start(let launch):
                launches.withLockedValue { $0[launch.uid] = launch }
                let pod = SimulatedPod(
                    cluster: launch.cluster, namespace: launch.namespace, name: launch.name, uid: launch.uid,
                    containers: launch.containers.filter { $0.name != "istio-proxy" }.map { container in
                        SimulatedContainer(
                            name: container.name, image: container.image,
                            environment: container.environment.map { EnvironmentVariable($0.name, $0.value) })
                    },
                    hasSidecar: launch.injected)
                let pods = self.pods
                let meshView = self.meshView
                Task {
                    do {
                        _ = try await pods.start(pod)
                        meshView.invalidate()
                        podStarted(launch.uid)
                    } catch {
                        podFailed(launch.uid, "\(error)")
                    }
                }
            case .stop(let uid):
                guard let launch = launches.withLockedValue({ $0.removeValue(forKey: uid) }) else { continue }
                execRegistry.terminateSessions(cluster: launch.cluster, namespace: launch.namespace, pod: launch.name)
                let pods = self.pods
                let meshView = self.meshView
                Task {
                    await pods.stop(uid: uid)
                    meshView.invalidate()
                }
            }
        }
    }

    /// The `http_proxy` a pod's processes use: its sidecar (or the plain forwarder of a pod without one).
    func httpProxy(forPod uid: String) -> String? { pods.running(uid: uid)?.httpProxy }

    func startExec(
        on channel: Channel, cluster: String, target: ExecTarget, subprotocol: ExecServerSubprotocol, builtin: ExecBuiltinAnswer? = nil
    ) -> EventLoopFuture<Void> {
        let environment = PodEnvironment.make(
            containerEnv: target.containerEnvironment.map { EnvironmentVariable($0.name, $0.value) },
            podName: target.pod, httpProxy: httpProxy(forPod: target.podUID))
        let request = ExecServerRequest(
            cluster: cluster, namespace: target.namespace, pod: target.pod, container: target.container,
            command: target.command, stdin: target.stdin, stdout: target.stdout, stderr: target.stderr, tty: target.tty,
            subprotocol: subprotocol, environment: environment)
        return ExecServerSession.start(on: channel, request: request, registry: execRegistry, faults: runtimeFaults, builtin: builtin)
    }

    func stopAll() async {
        execRegistry.terminateAll()
        launches.withLockedValue { $0 = [:] }
        await pods.stopAll()
        meshView.detach()
    }
}

/// The MeshView the sidecars route by, derived from the clusters' stores and the running listeners, with departed
/// endpoints kept for the endpoint-removal delay. Rebuilt only when some cluster's resourceVersion moved, a
/// listener started or stopped, or a departed endpoint's delay ran out.
final class ClusterMeshView: MeshViewProvider, Sendable {
    private struct Cache {
        var clusters: [SimulatedCluster] = []
        var generation = 0
        var key: [Int] = []
        var view = MeshView()
        var removals: EndpointRemovalDelay
    }
    private let cache: NIOLockedValueBox<Cache>
    private let running = NIOLockedValueBox<PodRuntimes?>(nil)
    private let endpointRemovalDelay: Duration

    init(endpointRemovalDelay: Duration = .zero) {
        self.endpointRemovalDelay = endpointRemovalDelay
        cache = NIOLockedValueBox(Cache(removals: EndpointRemovalDelay(delay: endpointRemovalDelay)))
    }

    func attach(_ clusters: [SimulatedCluster], pods: PodRuntimes) {
        cache.withLockedValue { $0.clusters = clusters }
        running.withLockedValue { $0 = pods }
    }

    func detach() {
        cache.withLockedValue { $0 = Cache(removals: EndpointRemovalDelay(delay: endpointRemovalDelay)) }
        running.withLockedValue { $0 = nil }
    }

    func invalidate() { cache.withLockedValue { $0.generation += 1 } }

    /// Each attached cluster's API server URL as its peers' remote secrets name it, by cluster name.
    func peerServers() -> [String: String] {
        let clusters = cache.withLockedValue { $0.clusters }
        return Dictionary(uniqueKeysWithValues: clusters.map { ($0.identity.name, $0.discoveryServerURL) })
    }

    func currentMeshView() -> MeshView {
        let (clusters, generation) = cache.withLockedValue { ($0.clusters, $0.generation) }
        let key = [generation] + clusters.map { cluster in cluster.read { $0.store.resourceVersion } }
        let now = ContinuousClock.now
        let cached = cache.withLockedValue { cache -> MeshView? in
            let expired = cache.removals.nextExpiry.map { $0 <= now } ?? false
            return cache.key == key && !expired ? cache.view : nil
        }
        if let cached { return cached }
        let servers = peerServers()
        let pods = running.withLockedValue { $0 }
        let endpoint: (String) -> MeshEndpoint? = { uid in pods?.running(uid: uid)?.endpoint }
        let fresh = MeshView(
            clusters: clusters.map { cluster in
                cluster.read { Self.clusterView($0, peerServers: servers, endpoint: endpoint) }
            })
        return cache.withLockedValue { cache in
            let view = cache.removals.apply(to: fresh, now: now)
            cache.key = key
            cache.view = view
            return view
        }
    }

    /// One cluster as its control plane sees it (docs/PROTOCOL-NOTES.md §D): network label, root CA, remote secrets,
    /// the primary configuring it (a remote), connected discovery (managed), east-west gateway readiness, each Service's ready endpoints (with the pods' labels, for subsets) and the
    /// cluster's VirtualServices and DestinationRules.
    static func clusterView(_ state: ClusterState, peerServers: [String: String], endpoint: (String) -> MeshEndpoint?)
        -> ClusterView
    {
        let store = state.store
        let istioSystem = store.get(.namespaces, namespace: "", name: "istio-system")?["metadata"] ?? .null
        let network = istioSystem["labels"]["topology.istio.io/network"].string
        let rootPEM = store.get(.configMaps, namespace: "istio-system", name: "istio-ca-root-cert")?["data"]["root-cert.pem"].string
        let fingerprint = rootPEM.map { hexString(SHA256.hash(data: Array($0.utf8))) }
        var secrets: [String: RemoteSecretView] = [:]
        for entry in RemoteSecretScan.entries(store, peerServers: peerServers) {
            secrets[entry.peer] = RemoteSecretView(serverMatchesPeer: entry.serverMatchesPeer)
        }
        let gatewayPods = store.list(.pods, namespace: "istio-system").filter {
            $0["metadata"]["labels"]["istio"].string == "eastwestgateway" && ClusterState.isReady($0)
        }.count
        var nodeLabels: [String: [String: String]] = [:]
        for node in store.list(.nodes, namespace: nil) { nodeLabels[node["metadata"]["name"].string ?? ""] = node["metadata"]["labels"].stringMap }
        var placements: [String: PodPlacement] = [:]
        for pod in store.list(.pods, namespace: nil) {
            let metadata = pod["metadata"]
            placements["\(metadata["namespace"].string ?? "")/\(metadata["name"].string ?? "")"] = PodPlacement(
                nodeName: pod["spec"]["nodeName"].string ?? "", labels: metadata["labels"].stringMap)
        }
        var services: [ServiceKey: ServiceView] = [:]
        for service in store.list(.services, namespace: nil) {
            let namespace = service["metadata"]["namespace"].string ?? ""
            let ports = Set((service["spec"]["ports"].array ?? []).compactMap { $0["port"].int.map(Int.init) })
            let selector = service["spec"]["selector"].stringMap
            var endpoints: [MeshEndpoint] = []
            if !selector.isEmpty {
                for pod in store.list(.pods, namespace: namespace) where ClusterState.isReady(pod) {
                    let labels = pod["metadata"]["labels"].stringMap
                    guard selector.allSatisfy({ labels[$0.key] == $0.value }),
                        var found = endpoint(pod["metadata"]["uid"].string ?? "")
                    else { continue }
                    found.labels = labels
                    found.podIP = pod["status"]["podIP"].string
                    found.locality = Locality(nodeLabels: pod["spec"]["nodeName"].string.flatMap { nodeLabels[$0] } ?? [:])
                    endpoints.append(found)
                }
            }
            var targetPorts: [Int: Int] = [:]
            for port in service["spec"]["ports"].array ?? [] {
                if let number = port["port"].int, let target = port["targetPort"].int, target != number {
                    targetPorts[Int(number)] = Int(target)
                }
            }
            services[ServiceKey(namespace: namespace, name: service["metadata"]["name"].string ?? "")] =
                ServiceView(ports: ports, endpoints: endpoints, targetPorts: targetPorts)
        }
        // A cluster without istiod whose istio-system names a primary is configured by that primary.
        let runsIstiod = store.list(.pods, namespace: "istio-system").contains { ClusterState.isIstiod($0) && $0["metadata"]["deletionTimestamp"].isNull }
        let primary = istioSystem["annotations"]["topology.istio.io/controlPlaneClusters"].string.flatMap {
            $0.split(separator: ",").first.map { String($0).trimmingSpaces }
        }
        let mode = store.get(.configMaps, namespace: "istio-system", name: "asm-options")?["data"]["multicluster_mode"].string
        return ClusterView(
            name: state.identity.name, network: network, rootCAFingerprint: fingerprint, remoteSecrets: secrets,
            eastWestGatewayReadyPods: gatewayPods, services: services,
            virtualServices: store.list(.virtualServices, namespace: nil).map(TrafficRuleViews.virtualService),
            destinationRules: store.list(.destinationRules, namespace: nil).map(TrafficRuleViews.destinationRule),
            configuredBy: runsIstiod ? nil : primary,
            discoversFleet: state.identity.managedControlPlane && mode == "connected",
            eastWestGatewayAddress: state.eastWestGatewayAddress,
            unreachablePeers: runsIstiod ? state.istiodUnreachablePeers : [], nodeLabels: nodeLabels, pods: placements)
    }
}
