import Foundation
import Testing

@testable import MeshCheck

@Suite struct ReportModelTests {
    @Test func recordLinesAreJSONThatDecodesBack() throws {
        let records = [
            StoredRecord(
                source: "cluster-1", target: "cluster-2", client: "sleep-abc", version: "v2", instance: "helloworld-v2-x",
                status: 200, curlExit: 0, connectUs: 0, ttfbUs: 1234, totalUs: 18_446_744_073_709_551_615,
                burst: 4_294_967_295, worker: 3, seq: 10),
            StoredRecord(
                source: "cluster-1", target: nil, client: nil, version: nil, instance: nil, status: 0, curlExit: 7,
                connectUs: 9, ttfbUs: 10, totalUs: 11, burst: 0, worker: 0, seq: 0),
            StoredRecord(
                source: "we\"ird\\name\n\u{1}é", target: "t", client: "c", version: "v", instance: "i", status: 503, curlExit: 0,
                connectUs: 100, ttfbUs: 200, totalUs: 300, burst: 1, worker: 2, seq: 3),
            // The reuse engine: no connect time with an answer means the connection was already open.
            StoredRecord(
                source: "a", target: "b", client: "c", version: "v1", instance: "i", status: 200, curlExit: 0, connectUs: 0,
                ttfbUs: 200, totalUs: 300, burst: 1, worker: 2, seq: 4, engine: "reuse", reused: true),
            StoredRecord(
                source: "a", target: "b", client: "c", version: "v1", instance: "i", status: 200, curlExit: 0, connectUs: 80,
                ttfbUs: 200, totalUs: 300, burst: 1, worker: 2, seq: 0, engine: "reuse", reused: false),
            StoredRecord(
                source: "a", target: nil, client: "c", version: nil, instance: nil, status: 0, curlExit: 7, connectUs: 0,
                ttfbUs: 0, totalUs: 300, burst: 1, worker: 2, seq: 5, engine: "reuse", reused: false),
            StoredRecord(
                source: "a", target: "b", client: "c", version: "v1", instance: "i", status: 200, curlExit: 0, connectUs: 90,
                ttfbUs: 200, totalUs: 300, burst: 1, worker: 2, seq: 4, engine: "fresh", reused: false),
        ]
        var buffer: [UInt8] = []
        for record in records { RecordsJSONL.append(record, to: &buffer) }
        let lines = String(decoding: buffer, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 8 && lines.last == "")
        #expect(lines[3].hasSuffix(#","seq":4,"engine":"reuse","reused":true}"#))
        let decoder = JSONDecoder()
        for (line, record) in zip(lines, records) {
            #expect(try decoder.decode(StoredRecord.self, from: Data(line.utf8)) == record)
            // Independent parser, too.
            #expect(try JSONSerialization.jsonObject(with: Data(line.utf8)) is [String: Any])
        }
        #expect(
            lines[1]
                == #"{"source":"cluster-1","target":null,"client":null,"version":null,"instance":null,"status":0,"curlExit":7,"connectUs":9,"ttfbUs":10,"totalUs":11,"burst":0,"worker":0,"seq":0}"#
        )
        #expect(lines[2].hasPrefix(#"{"source":"we\"ird\\name\n\u0001é","#))
    }

    @Test func decimalsMatchSwiftsOwn() {
        var seeds = SystemRandomNumberGenerator()
        for value in [UInt64(0), 9, 10, 99, 100, 1_000_000, UInt64.max]
            + (0..<200).map({ _ in UInt64.random(in: 0...UInt64.max, using: &seeds) >> UInt64.random(in: 0...63, using: &seeds) })
        {
            var buffer = [UInt8](repeating: 0, count: 24)
            let count = buffer.withUnsafeMutableBufferPointer { whole -> Int in
                var cursor = whole.baseAddress!
                RecordsJSONL.writeDecimal(value, to: &cursor)
                return cursor - whole.baseAddress!
            }
            #expect(String(decoding: buffer.prefix(count), as: UTF8.self) == String(value))
        }
    }

    static func sampleReport() throws -> RunReport {
        let scenario = try Scenario.guideCheck(contexts: ["gke_p_z_cluster-1", "gke_p_z_cluster-2"])
        return RunReport(
            runId: "20261123-112000-ab12cd", verdict: .pass, startedAt: "2026-11-23T11:20:00Z", durationSeconds: 12.5, namespace: "meshcheck-ab12cd",
            revision: "default",
            clusters: [ClusterEntry(name: "cluster-1", context: "gke_p_z_cluster-1", serves: "v1", clients: true, readyEndpoints: 1)],
            checks: [
                CheckResult(
                    name: "balance", source: "cluster-1", status: .pass, message: "ok",
                    balance: BalanceDetails(
                        expectation: "proportional-to-endpoints", requests: 20, test: "chi-square", statistic: 0.2,
                        degreesOfFreedom: 1, pValue: 0.65, significance: 0.001,
                        shares: [
                            ShareDetail(
                                target: "cluster-1", observed: 11, share: 0.55,
                                interval: WilsonInterval(low: 0.34, high: 0.74), expectedShare: 0.5)
                        ]))
            ],
            traffic: [
                TrafficRow(
                    source: "cluster-1", target: "cluster-1", requests: 11, errors: 0, share: 0.55,
                    shareInterval: WilsonInterval(low: 0.34, high: 0.74), expectedShare: 0.5,
                    latencyMs: LatencySummary(p50: 1, p90: 2, p99: 3, max: 4))
            ],
            sources: [
                SourceSummary(
                    source: "cluster-1", requests: 20, succeeded: 20, errors: 0, errorsByKind: [:], missingRecords: 0,
                    malformedLines: 0, lateStarts: nil)
            ],
            phases: [PhaseTiming(name: "deploy", seconds: 3.25)], convergeSeconds: 1.5, retries: [RetryCount(operation: "api-429", count: 2)],
            exec: ExecStats(sessions: 2, failed: 0, roundTripMs: nil), cleanup: CleanupReport(status: .done, leftovers: []),
            scenario: ScenarioEcho(scenario))
    }

    @Test func reportRoundTripsWithTheDocumentedKeys() throws {
        let report = try Self.sampleReport()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(report)
        #expect(try JSONDecoder().decode(RunReport.self, from: data) == report)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in [
            "schemaVersion", "runId", "verdict", "clusters", "checks", "traffic", "phases", "cleanup", "scenario", "retries", "exec",
            "convergeSeconds", "sources", "startedAt", "durationSeconds", "namespace",
        ] {
            #expect(object[key] != nil, "report.json lacks \(key)")
        }
        #expect(object["schemaVersion"] as? Int == 3)
        #expect(object["timeline"] == nil, "no timeline without placed requests")
        #expect(object["verdict"] as? String == "pass")
        let row = try #require((object["traffic"] as? [[String: Any]])?.first)
        #expect(Set(row.keys) == ["source", "target", "requests", "errors", "share", "shareInterval", "expectedShare", "latencyMs"])
        #expect(Set((row["latencyMs"] as? [String: Any])?.keys ?? [:].keys) == ["p50", "p90", "p99", "max"])
        let echo = try #require(object["scenario"] as? [String: Any])
        #expect((echo["load"] as? [String: Any])?["requestTimeoutSeconds"] as? Double == 10)
        #expect(
            (echo["images"] as? [String: Any])?["helloworld"] as? [String: String]
                == ["v1": "registry.istio.io/release/examples-helloworld-v1:1.0", "v2": "registry.istio.io/release/examples-helloworld-v2:1.0"])
        #expect(Verdict.rollUp(report.checks) == .pass)
        #expect(Verdict.rollUp(report.checks + [CheckResult(name: "x", status: .fail, message: "m")]) == .fail)
        #expect(Verdict.rollUp([CheckResult(name: "x", status: .warn, message: "m")]) == .pass)
    }
}
