import Foundation
import KubeClient
import MeshCheck
import MeshSim

// in-pod-engine and benchmark-scenario: scenarios/benchmark.yaml (40,000 requests) run end to end on a simulated
// mesh twice, once with the reuse engine (one curl per in-pod worker, connections kept open) and once with one curl
// per request, each in a child process of this binary that starts the simulated mesh and runs the scenario as
// `meshcheck run --simulate` does. The child's rusage, taken by wait4, covers everything the run cost: meshcheck,
// the simulator's API servers and data plane, and every in-pod shell and curl (the simulator waits for them).
// - in-pod-engine: attributed requests per CPU-second of that whole tree, reuse vs one curl per request.
// - benchmark-scenario: the run's wall time, reuse vs one curl per request.

enum InPodEngine {
    static let scenarioPath = repositoryRoot + "/scenarios/benchmark.yaml"

    struct Figures {
        var attributed: Int
        var cpuSeconds: Double
        var wallSeconds: Double
        var burstsSeconds: Double
        /// The run's own process (meshcheck and the simulator's servers and data plane) and the in-pod processes.
        var processCPUSeconds: Double
        var podCPUSeconds: Double

        var requestsPerCPUSecond: Double { Double(attributed) / cpuSeconds }
    }

    static let measured: (engine: Comparison, scenario: Comparison) = measure()

    private static func measure() -> (engine: Comparison, scenario: Comparison) {
        let reuse = run(connectionReuse: true)
        let fresh = run(connectionReuse: false)
        for (name, figures) in [("reuse", reuse), ("fresh", fresh)] {
            print(
                String(
                    format:
                        "# in-pod-engine %@: %d attributed requests, %.1f CPU-s (%.0f µs/request: meshcheck and simulator %.0f, in-pod processes %.0f), run %.1f s, bursts %.1f s (%.0f requests/s)",
                    name, figures.attributed, figures.cpuSeconds, perRequest(figures.cpuSeconds), perRequest(figures.processCPUSeconds),
                    perRequest(figures.podCPUSeconds), figures.wallSeconds, figures.burstsSeconds,
                    Double(figures.attributed) / max(figures.burstsSeconds, 1e-9)))
            func perRequest(_ seconds: Double) -> Double { seconds * 1e6 / Double(max(1, figures.attributed)) }
        }
        return (
            Comparison(name: "in-pod-engine", ours: reuse.requestsPerCPUSecond, baseline: fresh.requestsPerCPUSecond, unit: .requestsPerCPUSecond),
            Comparison(name: "benchmark-scenario", ours: reuse.wallSeconds, baseline: fresh.wallSeconds, unit: .seconds)
        )
    }

    /// Runs the scenario in a child process and returns its figures; stops the benchmark when the run fails.
    private static func run(connectionReuse: Bool) -> Figures {
        let output = NSTemporaryDirectory() + "meshbench-engine-\(getpid())-\(connectionReuse ? "reuse" : "fresh")"
        defer { unlink(output) }
        guard
            let pid = spawnDiscardingOutput(CommandLine.arguments[0], [SimulatedRunChild.argument, scenarioPath, connectionReuse ? "reuse" : "fresh", output])
        else { fatalError("in-pod-engine: cannot start the run") }
        var status: Int32 = 0
        var usage = rusage()
        guard wait4(pid, &status, 0, &usage) == pid, status & 0x7F == 0, (status >> 8) & 0xFF == 0 else {
            fatalError(
                "in-pod-engine: the \(connectionReuse ? "reuse" : "fresh") run failed (status \(status)): \((try? String(contentsOfFile: output, encoding: .utf8)) ?? "")"
            )
        }
        let cpu = cpuSeconds(usage)
        let fields = ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(separator: " ")
        guard fields.count == 5, let attributed = Int(fields[0]), let wall = Double(fields[1]), let bursts = Double(fields[2]),
            let own = Double(fields[3]), let pods = Double(fields[4])
        else {
            fatalError("in-pod-engine: the run reported \(fields)")
        }
        return Figures(attributed: attributed, cpuSeconds: cpu, wallSeconds: wall, burstsSeconds: bursts, processCPUSeconds: own, podCPUSeconds: pods)
    }
}

extension Benchmark {
    /// Attributed requests per CPU-second of the whole process tree, reuse engine vs one curl per request.
    static let inPodEngine = Benchmark(name: "in-pod-engine") { InPodEngine.measured.engine }
    /// Wall time of scenarios/benchmark.yaml, reuse engine vs one curl per request.
    static let benchmarkScenario = Benchmark(name: "benchmark-scenario") { InPodEngine.measured.scenario }
}

/// The child side: starts a simulated mesh in this process, runs the scenario against it with the given engine, and
/// writes `<attributed requests> <run seconds> <bursts phase seconds>` to the output file. Exits 0 only when the
/// run passed.
enum SimulatedRunChild {
    static let argument = "simulated-run"

    static func run(_ arguments: [String]) -> Never {
        guard arguments.count == 3 else {
            print("usage: MeshBench \(argument) SCENARIO reuse|fresh OUTPUT")
            exit(2)
        }
        _ = DescriptorBudget.raiseSoftLimit()
        do {
            var loaded = try ScenarioLoader.load(path: arguments[0])
            loaded.load.connectionReuse = arguments[1] == "reuse"
            let base = loaded
            let (report, exitCode) = try blocking { () -> (RunReport, Int32) in
                var scenario = base
                var options = SimulatedMeshOptions()
                options.clusters = max(2, scenario.clusters.count)
                let mesh = try await SimulatedMesh.start(options)
                for index in scenario.clusters.indices { scenario.clusters[index].context = mesh.contexts[index] }
                let records = NSTemporaryDirectory() + "meshbench-engine-records-\(getpid()).jsonl"
                defer { unlink(records) }
                let settings = RunSettings(
                    scenario: scenario, kubeconfig: try Kubeconfig.load(KubeconfigLoadingRules(explicitPath: mesh.kubeconfigPath)),
                    identity: .fresh(now: Int64(Date().timeIntervalSince1970)), recordsPath: records, progress: { _ in })
                let outcome = await MeshCheckRun(settings: settings).execute()
                await mesh.stop()
                return (outcome.report, outcome.exitCode)
            }
            let attributed = report.traffic.reduce(0) { $0 + $1.requests - $1.errors }
            let bursts = report.phases.first { $0.name == "bursts" }?.seconds ?? report.durationSeconds
            try "\(attributed) \(report.durationSeconds) \(bursts) \(cpuSeconds(RUSAGE_SELF)) \(cpuSeconds(RUSAGE_CHILDREN))"
                .write(toFile: arguments[2], atomically: true, encoding: .utf8)
            exit(exitCode)
        } catch {
            try? "\(error)".write(toFile: arguments[2], atomically: true, encoding: .utf8)
            exit(2)
        }
    }
}
