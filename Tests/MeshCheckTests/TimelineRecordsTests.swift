import Foundation
import KubeClient
import MeshStats
import MeshTestSupport
import Testing

@testable import MeshCheck

/// Requests placed in time: by a burst session on the run's clock, in records.jsonl as `atMs`, rebuilt from saved
/// records, and in report.json's `timeline`.
@Suite struct TimelineRecordsTests {
    static func command(requests: Int = 3) -> BurstCommand {
        BurstCommand(
            target: .helloWorld(namespace: "ns"), burst: 0, requests: requests, workers: 1, intervalMicroseconds: 0,
            lateThresholdMicroseconds: 0, connectTimeout: .seconds(1), requestTimeout: .seconds(1))
    }

    static func feed(_ session: BurstSession, _ text: String) {
        Array(text.utf8).withUnsafeBytes { session.receive($0, from: .stdout) }
    }

    /// A request is placed at its chunk's arrival minus its in-pod duration. The clock's origin lies 90 s in the past
    /// and windows are 60 s wide, so where each request lands does not depend on how fast the test runs: a 2 ms
    /// request lands in window 1 ([60 s, 120 s)), one of 50 s in window 0, and records.jsonl says the same.
    @Test func aSessionPlacesRequestsAtArrivalMinusTheirDuration() throws {
        let directory = try TemporaryDirectory()
        defer { withExtendedLifetime(directory) {} }
        let path = directory.path("records.jsonl")
        let records = try RecordsFile(path: path)
        let base = AttributionBase(
            clusterNames: ["east", "west"], helloworldPods: [("hw-east", 0), ("hw-west", 1)], versions: ["v1"], timelineWindow: .seconds(60))
        let clock = LoadClock(origin: .now - .seconds(90))
        let session = BurstSession(source: 1, clientPod: "sleep-0", command: Self.command(), base: base, records: records, clock: clock)
        let before = clock.nowMicros()
        Self.feed(
            session,
            "MC1-BEGIN 0 0\nMC1 0 0 0 200 0 0.000100 0.001000 0.002000 v1 hw-east\nMC1 0 0 1 200 0 0.000100 0.001000 50.000000 v1 hw-west\n"
                + "MC1 0 0 2 503 0 0.000100 0.001000 0.001000 v1 hw-west\nMC1-END 0 0 3\n")
        let after = clock.nowMicros()
        session.finish(execFailed: false)
        records.close()

        let timeline = try #require(session.timeline)
        let windows = timeline.windows(source: 1)
        #expect(windows.map(\.index) == [0, 1])
        #expect(windows[0].window.successes == [0, 1])
        #expect(windows[1].window.successes == [1, 0])
        #expect(windows[1].window.errors == 1)
        #expect(windows[1].window.errorsByTarget == [0, 1])
        #expect(timeline.windows(source: 0).isEmpty)

        let stored = RecordsReplay.read(try String(contentsOfFile: path, encoding: .utf8)).records
        #expect(stored.count == 3)
        for (record, total) in zip(stored, [2_000, 50_000_000, 1_000] as [Int64]) {
            let at = try #require(record.atMicros)
            #expect(at >= before - total && at <= after - total, "atMs \(record.atMs ?? -1) outside [\(before - total), \(after - total)] µs")
        }
    }

    /// Converge probes and benchmarks without a clock place nothing and write no `atMs`.
    @Test func aSessionWithoutAClockHasNoTimeline() throws {
        let directory = try TemporaryDirectory()
        defer { withExtendedLifetime(directory) {} }
        let path = directory.path("records.jsonl")
        let records = try RecordsFile(path: path)
        let base = AttributionBase(clusterNames: ["east"], helloworldPods: [("hw-east", 0)], versions: ["v1"])
        let session = BurstSession(source: 0, clientPod: "sleep-0", command: Self.command(requests: 1), base: base, records: records, clock: nil)
        Self.feed(session, "MC1 0 0 0 200 0 0.000100 0.001000 0.002000 v1 hw-east\nMC1-END 0 0 1\n")
        session.finish(execFailed: false)
        records.close()
        #expect(session.timeline == nil)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!text.contains("atMs"))
        #expect(RecordsReplay.read(text).records.map(\.atMs) == [nil])
    }

    static func record(_ source: String, _ target: String?, atMs: Double?, status: Int = 200, total: UInt64 = 2000) -> StoredRecord {
        StoredRecord(
            source: source, target: target, client: "sleep", version: "v1", instance: target.map { "hw-\($0)" }, status: status, curlExit: 0,
            connectUs: 1, ttfbUs: 2, totalUs: total, burst: 0, worker: 0, seq: 0, engine: "fresh", reused: false, atMs: atMs)
    }

