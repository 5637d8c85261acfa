// Rebuilding a run's tally and report from saved records (`meshcheck report --from-records FILE...`), so
// a report can be recomputed, or several runs merged, without the clusters. Pure: text in, report out;
// the report comes from the same verdict and builder as a run's.

import Foundation
import MeshStats

/// Records read back from records.jsonl text.
package struct StoredRecords: Sendable, Equatable {
    package var records: [StoredRecord]
    /// 1-based numbers of lines that were not a record (blank lines are skipped silently).
    package var unreadableLines: [Int]
}

package enum RecordsReplay {
    /// Parses records.jsonl text; lines that do not decode are listed, never fatal (a crash mid-write
    /// leaves at most one partial last line).
    package static func read(_ text: String) -> StoredRecords {
        let decoder = JSONDecoder()
        var records: [StoredRecord] = []
        var unreadable: [Int] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy(\.isWhitespace) { continue }
            if let record = try? decoder.decode(StoredRecord.self, from: Data(line.utf8)) {
                records.append(record)
            } else {
                unreadable.append(index + 1)
            }
        }
        return StoredRecords(records: records, unreadableLines: unreadable)
    }

    /// The cluster names records mention, sources first in order of appearance, then other targets.
    package static func clusterNames(in records: [StoredRecord]) -> [String] {
        var names: [String] = []
        for record in records where !names.contains(record.source) { names.append(record.source) }
        for record in records {
            if let target = record.target, !names.contains(target) { names.append(target) }
        }
        return names
    }

    /// A tally over `clusterNames` (every source and target in the records must be among them) and the
    /// number of distinct instances seen answering per cluster, which stands in for ready endpoints
    /// when judging saved records.
    package static func tally(_ records: [StoredRecord], clusterNames: [String]) -> (tally: TrafficTally, instancesPerCluster: [String: Int]) {
        var tally = TrafficTally(clusterNames: clusterNames)
        var names = NameTable()
        var index: [String: Int] = [:]
        for (position, name) in clusterNames.enumerated() { index[name] = position }
        var instances: [String: Set<String>] = [:]
        for record in records {
            guard let source = index[record.source] else { continue }
            let instance = record.instance.map { names.intern($0) } ?? .absent
            if let target = record.target, let targetIndex = index[target], !instance.isAbsent {
                tally.assign(instance: instance, named: record.instance!, toCluster: targetIndex)
                instances[target, default: []].insert(record.instance!)
            }
            let sample = RequestSample(
                burst: record.burst, worker: record.worker, sequence: record.seq, status: UInt16(clamping: record.status),
                curlExit: UInt16(clamping: record.curlExit), connectMicros: record.connectUs, firstByteMicros: record.ttfbUs,
                totalMicros: record.totalUs, version: record.version.map { names.intern($0) } ?? .absent, instance: instance)
            tally.record(sample, source: source)
        }
        return (tally, instances.mapValues(\.count))
    }

    /// The requests placed on the timeline by their `atMs`, in `window`s; nil when no record has `atMs` (records written
    /// before the timeline), so such a replay has no timeline rather than an empty one. Records without `atMs` among
    /// others are left out of it (they still count in the tally). Records of several runs share one axis: each
    /// run's time 0 is the start of its load.
    package static func timeline(_ records: [StoredRecord], clusterNames: [String], window: Duration) -> TimelineTally? {
        var index: [String: Int] = [:]
        for (position, name) in clusterNames.enumerated() { index[name] = position }
        var timeline = TimelineTally(clusterCount: clusterNames.count, windowMicros: window.wholeMicroseconds)
        var placed = false
        for record in records {
            guard let atMicros = record.atMicros, let source = index[record.source] else { continue }
            placed = true
            // As the traffic tally decides: a success is a 200 without a curl error from a known pod of the run.
            let target = record.instance == nil ? nil : record.target.flatMap { index[$0] }
            timeline.record(
                source: source, target: target, succeeded: record.status == 200 && record.curlExit == 0, atMicros: atMicros,
                totalMicros: record.totalUs)
        }
        return placed ? timeline : nil
    }

    /// The report recomputed from `records`, possibly of several runs. With the run's report.json
    /// (`base`) the scenario, clusters and run facts come from it and only the traffic, its checks and
    /// the verdict are recomputed; without it the clusters are those the records name, each serving the
    /// version it answered with, judged proportional to the instances seen.
    package static func report(records: [StoredRecord], base: RunReport?, now: Date = Date()) throws(ScenarioError) -> RunReport {
        let scenario: Scenario
        if let base { scenario = try base.scenario.scenario() } else { scenario = try scenarioFromRecords(records) }
        let names = scenario.clusters.map(\.name)
        let unknown = Set(clusterNames(in: records)).subtracting(names)
        if !unknown.isEmpty {
            throw ScenarioError(problems: [
                ScenarioProblem(
                    file: "report.json", line: nil, path: "clusters",
                    message:
                        "the records name clusters the report does not: \(unknown.sorted().joined(separator: ", ")); give the report of the run that wrote them"
                )
            ])
        }
        let (tally, instances) = tally(records, clusterNames: names)
        // The saved report states the window the run used, whether or not its scenario echo does.
        let window = base?.timeline.flatMap { savedWindow($0.windowSeconds) } ?? scenario.timeline.window
        let timeline = timeline(records, clusterNames: names, window: window)
        // The disruptions and localities are facts of the run the saved report states; the records hold neither.
        let disruptions = base?.timeline?.disruptions ?? []
        var localities: [String: ClusterLocality] = [:]
        for cluster in base?.clusters ?? [] { localities[cluster.name] = cluster.locality }
        let namespace = base?.namespace ?? scenario.namespace ?? "unknown"
        let judged = Verdict.evaluate(
            VerdictInput(
                scenario: scenario, namespace: namespace, tally: tally, readyEndpoints: instances, pods: [],
                previousChecks: base?.checks ?? [], sidecarReadings: base?.sidecarEndpoints ?? [], previousLayers: base?.layers ?? [],
                timeline: timeline, disruptions: disruptions, localities: localities))
        var facts = RunFacts(
            runId: base?.runId ?? "from-records", startedAt: base?.startedAt ?? RunFacts.timestamp(now), durationSeconds: base?.durationSeconds ?? 0,
            namespace: namespace, revision: base?.revision, scenario: scenario, readyEndpoints: instances, phases: base?.phases ?? [],
            convergeSeconds: base?.convergeSeconds, retries: base?.retries ?? [], exec: base?.exec ?? ExecStats(sessions: 0, failed: 0, roundTripMs: nil),
            cleanup: base?.cleanup ?? CleanupReport(status: .skipped, leftovers: []), sidecarEndpoints: base?.sidecarEndpoints)
        facts.timeline = timeline
        facts.disruptions = disruptions
        facts.localities = localities
        return RunReportBuilder.report(facts: facts, judged: judged, end: .completed).report
    }

    /// A saved report's window width, when it is one the scenario could have set (a corrupt value falls back to the
    /// scenario's).
    static func savedWindow(_ seconds: Double) -> Duration? {
        guard seconds.isFinite, seconds >= 0.001, seconds <= 3600 else { return nil }
        return .microseconds(Int64((seconds * 1_000_000).rounded()))
    }

    /// Sources send, targets serve the version they answered with most often.
    static func scenarioFromRecords(_ records: [StoredRecord]) throws(ScenarioError) -> Scenario {
        let names = clusterNames(in: records)
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
