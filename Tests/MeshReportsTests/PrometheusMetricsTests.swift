import Foundation
import MeshCheck
import MeshStats
import Testing

@testable import MeshReports

/// Reports with latency histograms, as a run writes them: the fixtures' traffic rows get histograms
/// drawn from a fixed generator, so counts match each row's successful requests.
enum HistogramFixtures {
    static func withHistograms(_ report: RunReport, seed: UInt64 = 7) -> RunReport {
        var report = report
        var generator = SeededGenerator(seed: seed)
        report.traffic = report.traffic.map { row in
            var row = row
            let successes = row.requests - row.errors
            guard successes > 0, let latency = row.latencyMs else { return row }
            var histogram = LatencyHistogram()
            let low = UInt64(latency.p50 * 700)
            let high = UInt64(latency.max * 1000)
            for index in 0..<successes {
                histogram.record(index == 0 ? high : UInt64.random(in: low...max(low, high), using: &generator))
            }
            row.latencyHistogram = LatencyBuckets(histogram)
            return row
        }
        return report
    }

    static func smoke() throws -> RunReport { withHistograms(try Fixtures.passingSmoke()) }
    static func threeClusters() throws -> RunReport { withHistograms(try Fixtures.failingThreeClusters()) }
}

/// One sample line of the exposition, split by a deliberately small parser (the independent parser
/// check is Tests/scripts/report-formats.sh with prometheus_client).
struct Sample {
    var name: String
    var labels: [String: String]
    var value: Double

    static func parse(_ text: String) -> [Sample] {
        text.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line in
            guard let space = line.lastIndex(of: " ") else { return nil }
            let series = line[..<space]
            let value = Double(line[line.index(after: space)...].replacingOccurrences(of: "+Inf", with: "inf"))
            var labels: [String: String] = [:]
            var name = String(series)
            if let brace = series.firstIndex(of: "{") {
                name = String(series[..<brace])
                let inner = series[series.index(after: brace)..<series.index(before: series.endIndex)]
                var rest = Substring(inner)
                while let equals = rest.firstIndex(of: "=") {
                    let key = String(rest[..<equals])
                    var value = ""
                    var index = rest.index(equals, offsetBy: 2)
                    while rest[index] != "\"" {
                        if rest[index] == "\\" {
                            index = rest.index(after: index)
                            value.append(rest[index] == "n" ? "\n" : rest[index])
                        } else {
                            value.append(rest[index])
                        }
                        index = rest.index(after: index)
                    }
                    labels[key] = value
                    rest = rest[rest.index(after: index)...]
                    if rest.first == "," { rest = rest.dropFirst() }
                }
            }
            return value.map { Sample(name: name, labels: labels, value: $0) }
        }
    }
}

@Suite("metrics.prom")
struct PrometheusMetricsTests {
    @Test func goldenSmoke() throws {
        try expectGolden(PrometheusMetrics.render(try HistogramFixtures.smoke()), "smoke-pass.prom")
    }

    @Test func goldenThreeClusters() throws {
        try expectGolden(PrometheusMetrics.render(try HistogramFixtures.threeClusters()), "three-clusters-fail.prom")
    }

    /// Answers per HelloWorld pod, every listed pod included (0 for the one a pinned client never reached).
    @Test func instanceAnswersBecomeSeries() throws {
        let samples = Sample.parse(PrometheusMetrics.render(try HistogramFixtures.threeClusters()))
        func value(_ name: String, _ instance: String) -> [Double] {
            samples.filter { $0.name == name && $0.labels["source"] == "ctx-east" && $0.labels["instance"] == instance }.map(\.value)
        }
        #expect(value("meshcheck_instance_requests_total", "helloworld-v2-7c9-a") == [48])
        #expect(value("meshcheck_instance_requests_total", "helloworld-v2-7c9-b") == [0])
        #expect(value("meshcheck_instance_share", "helloworld-v2-7c9-a") == [1])
        #expect(value("meshcheck_instance_expected_share", "helloworld-v2-7c9-b") == [0.5])
        #expect(samples.filter { $0.name == "meshcheck_instance_requests_total" }.count == 4)
    }

