import ArgumentParser
import Dispatch
import Foundation
import KubeClient
import MeshCheck
import MeshReports
import MeshSim

/// `meshcheck run`: the main job.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Deploy HelloWorld and Sleep across clusters, send request bursts, judge the split, report and clean up.",
        discussion: """
            With two --context options (or --simulate) and no scenario this is the install guide's check: \
            HelloWorld v1 in the first cluster, v2 in the second, Sleep in both, 20 requests from each.

            Exit codes:
              0    every check passed
              1    a check failed
              2    bad input (usage, scenario, kubeconfig, context, a namespace that is not ours)
              3    environment error (cluster unreachable, control plane missing, deadline passed)
              4    cleanup failed (objects left behind; listed in the report)
              130  interrupted (SIGINT/SIGTERM); cleanup ran and a partial report was written
            """)

    @Argument(help: "Scenario file (YAML); see scenarios/README.md.")
    var scenario: String?

    @Option(help: "Path to the kubeconfig file (default: KUBECONFIG, then ~/.kube/config, then in-cluster).")
    var kubeconfig: String?

    @Option(name: .customLong("context"), help: "A kubeconfig context, one per cluster, in order (repeatable).")
    var contexts: [String] = []

    @Option(
        name: .customLong("simulate"),
        help: ArgumentHelp(
            "Start the simulated mesh in-process with N clusters (bare --simulate: as many as needed, at least 2).",
            valueName: "N"))
    var simulate: Int?

    @Option(help: "Namespace to create in every cluster (default: meshcheck-<short run id>).")
    var namespace: String?

    @Option(name: .customLong("output-dir"), help: "Where reports go (default: reports/<run id>).")
    var outputDirectory: String?

    @Option(help: "Requests per burst (overrides the scenario).")
    var requests: Int?

    @Option(help: "Concurrent bursts per client pod (overrides the scenario).")
    var concurrency: Int?

    @Option(help: "Bursts per lane (overrides the scenario).")
    var bursts: Int?

    @Option(help: "Push metrics.prom to this Prometheus Pushgateway (job meshcheck, grouped by scenario and run).")
    var pushgateway: String?

    @OptionGroup var api: APIOptions

    @Flag(help: "Print every phase event, also when not on a terminal.")
    var verbose = false

    mutating func run() async throws {
        let console = Console(verbose: verbose)
        var mesh: SimulatedMesh?
        defer { if let mesh { Self.stopSynchronously(mesh) } }
        do {
            var scenario = try loadScenario()
            var kubeconfigPath = kubeconfig
            if let requested = simulate {
                let count = max(requested, scenario?.clusters.count ?? 2, 2)
                var options = SimulatedMeshOptions()
                options.clusters = count
                console.note("starting a simulated mesh of \(count) clusters")
                let started = try await SimulatedMesh.start(options)
                mesh = started
                kubeconfigPath = started.kubeconfigPath
                scenario = try simulatedScenario(scenario, contexts: started.contexts)
            }
            let resolved = try applyOverrides(try scenario ?? guideScenario())
            if let shortfall = DescriptorBudget.shortfall(for: resolved, simulated: mesh != nil, limit: DescriptorBudget.raiseSoftLimit()) {
                console.error("warning: \(shortfall)")
            }
            let loaded = try Self.loadKubeconfig(kubeconfigPath)
            let identity = RunIdentity.fresh(now: Int64(Date().timeIntervalSince1970))
            let directory = outputDirectory ?? "reports/\(identity.runID)"
            try Self.makeDirectory(directory)
            let settings = RunSettings(
                scenario: resolved, kubeconfig: loaded, identity: identity,
                recordsPath: directory + "/records.jsonl", progress: console.progress,
                warning: { console.error("warning: \($0)") })
            let run = MeshCheckRun(settings: settings)
            try run.validateContexts()
            console.note("run \(identity.runID): \(resolved.clusters.count) clusters, namespace \(settings.namespace), reports in \(directory)")

            let outcome = await Self.runInterruptibly(run)
            try ReportFiles.write(outcome.report, to: directory)
            console.print(TerminalSummary.render(outcome.report, options: console.summaryOptions))
            console.print(Self.reportsLine(directory))
            if let error = outcome.report.error { console.error(error) }
            if let pushgateway {
                do {
                    try await Pushgateway.push(PrometheusMetrics.render(outcome.report, scenarioLabel: false), of: outcome.report, to: pushgateway)
                } catch {
                    // The metrics are the canary's output: losing them is an environment error unless the run already failed.
                    console.error("\(error)")
                    throw ExitCode(outcome.exitCode == 0 ? 3 : outcome.exitCode)
                }
            }
            throw ExitCode(outcome.exitCode)
        } catch let exit as ExitCode {
            throw exit
        } catch let abort as RunAbort {
            console.error(abort.message)
            throw ExitCode(abort.exitCode)
        } catch let problem as ScenarioError {
            console.error("\(problem)")
            throw ExitCode(2)
        } catch let problem as KubeconfigError {
            console.error("\(problem)")
            throw ExitCode(2)
        } catch {
            console.error("\(error)")
            throw ExitCode(3)
        }
    }

    private func loadScenario() throws -> Scenario? {
        guard let scenario else { return nil }
        return try ScenarioLoader.load(path: scenario)
    }

    /// Two or more contexts and no scenario: the install guide's check.
    private func guideScenario() throws -> Scenario {
        guard contexts.count >= 2 else {
            throw RunAbort(.badInput, "give a scenario file, at least two --context options, or --simulate (see \(Meshcheck.invokedName) run --help)")
        }
        return try Scenario.guideCheck(contexts: contexts)
    }

    /// The scenario with its clusters mapped onto the simulated mesh's contexts, in order.
    private func simulatedScenario(_ scenario: Scenario?, contexts simulated: [String]) throws -> Scenario {
        guard var scenario else { return try Scenario.guideCheck(contexts: Array(simulated.prefix(2))) }
        for index in scenario.clusters.indices { scenario.clusters[index].context = simulated[index] }
        return scenario
    }

    /// Command-line overrides, validated like the scenario itself.
    private func applyOverrides(_ base: Scenario) throws -> Scenario {
        var scenario = base
        if !contexts.isEmpty, self.scenario != nil, simulate == nil {
            guard contexts.count == scenario.clusters.count else {
                throw RunAbort(.badInput, "the scenario has \(scenario.clusters.count) clusters but \(contexts.count) --context options were given")
            }
            for index in scenario.clusters.indices { scenario.clusters[index].context = contexts[index] }
        }
        if let namespace { scenario.namespace = namespace }
        if let requests { scenario.load.requestsPerBurst = requests }
        if let concurrency { scenario.load.concurrentBurstsPerClientPod = concurrency }
        if let bursts { scenario.load.bursts = bursts }
        scenario.api = try api.applied(to: scenario.api)
        let problems = ScenarioValidator.problems(in: scenario)
        if !problems.isEmpty {
            throw RunAbort(.badInput, problems.map { "\($0.path): \($0.message)" }.joined(separator: "\n"))
        }
        return scenario
    }

    /// The summary's last line: where the files are, and the one to open.
    static func reportsLine(_ directory: String) -> String {
        let trimmed = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        let prefix = trimmed == "/" ? "" : trimmed
        return "reports: \(prefix)/ (open \(prefix)/report.html)\n"
    }

    private static func loadKubeconfig(_ path: String?) throws -> Kubeconfig {
        try Kubeconfig.load(KubeconfigLoadingRules(explicitPath: path))
    }

    private static func makeDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw RunAbort(.badInput, "cannot create the output directory \(path): \(error.localizedDescription)")
        }
    }

    /// Runs the lifecycle in a task that SIGINT/SIGTERM cancel; cleanup and the report still happen.
    private static func runInterruptibly(_ run: MeshCheckRun) async -> RunOutcome {
        let task = Task { await run.execute() }
        let signals = [SIGINT, SIGTERM].map { number -> DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                FileHandle.standardError.write(Data("\nmeshcheck: interrupted — stopping the bursts and cleaning up\n".utf8))
                task.cancel()
            }
            source.resume()
            return source
        }
        let outcome = await task.value
        for source in signals { source.cancel() }
        return outcome
    }

    /// `defer` cannot await: stop the simulated mesh from a detached task and wait for it.
    private static func stopSynchronously(_ mesh: SimulatedMesh) {
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            await mesh.stop()
            done.signal()
        }
        done.wait()
    }
}

/// Where progress and errors go: stderr, quiet when not a terminal unless --verbose.
struct Console: Sendable {
    let verbose: Bool
    let interactive = isatty(STDERR_FILENO) == 1
    let summaryOptions: TerminalSummaryOptions

    init(verbose: Bool) {
        self.verbose = verbose
        summaryOptions = .forOutput(
            isTerminal: isatty(STDOUT_FILENO) == 1,
            noColorVariable: ProcessInfo.processInfo.environment["NO_COLOR"])
    }

    var progress: @Sendable (String) -> Void {
        let show = verbose || interactive
        return { line in if show { FileHandle.standardError.write(Data("• \(line)\n".utf8)) } }
    }

    func note(_ line: String) { progress(line) }
    func error(_ line: String) { FileHandle.standardError.write(Data("meshcheck: \(line)\n".utf8)) }
    func print(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }
}
