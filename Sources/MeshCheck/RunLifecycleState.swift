// What a run has learned so far, shared by its concurrent phases, and how it becomes the report.

import Foundation
import KubeClient
import MeshStats
import Synchronization

final class RunState: Sendable {
    private struct Facts {
        var phases: [PhaseTiming] = []
        var revision: String?
        var reusing = false
        /// Cluster index → UID of the namespace this run created there (nil if the server sent none).
        var created: [Int: String?] = [:]
        var pods: [[RunPod]] = []
        var convergeSeconds: Double?
        var tally: TrafficTally?
        /// The measured bursts' requests in time, merged like `tally`.
        var timeline: TimelineTally?
        var execSessions = 0
        /// Failed bursts' messages, by source cluster index.
        var execFailures: [Int: [String]] = [:]
        var execRoundTrips = LatencyHistogram()
        var connections: ConnectionCounts?
        var outcome: VerdictOutcome?
        var preflight: [PreflightFinding] = []
        /// Failed `deploy` rows when the workloads never became ready.
        var deployChecks: [CheckResult] = []
        /// Cluster name → east-west gateway addresses, as preflight read them.
        var eastWestGatewayAddresses: [String: [String]] = [:]
        /// Cluster name → istiod's view of its peers, as preflight read it.
        var controlPlaneViews: [String: ControlPlaneView] = [:]
        var sidecarReadings: [SidecarEndpointsReading] = []
        /// The scenario's disruptions as applied so far, on the load's timeline.
        var disruptions: [DisruptionRecord] = []
        /// Cluster name → region and zone of its workloads' nodes.
        var localities: [String: ClusterLocality] = [:]
    }

    private let facts = Mutex(Facts())
    let settings: RunSettings
    let startedAt = Date()
    let clockStart = ContinuousClock.now
    /// HelloWorld pods that appeared during the load (DisruptionExecutor registers them).
    let lateInstances: LateInstances

    init(settings: RunSettings) {
        self.settings = settings
        lateInstances = LateInstances(
            expected: settings.scenario.disruptions.contains {
                if case .scaleToZero = $0.action { return $0.restoreAt != nil } else { return false }
            })
    }

