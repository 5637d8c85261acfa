// `report.json`: the machine-readable outcome of a run (schema documented in reports/README.md).
// Renderers in MeshReports turn this one value into the terminal summary, summary.md and junit.xml,
// so every output tells the same story.

import MeshStats

package enum RunVerdict: String, Codable, Sendable, Equatable, CaseIterable {
    case pass, fail, error, interrupted

    /// The process exit code for this verdict (README, exit codes); a failed cleanup turns 0/1 into 4.
    package func exitCode(cleanupFailed: Bool) -> Int32 {
        switch self {
        case .pass: return cleanupFailed ? 4 : 0
        case .fail: return cleanupFailed ? 4 : 1
        case .error: return 3
        case .interrupted: return 130
        }
    }
}

package enum CheckStatus: String, Codable, Sendable, Equatable, CaseIterable {
    case pass, fail, warn, skip
}

/// One named check's outcome.
package struct CheckResult: Codable, Sendable, Equatable {
    /// `sidecar-injection`, `reachability`, `error-rate`, `all-clusters-reached`, `balance`, `balance-instances`,
    /// `latency-slo`, or a preflight check's name.
    package var name: String
    /// The source (client) cluster for per-source checks, the cluster of a `deploy` row; nil for run-wide
    /// and preflight checks.
    package var source: String?
    /// The serving cluster for per-pair checks (`latency-slo`).
    package var target: String?
    package var status: CheckStatus
    /// One line saying what was found.
    package var message: String
    /// Why, when it failed or warned (the likely cause, as specific as the evidence allows).
    package var cause: String?
    /// What to do about it.
    package var hint: String?
    /// The balance test's numbers (only for `balance`).
    package var balance: BalanceDetails?

    package init(
        name: String, source: String? = nil, target: String? = nil, status: CheckStatus, message: String,
        cause: String? = nil, hint: String? = nil, balance: BalanceDetails? = nil
    ) {
        self.name = name
        self.source = source
        self.target = target
        self.status = status
        self.message = message
        self.cause = cause
        self.hint = hint
        self.balance = balance
    }
}

/// The statistics behind a `balance` check for one source.
package struct BalanceDetails: Codable, Sendable, Equatable {
    /// `proportional-to-endpoints`, `weights`, `local-preferred`, `any-cross-cluster`.
    package var expectation: String
    /// Successful, attributed requests the test used.
    package var requests: Int
    /// `chi-square`, `exact-binomial`, `exact-multinomial`, `monte-carlo-multinomial`, or `none`.
    package var test: String
    package var statistic: Double?
    package var degreesOfFreedom: Int?
    package var pValue: Double?
    package var significance: Double
    package var shares: [ShareDetail]
    /// "with 40 requests, a 60/40 skew would be detected with power 0.12" and similar.
    package var power: String?

    package init(
        expectation: String, requests: Int, test: String, statistic: Double? = nil, degreesOfFreedom: Int? = nil,
        pValue: Double? = nil, significance: Double, shares: [ShareDetail], power: String? = nil
    ) {
        self.expectation = expectation
        self.requests = requests
        self.test = test
        self.statistic = statistic
        self.degreesOfFreedom = degreesOfFreedom
        self.pValue = pValue
        self.significance = significance
        self.shares = shares
        self.power = power
    }
}

package struct ShareDetail: Codable, Sendable, Equatable {
    package var target: String
    package var observed: Int
    package var share: Double
    package var interval: WilsonInterval
    package var expectedShare: Double

    package init(target: String, observed: Int, share: Double, interval: WilsonInterval, expectedShare: Double) {
        self.target = target
        self.observed = observed
        self.share = share
        self.interval = interval
        self.expectedShare = expectedShare
    }
}

