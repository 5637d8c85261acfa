import MeshStats
import Testing

@testable import MeshCheck

@Suite struct RecordsReplayTests {
    func record(_ source: String, _ target: String?, _ instance: String?, status: Int = 200, exit: Int = 0, total: UInt64 = 4000, seq: UInt32 = 0)
        -> StoredRecord
    {
        StoredRecord(
            source: source, target: target, client: "sleep-\(source)", version: instance.map { _ in "v1" }, instance: instance, status: status,
            curlExit: exit, connectUs: 10, ttfbUs: total / 2, totalUs: total, burst: 0, worker: 0, seq: seq)
    }

    @Test func savedRecordsRebuildTheSameVerdict() throws {
        var records: [StoredRecord] = []
        for seq in 0..<30 {
            records.append(
                record("cluster-1", seq % 3 == 0 ? "cluster-2" : "cluster-1", seq % 3 == 0 ? "hw-2" : "hw-1", total: UInt64(1000 + seq), seq: UInt32(seq)))
            records.append(record("cluster-2", seq % 2 == 0 ? "cluster-2" : "cluster-1", seq % 2 == 0 ? "hw-2b" : "hw-1", seq: UInt32(seq)))
        }
        records.append(record("cluster-1", nil, nil, status: 0, exit: 28))
        var text: [UInt8] = []
        for stored in records { RecordsJSONL.append(stored, to: &text) }
        let read = RecordsReplay.read(String(decoding: text, as: UTF8.self) + "{\"source\":\"cluster-1\",\"tar")
        #expect(read.records == records)
        #expect(read.unreadableLines == [records.count + 1])

        let names = RecordsReplay.clusterNames(in: read.records)
        #expect(names == ["cluster-1", "cluster-2"])
        let replay = RecordsReplay.tally(read.records, clusterNames: names)
        #expect(replay.instancesPerCluster == ["cluster-1": 1, "cluster-2": 2])
        #expect(replay.tally.pair(source: 0, target: 0).successes == 20)
        #expect(replay.tally.pair(source: 0, target: 1).successes == 10)
        #expect(replay.tally.sources[0].errorsByKind == [.curl(28): 1])
        #expect(replay.tally.makeLatencyHistogram(source: 0, target: 0)?.max == 1029)

        var scenario = try Scenario.guideCheck(contexts: ["gke_p_z_cluster-1", "gke_p_z_cluster-2"])
        scenario.expectations.maxErrorRate = 0.05
        let outcome = Verdict.evaluate(
            VerdictInput(
                scenario: scenario, namespace: "ns", tally: replay.tally,
                readyEndpoints: replay.instancesPerCluster, pods: []))
        // One endpoint vs two: cluster-1 is expected to get a third.
        #expect(outcome.checks.first { $0.name == "balance" && $0.source == "cluster-1" }?.balance?.shares.map(\.expectedShare) == [1.0 / 3, 2.0 / 3])
        #expect(outcome.traffic.map(\.requests) == [20, 10, 15, 15])
    }

    /// A replay keeps the saved report's secret, sync and endpoint layers (their views are not saved) and judges
    /// the answers again from the records; the explanation the layers give stays the same.
    @Test func savedLayersAreCarriedAndTheAnswersJudgedAgain() throws {
        var records: [StoredRecord] = []
        for seq in 0..<20 {
            records.append(record("cluster-1", "cluster-1", "hw-1", seq: UInt32(seq)))
            records.append(record("cluster-2", seq % 2 == 0 ? "cluster-2" : "cluster-1", seq % 2 == 0 ? "hw-2" : "hw-1", seq: UInt32(seq)))
        }
        let scenario = try Scenario.guideCheck(contexts: ["gke_p_z_cluster-1", "gke_p_z_cluster-2"])
        let unsynced = PairLayers(
            source: "cluster-1", target: "cluster-2",
            layers: [
                PairLayerResult(layer: .secret, status: .pass, evidence: "cluster-1: istio-remote-secret-cluster-2 points at cluster-2"),
                PairLayerResult(layer: .sync, status: .fail, evidence: "istiod-1 in cluster-1: cluster-2 timeout", hint: "let istiod reach cluster-2"),
                PairLayerResult(layer: .endpoints, status: .fail, evidence: "sleep-1 holds no endpoint for cluster-2"),
                PairLayerResult(layer: .traffic, status: .pass, evidence: "stale"),
            ])
        var base = RunReport(
            runId: "r", verdict: .fail, startedAt: "2026-12-02T00:00:00Z", durationSeconds: 1, namespace: "ns", revision: nil, clusters: [],
            checks: [], traffic: [], sources: [], phases: [], convergeSeconds: nil, retries: [], exec: ExecStats(sessions: 0, failed: 0, roundTripMs: nil),
            cleanup: CleanupReport(status: .done, leftovers: []), scenario: ScenarioEcho(scenario))
        base.layers = [unsynced]
        let report = try RecordsReplay.report(records: records, base: base)
        #expect(report.schemaVersion == RunReport.currentSchemaVersion)
        let pair = try #require(report.layers?.first { $0.source == "cluster-1" && $0.target == "cluster-2" })
        #expect(pair.layers.dropLast() == unsynced.layers.dropLast())
        #expect(pair.result(.traffic)?.evidence == "none of 20 answers from cluster-1 came from cluster-2")
        #expect(pair.firstBroken == .sync)
        let reached = try #require(report.checks.first { $0.name == CheckName.allClustersReached && $0.source == "cluster-1" })
        #expect(reached.cause?.hasPrefix("layer control plane sync: istiod-1 in cluster-1: cluster-2 timeout") == true, "\(reached.cause ?? "")")
        #expect(reached.hint == "let istiod reach cluster-2")
        #expect(report.layers?.count == 4, "every source × serving cluster")
    }

    @Test func scenarioEchoRoundTrips() throws {
        let full = try ScenarioLoader.parse(
            yaml: """
                name: full
                clusters:
                  - {context: ctx-a, name: east, serves: v1, clients: false, replicas: {helloworld: 2}}
                  - {context: ctx-b, name: west, serves: none, replicas: {sleep: 3}}
                  - {context: ctx-c, serves: v3}
                namespace: meshcheck-fixed
                images:
                  registry: mirror.example.com:5000/istio
                  helloworld: {v1: mirror.example.com:5000/hw@sha256:abc123}
                  pullSecrets: [regcred]
                  pullSecretsFrom: secrets-src
                mesh: {revision: asm-managed}
                load: {requestsPerBurst: 100, mode: paced, ratePerSecond: 12.5, parallelism: 2, requestTimeout: 1500ms}
                expectations:
                  balance: {weights: {east: 1, ctx-c: 2}}
                  latencySLO:
                    local: {p50: 10}
                    pairs: [{source: west, target: east, p99: 900}]
                cleanup: on-success
                """, file: "full.yaml")
        for scenario in [full, try Scenario.guideCheck(contexts: ["a", "b", "c"])] {
            #expect(try ScenarioEcho(scenario).scenario() == scenario)
        }
    }
}
