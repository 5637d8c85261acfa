// Rebuilding a run's tally from saved records (`meshcheck report --from-records FILE...`), so a report
// can be recomputed, or several runs merged, without the clusters. Pure: text in, tally out.

import Foundation
import MeshStats

/// Records read back from records.jsonl text.
public struct StoredRecords: Sendable, Equatable {
    public var records: [StoredRecord]
    /// 1-based numbers of lines that were not a record (blank lines are skipped silently).
    public var unreadableLines: [Int]
}

public enum RecordsReplay {
    /// Parses records.jsonl text; lines that do not decode are listed, never fatal (a crash mid-write
    /// leaves at most one partial last line).
    public static func read(_ text: String) -> StoredRecords {
        let decoder = JSONDecoder()
        var records: [StoredRecord] = [], unreadable: [Int] = []
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
    public static func clusterNames(in records: [StoredRecord]) -> [String] {
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
    public static func tally(_ records: [StoredRecord], clusterNames: [String]) -> (tally: TrafficTally, instancesPerCluster: [String: Int]) {
        var tally = TrafficTally(clusterNames: clusterNames)
        var names = NameTable()
        var index: [String: Int] = [:]
        for (position, name) in clusterNames.enumerated() { index[name] = position }
        var instances: [String: Set<String>] = [:]
        for record in records {
            guard let source = index[record.source] else { continue }
            let instance = record.instance.map { names.intern($0) } ?? .absent
            if let target = record.target, let targetIndex = index[target], !instance.isAbsent {
                tally.assign(instance: instance, toCluster: targetIndex)
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
}

extension ScenarioEcho {
    /// The scenario a report ran with, rebuilt from its echo (to judge saved records the same way).
    public func scenario() throws(ScenarioError) -> Scenario {
        func duration(_ seconds: Double) -> Duration { .milliseconds(Int64((seconds * 1000).rounded())) }
        let mode: LoadMode
        switch load.mode {
        case "parallel-in-pod": mode = .parallelInPod(parallelism: load.parallelism)
        case "paced": mode = .paced(ratePerSecond: load.ratePerSecond ?? 1, parallelism: load.parallelism)
        default: mode = .sequential
        }
        let balance: BalanceExpectation
        switch expectations.balance {
        case "weights": balance = .weights(expectations.weights ?? [:])
        case "local-preferred": balance = .localPreferred(minLocalShare: expectations.minLocalShare ?? MeshCheck.Expectations.defaultMinLocalShare)
        case "any-cross-cluster": balance = .anyCrossCluster
        default: balance = .proportionalToEndpoints
        }
        func bounds(_ entry: Bounds) -> LatencyBounds { LatencyBounds(p50: entry.p50, p90: entry.p90, p99: entry.p99) }
        let slo = LatencySLO(
            local: expectations.latencySLO["local"]?.first.map(bounds) ?? LatencyBounds(),
            crossCluster: expectations.latencySLO["crossCluster"]?.first.map(bounds) ?? LatencyBounds(),
            pairs: (expectations.latencySLO["pairs"] ?? []).compactMap { entry in
                guard let source = entry.source, let target = entry.target else { return nil }
                return PairLatencySLO(source: source, target: target, bounds: bounds(entry))
            })
        let overrides = images.helloworld.filter { version, image in image != "\(images.registry)/examples-helloworld-\(version):1.0" }
        let scenario = Scenario(
            name: name,
            clusters: clusters.map {
                ClusterSpec(context: $0.context, name: $0.name, serves: $0.serves == "none" ? nil : $0.serves, clients: $0.clients,
                            helloworldReplicas: $0.helloworldReplicas, sleepReplicas: $0.sleepReplicas)
            },
            namespace: namespace,
            images: ImageSettings(registry: images.registry, helloworldOverrides: overrides, sleep: images.sleep,
                                  pullSecrets: images.pullSecrets, pullSecretsFrom: images.pullSecretsFrom),
            revision: revision == "auto" ? .auto : .explicit(revision),
            load: LoadSettings(requestsPerBurst: load.requestsPerBurst, bursts: load.bursts,
                               concurrentBurstsPerClientPod: load.concurrentBurstsPerClientPod, clientReplicas: load.clientReplicas,
                               mode: mode, requestTimeout: duration(load.requestTimeoutSeconds), connectTimeout: duration(load.connectTimeoutSeconds)),
            timeouts: PhaseTimeouts(deploy: duration(timeouts.deploySeconds), converge: duration(timeouts.convergeSeconds),
                                    bursts: duration(timeouts.burstsSeconds), cleanup: duration(timeouts.cleanupSeconds)),
            expectations: MeshCheck.Expectations(balance: balance, significance: expectations.significance, maxErrorRate: expectations.maxErrorRate,
                                       latencySLO: slo),
            cleanup: CleanupPolicy(rawValue: cleanup) ?? .always,
            reuse: reuse)
        try scenario.validated(source: "report.json scenario")
        return scenario
    }
}