/// One source's answers from one serving cluster, per HelloWorld pod of that cluster, and how `balance-instances`
/// judged them (``InstanceBalance``).
package struct InstanceSplit: Codable, Sendable, Equatable {
    package var source: String
    package var target: String
    /// Successful requests from `source` that the target's pods answered.
    package var requests: Int
    /// `pass`, `fail`, `warn` (a skew behind an east-west gateway, which picks a pod per connection, or where the
    /// path is unknown), or `skip` (one pod, no answers, or too few answers to show pinning).
    package var status: CheckStatus
    /// How the source's sidecar reached these pods when the split is not judged strictly: `eastWestGateway` or
    /// `unknown`; absent for direct paths and unjudged splits.
    package var path: InstanceBalance.Path?
    /// `chi-square`, `exact-binomial`, `exact-multinomial`, `monte-carlo-multinomial`, or `none` (not tested).
    package var test: String
    package var statistic: Double?
    package var degreesOfFreedom: Int?
    package var pValue: Double?
    /// The level this split was tested at: `expectations.significance` over the source's tested clusters.
    package var significance: Double?
    /// Every pod of the cluster, answered or not, by name.
    package var instances: [InstanceShare]

    package init(
        source: String, target: String, requests: Int, status: CheckStatus, test: String, statistic: Double? = nil,
        degreesOfFreedom: Int? = nil, pValue: Double? = nil, significance: Double? = nil, instances: [InstanceShare]
    ) {
        self.source = source
        self.target = target
        self.requests = requests
        self.status = status
        self.test = test
        self.statistic = statistic
        self.degreesOfFreedom = degreesOfFreedom
        self.pValue = pValue
        self.significance = significance
        self.instances = instances
    }
}

/// One HelloWorld pod's share of a source's answers from its cluster.
package struct InstanceShare: Codable, Sendable, Equatable {
    /// The pod name.
    package var instance: String
    /// The version the pod's cluster serves.
    package var version: String?
    package var observed: Int
    /// `observed` over the split's `requests` (0 when there were none).
    package var share: Double
    package var interval: WilsonInterval
    /// Even over the cluster's pods, or the version's routing weight divided among its pods; 0 for a pod that was
    /// not Ready.
    package var expectedShare: Double

    package init(instance: String, version: String?, observed: Int, share: Double, interval: WilsonInterval, expectedShare: Double) {
        self.instance = instance
        self.version = version
        self.observed = observed
        self.share = share
        self.interval = interval
        self.expectedShare = expectedShare
    }
}

/// A 95 % Wilson score interval.
package struct WilsonInterval: Codable, Sendable, Equatable {
    package var low: Double
    package var high: Double

    package init(low: Double, high: Double) {
        self.low = low
        self.high = high
    }

    package init(_ interval: ShareInterval) {
        self.init(low: interval.lower, high: interval.upper)
    }
}

/// Latency percentiles in milliseconds (in-pod `time_total`).
package struct LatencySummary: Codable, Sendable, Equatable {
    package var p50: Double
    package var p90: Double
    package var p99: Double
    package var max: Double

    package init(p50: Double, p90: Double, p99: Double, max: Double) {
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.max = max
    }
}

/// Requests from one source cluster answered by one serving cluster.
package struct TrafficRow: Codable, Sendable, Equatable {
    package var source: String
    package var target: String
    /// Requests attributed to `target` (successes and HTTP errors from its pods).
    package var requests: Int
    /// Attributed requests that failed (non-200 status or curl error after the response began).
    package var errors: Int
    /// This target's share of the source's successful, attributed requests.
    package var share: Double
    package var shareInterval: WilsonInterval
    /// Expected share under the scenario's balance expectation, when it defines one.
    package var expectedShare: Double?
    /// Percentiles of successful requests; nil when there were none.
    package var latencyMs: LatencySummary?
    /// The histogram behind `latencyMs` (for percentile curves and Prometheus buckets); nil when there
    /// were no successful requests or the report predates the field.
    package var latencyHistogram: LatencyBuckets?

    package init(
        source: String, target: String, requests: Int, errors: Int, share: Double, shareInterval: WilsonInterval,
        expectedShare: Double?, latencyMs: LatencySummary?, latencyHistogram: LatencyBuckets? = nil
    ) {
        self.source = source
        self.target = target
        self.requests = requests
        self.errors = errors
        self.share = share
        self.shareInterval = shareInterval
        self.expectedShare = expectedShare
        self.latencyMs = latencyMs
        self.latencyHistogram = latencyHistogram
    }
}

