// The run, phase by phase: connect → revision → namespace → deploy → ready (with sidecars) →
// converge → bursts → verdict → cleanup. Input has been validated before this starts; from here on
// every failure still ends in cleanup and a report.

import Foundation
import KubeClient
import MeshStats
import Synchronization

/// Everything a run needs, validated.
package struct RunSettings: Sendable {
    package var scenario: Scenario
    package var kubeconfig: Kubeconfig
    package var identity: RunIdentity
    /// `records.jsonl` is written here as records arrive; nil = not written.
    package var recordsPath: String?
    /// One line per phase event, for the terminal (the caller decides where and whether to print).
    package var progress: @Sendable (String) -> Void
    /// Warnings the user must see even when progress is hidden (e.g. TLS verification disabled for a
    /// context); `progress` when not given.
    package var warning: @Sendable (String) -> Void
    package var clientOptions: KubeClientOptions

    /// Without `clientOptions`, the clients get the scenario's `api` bounds.
    package init(
        scenario: Scenario, kubeconfig: Kubeconfig, identity: RunIdentity, recordsPath: String?,
        clientOptions: KubeClientOptions? = nil, progress: @escaping @Sendable (String) -> Void,
        warning: (@Sendable (String) -> Void)? = nil
    ) {
        self.scenario = scenario
        self.kubeconfig = kubeconfig
        self.identity = identity
        self.recordsPath = recordsPath
        self.clientOptions = clientOptions ?? scenario.api.applied()
        self.progress = progress
        self.warning = warning ?? { progress("warning: \($0)") }
    }

    /// The namespace used in every cluster.
    package var namespace: String { scenario.namespace ?? identity.defaultNamespace }
}

/// How a run ended: the report (always) and the process exit code.
package struct RunOutcome: Sendable {
    package var report: RunReport
    package var exitCode: Int32
}

