// The one place where MeshSim meets MeshSimRuntime: pods that became Running or went away, exec sessions
// handed over after the 101, and the runtime's fault settings.

import MeshSimRuntime
import NIOConcurrencyHelpers
import NIOCore

final class RuntimeBridge: Sendable {
    let execRegistry = ExecSessionRegistry()
    let runtimeFaults: RuntimeFaultControl
    private let runningPods = NIOLockedValueBox<[String: PodLaunch]>([:])

    init(runtimeFaults: RuntimeFaultControl) {
        self.runtimeFaults = runtimeFaults
    }

    func perform(_ actions: [PodRuntimeAction]) {
        for action in actions {
            switch action {
            case .start(let launch):
                runningPods.withLockedValue { $0[launch.uid] = launch }
            case .stop(let uid):
                if let launch = runningPods.withLockedValue({ $0.removeValue(forKey: uid) }) {
                    execRegistry.terminateSessions(cluster: launch.cluster, namespace: launch.namespace, pod: launch.name)
                }
            }
        }
    }

    /// The `http_proxy` a pod's processes use: its sidecar, or nil while the pod has none.
    func httpProxy(forPod uid: String) -> String? { nil }

    func startExec(on channel: Channel, cluster: String, target: ExecTarget, subprotocol: ExecSubprotocol)
        -> EventLoopFuture<Void>
    {
        let environment = PodEnvironment.make(
            containerEnv: target.containerEnvironment.sorted { $0.key < $1.key }.map {
                EnvironmentVariable($0.key, $0.value)
            },
            podName: target.pod, httpProxy: httpProxy(forPod: target.podUID))
        let request = ExecRequest(
            cluster: cluster, namespace: target.namespace, pod: target.pod, container: target.container,
            command: target.command, stdin: target.stdin, stdout: target.stdout, stderr: target.stderr, tty: target.tty,
            subprotocol: subprotocol, environment: environment)
        return ExecSession.start(on: channel, request: request, registry: execRegistry, faults: runtimeFaults)
    }

    func stopAll() {
        execRegistry.terminateAll()
        runningPods.withLockedValue { $0 = [:] }
    }
}
