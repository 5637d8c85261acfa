import Foundation
import KubeClient
import MeshCheck
import MeshSim

// concurrent-bursts: 100 request bursts at once from one Sleep pod, each the in-pod burst command
// meshcheck runs (BurstCommand, 20 requests). Baseline: 100 concurrent `kubectl exec` processes with that
// command, as a script fanning out kubectl would do it. Ours: one process running the 100 bursts through
// KubeClient with meshcheck's burst sessions (record parsing, attribution, tally). Two figures: summed
// peak memory (`concurrent-bursts`) and CPU seconds (`concurrent-bursts-cpu`) of the client side.

enum ConcurrentBursts {
    static let bursts = 100
    static let requestsPerBurst = 20

    /// Both comparisons come from one measurement (it starts 100 kubectl processes; do that once).
    static let measured: (memory: Comparison, cpu: Comparison) = measure()

    /// Burst `index` as meshcheck runs it against the guide's sample.
    static func command(burst index: Int) -> BurstCommand {
        BurstCommand(target: .helloWorld(namespace: GuideSample.namespace), burst: index, load: LoadSettings(requestsPerBurst: requestsPerBurst))
    }

    /// Its argv for the exec API.
    static func argv(burst index: Int) -> [String] {
        do { return try command(burst: index).argv() } catch { fatalError("concurrent-bursts: \(error)") }
    }

    private static func measure() -> (memory: Comparison, cpu: Comparison) {
        let (mesh, kubectl) = startGuideMesh()
        defer {
            _ = try? blocking { await mesh.stop() }
            try? FileManager.default.removeItem(atPath: kubectl.cacheDirectory)
        }
        let sample = GuideSample(kubectl: kubectl, contexts: mesh.contexts)
        sample.deploy()
        let pod = sample.sleepPod(context: mesh.contexts[0])

        // Ours, in a child process so the simulator's memory is not counted.
        let report = runChild([BurstsChild.argument, mesh.kubeconfigPath, pod] + mesh.contexts, benchmark: "concurrent-bursts")
        let figures = report.split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        guard figures.count == 2 else { fatalError("concurrent-bursts: client process printed \(report)") }
        let (ourPeakKiB, ourCPU) = (figures[0], figures[1])

        // Baseline: 100 concurrent kubectl exec, each measured by /usr/bin/time (peak KiB, user and system CPU).
        let commands = (0..<bursts).map { index in
            [
                "/usr/bin/kubectl", "--kubeconfig", mesh.kubeconfigPath, "--context", mesh.contexts[0], "-n", GuideSample.namespace,
                "exec", pod, "-c", "sleep", "--",
            ] + argv(burst: index)
        }
        let (succeeded, samples) = timedConcurrently(commands, format: "%M %U %S")
        precondition(
            succeeded * 10 >= bursts * 9 && !samples.isEmpty,
            "concurrent-bursts: only \(succeeded) of \(bursts) kubectl exec runs succeeded")
        // Scaled to all bursts when a few kubectl runs failed under load.
        let scale = Double(bursts) / Double(samples.count)
        let kubectlKiB = samples.reduce(0) { $0 + $1[0] } * scale
        let kubectlCPU = samples.reduce(0) { $0 + $1[1] + $1[2] } * scale
        return (
            Comparison(name: "concurrent-bursts", ours: ourPeakKiB / 1024, baseline: kubectlKiB / 1024, unit: .megabytes),
            Comparison(name: "concurrent-bursts-cpu", ours: ourCPU, baseline: kubectlCPU, unit: .seconds)
        )
    }
}

extension Benchmark {
    /// Peak memory (MB) of one process running 100 concurrent bursts vs the sum over 100 `kubectl exec`.
    static let concurrentBursts = Benchmark(name: "concurrent-bursts") { ConcurrentBursts.measured.memory }
    /// CPU seconds (user + system) of the same two sides.
    static let concurrentBurstsCPU = Benchmark(name: "concurrent-bursts-cpu") { ConcurrentBursts.measured.cpu }
}

/// The child side of `concurrent-bursts`: one KubeClient, 100 concurrent exec sessions each feeding a
/// burst session; prints its peak RSS in KiB and its CPU seconds.
enum BurstsChild {
    static let argument = "concurrent-bursts-client"

    static func run(_ arguments: [String]) -> Never {
        guard arguments.count >= 3 else {
            print("usage: MeshBench \(argument) KUBECONFIG POD CLIENT-CONTEXT [OTHER-CONTEXT...]")
            exit(2)
        }
        let (kubeconfigPath, pod, contexts) = (arguments[0], arguments[1], Array(arguments.dropFirst(2)))
        do {
            let verified = try blocking { () -> Int in
                let kubeconfig = try Kubeconfig.load(KubeconfigLoadingRules(explicitPath: kubeconfigPath))
                let clients = try contexts.map { try KubeClient(kubeconfig: kubeconfig, context: $0) }
                // Attribution as in a run: every HelloWorld pod of every cluster, by name.
                var helloworld: [(pod: String, cluster: Int)] = []
                for (index, client) in clients.enumerated() {
                    let pods: [Pod] = try await client.list(ResourcePath.pods(in: GuideSample.namespace).labelSelector("app=helloworld"))
                    helloworld += pods.compactMap { $0.metadata.name.map { ($0, index) } }
                }
                let base = AttributionBase(
                    clusterNames: contexts.indices.map { "cluster-\($0 + 1)" }, helloworldPods: helloworld,
                    versions: contexts.indices.map { "v\($0 + 1)" })
                return try await withThrowingTaskGroup(of: Int.self) { group in
                    for index in 0..<ConcurrentBursts.bursts {
                        group.addTask {
                            let command = ConcurrentBursts.command(burst: index)
                            let session = BurstSession(source: 0, clientPod: pod, command: command, base: base, records: nil, clock: nil)
                            let request = ExecRequest(
                                namespace: GuideSample.namespace, pod: pod, container: "sleep", command: try command.argv(),
                                timeouts: ExecTimeouts(connect: .seconds(120), idle: .seconds(120), total: .seconds(600)))
                            let result = try await clients[0].exec(request, consumer: session)
                            session.finish(execFailed: result.exitCode != 0)
                            return session.tally.sources[0].succeeded
                        }
                    }
                    return try await group.reduce(0, +)
                }
            }
            let expected = ConcurrentBursts.bursts * ConcurrentBursts.requestsPerBurst
            guard verified == expected else {
                FileHandle.standardError.write(Data("only \(verified) of \(expected) requests verified\n".utf8))
                exit(1)
            }
            print("\(peakResidentKiB()) \(cpuSeconds(RUSAGE_SELF))")
            exit(0)
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            exit(1)
        }
    }
}