/// A latency histogram as its non-empty buckets, in microseconds of in-pod `time_total`.
package struct LatencyBuckets: Codable, Sendable, Equatable {
    /// Values recorded (the pair's successful requests).
    package var count: UInt64
    /// Sum of the recorded values, µs.
    package var sumUs: UInt64
    /// Non-empty buckets in increasing order, each `[lowUs, highUs, count]`: `count` values lay in
    /// `lowUs...highUs` (the histogram cannot tell them apart more finely).
    package var buckets: [[UInt64]]

    package init(count: UInt64, sumUs: UInt64, buckets: [[UInt64]]) {
        self.count = count
        self.sumUs = sumUs
        self.buckets = buckets
    }

    package init(_ histogram: LatencyHistogram) {
        self.init(
            count: histogram.count, sumUs: histogram.sum,
            buckets: histogram.nonEmptyBuckets.map { [$0.lowerBound, $0.upperBound, $0.count] })
    }
}

/// Everything about one source cluster's requests, attributed or not.
package struct SourceSummary: Codable, Sendable, Equatable {
    package var source: String
    /// Record lines received (every request that produced a record).
    package var requests: Int
    /// Status 200, curl exit 0, instance known.
    package var succeeded: Int
    package var errors: Int
    /// Error counts by kind: `curl-7`, `curl-28`, `http-503`, `unknown-instance`, ...
    package var errorsByKind: [String: Int]
    /// Requests announced by framing that never produced a record (broken or truncated bursts).
    package var missingRecords: Int
    /// Output lines that were not Contract 1 (docs/ARCHITECTURE.md) lines.
    package var malformedLines: Int
    /// Paced mode: request starts later than their schedule (coordinated omission made visible).
    package var lateStarts: Int?

    package init(
        source: String, requests: Int, succeeded: Int, errors: Int, errorsByKind: [String: Int], missingRecords: Int,
        malformedLines: Int, lateStarts: Int?
    ) {
        self.source = source
        self.requests = requests
        self.succeeded = succeeded
        self.errors = errors
        self.errorsByKind = errorsByKind
        self.missingRecords = missingRecords
        self.malformedLines = malformedLines
        self.lateStarts = lateStarts
    }
}

package struct PhaseTiming: Codable, Sendable, Equatable {
    /// `validate`, `connect`, `deploy`, `converge`, `bursts`, `verdict`, `reports`, `cleanup`.
    package var name: String
    package var seconds: Double

    package init(name: String, seconds: Double) {
        self.name = name
        self.seconds = seconds
    }
}

package struct ClusterEntry: Codable, Sendable, Equatable {
    package var name: String
    package var context: String
    package var serves: String?
    package var clients: Bool
    /// Ready HelloWorld pods when the bursts started.
    package var readyEndpoints: Int?
    /// `topology.kubernetes.io/region` and `zone` of the nodes the run's pods ran on; absent when not read.
    package var locality: ClusterLocality?

    package init(name: String, context: String, serves: String?, clients: Bool, readyEndpoints: Int?, locality: ClusterLocality? = nil) {
        self.locality = locality
        self.name = name
        self.context = context
        self.serves = serves
        self.clients = clients
        self.readyEndpoints = readyEndpoints
    }
}

/// Where a cluster's workloads run, from their nodes' well-known topology labels.
package struct ClusterLocality: Codable, Sendable, Equatable, Hashable {
    package var region: String?
    package var zone: String?

    package init(region: String?, zone: String?) {
        self.region = region
        self.zone = zone
    }

    /// `region/zone`, with `?` for an unknown part, as Istio writes localities.
    package var description: String { "\(region ?? "?")/\(zone ?? "?")" }
}