    @Test func atMsIsWrittenWithThreeDecimalsAndReadBack() {
        let records = [
            Self.record("east", "west", atMs: 1234.567), Self.record("east", "west", atMs: -0.25), Self.record("east", nil, atMs: 0),
            Self.record("east", "east", atMs: nil), Self.record("east", "east", atMs: 7),
        ]
        var bytes: [UInt8] = []
        for record in records { RecordsJSONL.append(record, to: &bytes) }
        let text = String(decoding: bytes, as: UTF8.self)
        let lines = text.split(separator: "\n")
        #expect(lines[0].hasSuffix(#","engine":"fresh","reused":false,"atMs":1234.567}"#))
        #expect(lines[1].hasSuffix(#""atMs":-0.250}"#))
        #expect(lines[2].hasSuffix(#""atMs":0.000}"#))
        #expect(lines[3].hasSuffix(#""reused":false}"#))
        #expect(lines[4].hasSuffix(#""atMs":7.000}"#))
        #expect(RecordsReplay.read(text).records == records)
        #expect(records.map(\.atMicros) == [1_234_567, -250, 0, nil, 7000])
    }

    @Test func extremeTimesStayWithinTheLine() {
        var bytes: [UInt8] = []
        for micros in [Int64.min, .max, -1, 999] {
            RecordsJSONL.append(
                source: JSONStringBytes("a"), target: .null, client: .null, version: .null, instance: .null, status: 0, curlExit: 7,
                connectUs: .max, ttfbUs: .max, totalUs: .max, burst: .max, worker: .max, seq: .max, connectionReuse: true, atMicros: micros, to: &bytes)
        }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n")
        #expect(lines.map { $0.split(separator: ":").last.map(String.init) } == ["-9223372036854775.808}", "9223372036854775.807}", "-0.001}", "0.999}"])
        let read = RecordsReplay.read(lines.joined(separator: "\n"))
        #expect(read.unreadableLines.isEmpty)
        #expect(read.records.map(\.atMicros) == [Int64.min, .max, -1, 999])
    }

    @Test func replayRebuildsTheTimelineFromAtMs() throws {
        let records = [
            Self.record("east", "east", atMs: 100), Self.record("east", "west", atMs: 1500.5), Self.record("west", nil, atMs: 2999, status: 503),
            Self.record("west", "west", atMs: nil),
        ]
        let timeline = try #require(RecordsReplay.timeline(records, clusterNames: ["east", "west"], window: .seconds(1)))
        #expect(timeline.windows(source: 0).map(\.window.successes) == [[1, 0], [0, 1]])
        #expect(timeline.windows(source: 1).map(\.window.errors) == [0, 0, 1])
        #expect(timeline.windows(source: 1).map(\.window.requests) == [0, 0, 1], "the record without atMs is not placed")
        #expect(RecordsReplay.timeline(records.filter { $0.atMs == nil }, clusterNames: ["east", "west"], window: .seconds(1)) == nil)
    }

    static func baseReport(scenario: Scenario, timeline: RunTimeline?) -> RunReport {
        RunReport(
            runId: "r", verdict: .pass, startedAt: "2026-12-02T00:00:00Z", durationSeconds: 60, namespace: "ns", revision: nil,
            clusters: [
                ClusterEntry(
                    name: "cluster-1", context: "c1", serves: "v1", clients: true, readyEndpoints: 1,
                    locality: ClusterLocality(region: "us-central1", zone: "us-central1-a")),
                ClusterEntry(name: "cluster-2", context: "c2", serves: "v2", clients: true, readyEndpoints: 1),
            ],
            checks: [], traffic: [], sources: [], phases: [], convergeSeconds: nil, retries: [], exec: ExecStats(sessions: 0, failed: 0, roundTripMs: nil),
            cleanup: CleanupReport(status: .done, leftovers: []), scenario: ScenarioEcho(scenario), timeline: timeline)
    }

    /// `report --from-records` with the run's report.json: the timeline in the saved window, the saved disruptions.
    @Test func replayTakesWindowAndDisruptionsFromTheSavedReport() throws {
        let scenario = try Scenario.guideCheck(contexts: ["gke_p_z_cluster-1", "gke_p_z_cluster-2"])
        let disruption = DisruptionRecord(
            name: "drain-2", kind: "scale-to-zero", clusters: ["cluster-2"], at: 1, restoreAt: 2, appliedAtMs: 1010, restoredAtMs: 2040)
        let saved = RunTimeline(windowSeconds: 0.5, disruptions: [disruption], sources: [])
        var records: [StoredRecord] = []
        for index in 0..<12 {
            records.append(Self.record("cluster-1", index % 2 == 0 ? "cluster-1" : "cluster-2", atMs: Double(index) * 250 + 10))
            records.append(Self.record("cluster-2", index % 2 == 0 ? "cluster-1" : "cluster-2", atMs: Double(index) * 250 + 20))
        }
        let report = try RecordsReplay.report(records: records, base: Self.baseReport(scenario: scenario, timeline: saved))
        let timeline = try #require(report.timeline)
        #expect(timeline.windowSeconds == 0.5)
        #expect(timeline.origin == "start of the load")
        #expect(timeline.disruptions == [disruption])
        #expect(timeline.sources.map(\.source) == ["cluster-1", "cluster-2"])
        #expect(timeline.sources[0].windows.map(\.startSeconds) == [0, 0.5, 1, 1.5, 2, 2.5])
        #expect(timeline.sources[0].windows.map(\.requests) == [2, 2, 2, 2, 2, 2])
        #expect(timeline.sources[0].windows[0].byCluster == ["cluster-1": 1, "cluster-2": 1])
        #expect(report.clusters.first?.locality == ClusterLocality(region: "us-central1", zone: "us-central1-a"))

        // Records written before the timeline replay as before: no timeline, whatever the saved report had.
        let old = records.map {
            var record = $0
            record.atMs = nil
            return record
        }
        #expect(try RecordsReplay.report(records: old, base: Self.baseReport(scenario: scenario, timeline: saved)).timeline == nil)
        // A corrupt saved window falls back to the scenario's (1 s).
        let corrupt = RunTimeline(windowSeconds: .infinity, disruptions: [], sources: [])
        #expect(try RecordsReplay.report(records: records, base: Self.baseReport(scenario: scenario, timeline: corrupt)).timeline?.windowSeconds == 1)
    }

