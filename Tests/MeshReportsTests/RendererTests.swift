import Foundation
import MeshCheck
import Testing

@testable import MeshReports

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Golden files live in Golden/ next to this file. Set MESHCHECK_UPDATE_GOLDEN=1 to rewrite them after an
/// intended change, then review the diff.
func expectGolden(_ actual: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let url = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()
        .appendingPathComponent("Golden").appendingPathComponent(name)
    if ProcessInfo.processInfo.environment["MESHCHECK_UPDATE_GOLDEN"] == "1" {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try actual.write(to: url, atomically: true, encoding: .utf8)
        return
    }
    let expected = try String(contentsOf: url, encoding: .utf8)
    #expect(actual == expected, "differs from Golden/\(name); rerun with MESHCHECK_UPDATE_GOLDEN=1 if intended", sourceLocation: sourceLocation)
}

/// Reads an XML document with Foundation's parser and counts elements and attributes of interest.
final class XMLSummary: NSObject, XMLParserDelegate {
    var elements: [String: Int] = [:]
    var suites: [(name: String, tests: Int, failures: Int, skipped: Int)] = []
    var failureTexts: [String] = []
    private var text = ""
    private var inFailure = false

    static func parse(_ xml: String) -> XMLSummary? {
        let summary = XMLSummary()
        let parser = XMLParser(data: Data(xml.utf8))
        parser.delegate = summary
        return parser.parse() ? summary : nil
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String]) {
        elements[name, default: 0] += 1
        if name == "testsuite" {
            suites.append(
                (
                    attributes["name"] ?? "", Int(attributes["tests"] ?? "") ?? -1, Int(attributes["failures"] ?? "") ?? -1,
                    Int(attributes["skipped"] ?? "") ?? -1
                ))
        }
        if name == "failure" {
            inFailure = true
            text = ""
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if inFailure { text += string }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "failure" {
            failureTexts.append(text)
            inFailure = false
        }
    }
}

@Suite struct RendererTests {
    /// The text summaries show the pair × layer matrix only when a pair has a broken layer.
    @Test func layerMatrixOnlyWhenALayerIsBroken() throws {
        let options = TerminalSummaryOptions(color: false)
        #expect(!TerminalSummary.render(try Fixtures.passingSmoke(), options: options).contains("Layers"))
        #expect(!MarkdownSummary.render(try Fixtures.passingSmoke()).contains("### Layers"))
        let terminal = TerminalSummary.render(try Fixtures.failingThreeClusters(), options: options)
        #expect(terminal.contains("pair                 remote secret  control plane sync  sidecar endpoints  answers"))
        #expect(terminal.contains("ctx-east → ctx-west  pass           n/v                 FAIL               pass"))
        #expect(terminal.contains("ctx-edge → ctx-east  FAIL           FAIL                n/v                FAIL"))
        #expect(terminal.contains("ctx-east → ctx-east  –              –                   pass               pass"))
        let markdown = MarkdownSummary.render(try Fixtures.failingThreeClusters())
        #expect(markdown.contains("| pair | remote secret | control plane sync | sidecar endpoints | answers |"))
        #expect(markdown.contains("| ctx-edge → ctx-east | FAIL | FAIL | n/v | FAIL |"))
    }
    @Test func markdownGoldens() throws {
        try expectGolden(MarkdownSummary.render(try Fixtures.passingSmoke()), "smoke-pass.md")
        try expectGolden(MarkdownSummary.render(try Fixtures.failingThreeClusters()), "three-clusters-fail.md")
    }

    @Test func junitGoldens() throws {
        try expectGolden(JUnitReport.render(try Fixtures.passingSmoke()), "smoke-pass.junit.xml")
        try expectGolden(JUnitReport.render(try Fixtures.failingThreeClusters()), "three-clusters-fail.junit.xml")
    }

    @Test func terminalGoldens() throws {
        try expectGolden(TerminalSummary.render(try Fixtures.passingSmoke(), options: TerminalSummaryOptions(color: false)), "smoke-pass.txt")
        try expectGolden(TerminalSummary.render(try Fixtures.failingThreeClusters(), options: TerminalSummaryOptions(color: false)), "three-clusters-fail.txt")
    }

