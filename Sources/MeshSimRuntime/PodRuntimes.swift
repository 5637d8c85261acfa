// The running parts of simulated pods, by pod UID: a HelloWorld listener for HelloWorld pods and a forward
// proxy for every pod (its sidecar when injected, else the plain own-cluster forwarder). MeshSim starts a
// pod's runtime when the pod becomes Running, reads the listener address into the MeshView, hands the
// proxy URL to exec sessions, and stops it when the pod goes away.
import NIOCore
import NIOPosix
import Synchronization

public struct SimulatedContainer: Equatable, Sendable {
    public var name: String
    public var image: String
    public var environment: [EnvironmentVariable]

    public init(name: String, image: String, environment: [EnvironmentVariable]) {
        self.name = name
        self.image = image
        self.environment = environment
    }
}

public struct SimulatedPod: Equatable, Sendable {
    public var cluster: String
    public var namespace: String
    public var name: String
    public var uid: String
    /// Application containers (not the injected istio-proxy).
    public var containers: [SimulatedContainer]
    public var hasSidecar: Bool

    public init(cluster: String, namespace: String, name: String, uid: String, containers: [SimulatedContainer], hasSidecar: Bool) {
        self.cluster = cluster
        self.namespace = namespace
        self.name = name
        self.uid = uid
        self.containers = containers
        self.hasSidecar = hasSidecar
    }
}

/// A pod's running listeners.
public struct RunningPod: Sendable {
    public var pod: SimulatedPod
    /// Set for HelloWorld pods: where the app listens and the version it reports.
    public var helloWorld: HelloWorldServer?
    public var proxy: SidecarProxy

    /// The `http_proxy` value for processes exec'd into this pod.
    public var httpProxy: String { proxy.url }

    /// This pod as a service endpoint (HelloWorld pods only).
    public var endpoint: MeshEndpoint? {
        guard let helloWorld else { return nil }
        return MeshEndpoint(pod: pod.name, cluster: pod.cluster, host: helloWorld.host, port: helloWorld.port,
                            version: helloWorld.version, hasSidecar: pod.hasSidecar)
    }
}

public struct PodRuntimeSettings: Sendable {
    public var crossClusterLatency: CrossClusterLatency
    /// Service time of each HelloWorld /hello.
    public var helloWorldServiceTime: Duration
    /// Sidecar retries (nil: Istio's default of 2).
    public var sidecarRetries: Int?

    public init(crossClusterLatency: CrossClusterLatency = CrossClusterLatency(), helloWorldServiceTime: Duration = .milliseconds(2),
                sidecarRetries: Int? = nil) {
        self.crossClusterLatency = crossClusterLatency
        self.helloWorldServiceTime = helloWorldServiceTime
        self.sidecarRetries = sidecarRetries
    }
}

public final class PodRuntimes: Sendable {
    private let view: any MeshViewProvider
    private let faults: RuntimeFaultControl
    private let settings: PodRuntimeSettings
    private let group: EventLoopGroup
    private let pods = Mutex<[String: RunningPod]>([:])

    public init(view: any MeshViewProvider, faults: RuntimeFaultControl, settings: PodRuntimeSettings = PodRuntimeSettings(),
                group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.view = view
        self.faults = faults
        self.settings = settings
        self.group = group
    }

    /// Starts the pod's listeners; a pod already running is returned as is.
    public func start(_ pod: SimulatedPod) async throws -> RunningPod {
        if let running = running(uid: pod.uid) { return running }
        var helloWorld: HelloWorldServer?
        if let container = pod.containers.first(where: { HelloWorldServer.isHelloWorldImage($0.image) }) {
            let version = HelloWorldServer.version(image: container.image, environment: container.environment) ?? "unknown"
            helloWorld = try await HelloWorldServer.start(
                podName: pod.name, version: version, serviceTime: settings.helloWorldServiceTime, faults: faults, group: group)
        }
        let proxy: SidecarProxy
        do {
            proxy = try await SidecarProxy.start(
                source: ProxySource(cluster: pod.cluster, namespace: pod.namespace, pod: pod.name),
                settings: ProxySettings(mode: pod.hasSidecar ? .sidecar : .plainForwarder,
                                        crossClusterLatency: settings.crossClusterLatency,
                                        retries: pod.hasSidecar ? settings.sidecarRetries : 0),
                view: view, faults: faults, group: group)
        } catch {
            await helloWorld?.stop()
            throw error
        }
        let running = RunningPod(pod: pod, helloWorld: helloWorld, proxy: proxy)
        let winner = pods.withLock { table -> RunningPod? in
            if let existing = table[pod.uid] { return existing }
            table[pod.uid] = running
            return nil
        }
        if let winner {
            // Started twice concurrently: keep the first, discard ours.
            await proxy.stop()
            await helloWorld?.stop()
            return winner
        }
        return running
    }

    public func running(uid: String) -> RunningPod? {
        pods.withLock { $0[uid] }
    }

    public var all: [RunningPod] {
        pods.withLock { Array($0.values) }
    }

    /// Stops the pod's listeners (pod deleted): its endpoint refuses connections from now on.
    public func stop(uid: String) async {
        guard let running = pods.withLock({ $0.removeValue(forKey: uid) }) else { return }
        await running.proxy.stop()
        await running.helloWorld?.stop()
    }

    public func stopAll() async {
        let everything = pods.withLock { table -> [RunningPod] in
            defer { table.removeAll() }
            return Array(table.values)
        }
        for running in everything {
            await running.proxy.stop()
            await running.helloWorld?.stop()
        }
    }
}