/// Drives one run. Cancel the task that calls ``execute()`` to interrupt it (SIGINT/SIGTERM):
/// bursts stop, cleanup still runs, the report says `interrupted`.
package struct MeshCheckRun: Sendable {
    package let settings: RunSettings

    package init(settings: RunSettings) {
        self.settings = settings
    }

    /// Resolves every context and builds its client; bad input (unknown context, broken
    /// credentials config) is reported before anything touches a cluster.
    static func makeClusters(_ settings: RunSettings) throws -> [RunCluster] {
        var options = settings.clientOptions
        if options.serverWarningHandler == nil {
            options.serverWarningHandler = { [warning = settings.warning] context, text in warning(ServerWarning.line(context: context, text: text)) }
        }
        return try settings.scenario.clusters.enumerated().map { index, spec in
            do {
                let client = try KubeClient(kubeconfig: settings.kubeconfig, context: spec.context, options: options)
                return RunCluster(index: index, spec: spec, client: client)
            } catch {
                throw RunAbort(.badInput, "\(error)")
            }
        }
    }

    /// Validates the contexts without contacting any cluster (exit 2 on failure).
    package func validateContexts() throws {
        _ = try Self.makeClusters(settings)
    }

    package func execute() async -> RunOutcome {
        let state = RunState(settings: settings)
        let clusters: [RunCluster]
        do {
            clusters = try Self.makeClusters(settings)
        } catch {
            return state.abortedBeforeStart(error)
        }
        // The client's warnings already name their context.
        for warning in clusters.flatMap(\.client.warnings) { settings.warning(warning) }
        var failure: (any Error)?
        do {
            try await runPhases(clusters: clusters, state: state)
            try await state.phase("verdict") { state.evaluate() }
        } catch {
            failure = error
        }
        let interrupted = failure is CancellationError || Task.isCancelled
        // Cleanup must run even when the run's task is cancelled: give it a task of its own.
        let cleanupState = state
        let cleanup = await Task.detached { [settings] in
            await Self.cleanup(clusters: clusters, state: cleanupState, settings: settings, interrupted: interrupted)
        }.value
        return state.finish(clusters: clusters, failure: interrupted ? CancellationError() : failure, cleanup: cleanup)
    }

    private func runPhases(clusters: [RunCluster], state: RunState) async throws {
        let scenario = settings.scenario
        let namespace = settings.namespace
        let runID = settings.identity.runID
        let operations = clusters.map { ClusterOperations(cluster: $0, namespace: namespace, runID: runID) }

        // Every cluster must answer before anything is created anywhere.
        try await state.phase("connect") {
            settings.progress("connecting to \(clusters.count) clusters")
            try await forEachCluster(operations) { _ = try await $0.checkReachable() }
            // Preflight reads every cluster's mesh setup; its findings become checks and explain failed traffic checks.
            let preflight = await Preflight.run(
                clusters.map { PreflightTarget(name: $0.spec.name, client: $0.client) },
                expectations: Preflight.expectations(for: scenario, namespace: namespace))
            state.preflight = preflight.findings
            state.eastWestGatewayAddresses = preflight.eastWestGatewayAddresses
            state.controlPlaneViews = preflight.controlPlaneViews
            settings.progress(Preflight.progressLine(preflight))
            let revision: String
            switch scenario.revision {
            case .explicit(let name): revision = name
            case .auto: revision = try await operations[0].detectRevision()
            }
            state.revision = revision
            settings.progress("mesh revision \(revision)")
            var reusable = 0
            for op in operations {
                switch try await op.inspectNamespace(scenarioName: scenario.name, reuse: scenario.reuse) {
                case .absent: break
                case .reusable: reusable += 1
                case .foreign(let message): throw RunAbort(.badInput, message)
                }
            }
            state.reusing = reusable == operations.count && scenario.reuse
        }

        try await state.phase("deploy") {
            let deadline = ContinuousClock.now + scenario.timeouts.deploy
            settings.progress("deploying into namespace \(namespace)")
            try await forEachCluster(operations) { op in
                let manifests = Workloads.manifests(
                    for: op.cluster.spec, scenario: scenario, namespace: namespace,
                    runID: runID, revision: state.revision ?? "default")
                if try await op.inspectNamespace(scenarioName: scenario.name, reuse: scenario.reuse) == .absent {
                    let uid = try await op.createNamespace(manifests.namespace, deadline: deadline)
                    state.markCreated(op.cluster.index, uid: uid)
                }
                try await op.apply(manifests.items, reuse: scenario.reuse)
            }
            try await waitForWorkloads(operations, state: state, deadline: deadline)
        }

        // Localities before converge: with locality load balancing a client is expected to reach its own zone only.
        state.localities = await readLocalities(operations)
        let base = state.attributionBase(scenario: scenario)
        try await state.phase("converge") {
            let started = ContinuousClock.now
            try await converge(operations, state: state, base: base)
            state.convergeSeconds = (ContinuousClock.now - started).seconds
        }
        await readSidecars(operations, state: state, phase: .afterConverge)
        try await state.phase("bursts") {
            try await bursts(operations, state: state, base: base)
        }
        await readSidecars(operations, state: state, phase: .afterBursts)
    }

    /// Runs `body` for every cluster concurrently; the first error wins.
    private func forEachCluster(
        _ operations: [ClusterOperations],
        _ body: @escaping @Sendable (ClusterOperations) async throws -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for op in operations { group.addTask { try await body(op) } }
            try await group.waitForAll()
        }
    }

    /// Polls the pods until every expected one is ready. A ready pod without a sidecar is a finding
    /// for the `sidecar-injection` check, not something to wait for. Each round also reads why the
    /// rest are not ready; a reason waiting will not cure (``DeployBlocker/grace(_:)``) ends the wait
    /// early, with the same exit as the deploy timeout.
    private func waitForWorkloads(_ operations: [ClusterOperations], state: RunState, deadline: ContinuousClock.Instant) async throws {
        let scenario = settings.scenario
        let started = ContinuousClock.now
        var clock = DeployBlockerClock(timeouts: scenario.timeouts)
        var lastLine = ""
        for attempt in 0..<100_000 {
            var observations: [DeployObservation] = []
            for op in operations { observations.append(try await op.observeDeploy()) }
            let progress = observations.map { DeployDiagnosis.progress($0) }
            if progress.joined().allSatisfy(\.isReady) {
                let lists = observations.map { ClusterOperations.runPods($0.pods).filter { !$0.terminating } }
                state.pods = lists
                let bare = lists.joined().filter { !$0.hasSidecar }.count
                settings.progress("workloads ready" + (bare > 0 ? " (\(bare) pods without a sidecar)" : ""))
                return
            }
            let judged = clock.judge(progress.joined().flatMap(\.blockers), at: ContinuousClock.now - started)
            let certain = judged.filter(\.certain)
            let timedOut = ContinuousClock.now >= deadline
            if !certain.isEmpty || timedOut {
                let shown = certain.isEmpty ? judged : certain
                state.deployChecks = DeployDiagnosis.checks(judged, namespace: settings.namespace, stoppedEarly: !certain.isEmpty)
                // One line per run, not per blocker: the server's messages (often paragraphs, such as
                // PodSecurity's) are in the deploy checks, each with its hint.
                let reasons = shown.map { "\($0.blocker.cluster) \($0.blocker.object): \($0.blocker.reason)" }
                let why = certain.isEmpty ? "within the deploy timeout of \(formatDuration(scenario.timeouts.deploy))" : "and will not be by waiting"
                throw RunAbort(
                    .environment, "workloads not ready \(why): " + reasons.joined(separator: "; ") + " (the deploy checks give the server's messages and hints)"
                )
            }
            let line = zip(observations, progress).flatMap { DeployDiagnosis.progressLine(cluster: $0.cluster, $1) }.joined(separator: "; ")
            if line != lastLine || attempt % 20 == 19 {
                settings.progress("deploying: " + line)
                lastLine = line
            }
            try await Task.sleep(for: .milliseconds(500))
        }
    }

    /// Client pods, as (cluster operations, pod name).
    func clientPods(_ operations: [ClusterOperations], state: RunState) -> [(ClusterOperations, String)] {
        operations.flatMap { op in
            state.pods[op.cluster.index].filter { $0.app == Workloads.sleepApp && $0.ready }.map { (op, $0.name) }
        }
    }

    /// Small uncounted bursts until every client has reached every cluster it is expected to reach,
    /// or the deadline of each cluster it still lacks has passed (the converge timeout, or the short
    /// grace of a pair preflight already failed); then the checks tell what is missing.
    private func converge(_ operations: [ClusterOperations], state: RunState, base: AttributionBase) async throws {
        let scenario = settings.scenario
        let started = ContinuousClock.now
        let deadline = started + scenario.timeouts.converge
        let plan = ConvergePlan(
            scenario: scenario, expected: state.expectations(scenario: scenario),
            withEndpoints: state.clustersWithEndpoints(scenario: scenario), preflight: state.preflight)
        let namespace = settings.namespace
        let load = scenario.load
        let pods = clientPods(operations, state: state)
        let clients = ConvergeClients(pods.map { ConvergeClient(source: $0.0.cluster.index, pod: $0.1) })
        let progress = settings.progress
        progress(plan.progressLine(clients.all, at: .zero))
        let unfinished = try await withThrowingTaskGroup(of: String?.self) { group in
            for (index, (op, pod)) in pods.enumerated() {
                group.addTask {
                    for round in 0..<10_000 {
                        let client = clients[index]
                        if plan.isDone(client, at: ContinuousClock.now - started) { break }
                        guard ContinuousClock.now < deadline else { break }
                        if round > 0 { try await Task.sleep(for: .milliseconds(300)) }
                        var probe = load
                        probe.requestsPerBurst = 10
                        probe.mode = .sequential
                        let command = BurstCommand(target: .helloWorld(namespace: namespace), burst: round, load: probe)
                        let session = BurstSession(source: client.source, clientPod: pod, command: command, base: base, records: nil, clock: nil)
                        _ = await Self.runBurst(session, op: op, pod: pod, namespace: namespace, deadline: deadline)
                        clients.record(index, reached: session.reached)
                    }
                    let client = clients[index]
                    let missing = plan.awaiting(client, at: ContinuousClock.now - started)
                    let lacking = missing.awaited + missing.givenUp
                    return lacking.isEmpty ? nil : "\(pod)@\(plan.names[client.source]) without \(lacking.map { plan.names[$0] }.joined(separator: ","))"
                }
            }
            // The progress line every few seconds until the clients are done.
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(5))
                    if Task.isCancelled { break }
                    progress(plan.progressLine(clients.all, at: ContinuousClock.now - started))
                }
                return nil
            }
            var unfinished: [String] = []
            for _ in pods.indices {
                if let name = try await group.next(), let name { unfinished.append(name) }
            }
            group.cancelAll()
            return unfinished
        }
        if !unfinished.isEmpty { progress("converge ended for \(unfinished.joined(separator: ", ")); measuring anyway") }
    }

    /// The measured bursts: every client pod runs `concurrentBurstsPerClientPod` lanes, each lane
    /// `bursts` bursts one after the other.
    private func bursts(_ operations: [ClusterOperations], state: RunState, base: AttributionBase) async throws {
        let scenario = settings.scenario
        let load = scenario.load
        let namespace = settings.namespace
        let deadline = ContinuousClock.now + scenario.timeouts.bursts
        let records = try settings.recordsPath.map { try RecordsFile(path: $0) }
        defer { records?.close() }
        let pods = clientPods(operations, state: state)
        let lanes = max(1, load.concurrentBurstsPerClientPod)
        let total = pods.count * lanes * load.bursts * load.requestsPerBurst
        settings.progress("bursts: \(pods.count) clients × \(lanes) concurrent × \(load.bursts) bursts × \(load.requestsPerBurst) requests = \(total)")
        let clock = LoadClock()
        let disruptions = startDisruptions(operations, state: state, clock: clock)
        defer { disruptions?.cancel() }
        let results = await withTaskGroup(of: [BurstResult].self) { group in
            for (podIndex, (op, pod)) in pods.enumerated() {
                for lane in 0..<lanes {
                    group.addTask {
                        var results: [BurstResult] = []
                        for round in 0..<load.bursts {
                            if Task.isCancelled || ContinuousClock.now >= deadline { break }
                            let burst = (podIndex * lanes + lane) * load.bursts + round
                            let command = BurstCommand(target: .helloWorld(namespace: namespace), burst: burst, load: load)
                            let session = BurstSession(
                                source: op.cluster.index, clientPod: pod, command: command, base: base,
                                records: records, clock: clock)
                            let started = ContinuousClock.now
                            let error = await Self.runBurst(session, op: op, pod: pod, namespace: namespace, deadline: deadline)
                            results.append(
                                BurstResult(
                                    session: session, error: error,
                                    roundTrip: ContinuousClock.now - started, cluster: op.cluster.spec.name, pod: pod))
                        }
                        return results
                    }
                }
            }
            var all: [BurstResult] = []
            for await batch in group { all += batch }
            return all
        }
        // The load is over: steps scheduled after it would act on nothing measured.
        disruptions?.cancel()
        if let disruptions { state.disruptions = await disruptions.value }
        state.record(bursts: results, base: base)
        try Task.checkCancellation()
    }

    /// Each cluster's region and zone, read concurrently; clusters whose nodes cannot be read are left out.
    private func readLocalities(_ operations: [ClusterOperations]) async -> [String: ClusterLocality] {
        await withTaskGroup(of: (String, ClusterLocality?).self) { group in
            for op in operations { group.addTask { (op.cluster.spec.name, await op.readLocality()) } }
            var localities: [String: ClusterLocality] = [:]
            for await (name, locality) in group { localities[name] = locality }
            return localities
        }
    }

    /// Starts applying the scenario's disruptions on the load's clock; nil when it has none.
    private func startDisruptions(_ operations: [ClusterOperations], state: RunState, clock: LoadClock) -> Task<[DisruptionRecord], Never>? {
        let scenario = settings.scenario
        guard !scenario.disruptions.isEmpty else { return nil }
        let executor = DisruptionExecutor(
            scenario: scenario, namespace: settings.namespace, runID: settings.identity.runID,
            operations: Dictionary(operations.map { ($0.cluster.spec.name, $0) }, uniquingKeysWith: { first, _ in first }), clock: clock,
            lateInstances: state.lateInstances, progress: settings.progress)
        // A namespace the run keeps must not stay disrupted: a canary's next run would find it so.
        let keepsNamespace = scenario.reuse || scenario.cleanup == .never
        return Task { await executor.run(restoreWhenCut: keepsNamespace) { state.disruptions = $0 } }
    }

    /// One exec = one burst. Returns the failure, if any; the session has been finished either way.
    static func runBurst(
        _ session: BurstSession, op: ClusterOperations, pod: String, namespace: String,
        deadline: ContinuousClock.Instant
    ) async -> (any Error)? {
        var failed = false
        defer { session.finish(execFailed: failed) }
        do {
            let argv = try session.command.argv()
            let remaining = deadline - ContinuousClock.now
            let request = ExecRequest(
                namespace: namespace, pod: pod, container: Workloads.sleepContainer, command: argv,
                timeouts: ExecTimeouts(connect: .seconds(30), idle: .seconds(120), total: max(remaining, .seconds(1))),
                maxOutputBytes: session.command.maxOutputBytes)
            let result = try await op.cluster.client.exec(request, consumer: session)
            if result.exitCode != 0 {
                failed = true
                return BurstFailure(message: "exit code \(result.exitCode)" + (result.message.map { ": \($0)" } ?? ""))
            }
            return nil
        } catch {
            failed = true
            return error
        }
    }

    /// Deletes what this run created and waits until it is gone, within the cleanup deadline.
    static func cleanup(clusters: [RunCluster], state: RunState, settings: RunSettings, interrupted: Bool) async -> CleanupReport {
        let scenario = settings.scenario
        let created = state.createdNamespaces
        let keep: Bool
        switch scenario.cleanup {
        case .never: keep = true
        case .onSuccess: keep = !interrupted && !state.failedSoFar
        case .always: keep = false
        }
        // A reusing run that found its workloads in place created nothing, but they are kept by
        // policy all the same; any other run that created nothing has nothing to clean up.
        if created.isEmpty && !scenario.reuse { return CleanupReport(status: .none, leftovers: []) }
        if created.isEmpty || (keep && !interrupted) || (scenario.reuse && !interrupted) {
            return CleanupReport(status: .skipped, leftovers: [])
        }
        let started = ContinuousClock.now
        let deadline = started + scenario.timeouts.cleanup
        settings.progress("cleaning up namespace \(settings.namespace) in \(created.count) clusters")
        let leftovers = await withTaskGroup(of: Leftover?.self) { group in
            for (index, uid) in created {
                let op = ClusterOperations(cluster: clusters[index], namespace: settings.namespace, runID: settings.identity.runID)
                group.addTask {
                    do {
                        guard try await op.deleteOwnedNamespace(uid: uid) else { return nil }
                        for _ in 0..<100_000 {
                            guard try await op.namespaceExists(uid: uid) else { return nil }
                            guard ContinuousClock.now < deadline else {
                                return Leftover(
                                    cluster: op.cluster.spec.name, kind: "Namespace", name: settings.namespace, namespace: nil,
                                    reason: "still terminating after the cleanup timeout of \(scenario.timeouts.cleanup)")
                            }
                            try await Task.sleep(for: .milliseconds(250))
                        }
                        return nil
                    } catch {
                        return Leftover(
                            cluster: op.cluster.spec.name, kind: "Namespace", name: settings.namespace, namespace: nil,
                            reason: "\(error)")
                    }
                }
            }
            var leftovers: [Leftover] = []
            for await leftover in group { if let leftover { leftovers.append(leftover) } }
            return leftovers.sorted { $0.cluster < $1.cluster }
        }
        state.addPhase("cleanup", seconds: (ContinuousClock.now - started).seconds)
        return CleanupReport(status: leftovers.isEmpty ? .done : .failed, leftovers: leftovers)
    }
}

/// Converge's client pods and what each has reached so far, shared by their probing tasks and the
/// progress line.
final class ConvergeClients: Sendable {
    private let clients: Mutex<[ConvergeClient]>

    init(_ clients: [ConvergeClient]) {
        self.clients = Mutex(clients)
    }

    var all: [ConvergeClient] { clients.withLock { $0 } }
    subscript(index: Int) -> ConvergeClient { clients.withLock { $0[index] } }

    func record(_ index: Int, reached: Set<Int>) {
        clients.withLock { $0[index].reached.formUnion(reached) }
    }
}

/// A burst whose command ran but did not succeed as a whole (non-zero exit).
struct BurstFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

struct BurstResult: Sendable {
    var session: BurstSession
    var error: (any Error)?
    var roundTrip: Duration
    var cluster: String
    var pod: String
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

/// A measured time for a progress line or a report row, in whole seconds: `1m42s`, `0s`.
package func formatWholeSeconds(_ duration: Duration, rounding: FloatingPointRoundingRule = .toNearestOrAwayFromZero) -> String {
    let seconds = Int64(max(0, duration.seconds.rounded(rounding)))
    return seconds == 0 ? "0s" : formatDuration(.seconds(seconds))
}
