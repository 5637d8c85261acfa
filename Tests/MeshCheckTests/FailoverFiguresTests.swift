import MeshStats
import Testing

@testable import MeshCheck

/// A run's timeline written window by window: each window of one second holds the given answers per serving cluster
/// and failed requests, placed inside the window.
struct TimelineScript {
    static let names = ["cluster-1", "cluster-2", "cluster-3"]
    var timeline = TimelineTally(clusterCount: 3, windowMicros: 1_000_000)

    /// `answers`: per cluster index, successful answers in each window of `windows`.
    mutating func add(source: Int, windows: ClosedRange<Int>, answers: [Int: Int] = [:], errors: Int = 0) {
        for window in windows {
            let start = Int64(window) * 1_000_000
            for (target, count) in answers.sorted(by: { $0.key < $1.key }) {
                for offset in 0..<count {
                    timeline.record(source: source, target: target, succeeded: true, atMicros: start + Int64(offset) * 1_000, totalMicros: 500)
                }
            }
            for offset in 0..<errors {
                timeline.record(source: source, target: nil, succeeded: false, atMicros: start + 500_000 + Int64(offset), totalMicros: 0)
            }
        }
    }

    static func scaleDown(
        _ name: String = "down", clusters: [String] = ["cluster-1"], appliedAtMs: Int64 = 10_000, restoredAtMs: Int64? = 20_000
    ) -> DisruptionRecord {
        DisruptionRecord(
            name: name, kind: "scale-to-zero", clusters: clusters, at: Double(appliedAtMs) / 1000, restoreAt: restoredAtMs.map { Double($0) / 1000 },
            appliedAtMs: appliedAtMs, restoredAtMs: restoredAtMs)
    }

    static func abort(percent: Double = 50, clusters: [String] = ["cluster-1"], appliedAtMs: Int64 = 10_000, restoredAtMs: Int64? = 20_000)
        -> DisruptionRecord
    {
        DisruptionRecord(
            name: "fault", kind: "abort", clusters: clusters, percent: percent, httpStatus: 503, at: Double(appliedAtMs) / 1000,
            restoreAt: restoredAtMs.map { Double($0) / 1000 }, appliedAtMs: appliedAtMs, restoredAtMs: restoredAtMs)
    }

    func figures(
        _ disruptions: [DisruptionRecord], sources: [Int] = [0], expectation: FailoverExpectation = FailoverExpectation(),
        locality: LocalityExpectation? = nil, localities: [String: ClusterLocality] = [:]
    ) -> (figures: [FailoverFigure], spans: [FailoverFigures.Span]) {
        FailoverFigures.compute(
            FailoverFigures.Input(
                timeline: timeline, names: Self.names, sources: sources, disruptions: disruptions, expectation: expectation, locality: locality,
                localities: localities, significance: 0.001))
    }

    /// Each cluster in its own zone of one region.
    static let zones = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, ClusterLocality(region: "r1", zone: "z\($0 + 1)")) })
}

@Suite struct FailoverFiguresTests {
    /// Before the action 90 % of source 0's answers come from cluster-1, its own.
    func steady(_ script: inout TimelineScript, _ windows: ClosedRange<Int>) {
        script.add(source: 0, windows: windows, answers: [0: 9, 1: 1])
    }

    @Test func instantFailoverAndRecovery() throws {
        var script = TimelineScript()
        steady(&script, 0...9)
        script.add(source: 0, windows: 10...19, answers: [1: 10])
        steady(&script, 20...29)
        let figure = try #require(script.figures([TimelineScript.scaleDown()]).figures.first)
        #expect(figure.baselineShare == 0.9)
        #expect(figure.baselineAnswers == 100)
        #expect(figure.failoverSeconds == 0)
        #expect(figure.errorsDuringFailover == 0)
        #expect(figure.requestsDuringFailover == 0)
        #expect(figure.recoveryApplicable)
        #expect(figure.recoverySeconds == 0)
        #expect(figure.windowSeconds == 1)
        #expect(figure.localityReturned == nil, "no locality expectation")
    }

    /// The action half-way through window 10; window 10 to 12 still reach cluster-1 and fail; from 13 traffic has moved.
    @Test func slowFailoverCountsTheErrorsOfWholeWindows() throws {
        var script = TimelineScript()
        steady(&script, 0...9)
        script.add(source: 0, windows: 10...12, answers: [0: 2, 1: 6], errors: 2)
        script.add(source: 0, windows: 13...19, answers: [1: 10])
        steady(&script, 20...29)
        let (figures, spans) = script.figures([TimelineScript.scaleDown(appliedAtMs: 10_500)])
        let figure = try #require(figures.first)
        #expect(figure.failoverSeconds == 2.5)
        #expect(figure.errorsDuringFailover == 6)
        #expect(figure.requestsDuringFailover == 30)
        let interval = ShareInterval.wilson(successes: 6, trials: 30)
        #expect(figure.errorRate == WilsonInterval(interval))
        #expect(figure.errorRate.low < 0.2 && figure.errorRate.high > 0.2)
        #expect(spans == [FailoverFigures.Span(source: 0, first: 10, end: 20)])
    }

