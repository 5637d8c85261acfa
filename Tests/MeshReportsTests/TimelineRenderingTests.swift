import Foundation
import MeshCheck
import Testing

@testable import MeshReports

#if canImport(FoundationXML)
    import FoundationXML
#endif

extension Fixtures {
    /// The three-cluster run with a timeline: ctx-west scaled to zero from 2.2 s to 4.6 s; ctx-east's requests move to
    /// ctx-east with a failing window in between, ctx-edge's fail throughout; ctx-west placed nothing.
    static func threeClustersWithTimeline() throws -> RunReport {
        var report = try failingThreeClusters()
        func window(_ start: Double, east: Int, west: Int, errors: Int) -> TimelineWindowEntry {
            var byCluster: [String: Int] = [:]
            if east > 0 { byCluster["ctx-east"] = east }
            if west > 0 { byCluster["ctx-west"] = west }
            let requests = east + west + errors
            return TimelineWindowEntry(
                startSeconds: start, requests: requests, errors: errors, byCluster: byCluster, p50Ms: east + west > 0 ? 3.5 : nil,
                p99Ms: east + west > 0 ? 9.25 : nil)
        }
        let east = [
            window(0, east: 5, west: 5, errors: 0), window(1, east: 4, west: 6, errors: 0), window(2, east: 3, west: 2, errors: 5),
            window(3, east: 10, west: 0, errors: 0), window(4, east: 10, west: 0, errors: 0), window(5, east: 6, west: 4, errors: 0),
        ]
        let edge = [
            window(0, east: 0, west: 0, errors: 4), TimelineWindowEntry(startSeconds: 1, requests: 0, errors: 0, byCluster: [:], p50Ms: nil, p99Ms: nil),
        ]
        report.timeline = RunTimeline(
            windowSeconds: 1,
            disruptions: [
                DisruptionRecord(
                    name: "drain-west", kind: "scale-to-zero", clusters: ["ctx-west"], at: 2, restoreAt: 4.5, appliedAtMs: 2200, restoredAtMs: 4600),
                DisruptionRecord(name: "never", kind: "abort", clusters: ["ctx-east"], percent: 50, httpStatus: 503, at: 9, restoreAt: nil),
            ],
            sources: [TimelineSourceSeries(source: "ctx-east", windows: east), TimelineSourceSeries(source: "ctx-edge", windows: edge)])
        return report
    }
}

@Suite("timeline rendering")
struct TimelineRenderingTests {
    @Test func sparklinesShowTheWatchedShareErrorsAndDisruptions() throws {
        let lines = TimelineSparkline.all(try Fixtures.threeClustersWithTimeline())
        #expect(lines.map(\.source) == ["ctx-east", "ctx-edge"])
        #expect(lines.map(\.watched) == ["ctx-east", "ctx-edge"])
        // ctx-east: 50 %, 40 %, errors (applied at 2.2 s), 100 %, 100 % (restored at 4.6 s), 60 %.
        #expect(lines[0].line == "▅▄|!█|█▅")
        #expect(lines[0].errorColumns == 1)
        // ctx-edge answered nothing of its own: errors, then an empty window, then nothing while ctx-east ran on.
        #expect(lines[1].line == "!·|··|··")
        #expect(lines.allSatisfy { $0.secondsPerColumn == 1 })
    }

    @Test func aSourceWithoutOwnEndpointsWatchesTheFirstServingCluster() throws {
        var report = try Fixtures.threeClustersWithTimeline()
        report.clusters[0].serves = nil
        #expect(TimelineSparkline.all(report).first?.watched == "ctx-west")
    }

    @Test func longRunsFoldWindowsIntoAtMostSixtyColumns() throws {
        var report = try Fixtures.threeClustersWithTimeline()
        let windows = (0..<600).map { index in
            TimelineWindowEntry(
                startSeconds: Double(index), requests: 10, errors: index == 300 ? 1 : 0, byCluster: ["ctx-east": index < 300 ? 10 : 0], p50Ms: 1,
                p99Ms: 1)
        }
        report.timeline?.sources = [TimelineSourceSeries(source: "ctx-east", windows: windows)]
        report.timeline?.disruptions = [
            DisruptionRecord(name: "d", kind: "scale-to-zero", clusters: ["ctx-east"], at: 300, restoreAt: nil, appliedAtMs: 300_000)
        ]
        let line = try #require(TimelineSparkline.all(report).first)
        #expect(line.secondsPerColumn == 10)
        #expect(line.line == String(repeating: "█", count: 30) + "|!" + String(repeating: "▁", count: 29))
        #expect(line.errorColumns == 1)
    }

