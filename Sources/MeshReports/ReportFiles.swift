// Writes a run's report files into its output directory. Records (records.jsonl) are streamed by
// the run itself while it happens; everything here is rendered from the finished report.

import Foundation
import MeshCheck

public enum ReportFiles {
    /// `report.json`: stable key order, so reports diff cleanly.
    public static func json(_ report: RunReport) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(report)
        data.append(0x0A)
        return data
    }

    /// The files rendered from a report, by the `--format` name of `meshcheck report`.
    public enum Format: String, CaseIterable, Sendable {
        case json, md, junit, html, prom

        public var fileName: String {
            switch self {
            case .json: return "report.json"
            case .md: return "summary.md"
            case .junit: return "junit.xml"
            case .html: return "report.html"
            case .prom: return "metrics.prom"
            }
        }

        func render(_ report: RunReport) throws -> Data {
            switch self {
            case .json: return try ReportFiles.json(report)
            case .md: return Data(MarkdownSummary.render(report).utf8)
            case .junit: return Data(JUnitReport.render(report).utf8)
            case .html: return Data(HTMLReport.render(report).utf8)
            case .prom: return Data(PrometheusMetrics.render(report).utf8)
            }
        }
    }

    /// Writes report.json, summary.md, junit.xml, report.html and metrics.prom (or only `formats`) into
    /// `directory` (which exists).
    public static func write(_ report: RunReport, to directory: String, formats: [Format] = Format.allCases) throws {
        let files: [(String, Data)] = try formats.map { ($0.fileName, try $0.render(report)) }
        for (name, data) in files {
            let url = URL(fileURLWithPath: directory).appendingPathComponent(name)
            do {
                try data.write(to: url, options: .atomic)
            } catch {
                throw ReportWriteError(path: url.path, reason: error.localizedDescription)
            }
        }
    }
}

public struct ReportWriteError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "cannot write \(path): \(reason) — check --output-dir" }
}

/// A report recomputed from saved records (`meshcheck report --from-records`), possibly merging several
/// runs. With the run's report.json the scenario, clusters and run facts come from it and only the
/// traffic, its checks and the verdict are recomputed; without it the clusters are those the records
/// name, each serving the version it answered with, judged proportional to the instances seen.
public enum RecomputedReport {
    public static func make(records: [StoredRecord], base: RunReport?, now: Date = Date()) throws(ScenarioError) -> RunReport {
        let scenario: Scenario
        if let base { scenario = try base.scenario.scenario() } else { scenario = try scenarioFromRecords(records) }
        let names = scenario.clusters.map(\.name)
        let unknown = Set(RecordsReplay.clusterNames(in: records)).subtracting(names)
        if !unknown.isEmpty {
            throw ScenarioError(problems: [ScenarioProblem(file: "report.json", line: nil, path: "clusters",
                                                           message: "the records name clusters the report does not: \(unknown.sorted().joined(separator: ", ")); give the report of the run that wrote them")])
        }
        let (tally, instances) = RecordsReplay.tally(records, clusterNames: names)
        let namespace = base?.namespace ?? scenario.namespace ?? "unknown"
        let outcome = Verdict.evaluate(VerdictInput(scenario: scenario, namespace: namespace, tally: tally, readyEndpoints: instances, pods: []))
        // Checks that are not about traffic (preflight, cleanup) stay as the run reported them.
        let recomputed = Set(outcome.checks.map(\.name))
        let kept = (base?.checks ?? []).filter { !recomputed.contains($0.name) }
        let checks = kept + outcome.checks
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return RunReport(
            runId: base?.runId ?? "from-records", verdict: RunReport.verdict(of: checks), startedAt: base?.startedAt ?? formatter.string(from: now),
            durationSeconds: base?.durationSeconds ?? 0, namespace: namespace, revision: base?.revision,
            clusters: scenario.clusters.map {
                ClusterEntry(name: $0.name, context: $0.context, serves: $0.serves, clients: $0.clients, readyEndpoints: $0.serves == nil ? nil : instances[$0.name] ?? 0)
            },
            checks: checks, traffic: TrafficRow.withLatencyHistograms(outcome.traffic, from: tally), sources: outcome.sources,
            phases: base?.phases ?? [], convergeSeconds: base?.convergeSeconds, retries: base?.retries ?? [],
            exec: base?.exec ?? ExecStats(sessions: 0, failed: 0, roundTripMs: nil),
            cleanup: base?.cleanup ?? CleanupReport(status: .skipped, leftovers: []), scenario: ScenarioEcho(scenario))
    }

    /// Sources send, targets serve the version they answered with most often.
    static func scenarioFromRecords(_ records: [StoredRecord]) throws(ScenarioError) -> Scenario {
        let names = RecordsReplay.clusterNames(in: records)
        guard !names.isEmpty else {
            throw ScenarioError(problems: [ScenarioProblem(file: "records", line: nil, path: "", message: "no records to judge")])
        }
        let sources = Set(records.map(\.source))
        var versions: [String: [String: Int]] = [:]
        for record in records {
            if let target = record.target, let version = record.version { versions[target, default: [:]][version, default: 0] += 1 }
        }
        let clusters = names.map { name in
            let serves = versions[name]?.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key
            return ClusterSpec(context: name, name: name, serves: serves, clients: sources.contains(name), helloworldReplicas: 1, sleepReplicas: 1)
        }
        let scenario = Scenario(name: "from-records", clusters: clusters)
        try scenario.validated(source: "records")
        return scenario
    }
}
