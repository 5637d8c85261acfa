import Testing

@testable import MeshStats

/// The per-window tally: where a request lands, what it counts as, what merging and reading windows give back.
@Suite struct TimelineTallyTests {
    /// Three clusters, 1 s windows.
    private func tally() -> TimelineTally { TimelineTally(clusterCount: 3, windowMicros: 1_000_000) }

    @Test func placesRequestsByStartInFixedWindows() {
        var timeline = tally()
        timeline.record(source: 0, target: 1, succeeded: true, atMicros: 0, totalMicros: 10)
        timeline.record(source: 0, target: 1, succeeded: true, atMicros: 999_999, totalMicros: 10)
        timeline.record(source: 0, target: 2, succeeded: true, atMicros: 1_000_000, totalMicros: 10)
        timeline.record(source: 0, target: 0, succeeded: true, atMicros: 3_500_000, totalMicros: 10)
        let windows = timeline.windows(source: 0)
        #expect(windows.map(\.index) == [0, 1, 2, 3])
        #expect(windows.map(\.window.successes) == [[0, 2, 0], [0, 0, 1], [0, 0, 0], [1, 0, 0]])
        #expect(windows.map(\.window.requests) == [2, 1, 0, 1])
        #expect(timeline.lastWindowIndex == 3)
    }

    @Test func aStartBeforeTheOriginCountsInTheFirstWindow() {
        var timeline = tally()
        timeline.record(source: 1, target: 0, succeeded: true, atMicros: -250, totalMicros: 10)
        #expect(timeline.windowIndex(atMicros: -250) == 0)
        #expect(timeline.windows(source: 1).map(\.window.successes) == [[1, 0, 0]])
    }

    @Test func windowWidthIsAtLeastOneMicrosecond() {
        let timeline = TimelineTally(clusterCount: 1, windowMicros: 0)
        #expect(timeline.windowMicros == 1)
        #expect(timeline.windowIndex(atMicros: 7) == 7)
    }

    @Test func failuresCountWithTheirServingClusterWhenKnown() {
        var timeline = tally()
        timeline.record(source: 0, target: 2, succeeded: false, atMicros: 10, totalMicros: 5)
        timeline.record(source: 0, target: nil, succeeded: false, atMicros: 20, totalMicros: 5)
        // A success no known pod answered (unknown instance) is a failure, as the traffic tally counts it.
        timeline.record(source: 0, target: nil, succeeded: true, atMicros: 30, totalMicros: 5)
        // A target outside the clusters is unknown.
        timeline.record(source: 0, target: 7, succeeded: true, atMicros: 40, totalMicros: 5)
        let window = timeline.windows(source: 0)[0].window
        #expect(window.errors == 4)
        #expect(window.errorsByTarget == [0, 0, 1])
        #expect(window.successes == [0, 0, 0])
        #expect(window.succeeded == 0)
        #expect(window.requests == 4)
        #expect(window.latencySamples.isEmpty)
    }

    @Test func unknownSourcesAreIgnored() {
        var timeline = tally()
        timeline.record(source: 3, target: 0, succeeded: true, atMicros: 0, totalMicros: 1)
        timeline.record(source: -1, target: 0, succeeded: true, atMicros: 0, totalMicros: 1)
        #expect(timeline.isEmpty)
        #expect(timeline.lastWindowIndex == nil)
        #expect(timeline.windows(source: 3).isEmpty)
    }

    @Test func sourcesKeepTheirOwnWindows() {
        var timeline = tally()
        timeline.record(source: 2, target: 0, succeeded: true, atMicros: 4_000_000, totalMicros: 1)
        #expect(!timeline.isEmpty)
        #expect(timeline.windows(source: 0).isEmpty)
        #expect(timeline.windows(source: 2).count == 5)
        #expect(timeline.lastWindowIndex == 4)
    }

    @Test func latencyQuantilesAreNearestRankOfSuccesses() {
        var timeline = tally()
        for micros in (1...100).reversed() {
            timeline.record(source: 0, target: 0, succeeded: true, atMicros: 0, totalMicros: UInt64(micros))
        }
        timeline.record(source: 0, target: 0, succeeded: false, atMicros: 0, totalMicros: 1_000_000)
        let window = timeline.windows(source: 0)[0].window
        #expect(window.latencyQuantile(0.5) == 50)
        #expect(window.latencyQuantile(0.99) == 99)
        #expect(window.latencyQuantile(1) == 100)
        #expect(window.latencyQuantile(0) == 1)
        #expect(TimelineWindow(clusterCount: 1).latencyQuantile(0.5) == nil)
    }

