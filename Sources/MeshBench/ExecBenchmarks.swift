import Foundation
import KubeClient
import MeshSim
import Synchronization

// Exec transport benchmarks against the embedded simulated mesh, with `kubectl exec` on the same
// cluster, pod and command as the baseline.

/// Runs async work from the synchronous benchmark driver (the main thread, never the cooperative pool).
/// Shared by the benchmarks that drive the simulated mesh.
func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let done = DispatchSemaphore(value: 0)
    let outcome = Mutex<Result<T, any Error>?>(nil)
    Task {
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        outcome.withLock { $0 = result }
        done.signal()
    }
    done.wait()
    return try outcome.withLock { $0 }!.get()
}

/// Counts stdout bytes; called on the I/O engine thread.
private final class ByteCounter: ExecOutputConsumer, Sendable {
    let bytes = Atomic<Int>(0)
    func receive(_ buffer: UnsafeRawBufferPointer, from channel: ExecChannel) {
        if channel == .stdout { bytes.wrappingAdd(buffer.count, ordering: .relaxed) }
    }
}

/// A one-cluster simulated mesh with a ready `sleep` pod.
struct ExecTarget: Sendable {
    var mesh: SimulatedMesh
    var kubeconfig: String
    var context: String
    var namespace: String
    var pod: String