    @Test func junitHasOneSuitePerSourcePlusPreflightAndCountsFailures() throws {
        let summary = try #require(XMLSummary.parse(JUnitReport.render(try Fixtures.failingThreeClusters())))
        #expect(summary.suites.map(\.name) == ["preflight", "ctx-east", "ctx-edge"])
        // balance-instances is a test case of each source's suite: failed in ctx-east, skipped in ctx-edge.
        #expect(summary.suites.map(\.tests) == [1, 5, 3])
        #expect(summary.suites.map(\.failures) == [1, 3, 1])
        #expect(summary.suites.map(\.skipped) == [0, 0, 2])
        #expect(summary.elements["testcase"] == 9)
        #expect(summary.elements["failure"] == 5)
        #expect(summary.elements["skipped"] == 2)
        #expect(summary.failureTexts.contains { $0.contains("\nCause: requests timed out (curl exit 28)\nHint: raise load.requestTimeout") })

        let passing = try #require(XMLSummary.parse(JUnitReport.render(try Fixtures.passingSmoke())))
        #expect(passing.suites.map(\.name) == ["preflight", "cluster-1", "cluster-2"])
        #expect(passing.elements["failure"] == nil)
        #expect(passing.elements["property"] == 7)
    }

    @Test func interruptedAndErroredRunsShowAsErrors() throws {
        var report = try Fixtures.passingSmoke()
        report.verdict = .interrupted
        let xml = JUnitReport.render(report)
        #expect(xml.contains("<testsuites name=\"meshcheck smoke\" tests=\"13\" failures=\"0\" errors=\"1\""))
        #expect(xml.contains("<error message=\"the run was interrupted before it finished\" type=\"interrupted\">"))
        report.verdict = .error
        report.error = "cluster gke_x unreachable: connection refused"
        #expect(JUnitReport.render(report).contains("<error message=\"cluster gke_x unreachable: connection refused\" type=\"error\">"))
        #expect(XMLSummary.parse(JUnitReport.render(report)) != nil)
    }

    /// A run stopped in the deploy wait has no traffic; its `deploy` rows still get their cluster's suite.
    @Test func deployRowsGoInTheirClustersSuite() throws {
        var report = try Fixtures.passingSmoke()
        report.verdict = .error
        report.error = "workloads not ready and will not be by waiting"
        report.traffic = []
        report.sources = []
        report.checks = [
            CheckResult(name: "api", status: .pass, message: "ok"),
            CheckResult(name: CheckName.deploy, source: "cluster-2", status: .fail, message: "pod/p: ImagePullBackOff", cause: "c", hint: "h"),
        ]
        let summary = try #require(XMLSummary.parse(JUnitReport.render(report)))
        #expect(summary.suites.map(\.name) == ["preflight", "cluster-2"])
        #expect(summary.suites.map(\.tests) == [2, 1], "the run's error is a case of the preflight suite")
        #expect(summary.suites.map(\.failures) == [0, 1])
        #expect(summary.elements["error"] == 1)
    }

    @Test func xmlEscaping() {
        #expect(JUnitReport.escape("a<b>&\"c'\n\u{1}") == "a&lt;b&gt;&amp;&quot;c&apos;&#10;\u{FFFD}")
        #expect(JUnitReport.escape("x\ny", inAttribute: false) == "x\ny")
    }

    @Test func colourOnlyWhenAsked() throws {
        let report = try Fixtures.failingThreeClusters()
        let plain = TerminalSummary.render(report, options: TerminalSummaryOptions(color: false))
        let coloured = TerminalSummary.render(report, options: TerminalSummaryOptions(color: true))
        #expect(!plain.contains("\u{1B}["))
        #expect(coloured.contains("\u{1B}[31mFAIL\u{1B}[0m"))
        // Same text once the escapes are removed: colour never carries information alone.
        var stripped = coloured
        while let start = stripped.range(of: "\u{1B}["), let end = stripped[start.upperBound...].firstIndex(of: "m") {
            stripped.removeSubrange(start.lowerBound...end)
        }
        #expect(stripped == plain)
        #expect(TerminalSummaryOptions.forOutput(isTerminal: true, noColorVariable: nil).color)
        #expect(!TerminalSummaryOptions.forOutput(isTerminal: true, noColorVariable: "1").color)
        #expect(TerminalSummaryOptions.forOutput(isTerminal: true, noColorVariable: "").color)
        #expect(!TerminalSummaryOptions.forOutput(isTerminal: false, noColorVariable: nil).color)
    }

    @Test func markdownCellsCannotBreakTables() {
        #expect(MarkdownSummary.cell("a|b\nc<script>&") == "a\\|b c&lt;script>&amp;")
    }

    @Test func humanTimes() {
        #expect(humanSeconds(0.004) == "4 ms")
        #expect(humanSeconds(14.25) == "14.3 s")
        #expect(humanSeconds(185.5) == "3m 06s")
    }
}