    /// A share above the threshold without errors is not failed over either.
    @Test func aShareAboveTheThresholdIsNotFailedOver() throws {
        var script = TimelineScript()
        steady(&script, 0...9)
        script.add(source: 0, windows: 10...14, answers: [0: 1, 1: 9])
        script.add(source: 0, windows: 15...19, answers: [1: 10])
        let figure = try #require(script.figures([TimelineScript.scaleDown(restoredAtMs: nil)]).figures.first)
        #expect(figure.failoverSeconds == 5)
        #expect(figure.errorsDuringFailover == 0)
        #expect(figure.requestsDuringFailover == 50)
        #expect(!figure.restored)
        #expect(!figure.recoveryApplicable)
        let relaxed = try #require(
            script.figures([TimelineScript.scaleDown(restoredAtMs: nil)], expectation: FailoverExpectation(shareThreshold: 0.1)).figures.first)
        #expect(relaxed.failoverSeconds == 0)
    }

    @Test func neverFailingOverCountsUntilTheRestore() throws {
        var script = TimelineScript()
        steady(&script, 0...9)
        script.add(source: 0, windows: 10...19, answers: [0: 5, 1: 1], errors: 4)
        steady(&script, 20...29)
        let figure = try #require(script.figures([TimelineScript.scaleDown()]).figures.first)
        #expect(figure.failoverSeconds == nil)
        #expect(figure.errorsDuringFailover == 40)
        #expect(figure.requestsDuringFailover == 100)
        #expect(figure.recoverySeconds == 0)
    }

    /// A single late error in the disrupted phase moves failover past it: traffic has not settled until it stops.
    @Test func aLateErrorMovesFailoverPastIt() throws {
        var script = TimelineScript()
        steady(&script, 0...9)
        script.add(source: 0, windows: 10...19, answers: [1: 10])
        script.add(source: 0, windows: 15...15, errors: 1)
        let figure = try #require(script.figures([TimelineScript.scaleDown()]).figures.first)
        #expect(figure.failoverSeconds == 6)
        #expect(figure.errorsDuringFailover == 1)
    }

    @Test func slowAndMissingRecovery() throws {
        var script = TimelineScript()
        steady(&script, 0...9)
        script.add(source: 0, windows: 10...21, answers: [1: 10])
        // 40 % is not yet half the 90 % baseline; 50 % is.
        script.add(source: 0, windows: 22...23, answers: [0: 4, 1: 6])
        script.add(source: 0, windows: 24...29, answers: [0: 5, 1: 5])
        let slow = try #require(script.figures([TimelineScript.scaleDown(restoredAtMs: 20_200)]).figures.first)
        #expect(slow.recoverySeconds == 3.8)

        var never = TimelineScript()
        steady(&never, 0...9)
        never.add(source: 0, windows: 10...29, answers: [1: 10])
        let (figures, spans) = never.figures([TimelineScript.scaleDown()])
        let figure = try #require(figures.first)
        #expect(figure.recoveryApplicable)
        #expect(figure.recoverySeconds == nil)
        #expect(spans.first?.end == nil, "an unrecovered disruption holds the source to the end")
    }

    /// A source that did not use the disrupted cluster has nothing to recover.
    @Test func recoveryIsNotApplicableWithoutABaseline() throws {
        var script = TimelineScript()
        script.add(source: 0, windows: 0...29, answers: [1: 10])
        let (figures, spans) = script.figures([TimelineScript.scaleDown()])
        let figure = try #require(figures.first)
        #expect(figure.baselineShare == 0)
        #expect(figure.failoverSeconds == 0)
        #expect(!figure.recoveryApplicable)
        #expect(figure.recoverySeconds == nil)
        #expect(spans.first?.end == 21, "held to the end of the restore's window")
    }

    @Test func abortShowsTheErrorWindowAndRecovery() throws {
        var script = TimelineScript()
        steady(&script, 0...9)
        script.add(source: 0, windows: 10...20, answers: [0: 5], errors: 5)
        steady(&script, 21...29)
        script.add(source: 1, windows: 0...29, answers: [1: 10])
        let (figures, _) = script.figures([TimelineScript.abort()], sources: [0, 1])
        #expect(figures.count == 1, "the fault reaches only cluster-1's requests")
        let figure = try #require(figures.first)
        #expect(figure.kind == "abort")
        #expect(figure.configuredErrorRate == 0.5)
        #expect(figure.errorWindowStartSeconds == 10)
        #expect(figure.errorWindowEndSeconds == 21)
        #expect(figure.errorsDuringFailover == 50)
        #expect(figure.requestsDuringFailover == 100)
        #expect(figure.errorRate.low < 0.5 && figure.errorRate.high > 0.5)
        #expect(figure.failoverSeconds == nil)
        #expect(figure.baselineShare == nil)
        #expect(figure.recoverySeconds == 1)
    }

    /// The second disruption's baseline leaves out the first's span, and the first's recovery ends at the second action.
    @Test func multipleDisruptions() throws {
        var script = TimelineScript()
        steady(&script, 0...9)
        script.add(source: 0, windows: 10...14, answers: [1: 10])
        script.add(source: 0, windows: 15...16, answers: [0: 9, 1: 1])
        // The second disruption (cluster-2 at 17 s) leaves cluster-1 serving everything: the first's recovery holds.
        script.add(source: 0, windows: 17...19, answers: [0: 10], errors: 1)
        script.add(source: 0, windows: 20...29, answers: [0: 9, 1: 1])
        let first = TimelineScript.scaleDown("first", appliedAtMs: 10_000, restoredAtMs: 15_000)
        let second = TimelineScript.scaleDown("second", clusters: ["cluster-2"], appliedAtMs: 17_000, restoredAtMs: 19_000)
        let (figures, spans) = script.figures([second, first])
        #expect(figures.map(\.disruption) == ["first", "second"], "in the order they were applied")
        #expect(figures[0].recoverySeconds == 0)
        #expect(spans[0] == FailoverFigures.Span(source: 0, first: 10, end: 15))
        #expect(figures[1].baselineAnswers == 120, "windows 0–9 and 15–16, not the first disruption's")
        #expect(figures[1].baselineShare == 12.0 / 120)
        #expect(figures[1].failoverSeconds == nil, "the errors lasted until the restore")
        #expect(figures[1].errorsDuringFailover == 2)
        #expect(figures[1].recoverySeconds == 1)
    }

    /// Empty windows are no evidence: failover is the first window with requests from which all are clean.
    @Test func emptyWindowsAreSkipped() throws {
        var script = TimelineScript()
        steady(&script, 0...9)
        script.add(source: 0, windows: 10...10, answers: [0: 5], errors: 5)
        script.add(source: 0, windows: 14...19, answers: [1: 10])
        steady(&script, 25...29)
        let figure = try #require(script.figures([TimelineScript.scaleDown()]).figures.first)
        #expect(figure.failoverSeconds == 4)
        #expect(figure.errorsDuringFailover == 5)
        #expect(figure.recoverySeconds == 5)
        // A disruption applied where no request fell, to the end: nothing to judge.
        var silent = TimelineScript()
        steady(&silent, 0...9)
        let none = try #require(silent.figures([TimelineScript.scaleDown(restoredAtMs: nil)]).figures.first)
        #expect(none.failoverSeconds == nil)
        #expect(none.requestsDuringFailover == 0)
        #expect(none.errorRate == WilsonInterval(low: 0, high: 1))
    }

    @Test func neverAppliedDisruptionsHaveNoFigures() {
        var script = TimelineScript()
        steady(&script, 0...9)
        var record = TimelineScript.scaleDown()
        record.appliedAtMs = nil
        #expect(script.figures([record]).figures.isEmpty)
    }

    @Test func localityReturnsAfterRecovery() throws {
        var script = TimelineScript()
        steady(&script, 0...9)
        script.add(source: 0, windows: 10...19, answers: [1: 10])
        script.add(source: 0, windows: 20...29, answers: [0: 10])
        let locality = LocalityExpectation(scope: .zone, minShare: 0.9)
        let figure = try #require(
            script.figures([TimelineScript.scaleDown()], locality: locality, localities: TimelineScript.zones).figures.first)
        #expect(figure.localShareBefore == 0.9)
        #expect(figure.localityReturned == true)

        var mixed = TimelineScript()
        steady(&mixed, 0...9)
        mixed.add(source: 0, windows: 10...19, answers: [1: 10])
        mixed.add(source: 0, windows: 20...29, answers: [0: 5, 1: 5])
        let half = try #require(mixed.figures([TimelineScript.scaleDown()], locality: locality, localities: TimelineScript.zones).figures.first)
        #expect(half.recoverySeconds == 0)
        #expect(half.localityReturned == false)
        // Not the source's own locality: nothing to return to.
        let elsewhere = try #require(
            mixed.figures([TimelineScript.scaleDown(clusters: ["cluster-3"])], locality: locality, localities: TimelineScript.zones).figures.first)
        #expect(elsewhere.localityReturned == nil)
    }
}