    /// The builder's timeline: every window to a source's last, names for clusters, quantiles in ms, empty sources left out.
    @Test func theReportTimelineStatesEveryWindow() throws {
        var tally = TimelineTally(clusterCount: 3, windowMicros: 250_000)
        for micros in [1000, 3000, 2000] as [UInt64] {
            tally.record(source: 0, target: 1, succeeded: true, atMicros: 10, totalMicros: micros)
        }
        tally.record(source: 0, target: 2, succeeded: false, atMicros: 600_000, totalMicros: 1)
        tally.record(source: 2, target: 0, succeeded: true, atMicros: 0, totalMicros: 500)
        let disruption = DisruptionRecord(name: "d", kind: "abort", clusters: ["b"], percent: 50, httpStatus: 503, at: 0.5, restoreAt: nil, appliedAtMs: 510)
        let timeline = RunReportBuilder.timeline(tally, clusterNames: ["a", "b", "c"], disruptions: [disruption])
        #expect(timeline.windowSeconds == 0.25)
        #expect(timeline.disruptions == [disruption])
        #expect(timeline.requestsBeyondLimit == nil)
        #expect(timeline.sources.map(\.source) == ["a", "c"])
        #expect(
            timeline.sources[0].windows == [
                TimelineWindowEntry(startSeconds: 0, requests: 3, errors: 0, byCluster: ["b": 3], p50Ms: 2, p99Ms: 3),
                TimelineWindowEntry(startSeconds: 0.25, requests: 0, errors: 0, byCluster: [:], p50Ms: nil, p99Ms: nil),
                TimelineWindowEntry(startSeconds: 0.5, requests: 1, errors: 1, byCluster: [:], p50Ms: nil, p99Ms: nil),
            ])
        #expect(timeline.endSeconds == 0.75)

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let object = try #require(try JSONSerialization.jsonObject(with: encoder.encode(timeline)) as? [String: Any])
        #expect(Set(object.keys) == ["windowSeconds", "origin", "disruptions", "sources"])
        let window = try #require(((object["sources"] as? [[String: Any]])?.first?["windows"] as? [[String: Any]])?.first)
        #expect(Set(window.keys) == ["startSeconds", "requests", "errors", "byCluster", "p50Ms", "p99Ms"])
    }

    /// A run's report has the timeline its state merged from the sessions, and none when nothing was placed.
    @Test func theBuilderAddsTheTimelineOnlyWhenThereIsOne() throws {
        let scenario = try Scenario.guideCheck(contexts: ["gke_p_z_cluster-1", "gke_p_z_cluster-2"])
        var facts = RunFacts(
            runId: "r", startedAt: "2026-12-02T00:00:00Z", durationSeconds: 1, namespace: "ns", revision: nil, scenario: scenario,
            readyEndpoints: [:], phases: [], convergeSeconds: nil, retries: [], exec: ExecStats(sessions: 0, failed: 0, roundTripMs: nil),
            cleanup: CleanupReport(status: .done, leftovers: []))
        #expect(RunReportBuilder.report(facts: facts, judged: nil, end: .completed).report.timeline == nil)
        var tally = TimelineTally(clusterCount: 2, windowMicros: 1_000_000)
        tally.record(source: 1, target: 0, succeeded: true, atMicros: 1_500_000, totalMicros: 10)
        facts.timeline = tally
        let report = RunReportBuilder.report(facts: facts, judged: nil, end: .completed).report
        #expect(report.schemaVersion == 3)
        #expect(report.timeline?.sources.map(\.source) == ["cluster-2"])
        #expect(report.timeline?.sources.first?.windows.map(\.byCluster) == [[:], ["cluster-1": 1]])
    }
}
