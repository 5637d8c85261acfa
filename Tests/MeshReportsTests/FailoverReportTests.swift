import MeshCheck
import Testing

@testable import MeshReports

/// The failover figures in metrics.prom and in the terminal, Markdown and HTML tables.
@Suite struct FailoverReportTests {
    static func report() throws -> RunReport {
        var report = try Fixtures.passingSmoke()
        var shifted = FailoverFigure(disruption: "down", kind: "scale-to-zero", source: "cluster-1", affected: ["cluster-1"], windowSeconds: 1)
        shifted.baselineShare = 0.9
        shifted.failoverSeconds = 2.5
        shifted.errorsDuringFailover = 6
        shifted.requestsDuringFailover = 30
        shifted.errorRate = WilsonInterval(low: 0.095, high: 0.373)
        shifted.restored = true
        shifted.recoveryApplicable = true
        shifted.recoverySeconds = 1
        var never = FailoverFigure(disruption: "down", kind: "scale-to-zero", source: "cluster-2", affected: ["cluster-1"], windowSeconds: 1)
        never.baselineShare = 0.5
        never.restored = true
        never.recoveryApplicable = true
        var fault = FailoverFigure(disruption: "fault", kind: "abort", source: "cluster-1", affected: ["cluster-1"], windowSeconds: 1)
        fault.errorsDuringFailover = 50
        fault.requestsDuringFailover = 100
        fault.errorRate = WilsonInterval(low: 0.4, high: 0.6)
        fault.errorWindowStartSeconds = 10
        fault.errorWindowEndSeconds = 21
        report.failover = [shifted, never, fault]
        return report
    }

    @Test func gaugesPerDisruptionAndSource() throws {
        let samples = Sample.parse(PrometheusMetrics.render(try Self.report()))
        func values(_ name: String, _ disruption: String, _ source: String) -> [Double] {
            samples.filter { $0.name == name && $0.labels["disruption"] == disruption && $0.labels["source"] == source }.map(\.value)
        }
        #expect(values("meshcheck_failover_seconds", "down", "cluster-1") == [2.5])
        #expect(values("meshcheck_failover_seconds", "down", "cluster-2").isEmpty, "never failed over: no value invented")
        #expect(values("meshcheck_failover_completed", "down", "cluster-2") == [0])
        #expect(values("meshcheck_failover_completed", "fault", "cluster-1").isEmpty, "an abort shifts no share")
        #expect(values("meshcheck_failover_errors", "fault", "cluster-1") == [50])
        #expect(values("meshcheck_failover_requests", "down", "cluster-1") == [30])
        #expect(values("meshcheck_failover_error_rate_bound", "down", "cluster-1") == [0.095, 0.373])
        #expect(values("meshcheck_recovery_seconds", "down", "cluster-1") == [1])
        #expect(values("meshcheck_recovery_seconds", "down", "cluster-2").isEmpty)
        #expect(values("meshcheck_failover_baseline_share", "down", "cluster-1") == [0.9])
        #expect(!PrometheusMetrics.render(try Fixtures.passingSmoke()).contains("meshcheck_failover"))
    }

    @Test func tablesInEveryTextReport() throws {
        let report = try Self.report()
        let terminal = TerminalSummary.render(report, options: TerminalSummaryOptions(color: false))
        #expect(terminal.contains("Failover (times to the nearest 1 s window; before = the disrupted clusters' share)"))
        #expect(terminal.contains("  down (scale-to-zero)  cluster-1    90 %             2.5 s    6/30   20 % (9.5 %–37.3 %)           1 s\n"))
        #expect(terminal.contains("  down (scale-to-zero)  cluster-2    50 %             never     0/0                     –         never\n"))
        #expect(terminal.contains("  fault (abort)         cluster-1       –  errors 10 s–21 s  50/100      50 % (40 %–60 %)  not restored\n"))
        let markdown = MarkdownSummary.render(report)
        #expect(markdown.contains("### Failover"))
        #expect(markdown.contains("| down (scale-to-zero) | cluster-1 | 90 % | 2.5 s | 6/30 | 20 % (9.5 %–37.3 %) | 1 s |"))
        let html = HTMLReport.render(report)
        #expect(html.contains("<section id=\"failover\">"))
        #expect(html.contains("<tr><th scope=\"row\">down (scale-to-zero)</th><td>cluster-1</td><td>90 %</td><td>2.5 s</td>"))
        let plain = try Fixtures.passingSmoke()
        #expect(!TerminalSummary.render(plain, options: TerminalSummaryOptions(color: false)).contains("Failover"))
        #expect(!MarkdownSummary.render(plain).contains("### Failover"))
        #expect(!HTMLReport.render(plain).contains("id=\"failover\""))
    }
}

/// The `failover` and `locality` rows reach every output like any other check.
@Suite struct FailoverRowsInEveryOutputTests {
    @Test func rowsRenderEverywhere() throws {
        var report = try FailoverReportTests.report()
        report.checks += [
            CheckResult(
                name: CheckName.failover, source: "cluster-1", target: "down", status: .fail,
                message: "locality routing is set without outlierDetection: nothing failed over", cause: "no outlier detection",
                hint: "add `routing.locality.outlierDetection`"),
            CheckResult(name: CheckName.locality, source: "cluster-1", status: .pass, message: "95 % of 200 answers from cluster-1's zone"),
        ]
        report.verdict = .fail
        let junit = JUnitReport.render(report)
        #expect(junit.contains("<testcase name=\"failover → down\""))
        #expect(junit.contains("<testcase name=\"locality\""))
        let terminal = TerminalSummary.render(report, options: TerminalSummaryOptions(color: false))
        #expect(terminal.contains("locality routing is set without outlierDetection: nothing failed over"))
        #expect(terminal.contains("hint:  add `routing.locality.outlierDetection`"))
        #expect(MarkdownSummary.render(report).contains("| failover | cluster-1 → down |"))
        #expect(HTMLReport.render(report).contains("<th scope=\"row\">locality</th>"))
    }
}