    /// Endpoints per pair by health, and each judged layer as 1 (pass) or 0 (fail); unseen layers are left out.
    @Test func pairLayersBecomeGauges() throws {
        let samples = Sample.parse(PrometheusMetrics.render(try HistogramFixtures.threeClusters()))
        func value(_ name: String, _ labels: [String: String]) -> [Double] {
            samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }.map(\.value)
        }
        let pair = ["source": "ctx-east", "target": "ctx-west"]
        #expect(value("meshcheck_pair_endpoints", pair.merging(["health": "healthy"]) { $1 }) == [0])
        #expect(value("meshcheck_pair_endpoints", pair.merging(["health": "unhealthy"]) { $1 }) == [1])
        #expect(value("meshcheck_pair_endpoints", ["source": "ctx-edge"]).isEmpty, "no sidecar was visible")
        #expect(value("meshcheck_pair_layer_ok", pair.merging(["layer": "endpoints"]) { $1 }) == [0])
        #expect(value("meshcheck_pair_layer_ok", pair.merging(["layer": "traffic"]) { $1 }) == [1])
        #expect(value("meshcheck_pair_layer_ok", pair.merging(["layer": "sync"]) { $1 }).isEmpty, "not visible")
        #expect(value("meshcheck_pair_layer_ok", ["source": "ctx-east", "target": "ctx-east", "layer": "secret"]).isEmpty, "not applicable")
        #expect(value("meshcheck_pair_layer_ok", ["source": "ctx-edge", "target": "ctx-east", "layer": "secret"]) == [0])
    }

    @Test(arguments: ["smoke", "three"])
    func bucketsAreCumulativeAndMatchTheReport(_ which: String) throws {
        let report = which == "smoke" ? try HistogramFixtures.smoke() : try HistogramFixtures.threeClusters()
        let samples = Sample.parse(PrometheusMetrics.render(report))
        for row in report.traffic {
            let mine = samples.filter { $0.labels["source"] == row.source && $0.labels["target"] == row.target }
            let buckets = mine.filter { $0.name == "meshcheck_request_duration_seconds_bucket" }
            #expect(buckets.count == PrometheusMetrics.latencyBucketBounds.count + 1)
            #expect(zip(buckets, buckets.dropFirst()).allSatisfy { $0.value <= $1.value }, "buckets of \(row.source) → \(row.target) are not cumulative")
            #expect(buckets.last?.labels["le"] == "+Inf")
            let successes = Double(row.requests - row.errors)
            #expect(buckets.last?.value == successes)
            #expect(mine.first { $0.name == "meshcheck_request_duration_seconds_count" }?.value == successes)
            let counted = mine.filter { $0.name == "meshcheck_requests_total" }
            #expect(counted.first { $0.labels["outcome"] == "success" }?.value == successes)
            #expect(counted.first { $0.labels["outcome"] == "error" }?.value == Double(row.errors))
            if let histogram = row.latencyHistogram {
                let sum = mine.first { $0.name == "meshcheck_request_duration_seconds_sum" }?.value ?? -1
                #expect(abs(sum - Double(histogram.sumUs) / 1e6) < 1e-9)
            }
        }
        // Every request appears once among the counters: attributed rows plus the unattributed row.
        for source in report.sources {
            let total = samples.filter { $0.name == "meshcheck_requests_total" && $0.labels["source"] == source.source }.reduce(0) { $0 + $1.value }
            #expect(total == Double(source.requests))
        }
    }

    @Test func bucketsCountExactlyForValuesAwayFromTheBounds() throws {
        var generator = SeededGenerator(seed: 11)
        var histogram = LatencyHistogram()
        var values: [UInt64] = []
        for _ in 0..<5000 {
            // Log-uniform between 100 µs and 40 s, never within 0.5 % of a bound (the ambiguous region).
            let value = UInt64(pow(10, Double.random(in: 2...7.6, using: &generator)))
            if PrometheusMetrics.latencyBucketBounds.contains(where: { abs(Double(value) / ($0 * 1e6) - 1) < 0.005 }) { continue }
            values.append(value)
            histogram.record(value)
        }
        let counts = PrometheusMetrics.cumulativeCounts(LatencyBuckets(histogram))
        for (bound, count) in counts {
            let exact = bound.map { bound in values.filter { Double($0) <= bound * 1e6 }.count } ?? values.count
            #expect(count == UInt64(exact), "le \(bound.map { "\($0)" } ?? "+Inf")")
        }
    }

    @Test func everyCheckIsAStateSetAndTheVerdictToo() throws {
        let report = try Fixtures.failingThreeClusters()
        let samples = Sample.parse(PrometheusMetrics.render(report))
        let statuses = samples.filter { $0.name == "meshcheck_check_status" }
        #expect(statuses.count == report.checks.count * CheckStatus.allCases.count)
        #expect(statuses.filter { $0.value == 1 }.count == report.checks.count)
        let failing = statuses.filter { $0.value == 1 && $0.labels["status"] == "fail" }
        #expect(failing.count == report.checks.filter { $0.status == .fail }.count)
        let verdict = samples.filter { $0.name == "meshcheck_run_verdict" && $0.value == 1 }
        #expect(verdict.map { $0.labels["verdict"] } == ["fail"])
        #expect(samples.first { $0.name == "meshcheck_run_start_timestamp_seconds" }?.value == 1_795_433_400)
        #expect(samples.allSatisfy { $0.labels["scenario"] == "smoke" })
    }

    @Test func labelValuesAreEscapedAndPushesLeaveOutTheScenario() throws {
        var report = try Fixtures.passingSmoke()
        report.checks[0].name = "odd \"name\" with \\ and\nnewline"
        let text = PrometheusMetrics.render(report)
        #expect(text.contains(#"check="odd \"name\" with \\ and\nnewline""#))
        let parsed = Sample.parse(text).first { $0.name == "meshcheck_check_status" }
        #expect(parsed?.labels["check"] == "odd \"name\" with \\ and\nnewline")
        #expect(!PrometheusMetrics.render(report, scenarioLabel: false).contains("scenario="))
    }

    @Test func reportsWithoutHistogramsStillCountRequests() throws {
        let report = try Fixtures.passingSmoke()
        let samples = Sample.parse(PrometheusMetrics.render(report))
        #expect(!samples.contains { $0.name == "meshcheck_request_duration_seconds_bucket" })
        #expect(samples.filter { $0.name == "meshcheck_requests_total" }.reduce(0) { $0 + $1.value } == 40)
    }

    @Test func pushgatewayGroupKeyEncodesValuesThatAreNotPlain() throws {
        var report = try Fixtures.passingSmoke()
        #expect(
            Pushgateway.groupURL(base: "http://127.0.0.1:9091/", report: report)
                == "http://127.0.0.1:9091/metrics/job/meshcheck/scenario/smoke/run/20261123-112000-ab12cd")
        report.scenario.name = "a/b c"
        #expect(
            Pushgateway.groupURL(base: "http://gw", report: report)
                == "http://gw/metrics/job/meshcheck/scenario@base64/YS9iIGM=/run/20261123-112000-ab12cd")
    }

    @Test func pushgatewayFailureSaysWhere() async throws {
        let report = try Fixtures.passingSmoke()
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        await #expect(throws: PushgatewayError.self) {
            try await Pushgateway.push(PrometheusMetrics.render(report, scenarioLabel: false), of: report, to: "http://127.0.0.1:1", timeoutSeconds: 5)
        }
        do {
            try await Pushgateway.push(PrometheusMetrics.render(report, scenarioLabel: false), of: report, to: "ftp://127.0.0.1:1", timeoutSeconds: 5)
            Issue.record("an ftp URL was accepted")
        } catch let error as PushgatewayError {
            #expect(error.description.contains("ftp://127.0.0.1:1/metrics/job/meshcheck"))
        }
    }

    @Test func reportJSONKeepsHistogramsAndReadsOldReports() throws {
        let report = try HistogramFixtures.smoke()
        let decoded = try JSONDecoder().decode(RunReport.self, from: try ReportFiles.json(report))
        #expect(decoded == report)
        let old = try JSONDecoder().decode(RunReport.self, from: try ReportFiles.json(try Fixtures.passingSmoke()))
        #expect(old.traffic.allSatisfy { $0.latencyHistogram == nil })
    }
}
