// `report.json`: the machine-readable outcome of a run (schema documented in reports/README.md).
// Renderers in MeshReports turn this one value into the terminal summary, summary.md and junit.xml,
// so every output tells the same story.

import MeshStats

public enum RunVerdict: String, Codable, Sendable, Equatable, CaseIterable {
    case pass, fail, error, interrupted

    /// The process exit code for this verdict (DESIGN §3); a failed cleanup turns 0/1 into 4.
    public func exitCode(cleanupFailed: Bool) -> Int32 {
        switch self {
        case .pass: return cleanupFailed ? 4 : 0
        case .fail: return cleanupFailed ? 4 : 1
        case .error: return 3
        case .interrupted: return 130
        }
    }
}

public enum CheckStatus: String, Codable, Sendable, Equatable, CaseIterable {
    case pass, fail, warn, skip
}

/// One named check's outcome.
public struct CheckResult: Codable, Sendable, Equatable {
    /// `sidecar-injection`, `reachability`, `error-rate`, `all-clusters-reached`, `balance`, `latency-slo`, or a
    /// preflight check's name.
    public var name: String
    /// The source (client) cluster for per-source checks; nil for run-wide and preflight checks.
    public var source: String?
    /// The serving cluster for per-pair checks (`latency-slo`).
    public var target: String?
    public var status: CheckStatus
    /// One line saying what was found.
    public var message: String
    /// Why, when it failed or warned (the likely cause, as specific as the evidence allows).
    public var cause: String?
    /// What to do about it.
    public var hint: String?
    /// The balance test's numbers (only for `balance`).
    public var balance: BalanceDetails?