/// A disruption as the run applied it: the scenario's action and schedule, and when meshcheck's API calls for it
/// completed on the run's timeline (milliseconds from the start of the load).
package struct DisruptionRecord: Codable, Sendable, Equatable {
    package var name: String
    /// `scale-to-zero` or `abort`.
    package var kind: String
    /// The clusters acted on (scaled down, or whose sidecars got the fault).
    package var clusters: [String]
    /// `abort`: percent of requests aborted and the status they get.
    package var percent: Double?
    package var httpStatus: Int?
    /// The schedule, in seconds from the start of the load.
    package var at: Double
    package var restoreAt: Double?
    /// When the action's last API call completed; nil when it was never applied (the run ended first, or it failed).
    package var appliedAtMs: Int64?
    /// When the restore's last API call completed; nil when not restored.
    package var restoredAtMs: Int64?
    /// Why applying or restoring failed, when it did.
    package var error: String?

    package init(
        name: String, kind: String, clusters: [String], percent: Double? = nil, httpStatus: Int? = nil, at: Double,
        restoreAt: Double?, appliedAtMs: Int64? = nil, restoredAtMs: Int64? = nil, error: String? = nil
    ) {
        self.name = name
        self.kind = kind
        self.clusters = clusters
        self.percent = percent
        self.httpStatus = httpStatus
        self.at = at
        self.restoreAt = restoreAt
        self.appliedAtMs = appliedAtMs
        self.restoredAtMs = restoredAtMs
        self.error = error
    }
}

/// The run's requests in time (schema 3): per source, fixed windows from the start of the load with the answers per
/// serving cluster, failures and latency quantiles, and the disruptions on the same axis.
package struct RunTimeline: Codable, Sendable, Equatable {
    /// What time 0 is.
    package static let loadOrigin = "start of the load"

    /// Width of one window (the scenario's `timeline.window`).
    package var windowSeconds: Double
    /// What time 0 is: always ``loadOrigin``.
    package var origin: String
    /// The scenario's disruptions as applied, their times in ms on this timeline.
    package var disruptions: [DisruptionRecord]
    /// Client clusters in scenario order, those with placed requests only.
    package var sources: [TimelineSourceSeries]
    /// Requests placed too far from the origin to keep (see `TimelineTally.windowLimit`); absent when none.
    package var requestsBeyondLimit: Int?

    package init(
        windowSeconds: Double, origin: String = RunTimeline.loadOrigin, disruptions: [DisruptionRecord], sources: [TimelineSourceSeries],
        requestsBeyondLimit: Int? = nil
    ) {
        self.windowSeconds = windowSeconds
        self.origin = origin
        self.disruptions = disruptions
        self.sources = sources
        self.requestsBeyondLimit = requestsBeyondLimit
    }

    /// Where the last window ends, in seconds: the length of the axis every source is drawn on.
    package var endSeconds: Double {
        let lastStart = sources.compactMap { $0.windows.last?.startSeconds }.max() ?? 0
        return lastStart + windowSeconds
    }
}

/// One source's windows, from the origin to its last request, empty windows included.
package struct TimelineSourceSeries: Codable, Sendable, Equatable {
    package var source: String
    package var windows: [TimelineWindowEntry]

    package init(source: String, windows: [TimelineWindowEntry]) {
        self.source = source
        self.windows = windows
    }
}

package struct TimelineWindowEntry: Codable, Sendable, Equatable {
    /// Seconds from the origin to the window's start.
    package var startSeconds: Double
    /// Requests that started in the window.
    package var requests: Int
    /// Failed requests among them (any kind, answered by a known pod or not).
    package var errors: Int
    /// Successful answers per serving cluster name; clusters without answers are left out.
    package var byCluster: [String: Int]
    /// In-pod latency quantiles of the window's successful requests (from at most its first 4096); absent without any.
    package var p50Ms: Double?
    package var p99Ms: Double?

    package init(startSeconds: Double, requests: Int, errors: Int, byCluster: [String: Int], p50Ms: Double?, p99Ms: Double?) {
        self.startSeconds = startSeconds
        self.requests = requests
        self.errors = errors
        self.byCluster = byCluster
        self.p50Ms = p50Ms
        self.p99Ms = p99Ms
    }

    /// Successful answers.
    package var succeeded: Int { byCluster.values.reduce(0, +) }
}