    @Test func aBusyWindowKeepsItsFirstLatenciesAndCountsTheRest() {
        var timeline = tally()
        let limit = TimelineTally.latencySampleLimit
        for index in 0..<(limit + 10) {
            timeline.record(source: 0, target: 1, succeeded: true, atMicros: 5, totalMicros: UInt64(index))
        }
        let window = timeline.windows(source: 0)[0].window
        #expect(window.latencySamples.count == limit)
        #expect(window.latencySamples.last == UInt64(limit - 1))
        #expect(window.latencySamplesDropped == 10)
        #expect(window.successes[1] == limit + 10)
    }

    @Test func requestsBeyondTheWindowLimitAreCountedNotPlaced() {
        var timeline = TimelineTally(clusterCount: 1, windowMicros: 1)
        timeline.record(source: 0, target: 0, succeeded: true, atMicros: Int64(TimelineTally.windowLimit - 1), totalMicros: 1)
        timeline.record(source: 0, target: 0, succeeded: true, atMicros: Int64(TimelineTally.windowLimit), totalMicros: 1)
        timeline.record(source: 0, target: 0, succeeded: true, atMicros: .max, totalMicros: 1)
        #expect(timeline.beyondLimit == 2)
        #expect(timeline.lastWindowIndex == TimelineTally.windowLimit - 1)
    }

    @Test func mergingEqualsRecordingEverythingInOne() {
        // Requests spread over sessions in any split give the same windows as one tally of all of them.
        let requests: [(source: Int, target: Int?, succeeded: Bool, at: Int64, total: UInt64)] = (0..<300).map { index in
            let target: Int? = index % 11 == 0 ? nil : index % 3
            return (index % 2, target, index % 7 != 0, Int64(index * 37_123 % 5_000_000), UInt64(100 + index))
        }
        var whole = tally()
        var parts = [tally(), tally(), tally()]
        for (index, request) in requests.enumerated() {
            whole.record(source: request.source, target: request.target, succeeded: request.succeeded, atMicros: request.at, totalMicros: request.total)
            parts[index % 3].record(
                source: request.source, target: request.target, succeeded: request.succeeded, atMicros: request.at, totalMicros: request.total)
        }
        var merged = tally()
        for part in parts { merged.merge(part) }
        for source in 0..<3 {
            let mine = merged.windows(source: source)
            let theirs = whole.windows(source: source)
            #expect(mine.map(\.index) == theirs.map(\.index))
            #expect(mine.map(\.window.successes) == theirs.map(\.window.successes))
            #expect(mine.map(\.window.errors) == theirs.map(\.window.errors))
            #expect(mine.map(\.window.errorsByTarget) == theirs.map(\.window.errorsByTarget))
            #expect(mine.map { $0.window.latencySamples.sorted() } == theirs.map { $0.window.latencySamples.sorted() })
        }
    }

    @Test func mergingFullWindowsKeepsTheLimitAndCountsWhatItDrops() {
        let limit = TimelineTally.latencySampleLimit
        var first = tally()
        var second = tally()
        for index in 0..<(limit - 5) { first.record(source: 0, target: 0, succeeded: true, atMicros: 0, totalMicros: UInt64(index)) }
        for index in 0..<20 { second.record(source: 0, target: 0, succeeded: true, atMicros: 0, totalMicros: UInt64(index)) }
        var beyond = TimelineTally(clusterCount: 3, windowMicros: 1_000_000)
        beyond.record(source: 0, target: 0, succeeded: true, atMicros: .max, totalMicros: 1)
        first.merge(second)
        first.merge(beyond)
        let window = first.windows(source: 0)[0].window
        #expect(window.latencySamples.count == limit)
        #expect(window.latencySamplesDropped == 15)
        #expect(window.succeeded == limit + 15)
        #expect(first.beyondLimit == 1)
    }

    @Test func mergingWindowsOfOneSideOnlyCopiesThem() {
        var first = tally()
        var second = tally()
        first.record(source: 0, target: 0, succeeded: true, atMicros: 0, totalMicros: 1)
        second.record(source: 0, target: 1, succeeded: false, atMicros: 2_000_000, totalMicros: 1)
        first.merge(second)
        #expect(first.windows(source: 0).map(\.window.requests) == [1, 0, 1])
        #expect(first.windows(source: 0)[2].window.errorsByTarget == [0, 1, 0])
    }
}