    public init(name: String, source: String? = nil, target: String? = nil, status: CheckStatus, message: String,
                cause: String? = nil, hint: String? = nil, balance: BalanceDetails? = nil) {
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
public struct BalanceDetails: Codable, Sendable, Equatable {
    /// `proportional-to-endpoints`, `weights`, `local-preferred`, `any-cross-cluster`.
    public var expectation: String
    /// Successful, attributed requests the test used.
    public var requests: Int
    /// `chi-square`, `exact-binomial`, `exact-multinomial`, `monte-carlo-multinomial`, or `none`.
    public var test: String
    public var statistic: Double?
    public var degreesOfFreedom: Int?
    public var pValue: Double?
    public var significance: Double
    public var shares: [ShareDetail]
    /// "with 40 requests, a 60/40 skew would be detected with power 0.12" and similar.
    public var power: String?

    public init(expectation: String, requests: Int, test: String, statistic: Double? = nil, degreesOfFreedom: Int? = nil,
                pValue: Double? = nil, significance: Double, shares: [ShareDetail], power: String? = nil) {
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

public struct ShareDetail: Codable, Sendable, Equatable {
    public var target: String
    public var observed: Int
    public var share: Double
    public var interval: WilsonInterval
    public var expectedShare: Double

    public init(target: String, observed: Int, share: Double, interval: WilsonInterval, expectedShare: Double) {
        self.target = target
        self.observed = observed
        self.share = share
        self.interval = interval
        self.expectedShare = expectedShare
    }
}

/// A 95 % Wilson score interval.
public struct WilsonInterval: Codable, Sendable, Equatable {
    public var low: Double
    public var high: Double

    public init(low: Double, high: Double) {
        self.low = low
        self.high = high
    }
}

/// Latency percentiles in milliseconds (in-pod `time_total`).
public struct LatencySummary: Codable, Sendable, Equatable {
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var max: Double

    public init(p50: Double, p90: Double, p99: Double, max: Double) {
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.max = max
    }
}

/// Requests from one source cluster answered by one serving cluster.
public struct TrafficRow: Codable, Sendable, Equatable {
    public var source: String
    public var target: String
    /// Requests attributed to `target` (successes and HTTP errors from its pods).
    public var requests: Int
    /// Attributed requests that failed (non-200 status or curl error after the response began).
    public var errors: Int
    /// This target's share of the source's successful, attributed requests.
    public var share: Double
    public var shareInterval: WilsonInterval
    /// Expected share under the scenario's balance expectation, when it defines one.
    public var expectedShare: Double?
    /// Percentiles of successful requests; nil when there were none.
    public var latencyMs: LatencySummary?
    /// The histogram behind `latencyMs` (for percentile curves and Prometheus buckets); nil when there
    /// were no successful requests or the report predates the field.
    public var latencyHistogram: LatencyBuckets?

    public init(source: String, target: String, requests: Int, errors: Int, share: Double, shareInterval: WilsonInterval,
                expectedShare: Double?, latencyMs: LatencySummary?, latencyHistogram: LatencyBuckets? = nil) {
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
public struct LatencyBuckets: Codable, Sendable, Equatable {
    /// Values recorded (the pair's successful requests).
    public var count: UInt64
    /// Sum of the recorded values, µs.
    public var sumUs: UInt64
    /// Non-empty buckets in increasing order, each `[lowUs, highUs, count]`: `count` values lay in
    /// `lowUs...highUs` (the histogram cannot tell them apart more finely).
    public var buckets: [[UInt64]]

    public init(count: UInt64, sumUs: UInt64, buckets: [[UInt64]]) {
        self.count = count
        self.sumUs = sumUs
        self.buckets = buckets
    }

    public init(_ histogram: LatencyHistogram) {
        self.init(count: histogram.count, sumUs: histogram.sum,
                  buckets: histogram.nonEmptyBuckets.map { [$0.lowerBound, $0.upperBound, $0.count] })
    }
}

/// Everything about one source cluster's requests, attributed or not.
public struct SourceSummary: Codable, Sendable, Equatable {
    public var source: String
    /// Record lines received (every request that produced a record).
    public var requests: Int
    /// Status 200, curl exit 0, instance known.
    public var succeeded: Int
    public var errors: Int
    /// Error counts by kind: `curl-7`, `curl-28`, `http-503`, `unknown-instance`, ...
    public var errorsByKind: [String: Int]
    /// Requests announced by framing that never produced a record (broken or truncated bursts).
    public var missingRecords: Int
    /// Output lines that were not Contract 1 lines.
    public var malformedLines: Int
    /// Paced mode: request starts later than their schedule (coordinated omission made visible).
    public var lateStarts: Int?

    public init(source: String, requests: Int, succeeded: Int, errors: Int, errorsByKind: [String: Int], missingRecords: Int,
                malformedLines: Int, lateStarts: Int?) {
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

public struct PhaseTiming: Codable, Sendable, Equatable {
    /// `validate`, `connect`, `deploy`, `converge`, `bursts`, `verdict`, `reports`, `cleanup`.
    public var name: String
    public var seconds: Double

    public init(name: String, seconds: Double) {
        self.name = name
        self.seconds = seconds
    }
}

public struct ClusterEntry: Codable, Sendable, Equatable {
    public var name: String
    public var context: String
    public var serves: String?
    public var clients: Bool
    /// Ready HelloWorld pods when the bursts started.
    public var readyEndpoints: Int?

    public init(name: String, context: String, serves: String?, clients: Bool, readyEndpoints: Int?) {
        self.name = name
        self.context = context
        self.serves = serves
        self.clients = clients
        self.readyEndpoints = readyEndpoints
    }
}

/// An object cleanup could not remove.
public struct Leftover: Codable, Sendable, Equatable {
    public var cluster: String
    public var kind: String
    public var name: String
    public var namespace: String?
    public var reason: String

    public init(cluster: String, kind: String, name: String, namespace: String?, reason: String) {
        self.cluster = cluster
        self.kind = kind
        self.name = name
        self.namespace = namespace
        self.reason = reason
    }
}

public struct CleanupReport: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable, Equatable {
        /// Everything this run created is gone.
        case done
        /// Cleanup left objects behind (see leftovers); exit code 4.
        case failed
        /// Not run, by policy (`never`, `on-success` after a failure, reuse).
        case skipped
        /// Nothing to clean up: the run stopped before creating anything.
        case none
    }

    public var status: Status
    public var leftovers: [Leftover]

    public init(status: Status, leftovers: [Leftover]) {
        self.status = status
        self.leftovers = leftovers
    }
}

/// Exec round trips (open the session → last byte), separate from in-pod latency.
public struct ExecStats: Codable, Sendable, Equatable {
    public var sessions: Int
    public var failed: Int
    public var roundTripMs: LatencySummary?

    public init(sessions: Int, failed: Int, roundTripMs: LatencySummary?) {
        self.sessions = sessions
        self.failed = failed
        self.roundTripMs = roundTripMs
    }
}

public struct RetryCount: Codable, Sendable, Equatable {
    /// What was retried, e.g. `api-429`, `exec-connect`.
    public var operation: String
    public var count: Int

    public init(operation: String, count: Int) {
        self.operation = operation
        self.count = count
    }
}

public struct RunReport: Codable, Sendable, Equatable {
    public static let currentSchemaVersion = 1

    public var schemaVersion: Int
    public var runId: String
    public var verdict: RunVerdict
    /// Why the run ended in `error` (the environment problem), when it did.
    public var error: String?
    /// RFC 3339 UTC start time.
    public var startedAt: String
    public var durationSeconds: Double
    public var namespace: String
    /// The mesh revision the namespace was labelled for.
    public var revision: String?
    public var clusters: [ClusterEntry]
    public var checks: [CheckResult]
    public var traffic: [TrafficRow]
    public var sources: [SourceSummary]
    public var phases: [PhaseTiming]
    /// Seconds from workloads ready to every client reaching every expected cluster (not in the verdict).
    public var convergeSeconds: Double?
    public var retries: [RetryCount]
    public var exec: ExecStats
    public var cleanup: CleanupReport
    public var scenario: ScenarioEcho

    public init(runId: String, verdict: RunVerdict, error: String? = nil, startedAt: String, durationSeconds: Double, namespace: String,
                revision: String?, clusters: [ClusterEntry], checks: [CheckResult], traffic: [TrafficRow], sources: [SourceSummary],
                phases: [PhaseTiming], convergeSeconds: Double?, retries: [RetryCount], exec: ExecStats, cleanup: CleanupReport,
                scenario: ScenarioEcho) {
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
    }
}