/// An object cleanup could not remove.
package struct Leftover: Codable, Sendable, Equatable {
    package var cluster: String
    package var kind: String
    package var name: String
    package var namespace: String?
    package var reason: String

    package init(cluster: String, kind: String, name: String, namespace: String?, reason: String) {
        self.cluster = cluster
        self.kind = kind
        self.name = name
        self.namespace = namespace
        self.reason = reason
    }
}

package struct CleanupReport: Codable, Sendable, Equatable {
    package enum Status: String, Codable, Sendable, Equatable {
        /// Everything this run created is gone.
        case done
        /// Cleanup left objects behind (see leftovers); exit code 4.
        case failed
        /// Not run, by policy (`never`, `on-success` after a failure, reuse).
        case skipped
        /// Nothing to clean up: the run stopped before creating anything.
        case none
    }

    package var status: Status
    package var leftovers: [Leftover]

    package init(status: Status, leftovers: [Leftover]) {
        self.status = status
        self.leftovers = leftovers
    }
}

/// Exec round trips (open the session → last byte), separate from in-pod latency.
package struct ExecStats: Codable, Sendable, Equatable {
    package var sessions: Int
    package var failed: Int
    package var roundTripMs: LatencySummary?
    /// The first failed sessions' messages (at most ``firstFailuresKept``, source clusters in order); absent when
    /// none failed.
    package var firstFailures: [String]?
    /// The in-pod engine (`reuse` or `fresh`) and how many answered requests opened a connection; absent in
    /// reports written before engines were named.
    package var connections: ConnectionCounts?

    package static let firstFailuresKept = 5

    package init(
        sessions: Int, failed: Int, roundTripMs: LatencySummary?, firstFailures: [String] = [], connections: ConnectionCounts? = nil
    ) {
        self.sessions = sessions
        self.failed = failed
        self.roundTripMs = roundTripMs
        self.firstFailures = firstFailures.isEmpty ? nil : firstFailures
        self.connections = connections
    }
}

/// What the in-pod engine did with connections: answered requests that opened one (to the pod's sidecar, or
/// straight to the service without one) and answered requests that went over one opened before.
package struct ConnectionCounts: Codable, Sendable, Equatable {
    /// `reuse` (one curl per worker, connections kept open) or `fresh` (one curl per request).
    package var engine: String
    package var opened: Int
    package var reusedRequests: Int

    package init(engine: String = "fresh", opened: Int = 0, reusedRequests: Int = 0) {
        self.engine = engine
        self.opened = opened
        self.reusedRequests = reusedRequests
    }

    /// Counts one record: a request without an answer (status 000) neither opened nor reused a connection that
    /// curl could report.
    package mutating func count(status: UInt16, connectUs: UInt64, connectionReuse: Bool) {
        engine = connectionReuse ? "reuse" : "fresh"
        guard status != 0 else { return }
        if StoredRecord.reusedConnection(connectionReuse: connectionReuse, status: status, connectUs: connectUs) {
            reusedRequests += 1
        } else {
            opened += 1
        }
    }

    /// `engine reuse: 40000 answered over 640 connections (98.4 % reused)`, or for one curl per request
    /// `engine fresh: a connection per request (20 opened)`; every report format says it in these words.
    package var summary: String {
        guard engine == "reuse" else { return "engine fresh: a connection per request (\(opened) opened)" }
        let answered = opened + reusedRequests
        let share = answered > 0 ? NumberFormat.percent(Double(reusedRequests) / Double(answered)) : "0 %"
        return "engine reuse: \(answered) answered over \(opened) \(opened == 1 ? "connection" : "connections") (\(share) reused)"
    }

    package mutating func merge(_ other: ConnectionCounts) {
        if other.opened + other.reusedRequests > 0 { engine = other.engine }
        opened += other.opened
        reusedRequests += other.reusedRequests
    }
}

