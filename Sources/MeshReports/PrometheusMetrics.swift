// metrics.prom: the run in Prometheus text exposition format 0.0.4, for a node-exporter textfile
// collector or a Pushgateway (scheduled canaries). Every series carries the scenario name, so several
// canaries can share one collector directory; a push leaves that label to the grouping key instead
// (the Pushgateway refuses pushed series that repeat a grouping label).

import Foundation
import MeshCheck

package enum PrometheusMetrics {
    /// Upper bounds of the latency histogram's `le` buckets, in seconds (`+Inf` is added). Fixed, so
    /// series from different runs aggregate.
    package static let latencyBucketBounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    /// The exposition text. `scenarioLabel: false` leaves out the `scenario` label (for a push whose
    /// grouping key carries it).
    package static func render(_ report: RunReport, scenarioLabel: Bool = true) -> String {
        var out = Exposition(constantLabels: scenarioLabel ? [("scenario", report.scenario.name)] : [])
        run(report, into: &out)
        traffic(report, into: &out)
        instances(report, into: &out)
        layers(report, into: &out)
        failover(report, into: &out)
        checks(report, into: &out)
        return out.text
    }

    // MARK: The run

    private static func run(_ report: RunReport, into out: inout Exposition) {
        out.family("meshcheck_run_info", .gauge, "The run's identity; always 1.")
        var info = [("run_id", report.runId), ("namespace", report.namespace)]
        if let revision = report.revision { info.append(("revision", revision)) }
        out.sample("meshcheck_run_info", info, 1)

        out.family("meshcheck_run_start_timestamp_seconds", .gauge, "When the run started, seconds since the Unix epoch.")
        out.sample("meshcheck_run_start_timestamp_seconds", [], startTimestamp(report.startedAt) ?? 0)

        out.family("meshcheck_run_duration_seconds", .gauge, "Wall time of the whole run.")
        out.sample("meshcheck_run_duration_seconds", [], report.durationSeconds)

        out.family("meshcheck_run_verdict", .gauge, "1 for the run's verdict, 0 for the others (pass, fail, error, interrupted).")
        for verdict in RunVerdict.allCases {
            out.sample("meshcheck_run_verdict", [("verdict", verdict.rawValue)], verdict == report.verdict ? 1 : 0)
        }

        out.family("meshcheck_phase_duration_seconds", .gauge, "Wall time of each phase that ran.")
        for phase in report.phases {
            out.sample("meshcheck_phase_duration_seconds", [("phase", phase.name)], phase.seconds)
        }

        if let converge = report.convergeSeconds {
            out.family("meshcheck_converge_seconds", .gauge, "Time from workloads ready until every client reached every expected cluster.")
            out.sample("meshcheck_converge_seconds", [], converge)
        }

        out.family("meshcheck_cleanup_leftovers", .gauge, "Objects cleanup could not remove.")
        out.sample("meshcheck_cleanup_leftovers", [], Double(report.cleanup.leftovers.count))
    }

    // MARK: Traffic

    private static func traffic(_ report: RunReport, into out: inout Exposition) {
        let versions = Dictionary(report.clusters.map { ($0.name, $0.serves ?? "none") }, uniquingKeysWith: { first, _ in first })
        out.family(
            "meshcheck_requests_total", .counter,
            "Requests by source (client) cluster, serving cluster, version and outcome; target \"unknown\" when no known pod answered.")
        for source in report.sources {
            let rows = report.traffic.filter { $0.source == source.source }
            for row in rows {
                let labels = [("source", row.source), ("target", row.target), ("version", versions[row.target] ?? "unknown")]
                out.sample("meshcheck_requests_total", labels + [("outcome", "success")], Double(row.requests - row.errors))
                out.sample("meshcheck_requests_total", labels + [("outcome", "error")], Double(row.errors))
            }
            let unattributed = source.requests - rows.reduce(0) { $0 + $1.requests }
            if unattributed > 0 {
                out.sample(
                    "meshcheck_requests_total", [("source", source.source), ("target", "unknown"), ("version", "unknown"), ("outcome", "error")],
                    Double(unattributed))
            }
        }

        out.family("meshcheck_request_errors_total", .counter, "Failed requests by source cluster and kind (curl-<exit>, http-<status>, unknown-instance).")
        for source in report.sources {
            for (kind, count) in source.errorsByKind.sorted(by: { $0.key < $1.key }) {
                out.sample("meshcheck_request_errors_total", [("source", source.source), ("kind", kind)], Double(count))
            }
        }

        out.family("meshcheck_missing_records_total", .counter, "Requests a burst announced but never reported (exec broken or cut).")
        for source in report.sources {
            out.sample("meshcheck_missing_records_total", [("source", source.source)], Double(source.missingRecords))
        }

        out.family("meshcheck_traffic_share", .gauge, "Serving cluster's share of the source's successful requests.")
        for row in report.traffic {
            out.sample("meshcheck_traffic_share", [("source", row.source), ("target", row.target)], row.share)
        }
        let expected = report.traffic.filter { $0.expectedShare != nil }
        if !expected.isEmpty {
            out.family("meshcheck_traffic_expected_share", .gauge, "The share the balance expectation predicts.")
            for row in expected {
                out.sample("meshcheck_traffic_expected_share", [("source", row.source), ("target", row.target)], row.expectedShare ?? 0)
            }
        }

        out.family(
            "meshcheck_request_duration_seconds", .histogram,
            "In-pod time_total of successful requests per source and serving cluster (buckets within 0.1 % of their bound).")
        for row in report.traffic {
            let successes = row.requests - row.errors
            // Rows from reports written before histograms were saved have nothing to put in buckets.
            guard row.latencyHistogram != nil || successes == 0 else { continue }
            let histogram = row.latencyHistogram ?? LatencyBuckets(count: 0, sumUs: 0, buckets: [])
            let labels = [("source", row.source), ("target", row.target)]
            for (bound, count) in cumulativeCounts(histogram) {
                out.sample("meshcheck_request_duration_seconds_bucket", labels + [("le", bound.map(number) ?? "+Inf")], Double(count))
            }
            out.sample("meshcheck_request_duration_seconds_sum", labels, Double(histogram.sumUs) / 1_000_000)
            out.sample("meshcheck_request_duration_seconds_count", labels, Double(histogram.count))
        }
    }

    /// Cumulative counts at each bound (nil = `+Inf`). A fine bucket counts toward a bound when its lowest
    /// value is at or below it; fine buckets are at most 0.1 % wide, so that is the bound's error.
    static func cumulativeCounts(_ histogram: LatencyBuckets) -> [(bound: Double?, count: UInt64)] {
        var result: [(Double?, UInt64)] = []
        var total: UInt64 = 0
        var next = 0
        for bound in latencyBucketBounds {
            let boundMicros = bound * 1_000_000
            while next < histogram.buckets.count, Double(histogram.buckets[next][0]) <= boundMicros {
                total += histogram.buckets[next][2]
                next += 1
            }
            result.append((bound, total))
        }
        result.append((nil, histogram.count))
        return result
    }

    // MARK: Instances

    /// Answers per HelloWorld pod: what `balance-instances` judged, for dashboards that watch one pod go quiet.
    private static func instances(_ report: RunReport, into out: inout Exposition) {
        let splits = report.instances ?? []
        let pods = splits.flatMap { split in split.instances.map { (split, $0) } }
        guard !pods.isEmpty else { return }
        func labels(_ split: InstanceSplit, _ pod: InstanceShare) -> [(String, String)] {
            [("source", split.source), ("target", split.target), ("instance", pod.instance)]
        }
        out.family(
            "meshcheck_instance_requests_total", .counter,
            "Successful requests from the source cluster answered by each HelloWorld pod (instance) of the serving cluster.")
        for (split, pod) in pods { out.sample("meshcheck_instance_requests_total", labels(split, pod), Double(pod.observed)) }
        out.family("meshcheck_instance_share", .gauge, "The pod's share of the source's answers from its cluster.")
        for (split, pod) in pods { out.sample("meshcheck_instance_share", labels(split, pod), pod.share) }
        out.family("meshcheck_instance_expected_share", .gauge, "The pod's expected share: even over the cluster's Ready pods, or by routing weight.")
        for (split, pod) in pods { out.sample("meshcheck_instance_expected_share", labels(split, pod), pod.expectedShare) }
    }

    // MARK: Layers

    private static func layers(_ report: RunReport, into out: inout Exposition) {
        let layers = report.layers ?? []
        let counted = layers.compactMap { pair in pair.endpointCounts.map { (pair, $0) } }
        if !counted.isEmpty {
            out.family(
                "meshcheck_pair_endpoints", .gauge, "Endpoints a client sidecar of the source held for the serving cluster, by health (healthy, unhealthy).")
            for (pair, counts) in counted {
                let labels = [("source", pair.source), ("target", pair.target)]
                out.sample("meshcheck_pair_endpoints", labels + [("health", "healthy")], Double(counts.healthy))
                out.sample("meshcheck_pair_endpoints", labels + [("health", "unhealthy")], Double(counts.unhealthy))
            }
        }
        let judged = layers.flatMap { pair in pair.layers.filter { $0.status == .pass || $0.status == .fail }.map { (pair, $0) } }
        if !judged.isEmpty {
            out.family(
                "meshcheck_pair_layer_ok", .gauge,
                "1 when the pair's layer (secret, sync, endpoints, traffic) passed, 0 when it failed; absent when not visible or not applicable.")
            for (pair, result) in judged {
                out.sample(
                    "meshcheck_pair_layer_ok", [("source", pair.source), ("target", pair.target), ("layer", result.layer.rawValue)],
                    result.status == .pass ? 1 : 0)
            }
        }
    }

    // MARK: Failover

    /// The failover figures per disruption and source; a figure that does not exist (never failed over, not
    /// recovered, no baseline) leaves its sample out rather than inventing a value, and `meshcheck_failover_completed`
    /// says which.
    private static func failover(_ report: RunReport, into out: inout Exposition) {
        let figures = report.failover ?? []
        guard !figures.isEmpty else { return }
        func labels(_ figure: FailoverFigure) -> [(String, String)] { [("disruption", figure.disruption), ("source", figure.source)] }
        let baselined = figures.filter { $0.baselineShare != nil }
        if !baselined.isEmpty {
            out.family("meshcheck_failover_baseline_share", .gauge, "The disrupted clusters' share of the source's answers before the action.")
            for figure in baselined { out.sample("meshcheck_failover_baseline_share", labels(figure), figure.baselineShare ?? 0) }
        }
        let shifts = figures.filter { $0.kind != "abort" }
        if !shifts.isEmpty {
            out.family("meshcheck_failover_completed", .gauge, "1 when the source's traffic left the disrupted clusters, 0 when it never did.")
            for figure in shifts { out.sample("meshcheck_failover_completed", labels(figure), figure.failoverSeconds == nil ? 0 : 1) }
        }
        let failedOver = figures.filter { $0.failoverSeconds != nil }
        if !failedOver.isEmpty {
            out.family(
                "meshcheck_failover_seconds", .gauge,
                "From the action to the first window after which traffic stayed off the disrupted clusters (window-grained).")
            for figure in failedOver { out.sample("meshcheck_failover_seconds", labels(figure), figure.failoverSeconds ?? 0) }
        }
        out.family("meshcheck_failover_errors", .gauge, "Failed requests from the action to failover (abort: while the fault was in place).")
        for figure in figures { out.sample("meshcheck_failover_errors", labels(figure), Double(figure.errorsDuringFailover)) }
        out.family("meshcheck_failover_requests", .gauge, "All requests in the same windows as meshcheck_failover_errors.")
        for figure in figures { out.sample("meshcheck_failover_requests", labels(figure), Double(figure.requestsDuringFailover)) }
        out.family("meshcheck_failover_error_rate_bound", .gauge, "95 % Wilson interval of the error rate during failover (bound low or high).")
        for figure in figures {
            out.sample("meshcheck_failover_error_rate_bound", labels(figure) + [("bound", "low")], figure.errorRate.low)
            out.sample("meshcheck_failover_error_rate_bound", labels(figure) + [("bound", "high")], figure.errorRate.high)
        }
        let recovered = figures.filter { $0.recoverySeconds != nil }
        if !recovered.isEmpty {
            out.family(
                "meshcheck_recovery_seconds", .gauge, "From the restore to the first window after which the source was served as before (window-grained).")
            for figure in recovered { out.sample("meshcheck_recovery_seconds", labels(figure), figure.recoverySeconds ?? 0) }
        }
    }

    // MARK: Checks

    private static func checks(_ report: RunReport, into out: inout Exposition) {
        out.family("meshcheck_check_status", .gauge, "1 for each check's status, 0 for its other statuses (pass, fail, warn, skip).")
        for check in report.checks {
            let labels = [("check", check.name), ("source", check.source ?? ""), ("target", check.target ?? "")]
            for status in CheckStatus.allCases {
                out.sample("meshcheck_check_status", labels + [("status", status.rawValue)], status == check.status ? 1 : 0)
            }
        }
    }

    // MARK: Formatting

    static func startTimestamp(_ rfc3339: String) -> Double? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: rfc3339) { return date.timeIntervalSince1970 }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: rfc3339)?.timeIntervalSince1970
    }

    /// Go-compatible float text: integers without a fraction, others in Swift's shortest round-trip form.
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        return NumberFormat.shortest(value)
    }

    enum MetricType: String {
        case counter, gauge, histogram
    }

    /// Accumulates families: HELP and TYPE once, then that family's samples.
    struct Exposition {
        let constantLabels: [(String, String)]
        var text = ""

        mutating func family(_ name: String, _ type: MetricType, _ help: String) {
            let escapedHelp = help.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
            text += "# HELP \(name) \(escapedHelp)\n# TYPE \(name) \(type.rawValue)\n"
        }

        mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
            sample(name, labels, PrometheusMetrics.number(value))
        }

        mutating func sample(_ name: String, _ labels: [(String, String)], _ value: String) {
            let all = constantLabels + labels
            text += name
            if !all.isEmpty {
                text += "{" + all.map { "\($0.0)=\"\(Exposition.escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
            }
            text += " \(value)\n"
        }

        static func escapeLabel(_ value: String) -> String {
            var out = ""
            for scalar in value.unicodeScalars {
                switch scalar {
                case "\\": out += "\\\\"
                case "\"": out += "\\\""
                case "\n": out += "\\n"
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out
        }
    }
}