    var revision: String? {
        get { facts.withLock { $0.revision } }
        set { facts.withLock { $0.revision = newValue } }
    }
    var reusing: Bool {
        get { facts.withLock { $0.reusing } }
        set { facts.withLock { $0.reusing = newValue } }
    }
    var pods: [[RunPod]] {
        get { facts.withLock { $0.pods } }
        set { facts.withLock { $0.pods = newValue } }
    }
    var disruptions: [DisruptionRecord] {
        get { facts.withLock { $0.disruptions } }
        set { facts.withLock { $0.disruptions = newValue } }
    }
    var localities: [String: ClusterLocality] {
        get { facts.withLock { $0.localities } }
        set { facts.withLock { $0.localities = newValue } }
    }
    var preflight: [PreflightFinding] {
        get { facts.withLock { $0.preflight } }
        set { facts.withLock { $0.preflight = newValue } }
    }
    var deployChecks: [CheckResult] {
        get { facts.withLock { $0.deployChecks } }
        set { facts.withLock { $0.deployChecks = newValue } }
    }
    var eastWestGatewayAddresses: [String: [String]] {
        get { facts.withLock { $0.eastWestGatewayAddresses } }
        set { facts.withLock { $0.eastWestGatewayAddresses = newValue } }
    }
    var controlPlaneViews: [String: ControlPlaneView] {
        get { facts.withLock { $0.controlPlaneViews } }
        set { facts.withLock { $0.controlPlaneViews = newValue } }
    }
    var convergeSeconds: Double? {
        get { facts.withLock { $0.convergeSeconds } }
        set { facts.withLock { $0.convergeSeconds = newValue } }
    }
    /// Clusters in which this run created the namespace (and so may delete it), with that namespace's UID.
    var createdNamespaces: [(cluster: Int, uid: String?)] {
        facts.withLock { $0.created.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
    }
    /// Whether the run has already failed (for `cleanup: on-success`).
    var failedSoFar: Bool { facts.withLock { $0.outcome.map { $0.verdict != .pass } ?? true } }

    func markCreated(_ cluster: Int, uid: String?) {
        facts.withLock { $0.created[cluster] = .some(uid) }
    }

    func addSidecarReadings(_ readings: [SidecarEndpointsReading]) {
        facts.withLock { $0.sidecarReadings += readings }
    }

    func addPhase(_ name: String, seconds: Double) {
        facts.withLock { $0.phases.append(PhaseTiming(name: name, seconds: seconds)) }
    }

    /// Runs `body` as the named phase, timing it whether it succeeds or not.
    func phase(_ name: String, _ body: () async throws -> Void) async throws {
        let started = ContinuousClock.now
        defer { addPhase(name, seconds: (ContinuousClock.now - started).seconds) }
        try await body()
    }

    /// Known HelloWorld pods (instance → cluster) and versions, interned once for every session.
    func attributionBase(scenario: Scenario) -> AttributionBase {
        let lists = pods
        var helloworld: [(pod: String, cluster: Int)] = []
        for (cluster, list) in lists.enumerated() {
            for pod in list where pod.app == Workloads.helloworldApp { helloworld.append((pod.name, cluster)) }
        }
        return AttributionBase(
            clusterNames: scenario.clusters.map(\.name), helloworldPods: helloworld, versions: scenario.versions,
            timelineWindow: scenario.timeline.window, lateInstances: lateInstances)
    }

    /// Ready HelloWorld pods per serving cluster name.
    var readyEndpoints: [String: Int] {
        let lists = pods
        var endpoints: [String: Int] = [:]
        for (index, cluster) in settings.scenario.clusters.enumerated() where cluster.serves != nil {
            endpoints[cluster.name] =
                index < lists.count
                ? lists[index].filter { $0.app == Workloads.helloworldApp && $0.ready }.count : 0
        }
        return endpoints
    }

    /// Per source cluster index: what converge waits for (the verdict judges the same expectation).
    func expectations(scenario: Scenario) -> [SourceExpectation] {
        SourceExpectation.all(scenario: scenario, readyEndpoints: readyEndpoints, localities: localities)
    }

    /// Serving cluster indexes with at least one ready HelloWorld pod.
    func clustersWithEndpoints(scenario: Scenario) -> Set<Int> {
        let endpoints = readyEndpoints
        return Set(scenario.clusters.indices.filter { (endpoints[scenario.clusters[$0].name] ?? 0) > 0 })
    }

    /// Merges the bursts' tallies, timelines and exec statistics.
    func record(bursts: [BurstResult], base: AttributionBase) {
        var tally = base.tally
        var timeline: TimelineTally?
        var roundTrips = LatencyHistogram()
        var failures: [(source: Int, message: String)] = []
        var connections = ConnectionCounts(engine: settings.scenario.load.connectionReuse ? "reuse" : "fresh")
        for result in bursts {
            tally.merge(result.session.tally)
            if let placed = result.session.timeline {
                if timeline == nil { timeline = base.timeline }
                timeline?.merge(placed)
            }
            connections.merge(result.session.connections)
            roundTrips.record(UInt64(max(1, result.roundTrip.seconds * 1_000_000)))
            if let error = result.error {
                var message = "\(result.cluster)/\(result.pod) burst \(result.session.command.burst): \(error)"
                if let last = PodOutputExcerpt.lastLine(String(decoding: result.session.stderrTail, as: UTF8.self)) {
                    message += " (stderr: \(last))"
                }
                failures.append((result.session.source, message))
            }
        }
        facts.withLock {
            $0.tally = tally
            $0.timeline = timeline
            $0.execSessions += bursts.count
            for failure in failures { $0.execFailures[failure.source, default: []].append(failure.message) }
            $0.execRoundTrips.merge(roundTrips)
            $0.connections =
                $0.connections.map {
                    var sum = $0
                    sum.merge(connections)
                    return sum
                } ?? connections
        }
        for failure in failures.prefix(5) { settings.progress("burst failed: \(failure.message)") }
        if failures.count > 5 { settings.progress("... and \(failures.count - 5) more failed bursts") }
    }

    /// Judges the traffic; called once the bursts are done.
    func evaluate() {
        let scenario = settings.scenario
        let (tally, lists, findings, execFailures, views, readings, timeline) = facts.withLock {
            ($0.tally, $0.pods, $0.preflight, $0.execFailures, $0.controlPlaneViews, $0.sidecarReadings, $0.timeline)
        }
        let (disruptions, localities) = facts.withLock { ($0.disruptions, $0.localities) }
        guard let tally else { return }
        var podStates: [PodState] = []
        for (index, list) in lists.enumerated() {
            let cluster = scenario.clusters[index].name
            for pod in list {
                podStates.append(
                    PodState(
                        cluster: cluster, name: pod.name,
                        role: pod.app == Workloads.helloworldApp ? .helloworld : .sleep, hasSidecar: pod.hasSidecar, ready: pod.ready))
            }
        }
        let outcome = Verdict.evaluate(
            VerdictInput(
                scenario: scenario, namespace: settings.namespace, tally: tally,
                readyEndpoints: readyEndpoints, pods: podStates, preflight: findings, execFailures: execFailures,
                controlPlaneViews: views, sidecarReadings: readings, timeline: timeline, disruptions: disruptions, localities: localities))
        facts.withLock { $0.outcome = outcome }
    }

    /// A run that could not even resolve its contexts.
    func abortedBeforeStart(_ error: any Error) -> RunOutcome {
        finish(clusters: [], failure: error, cleanup: CleanupReport(status: .none, leftovers: []))
    }

    func finish(clusters: [RunCluster], failure: (any Error)?, cleanup: CleanupReport) -> RunOutcome {
        let snapshot = facts.withLock { $0 }
        let end: RunEnd
        if failure is CancellationError {
            end = .interrupted
        } else if let abort = failure as? RunAbort {
            end = .failed(message: abort.message, exitCode: abort.exitCode)
        } else if let failure {
            end = .failed(message: "\(failure)", exitCode: 3)
        } else {
            end = .completed
        }
        let retries = clusters.reduce(0) { $0 + $1.client.retryCount }
        var runFacts = RunFacts(
            runId: settings.identity.runID, startedAt: RunFacts.timestamp(startedAt), durationSeconds: (ContinuousClock.now - clockStart).seconds,
            namespace: settings.namespace, revision: snapshot.revision, scenario: settings.scenario, readyEndpoints: readyEndpoints,
            phases: snapshot.phases, convergeSeconds: snapshot.convergeSeconds, retries: [RetryCount(operation: "api-request", count: retries)],
            exec: ExecStats(
                sessions: snapshot.execSessions, failed: snapshot.execFailures.values.reduce(0) { $0 + $1.count },
                roundTripMs: snapshot.execRoundTrips.count > 0 ? Verdict.latencySummary(snapshot.execRoundTrips) : nil,
                firstFailures: Array(snapshot.execFailures.sorted { $0.key < $1.key }.flatMap(\.value).prefix(ExecStats.firstFailuresKept)),
                connections: snapshot.connections),
            cleanup: cleanup, sidecarEndpoints: snapshot.sidecarReadings.isEmpty ? nil : snapshot.sidecarReadings)
        runFacts.timeline = snapshot.timeline
        runFacts.disruptions = snapshot.disruptions
        runFacts.localities = snapshot.localities
        return RunReportBuilder.report(
            facts: runFacts, judged: snapshot.outcome, unjudgedChecks: PreflightSummary.checks(snapshot.preflight) + snapshot.deployChecks, end: end)
    }
}
