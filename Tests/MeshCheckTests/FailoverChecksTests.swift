import Foundation
import MeshStats
import Testing

@testable import MeshCheck

/// The totals and the timeline of one run, written together window by window.
struct RunScript {
    var tally = TallyBuilder(clusters: TimelineScript.names, instances: ["hw-1a": 0, "hw-2a": 1, "hw-3a": 2])
    var timeline = TimelineScript()

    mutating func add(source: Int, windows: ClosedRange<Int>, answers: [Int: Int] = [:], errors: Int = 0) {
        timeline.add(source: source, windows: windows, answers: answers, errors: errors)
        for (target, count) in answers { tally.add(source: source, instance: "hw-\(target + 1)a", count: count * windows.count) }
        if errors > 0 { tally.add(source: source, instance: nil, count: errors * windows.count, status: 503) }
    }

    /// Every source keeps to its own cluster for 30 s.
    static func local() -> RunScript {
        var script = RunScript()
        for source in 0..<3 { script.add(source: source, windows: 0...29, answers: [source: 10]) }
        return script
    }
}

@Suite struct FailoverChecksTests {
    static let outlierDetection = OutlierDetectionSettings(consecutive5xxErrors: 5, interval: .seconds(1), baseEjectionTime: .seconds(30))

    func scenario(locality: LocalityRouting? = LocalityRouting(outlierDetection: outlierDetection), expectations: Expectations = Expectations())
        throws -> Scenario
    {
        var scenario = try Scenario.guideCheck(contexts: TimelineScript.names)
        scenario.locality = locality
        scenario.expectations = expectations
        return scenario
    }

    func evaluate(
        _ scenario: Scenario, _ script: RunScript, disruptions: [DisruptionRecord] = [TimelineScript.scaleDown()], timeline: Bool = true,
        localities: [String: ClusterLocality] = TimelineScript.zones
    ) -> VerdictOutcome {
        Verdict.evaluate(
            VerdictInput(
                scenario: scenario, namespace: "meshcheck-t", tally: script.tally.tally,
                readyEndpoints: Dictionary(uniqueKeysWithValues: TimelineScript.names.map { ($0, 1) }), pods: [],
                timeline: timeline ? script.timeline.timeline : nil, disruptions: disruptions, localities: localities))
    }

    func rows(_ outcome: VerdictOutcome, _ name: String, source: String = "cluster-1") -> [CheckResult] {
        outcome.checks.filter { $0.name == name && $0.source == source }
    }

    /// cluster-1 is scaled to zero at 10 s and back at 20 s: its clients fail twice per window for two windows, then
    /// reach cluster-2 until the restore, then stay local again.
    func failingOver(failoverWindows: Int = 2, recovered: Bool = true) -> RunScript {
        var script = RunScript()
        for source in 1..<3 { script.add(source: source, windows: 0...29, answers: [source: 10]) }
        script.add(source: 0, windows: 0...9, answers: [0: 10])
        script.add(source: 0, windows: 10...(9 + failoverWindows), answers: [1: 8], errors: 2)
        if failoverWindows < 10 { script.add(source: 0, windows: (10 + failoverWindows)...19, answers: [1: 10]) }
        if recovered {
            script.add(source: 0, windows: 20...21, answers: [1: 10])
            script.add(source: 0, windows: 22...29, answers: [0: 10])
        } else {
            script.add(source: 0, windows: 20...29, answers: [1: 10])
        }
        return script
    }

    static let bounds = Expectations(
        locality: LocalityExpectation(scope: .zone, minShare: 0.9),
        failover: FailoverExpectation(maxFailoverSeconds: 5, maxErrorsDuringFailover: 10, maxRecoverySeconds: 5))

    @Test func failoverWithinBoundsPassesEveryCheck() throws {
        let outcome = evaluate(try scenario(expectations: Self.bounds), failingOver())
        let failover = try #require(rows(outcome, CheckName.failover).first)
        #expect(failover.status == .pass)
        #expect(failover.target == "down")
        #expect(failover.message == "failed over from cluster-1 in 2 s (share 100 % before); 4 of 20 requests failed, recovered 2 s after the restore")
        #expect(rows(outcome, CheckName.failover, source: "cluster-2").map(\.status) == [.pass])
        #expect(rows(outcome, CheckName.failover, source: "cluster-2").first?.message.hasPrefix("cluster-2 did not use cluster-1") == true)
        // The errors fell in the disruption, which error-rate leaves to failover.
        let errorRate = try #require(rows(outcome, CheckName.errorRate).first)
        #expect(errorRate.status == .pass)
        #expect(errorRate.message.hasPrefix("0 of 180 requests outside the disruptions failed"))
        // Healthy windows 0–9 and 22–29 are all local: the locality-zone balance expectation and the locality check hold.
        let balance = try #require(rows(outcome, CheckName.balance).first)
        #expect(balance.status == .pass)
        #expect(balance.balance?.expectation == "locality-zone")
        #expect(rows(outcome, CheckName.balanceInstances).first?.status == .skip)
        let locality = try #require(rows(outcome, CheckName.locality).first)
        #expect(locality.status == .pass)
        #expect(locality.message.hasPrefix("100 % of 180 answers from cluster-1's zone (cluster-1, healthy periods"))
        #expect(outcome.failover.count == 3)
        #expect(outcome.verdict == .pass)
    }

