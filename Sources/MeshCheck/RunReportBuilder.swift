// The one place a `RunReport` is assembled, for `meshcheck run` (from the run's state when it ends)
// and for `meshcheck report --from-records` (from saved records and, optionally, the run's
// report.json). Pure: facts and the verdict in, the report and exit code out.

import Foundation
import MeshStats

/// What a report states about a run besides the judged traffic.
package struct RunFacts: Sendable {
    package var runId: String
    /// RFC 3339 UTC (``RunFacts/timestamp(_:)``).
    package var startedAt: String
    package var durationSeconds: Double
    package var namespace: String
    /// The mesh revision the namespace was labelled for.
    package var revision: String?
    package var scenario: Scenario
    /// Ready HelloWorld pods per serving cluster name when the bursts started (saved records: the
    /// distinct instances seen answering, which stand in for them).
    package var readyEndpoints: [String: Int]
    package var phases: [PhaseTiming]
    package var convergeSeconds: Double?
    package var retries: [RetryCount]
    package var exec: ExecStats
    package var cleanup: CleanupReport
    /// What the client sidecars listed for HelloWorld (nil when not read, e.g. a replay without it).
    package var sidecarEndpoints: [SidecarEndpointsReading]?
    /// The scenario's disruptions as the run applied them (on the timeline of the load).
    package var disruptions: [DisruptionRecord] = []
    /// Each cluster's region and zone (from its nodes' labels) by cluster name.
    package var localities: [String: ClusterLocality] = [:]
    /// The measured requests in time (the tally the verdict judged as `VerdictInput.timeline`); nil when the records
    /// carried no time.
    package var timeline: TimelineTally?

    package init(
        runId: String, startedAt: String, durationSeconds: Double, namespace: String, revision: String?, scenario: Scenario,
        readyEndpoints: [String: Int], phases: [PhaseTiming], convergeSeconds: Double?, retries: [RetryCount], exec: ExecStats,
        cleanup: CleanupReport, sidecarEndpoints: [SidecarEndpointsReading]? = nil
    ) {
        self.runId = runId
        self.startedAt = startedAt
        self.durationSeconds = durationSeconds
        self.namespace = namespace
        self.revision = revision
        self.scenario = scenario
        self.readyEndpoints = readyEndpoints
        self.phases = phases
        self.convergeSeconds = convergeSeconds
        self.retries = retries
        self.exec = exec
        self.cleanup = cleanup
        self.sidecarEndpoints = sidecarEndpoints
    }

    /// `2026-12-02T05:44:12Z`.
    package static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}

/// How a run ended, as far as the report is concerned.
package enum RunEnd: Sendable {
    /// The run went through its phases; the verdict decides (`error` if it never judged traffic).
    case completed
    /// SIGINT or SIGTERM: exit 130 after cleanup.
    case interrupted
    /// An environment or input problem ended it: `message` in the report, `exitCode` (2 or 3).
    case failed(message: String, exitCode: Int32)
}

package enum RunReportBuilder {
    /// The report of a run. `judged`: the verdict's outcome, nil when the run ended before traffic was
    /// judged (then `unjudgedChecks`, e.g. the preflight rows, are all the report has).
    package static func report(facts: RunFacts, judged: VerdictOutcome?, unjudgedChecks: [CheckResult] = [], end: RunEnd) -> RunOutcome {
        let verdict: RunVerdict
        let exitCode: Int32
        var errorText: String?
        var checks = judged?.checks ?? unjudgedChecks
        switch end {
        case .interrupted:
            verdict = .interrupted
            exitCode = 130
        case .failed(let message, let code):
            verdict = .error
            exitCode = code
            errorText = message
        case .completed:
            verdict = judged?.verdict ?? .error
            exitCode = verdict.exitCode(cleanupFailed: facts.cleanup.status == .failed)
        }
        // A saved report's cleanup row comes back with its checks; a run's is added here.
        if facts.cleanup.status == .failed, verdict == .pass || verdict == .fail, !checks.contains(where: { $0.name == CheckName.cleanup }) {
            let leftovers = facts.cleanup.leftovers
            checks.append(
                CheckResult(
                    name: CheckName.cleanup, status: .fail,
                    message: "\(leftovers.count) objects left behind",
                    cause: leftovers.map { "\($0.cluster) \($0.kind)/\($0.name): \($0.reason)" }.joined(separator: "; "),
                    hint: "delete them with kubectl once their finalizers allow it"))
        }
        let clusters = facts.scenario.clusters.map {
            ClusterEntry(
                name: $0.name, context: $0.context, serves: $0.serves, clients: $0.clients,
                readyEndpoints: $0.serves == nil ? nil : facts.readyEndpoints[$0.name] ?? 0, locality: facts.localities[$0.name])
        }
        let report = RunReport(
            runId: facts.runId, verdict: verdict, error: errorText, startedAt: facts.startedAt, durationSeconds: facts.durationSeconds,
            namespace: facts.namespace, revision: facts.revision, clusters: clusters, checks: checks, traffic: judged?.traffic ?? [],
            sources: judged?.sources ?? [], phases: facts.phases, convergeSeconds: facts.convergeSeconds, retries: facts.retries,
            exec: facts.exec, cleanup: facts.cleanup, scenario: ScenarioEcho(facts.scenario), sidecarEndpoints: facts.sidecarEndpoints,
            layers: judged?.layers, instances: judged?.instances,
            timeline: facts.timeline.map { timeline($0, clusterNames: facts.scenario.clusters.map(\.name), disruptions: facts.disruptions) },
            failover: judged.flatMap { $0.failover.isEmpty ? nil : $0.failover })
        return RunOutcome(report: report, exitCode: exitCode)
    }

    /// The report's timeline: per source with placed requests, every window from the origin to its last request.
    static func timeline(_ tally: TimelineTally, clusterNames: [String], disruptions: [DisruptionRecord]) -> RunTimeline {
        let microsPerSecond = 1_000_000.0
        var sources: [TimelineSourceSeries] = []
        for (source, name) in clusterNames.enumerated() {
            let windows = tally.windows(source: source)
            guard !windows.isEmpty else { continue }
            let entries = windows.map { index, window in
                var byCluster: [String: Int] = [:]
                for (target, answers) in window.successes.enumerated() where answers > 0 && target < clusterNames.count {
                    byCluster[clusterNames[target]] = answers
                }
                return TimelineWindowEntry(
                    startSeconds: Double(Int64(index) * tally.windowMicros) / microsPerSecond, requests: window.requests,
                    errors: window.errors, byCluster: byCluster, p50Ms: window.latencyQuantile(0.5).map { Double($0) / 1000 },
                    p99Ms: window.latencyQuantile(0.99).map { Double($0) / 1000 })
            }
            sources.append(TimelineSourceSeries(source: name, windows: entries))
        }
        return RunTimeline(
            windowSeconds: Double(tally.windowMicros) / microsPerSecond, disruptions: disruptions, sources: sources,
            requestsBeyondLimit: tally.beyondLimit > 0 ? tally.beyondLimit : nil)
    }
}