    @Test func theLegendStatesTheColumnWidthInMilliseconds() {
        #expect(TimelineSparkline.legend(secondsPerColumn: 3 * 0.1).contains("one mark per 0.3 s;"))
        #expect(TimelineSparkline.legend(secondsPerColumn: 10).contains("one mark per 10 s;"))
    }

    @Test func noTimelineNoSparklinesNoSection() throws {
        let report = try Fixtures.failingThreeClusters()
        #expect(TimelineSparkline.all(report).isEmpty)
        #expect(!TerminalSummary.render(report, options: TerminalSummaryOptions(color: false)).contains("Timeline"))
        #expect(!MarkdownSummary.render(report).contains("### Timeline"))
        let html = HTMLReport.render(report)
        #expect(!html.contains("id=\"timeline\""))
        #expect(!html.contains("href=\"#timeline\""))
    }

    @Test func summariesGainOneLinePerSource() throws {
        let report = try Fixtures.threeClustersWithTimeline()
        try expectGolden(TerminalSummary.render(report, options: TerminalSummaryOptions(color: false)), "three-clusters-timeline.txt")
        try expectGolden(MarkdownSummary.render(report), "three-clusters-timeline.md")
    }

    /// One chart per source with a bar segment per answering cluster and window, and a marker per applied or
    /// restored action where the axis puts its time.
    @Test func htmlHasATimelineChartPerSourceWithMarkersInPlace() throws {
        let report = try Fixtures.threeClustersWithTimeline()
        let html = HTMLReport.render(report)
        #expect(html.contains("<a href=\"#timeline\">Timeline</a>"))
        let charts = HTMLReportTests.svgs(in: html).filter { $0.contains("class=\"chart timeline\"") }
        #expect(charts.count == 2)
        let timeline = try #require(report.timeline)
        let geometry = SVGCharts.TimelineGeometry(timeline)
        #expect(geometry.endSeconds == 6)
        for (chart, series) in zip(charts, timeline.sources) {
            let parser = XMLParser(data: Data(chart.utf8))
            #expect(parser.parse(), "chart is not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "")")
            #expect(chart.contains("<title id=") && chart.contains("<desc id="))
            #expect(chart.contains("Requests from \(series.source) over time"))
            // The applied and restored lines of drain-west; "never" was never applied and has none.
            #expect(chart.components(separatedBy: "<line class=\"disruption applied\" data-disruption").count - 1 == 1)
            #expect(chart.components(separatedBy: "<line class=\"disruption restored\" data-disruption").count - 1 == 1)
            #expect(!chart.contains("data-disruption=\"never\""))
            #expect(chart.contains("data-action=\"applied\" data-seconds=\"2.2\" x1=\"\(SVGCharts.f(geometry.x(2.2)))\""))
            #expect(chart.contains("data-action=\"restored\" data-seconds=\"4.6\" x1=\"\(SVGCharts.f(geometry.x(4.6)))\""))
            let segments = series.windows.reduce(0) { $0 + $1.byCluster.count + ($1.errors > 0 ? 1 : 0) }
            #expect(chart.components(separatedBy: "data-window=").count - 1 == segments)
        }
        #expect(charts[0].contains("5 failed requests in 1 window, from 2 s to 3 s."))
        #expect(charts[0].contains("drain-west (scale-to-zero) applied at 2.2 s; drain-west (scale-to-zero) restored at 4.6 s"))
        #expect(geometry.x(0) == SVGCharts.TimelineGeometry.left)
        #expect(geometry.x(6) == SVGCharts.TimelineGeometry.left + SVGCharts.TimelineGeometry.plotWidth)
        // The disruptions table says the unapplied one was not applied.
        #expect(html.contains("<th scope=\"row\">never</th><td>abort 50 % (HTTP 503)</td>"))
        #expect(html.contains("<td>9 s</td><td>not applied</td><td>not restored</td>"))
    }

    @Test func aLateRestoreWidensTheAxis() throws {
        var report = try Fixtures.threeClustersWithTimeline()
        report.timeline?.disruptions[0].restoredAtMs = 9000
        #expect(SVGCharts.TimelineGeometry(try #require(report.timeline)).endSeconds == 9)
    }
}