    static func start() throws -> ExecTarget {
        try blocking {
            var options = SimulatedMeshOptions()
            options.clusters = 1
            options.startDelay = .milliseconds(50)
            options.threads = 2
            let mesh = try await SimulatedMesh.start(options)
            let config = try Kubeconfig.load(KubeconfigLoadingRules(explicitPath: mesh.kubeconfigPath))
            let client = try KubeClient(kubeconfig: config, context: mesh.contexts[0])
            let namespace = "bench-exec"
            _ = try await client.create(.namespaces(), Namespace(metadata: ObjectMeta(name: namespace)), as: Namespace.self)
            let deployment = try JSONDecoder().decode(
                JSONValue.self,
                from: Data(
                    #"""
                    {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"sleep"},
                     "spec":{"replicas":1,"selector":{"matchLabels":{"app":"sleep"}},
                             "template":{"metadata":{"labels":{"app":"sleep"}},
                                         "spec":{"containers":[{"name":"sleep","image":"curlimages/curl","command":["/bin/sleep","infinity"]}]}}}}
                    """#.utf8))
            _ = try await client.create(.deployments(in: namespace), deployment, as: JSONValue.self)
            for _ in 0..<400 {
                if let pod = try await client.list(.pods(in: namespace).labelSelector("app=sleep"), of: Pod.self).first(where: \.isReady),
                    let name = pod.metadata.name
                {
                    return ExecTarget(mesh: mesh, kubeconfig: mesh.kubeconfigPath, context: mesh.contexts[0], namespace: namespace, pod: name)
                }
                try await Task.sleep(for: .milliseconds(25))
            }
            throw SimulatedMeshError.notReady("the benchmark's sleep pod never became ready")
        }
    }

    func stop() { _ = try? blocking { await mesh.stop() } }

    var kubectlExecArguments: [String] {
        ["--kubeconfig", kubeconfig, "--context", context, "-n", namespace, "exec", pod, "--"]
    }
}

/// Runs kubectl with stdout discarded; returns its wall time and whether it succeeded.
private func runKubectl(_ arguments: [String]) -> (seconds: Double, ok: Bool) {
    let clock = ContinuousClock()
    let start = clock.now
    guard let pid = spawnDiscardingOutput("/usr/bin/kubectl", arguments) else { return (0, false) }
    let status = exitStatus(of: pid)
    return ((clock.now - start).seconds, status == 0)
}

extension Benchmark {
    static let execStreamBytes = 256 * 1024 * 1024

    /// MB/s of stdout from one exec session (`head -c 256MiB /dev/zero`), ours vs `kubectl exec`.
    static let execStream = Benchmark(name: "exec-stream") {
        let target: ExecTarget
        do { target = try ExecTarget.start() } catch { fatalError("exec-stream: \(error)") }
        defer { target.stop() }
        let command = ["head", "-c", "\(execStreamBytes)", "/dev/zero"]
        var ours = 0.0
        var baseline = 0.0
        for _ in 0..<3 {
            let counter = ByteCounter()
            let elapsed =
                (try? blocking { () -> Double in
                    let config = try Kubeconfig.load(KubeconfigLoadingRules(explicitPath: target.kubeconfig))
                    let client = try KubeClient(kubeconfig: config, context: target.context)
                    let clock = ContinuousClock()
                    let start = clock.now
                    let result = try await client.exec(ExecRequest(namespace: target.namespace, pod: target.pod, command: command), consumer: counter)
                    precondition(result.exitCode == 0, "exec-stream command failed")
                    return (clock.now - start).seconds
                }) ?? .infinity
            precondition(counter.bytes.load(ordering: .relaxed) == execStreamBytes, "exec-stream lost output")
            ours = max(ours, Double(execStreamBytes) / elapsed / 1e6)
            let kubectl = runKubectl(target.kubectlExecArguments + command)
            if kubectl.ok { baseline = max(baseline, Double(execStreamBytes) / kubectl.seconds / 1e6) }
        }
        return Comparison(name: "exec-stream", ours: ours, baseline: baseline, unit: .megabytesPerSecond)
    }

    static let concurrentSessions = 1_000
    static let kubectlProcesses = 100
    static let bytesPerSession = 1 << 20

    /// Peak memory (MB) of one process running 1,000 concurrent sessions that each stream 1 MiB,
    /// vs the summed peak RSS of 100 concurrent `kubectl exec` processes doing the same, scaled to 1,000.
    /// Our side runs in a child process (this binary, `exec-concurrency-client`) so the simulator's
    /// memory is not counted.
    static let execConcurrency = Benchmark(name: "exec-concurrency") {
        let target: ExecTarget
        do { target = try ExecTarget.start() } catch { fatalError("exec-concurrency: \(error)") }
        defer { target.stop() }
        let report = runChild(
            [
                ExecConcurrencyClient.argument, target.kubeconfig, target.context, target.namespace, target.pod,
                "\(concurrentSessions)", "\(bytesPerSession)",
            ], benchmark: "exec-concurrency")
        guard let peakKiB = Int(report.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            fatalError("exec-concurrency: client process printed \(report)")
        }
        let command = ["head", "-c", "\(bytesPerSession)", "/dev/zero"]
        let (succeeded, measured) = timedConcurrently(
            Array(repeating: ["/usr/bin/kubectl"] + target.kubectlExecArguments + command, count: kubectlProcesses), format: "%M")
        let kubectlPeaks = measured.map { Int($0[0]) }
        precondition(
            succeeded * 10 >= kubectlProcesses * 9 && !kubectlPeaks.isEmpty,
            "exec-concurrency: only \(succeeded) of \(kubectlProcesses) kubectl exec runs succeeded")
        let scaledBaselineKiB = Double(kubectlPeaks.reduce(0, +)) / Double(kubectlPeaks.count) * Double(concurrentSessions)
        return Comparison(name: "exec-concurrency", ours: Double(peakKiB) / 1024, baseline: scaledBaselineKiB / 1024, unit: .megabytes)
    }
}

/// The child side of `exec-concurrency`: runs the sessions and prints its peak RSS in KiB.
enum ExecConcurrencyClient {
    static let argument = "exec-concurrency-client"

    static func run(_ arguments: [String]) -> Never {
        guard arguments.count == 6, let sessions = Int(arguments[4]), let bytes = Int(arguments[5]) else {
            print("usage: MeshBench \(argument) KUBECONFIG CONTEXT NAMESPACE POD SESSIONS BYTES")
            exit(2)
        }
        let (kubeconfig, context, namespace, pod) = (arguments[0], arguments[1], arguments[2], arguments[3])
        do {
            let completed = try blocking { () -> Int in
                let config = try Kubeconfig.load(KubeconfigLoadingRules(explicitPath: kubeconfig))
                let client = try KubeClient(kubeconfig: config, context: context)
                let request = ExecRequest(
                    namespace: namespace, pod: pod, command: ["head", "-c", "\(bytes)", "/dev/zero"],
                    timeouts: ExecTimeouts(connect: .seconds(120), idle: .seconds(120), total: .seconds(600)))
                return try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<sessions {
                        group.addTask {
                            let counter = ByteCounter()
                            let result = try await client.exec(request, consumer: counter)
                            return result.exitCode == 0 && counter.bytes.load(ordering: .relaxed) == bytes ? 1 : 0
                        }
                    }
                    return try await group.reduce(0, +)
                }
            }
            guard completed == sessions else {
                FileHandle.standardError.write(Data("only \(completed) of \(sessions) sessions completed\n".utf8))
                exit(1)
            }
            print(peakResidentKiB())
            exit(0)
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            exit(1)
        }
    }
}
