// The running parts of simulated pods, by pod UID: a HelloWorld listener for HelloWorld pods and a forward
// proxy for every pod (its sidecar when injected, else the plain own-cluster forwarder). MeshSim starts a
// pod's runtime when the pod becomes Running, reads the listener address into the MeshView, hands the
// proxy URL to exec sessions, and stops it when the pod goes away.
import NIOCore
import NIOPosix
import Synchronization

package struct SimulatedContainer: Equatable, Sendable {
    package var name: String
    package var image: String
    package var environment: [EnvironmentVariable]

    package init(name: String, image: String, environment: [EnvironmentVariable]) {
        self.name = name
        self.image = image
        self.environment = environment
    }
}

package struct SimulatedPod: Equatable, Sendable {
    package var cluster: String
    package var namespace: String
    package var name: String
    package var uid: String
    /// Application containers (not the injected istio-proxy).
    package var containers: [SimulatedContainer]
    package var hasSidecar: Bool

    package init(cluster: String, namespace: String, name: String, uid: String, containers: [SimulatedContainer], hasSidecar: Bool) {
        self.cluster = cluster
        self.namespace = namespace
        self.name = name
        self.uid = uid
        self.containers = containers
        self.hasSidecar = hasSidecar
    }
}

/// A pod's running listeners.
package struct RunningPod: Sendable {
    package var pod: SimulatedPod
    /// Set for HelloWorld pods: where the app listens and the version it reports.
    package var helloWorld: HelloWorldServer?
    package var proxy: SidecarProxy

    /// The `http_proxy` value for processes exec'd into this pod.
    package var httpProxy: String { proxy.url }

    /// This pod as a service endpoint (HelloWorld pods only).
    package var endpoint: MeshEndpoint? {
        guard let helloWorld else { return nil }
        return MeshEndpoint(
            pod: pod.name, cluster: pod.cluster, host: helloWorld.host, port: helloWorld.port,
            version: helloWorld.version, hasSidecar: pod.hasSidecar)
    }
}

package struct PodRuntimeSettings: Sendable {
    package var crossClusterLatency: CrossClusterLatency
    /// Service time of each HelloWorld /hello.
    package var helloWorldServiceTime: Duration
    /// Sidecar retries (nil: Istio's default of 2).
    package var sidecarRetries: Int?

    package init(
        crossClusterLatency: CrossClusterLatency = CrossClusterLatency(), helloWorldServiceTime: Duration = .milliseconds(2),
        sidecarRetries: Int? = nil
    ) {
        self.crossClusterLatency = crossClusterLatency
        self.helloWorldServiceTime = helloWorldServiceTime
        self.sidecarRetries = sidecarRetries
    }
}

package final class PodRuntimes: Sendable {
    private let view: any MeshViewProvider
    private let faults: RuntimeFaultControl
    private let settings: PodRuntimeSettings
    private let group: EventLoopGroup
    private let pods = Mutex<[String: RunningPod]>([:])

    package init(
        view: any MeshViewProvider, faults: RuntimeFaultControl, settings: PodRuntimeSettings = PodRuntimeSettings(),
        group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.view = view
        self.faults = faults
        self.settings = settings
        self.group = group
    }

    /// Starts the pod's listeners; a pod already running is returned as is.
    package func start(_ pod: SimulatedPod) async throws -> RunningPod {
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
                settings: ProxySettings(
                    mode: pod.hasSidecar ? .sidecar : .plainForwarder,
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

    package func running(uid: String) -> RunningPod? {
        pods.withLock { $0[uid] }
    }

    package var all: [RunningPod] {
        pods.withLock { Array($0.values) }
    }

    /// Stops the pod's listeners (pod deleted): its endpoint refuses connections from now on.
    package func stop(uid: String) async {
        guard let running = pods.withLock({ $0.removeValue(forKey: uid) }) else { return }
        await running.proxy.stop()
        await running.helloWorld?.stop()
    }

    package func stopAll() async {
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