    @Test func withoutOutlierDetectionNothingFailsOver() throws {
        var script = RunScript()
        for source in 0..<3 { script.add(source: source, windows: 0...9, answers: [0: 1, 1: 2, 2: 1]) }
        for source in 0..<3 { script.add(source: source, windows: 10...29, answers: [1: 5, 2: 5]) }
        let outcome = evaluate(try scenario(locality: LocalityRouting(), expectations: Self.bounds), script)
        let failover = try #require(rows(outcome, CheckName.failover).first)
        #expect(failover.status == .fail)
        #expect(
            failover.message
                == "locality routing is set without outlierDetection: nothing failed over; cluster-1 kept 25 % of its answers in its own zone before the action"
        )
        #expect(failover.cause?.contains("Istio applies locality load balancing and failover only to destinations with outlier detection") == true)
        #expect(failover.cause?.contains("(local share 25 % before the action)") == true)
        #expect(failover.hint?.contains("routing.locality.outlierDetection") == true)
        let locality = try #require(rows(outcome, CheckName.locality).first)
        #expect(locality.status == .fail)
        #expect(locality.cause?.contains("routing.locality has no outlierDetection") == true)
        // Not in effect: the balance expectation stays proportional to endpoints.
        #expect(rows(outcome, CheckName.balance).first?.balance?.expectation == "proportional-to-endpoints")
        #expect(outcome.verdict == .fail)
    }

    @Test func eachBoundFailsWithItsCause() throws {
        let slow = evaluate(
            try scenario(expectations: Expectations(failover: FailoverExpectation(maxFailoverSeconds: 1.5))), failingOver())
        let slowRow = try #require(rows(slow, CheckName.failover).first)
        #expect(slowRow.status == .fail)
        #expect(slowRow.message.hasSuffix("more than the allowed 1.5 s"))

        let errors = evaluate(
            try scenario(expectations: Expectations(failover: FailoverExpectation(maxErrorsDuringFailover: 3))), failingOver())
        #expect(rows(errors, CheckName.failover).first?.message.hasSuffix("more than the allowed 3 errors") == true)

        let never = evaluate(try scenario(), failingOver(failoverWindows: 10))
        let neverRow = try #require(rows(never, CheckName.failover).first)
        #expect(neverRow.status == .fail)
        #expect(neverRow.message == "cluster-1 never failed over from cluster-1 (share 100 % before); 20 of 100 requests failed")

        let slowRecovery = evaluate(try scenario(expectations: Expectations(failover: FailoverExpectation(maxRecoverySeconds: 1))), failingOver())
        #expect(rows(slowRecovery, CheckName.failover).first?.message.hasSuffix("recovered 2 s after the restore, more than the allowed 1 s") == true)

        let unrecovered = evaluate(try scenario(), failingOver(recovered: false))
        let unrecoveredRow = try #require(rows(unrecovered, CheckName.failover).first)
        #expect(unrecoveredRow.status == .fail)
        #expect(unrecoveredRow.message.hasSuffix("traffic did not return to cluster-1 after the restore, by the end of the load"))
    }

    @Test func localityInEffectButNeverPreferred() throws {
        var script = RunScript()
        for source in 0..<3 { script.add(source: source, windows: 0...9, answers: [0: 5, 1: 5]) }
        for source in 0..<3 { script.add(source: source, windows: 10...29, answers: [1: 10]) }
        let outcome = evaluate(try scenario(), script)
        let failover = try #require(rows(outcome, CheckName.failover).first)
        #expect(failover.status == .fail)
        #expect(failover.message == "cluster-1 kept only 50 % of 100 answers local before down: it never preferred its locality")
    }

    @Test func skipsWithoutTimelineOrDisruptions() throws {
        let withoutTime = evaluate(try scenario(expectations: Self.bounds), failingOver(), timeline: false)
        #expect(rows(withoutTime, CheckName.failover).first?.message == "the run's records carry no time, so failover cannot be measured")
        for name in [CheckName.errorRate, CheckName.balance, CheckName.locality] {
            let row = try #require(rows(withoutTime, name).first)
            #expect(row.status == .skip, "\(name)")
            #expect(row.message.hasSuffix("(see failover)"))
        }
        let quiet = evaluate(try scenario(), RunScript.local(), disruptions: [])
        #expect(rows(quiet, CheckName.failover).first?.message == "the scenario has no disruptions, so nothing failed over")
        #expect(rows(quiet, CheckName.errorRate).first?.message.hasPrefix("0 of 300 requests failed") == true, "judged as before")
        let plain = evaluate(try scenario(locality: nil), RunScript.local(), disruptions: [])
        #expect(rows(plain, CheckName.failover).isEmpty)
        #expect(rows(plain, CheckName.locality).isEmpty)

        var unapplied = TimelineScript.scaleDown()
        unapplied.appliedAtMs = nil
        unapplied.error = "scaling failed"
        let never = evaluate(try scenario(), RunScript.local(), disruptions: [unapplied])
        #expect(rows(never, CheckName.failover).first?.message == "down was never applied: scaling failed")
    }

    @Test func localitySkipsWithoutLocalitiesAndFailsWhenLeaving() throws {
        let unknown = evaluate(try scenario(expectations: Self.bounds), RunScript.local(), disruptions: [], localities: [:])
        #expect(rows(unknown, CheckName.locality).first?.message == "cluster-1's zone is unknown (no topology.kubernetes.io/zone label was read)")
        var spread = RunScript()
        for source in 0..<3 { spread.add(source: source, windows: 0...29, answers: [0: 5, 1: 5]) }
        let leaving = evaluate(try scenario(expectations: Self.bounds), spread, disruptions: [])
        let row = try #require(rows(leaving, CheckName.locality).first)
        #expect(row.status == .fail)
        #expect(row.cause?.hasPrefix("locality load balancing is configured but cluster-1's requests left its zone") == true)
        // A region scope counts every cluster of the region.
        var region = Self.bounds
        region.locality = LocalityExpectation(scope: .region, minShare: 0.9)
        #expect(rows(evaluate(try scenario(expectations: region), spread, disruptions: []), CheckName.locality).first?.status == .pass)
    }

    @Test func abortAgainstTheConfiguredPercentage() throws {
        var script = RunScript()
        for source in 1..<3 { script.add(source: source, windows: 0...29, answers: [source: 10]) }
        script.add(source: 0, windows: 0...29, answers: [0: 10])
        script.add(source: 0, windows: 10...19, errors: 10)
        let outcome = evaluate(try scenario(), script, disruptions: [TimelineScript.abort(percent: 50)])
        let row = try #require(rows(outcome, CheckName.failover).first)
        #expect(row.status == .pass)
        #expect(row.message.hasPrefix("errors from 10 s to 20 s; 100 of 200 requests failed while the fault was in place"))
        #expect(rows(outcome, CheckName.failover, source: "cluster-2").first?.status == .skip)
        let wrong = evaluate(try scenario(), script, disruptions: [TimelineScript.abort(percent: 10)])
        let wrongRow = try #require(rows(wrong, CheckName.failover).first)
        #expect(wrongRow.status == .fail)
        #expect(wrongRow.message.hasSuffix("for a configured 10 %: the error rate differs from the configured abort percentage"))
        // Errors that outlast the restore (to the end) fail recovery; within the bound they pass.
        var lasting = RunScript()
        for source in 1..<3 { lasting.add(source: source, windows: 0...29, answers: [source: 10]) }
        lasting.add(source: 0, windows: 0...9, answers: [0: 10])
        lasting.add(source: 0, windows: 10...29, answers: [0: 10], errors: 10)
        let unrecovered = try #require(rows(evaluate(try scenario(), lasting, disruptions: [TimelineScript.abort()]), CheckName.failover).first)
        #expect(unrecovered.status == .fail)
        #expect(unrecovered.message.hasSuffix("errors did not stop after the restore, by the end of the load"))
        let late = try #require(
            rows(
                evaluate(
                    try scenario(expectations: Expectations(failover: FailoverExpectation(maxRecoverySeconds: 0.5))), script,
                    disruptions: [TimelineScript.abort(percent: 50, restoredAtMs: 19_500)]), CheckName.failover
            ).first)
        #expect(late.message.hasSuffix("recovered 0.5 s after the restore") == true)
        #expect(late.status == .pass)
    }
}