package struct RetryCount: Codable, Sendable, Equatable {
    /// What was retried, e.g. `api-429`, `exec-connect`.
    package var operation: String
    package var count: Int

    package init(operation: String, count: Int) {
        self.operation = operation
        self.count = count
    }
}

package struct RunReport: Codable, Sendable, Equatable {
    /// 2: adds `layers` (each pair's remote secret, control plane sync, sidecar endpoints and answers).
    /// 3: adds `timeline` (per source, fixed windows from the start of the load: requests, errors, answers per serving
    /// cluster, p50/p99; and the disruptions as applied on the same axis), `failover` (per disruption and source, the
    /// failover figures) and `clusters[].locality`; records.jsonl gains `atMs`. Nothing removed.
    package static let currentSchemaVersion = 3

    package var schemaVersion: Int
    package var runId: String
    package var verdict: RunVerdict
    /// Why the run ended in `error` (the environment problem), when it did.
    package var error: String?
    /// RFC 3339 UTC start time.
    package var startedAt: String
    package var durationSeconds: Double
    package var namespace: String
    /// The mesh revision the namespace was labelled for.
    package var revision: String?
    package var clusters: [ClusterEntry]
    package var checks: [CheckResult]
    package var traffic: [TrafficRow]
    package var sources: [SourceSummary]
    package var phases: [PhaseTiming]
    /// Seconds from workloads ready to every client reaching every expected cluster (not in the verdict).
    package var convergeSeconds: Double?
    package var retries: [RetryCount]
    package var exec: ExecStats
    package var cleanup: CleanupReport
    package var scenario: ScenarioEcho
    /// Per client pod and phase, the endpoints its sidecar listed for HelloWorld (Envoy admin `/clusters`);
    /// absent when not read (replays, runs that stopped before converge). Added within schema 1.
    package var sidecarEndpoints: [SidecarEndpointsReading]?
    /// Per (source, serving cluster) pair, its layers in order and the first broken one (schema 2); absent when
    /// traffic was not judged, and in reports of schema 1.
    package var layers: [PairLayers]?
    /// Per (source, serving cluster) pair, the answers per HelloWorld pod and `balance-instances`' test of them. Added
    /// within schema 2; absent when traffic was not judged, and in reports written before the check.
    package var instances: [InstanceSplit]?
    /// The requests in time, with the disruptions (schema 3); absent when the records carried no time (runs that
    /// stopped before the load, replays of records without `atMs`, reports of older schemas).
    package var timeline: RunTimeline?
    /// Per applied disruption and source it concerns, the failover figures (``FailoverFigure``); absent when the run
    /// applied no disruption or its records carry no time.
    package var failover: [FailoverFigure]?

    package init(
        runId: String, verdict: RunVerdict, error: String? = nil, startedAt: String, durationSeconds: Double, namespace: String,
        revision: String?, clusters: [ClusterEntry], checks: [CheckResult], traffic: [TrafficRow], sources: [SourceSummary],
        phases: [PhaseTiming], convergeSeconds: Double?, retries: [RetryCount], exec: ExecStats, cleanup: CleanupReport,
        scenario: ScenarioEcho, sidecarEndpoints: [SidecarEndpointsReading]? = nil, layers: [PairLayers]? = nil,
        instances: [InstanceSplit]? = nil, timeline: RunTimeline? = nil, failover: [FailoverFigure]? = nil
    ) {
        self.timeline = timeline
        self.failover = failover
        self.layers = layers
        self.instances = instances
        self.schemaVersion = RunReport.currentSchemaVersion
        self.runId = runId
        self.verdict = verdict
        self.error = error
        self.startedAt = startedAt
        self.durationSeconds = durationSeconds
        self.namespace = namespace
        self.revision = revision
        self.clusters = clusters
        self.checks = checks
        self.traffic = traffic
        self.sources = sources
        self.phases = phases
        self.convergeSeconds = convergeSeconds
        self.retries = retries
        self.exec = exec
        self.cleanup = cleanup
        self.scenario = scenario
        self.sidecarEndpoints = sidecarEndpoints
    }
}
