import Foundation
import MeshCheck
import Testing

@testable import MeshReports

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Structure of report.html; how it looks in a browser is checked by Tests/scripts/report-html-chromium.sh.
@Suite("report.html")
struct HTMLReportTests {
    static func svgs(in html: String) -> [String] {
        var out: [String] = []
        var rest = Substring(html)
        while let start = rest.range(of: "<svg "), let end = rest.range(of: "</svg>", range: start.upperBound..<rest.endIndex) {
            out.append(String(rest[start.lowerBound..<end.upperBound]))
            rest = rest[end.upperBound...]
        }
        return out
    }

    @Test(arguments: ["smoke", "three"])
    func everyChartIsThereWithATextAlternative(_ which: String) throws {
        let report = which == "smoke" ? try HistogramFixtures.smoke() : try HistogramFixtures.threeClusters()
        let html = HTMLReport.render(report)
        let charts = Self.svgs(in: html)
        let sources = Set(report.traffic.map(\.source))
        // One share chart per source with traffic, the curves, the matrix and the timeline.
        #expect(charts.count == sources.count + 3)
        for id in ["latency-curves", "latency-matrix", "phase-timeline"] + (0..<sources.count).map({ "shares-\($0)" }) {
            #expect(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"\(id)\""), "chart \(id) missing")
        }
        for chart in charts {
            #expect(chart.contains("role=\"img\""))
            #expect(chart.contains("<title id="))
            #expect(chart.contains("<desc id="))
            // Each SVG is well-formed XML on its own (browsers forgive, print pipelines and tools may not).
            let parser = XMLParser(data: Data(chart.utf8))
            #expect(parser.parse(), "chart is not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "")")
        }
        // A text table accompanies every chart.
        #expect(html.components(separatedBy: "<table class=\"numbers\">").count - 1 == sources.count + 3)
    }

    /// Per source, a table of the answers per pod in clusters with two or more pods; single-pod clusters are left out.
    @Test func podsSectionShowsTheSplitsOverSeveralPods() throws {
        let html = HTMLReport.render(try Fixtures.failingThreeClusters())
        #expect(html.contains("<a href=\"#pods\">Pods</a>"))
        #expect(html.contains("<caption>Answers per pod from ctx-east</caption>"))
        #expect(!html.contains("<caption>Answers per pod from ctx-edge</caption>"))
        #expect(html.contains("<td>helloworld-v2-7c9-b</td><td>0</td><td>0.0 %</td>"))
        #expect(html.contains("fail (chi-square p = 4.2e-12)"))
        let passing = HTMLReport.render(try Fixtures.passingSmoke())
        #expect(passing.contains("No cluster had two or more HelloWorld pods answering in this report."))
    }

    @Test func selfContained() throws {
        let html = HTMLReport.render(try HistogramFixtures.threeClusters())
        #expect(!html.contains("<script"))
        #expect(!html.contains("<link"))
        #expect(!html.contains("<img"))
        #expect(!html.contains("url("))
        #expect(!html.contains("@import"))
        let withoutNamespace = html.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "")
        #expect(!withoutNamespace.contains("http://") && !withoutNamespace.contains("https://"))
        #expect(html.contains("Content-Security-Policy\" content=\"default-src 'none'"))
        #expect(html.contains("@media print"))
    }

    @Test func checksShowCausesAndHintsAndStatusInWords() throws {
        let report = try Fixtures.failingThreeClusters()
        let html = HTMLReport.render(report)
        for check in report.checks {
            #expect(html.contains(HTMLReport.inline(check.message)))
            if let cause = check.cause { #expect(html.contains(HTMLReport.inline(cause))) }
            if let hint = check.hint { #expect(html.contains(HTMLReport.inline(hint))) }
        }
        #expect(html.contains("✘ fail</span>"))
        #expect(html.contains("<code>meshcheck preflight</code>"))
        #expect(html.contains("still Terminating after 5m"))
    }

    /// Every run shows the pair × layer matrix, green or not, with each layer's evidence and a broken layer's hint.
    @Test func layerMatrixIsShownForEveryRun() throws {
        let passing = HTMLReport.render(try Fixtures.passingSmoke())
        #expect(passing.contains("<section id=\"layers\">"))
        #expect(passing.contains("No pair has a broken layer."))
        #expect(passing.contains("<th scope=\"row\">cluster-1 → cluster-2</th>"))
        #expect(passing.components(separatedBy: "<span class=\"status pass\">✔ pass</span><p class=\"evidence\">").count - 1 == 12)
        let failing = HTMLReport.render(try Fixtures.failingThreeClusters())
        #expect(failing.contains("2 pairs with a broken layer"))
        #expect(
            failing.contains(
                "<span class=\"status warn\">? not visible</span><p class=\"evidence\">ctx-east: forbidden: needs <code>get pods/proxy in istio-system</code></p>"
            ))
        #expect(failing.contains("<p class=\"hint\"><strong>Hint:</strong> create it with istioctl create-remote-secret</p>"))
        var old = try Fixtures.passingSmoke()
        old.layers = nil
        #expect(HTMLReport.render(old).contains("No pair layers in this report"))
    }

    @Test func namesCannotInjectMarkup() throws {
        var report = try Fixtures.passingSmoke()
        report.traffic[0].target = "<script>alert(1)</script>"
        report.checks[1].message = "a & b < c \"quoted\""
        report.scenario.name = "x' onload='y"
        let html = HTMLReport.render(report)
        #expect(!html.contains("<script>"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains("a &amp; b &lt; c &quot;quoted&quot;"))
        #expect(!html.contains("x' onload"))
    }

    @Test func curvesUseHistogramsAndFallBackToPercentiles() throws {
        let withHistograms = try HistogramFixtures.smoke()
        let series = withHistograms.traffic.compactMap(SVGCharts.curve)
        #expect(series.count == 4)
        #expect(series.allSatisfy { !$0.approximate })
        for (item, row) in zip(series, withHistograms.traffic) {
            #expect(item.count == UInt64(row.requests - row.errors))
            #expect(item.points.first?.fraction == 0)
            #expect(item.points.last?.fraction == 1)
            #expect(zip(item.points, item.points.dropFirst()).allSatisfy { $0.fraction <= $1.fraction && $0.milliseconds <= $1.milliseconds })
        }
        let plain = try Fixtures.failingThreeClusters().traffic.compactMap(SVGCharts.curve)
        #expect(plain.count == 2)
        #expect(plain.allSatisfy { $0.approximate })
        let html = HTMLReport.render(try Fixtures.failingThreeClusters())
        #expect(html.contains("* from p50/p90/p99/max only"))
    }

    @Test func heatMapPrintsNumbersInEveryCell() throws {
        let report = try Fixtures.failingThreeClusters()
        let chart = SVGCharts.heatMap(sources: ["ctx-east", "ctx-edge"], targets: ["ctx-east", "ctx-west"], traffic: report.traffic, id: "m")
        #expect(chart.contains("p50 3 ms"))
        #expect(chart.contains("p50 420 ms"))
        #expect(chart.contains("p99 812 · n 48"))
        #expect(chart.components(separatedBy: "no answers").count - 1 == 2)
    }

    @Test func emptyRunsStillRender() throws {
        var report = try Fixtures.passingSmoke()
        report.traffic = []
        report.sources = []
        report.phases = []
        report.checks = []
        report.verdict = .error
        report.error = "cluster-2 unreachable: connection refused"
        let html = HTMLReport.render(report)
        #expect(html.contains("No traffic was recorded."))
        #expect(html.contains("cluster-2 unreachable"))
        #expect(html.hasSuffix("</html>\n"))
    }
}