@Suite struct FailoverReportBuilderTests {
    /// The verdict's figures reach report.json through the one report builder, and survive a JSON round trip.
    @Test func figuresReachTheReport() throws {
        let checks = FailoverChecksTests()
        let scenario = try checks.scenario(expectations: FailoverChecksTests.bounds)
        let judged = checks.evaluate(scenario, checks.failingOver())
        let facts = RunFacts(
            runId: "r", startedAt: "2026-12-02T09:00:00Z", durationSeconds: 40, namespace: "meshcheck-t", revision: "default", scenario: scenario,
            readyEndpoints: [:], phases: [], convergeSeconds: nil, retries: [], exec: ExecStats(sessions: 0, failed: 0, roundTripMs: nil),
            cleanup: CleanupReport(status: .done, leftovers: []))
        let report = RunReportBuilder.report(facts: facts, judged: judged, end: .completed).report
        #expect(report.failover == judged.failover)
        #expect(report.failover?.first?.failoverSeconds == 2)
        #expect(report.checks.contains { $0.name == CheckName.failover && $0.target == "down" })
        #expect(report.checks.contains { $0.name == CheckName.locality })
        let decoded = try JSONDecoder().decode(RunReport.self, from: try JSONEncoder().encode(report))
        #expect(decoded == report)
        // A run without disruptions writes no `failover` key.
        let plain = RunReportBuilder.report(facts: facts, judged: checks.evaluate(scenario, RunScript.local(), disruptions: []), end: .completed)
        #expect(plain.report.failover == nil)
    }
}
