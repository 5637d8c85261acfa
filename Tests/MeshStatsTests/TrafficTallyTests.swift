import Testing

@testable import MeshStats

/// A pair's latencies stay raw values until they outnumber `rawLatencyLimit` (a histogram is 184 KiB and every
/// exec session has a tally), and whatever the mix, what the tally reports equals one histogram of every value.
@Suite struct TrafficTallyLatencyTests {
    static let limit = TrafficTally.rawLatencyLimit

    private func tally(_ latencies: [[UInt64]]) -> TrafficTally {
        // Two clusters; pod "a" serves in cluster 0, "b" in cluster 1; latencies[t] go from source 0 to target t.
        var tally = TrafficTally(clusterNames: ["one", "two"])
        tally.assign(instance: NameID(rawValue: 1), named: "a", toCluster: 0)
        tally.assign(instance: NameID(rawValue: 2), named: "b", toCluster: 1)
        for (target, values) in latencies.enumerated() {
            for (seq, micros) in values.enumerated() {
                tally.record(
                    RequestSample(
                        burst: 0, worker: 0, sequence: UInt32(seq), status: 200, curlExit: 0, connectMicros: 1,
                        firstByteMicros: 1, totalMicros: micros, version: .absent,
                        instance: NameID(rawValue: UInt32(target + 1))), source: 0)
            }
        }
        return tally
    }

    private func histogram(_ values: [UInt64]) -> LatencyHistogram {
        var histogram = LatencyHistogram()
        histogram.record(contentsOf: values)
        return histogram
    }

    private func values(_ count: Int, from start: UInt64) -> [UInt64] {
        (0..<UInt64(count)).map { start + $0 * 37 % 5000 }
    }

    @Test func aFewRequestsCostNoHistogram() {
        let small = tally([values(3, from: 900), values(Self.limit, from: 2000)])
        #expect(small.allocatedHistograms == 0)
        #expect(small.makeLatencyHistogram(source: 0, target: 0) == histogram(values(3, from: 900)))
        #expect(small.makeLatencyHistogram(source: 0, target: 1) == histogram(values(Self.limit, from: 2000)))
        #expect(small.makeLatencyHistogram(source: 1, target: 0) == nil)
    }

    @Test func manyRequestsMoveIntoAHistogram() {
        let big = tally([values(Self.limit + 1, from: 100), values(10_000, from: 7)])
        #expect(big.allocatedHistograms == 2)
        #expect(big.makeLatencyHistogram(source: 0, target: 0) == histogram(values(Self.limit + 1, from: 100)))
        #expect(big.makeLatencyHistogram(source: 0, target: 1) == histogram(values(10_000, from: 7)))
        #expect(big.pair(source: 0, target: 1).successes == 10_000)
    }

    @Test(arguments: [(0, 0), (0, 5), (5, 0), (5, 7), (TrafficTallyLatencyTests.limit, 1), (3, 600), (600, 3), (600, 900), (0, 600)])
    func mergingRawAndHistogramPairsEqualsOneHistogramOfEverything(counts: (Int, Int)) {
        let first = values(counts.0, from: 50)
        let second = values(counts.1, from: 3000)
        var merged = tally([first, first])
        merged.merge(tally([second, []]))
        let all = first + second
        #expect(merged.makeLatencyHistogram(source: 0, target: 0) == (all.isEmpty ? nil : histogram(all)))
        #expect(merged.makeLatencyHistogram(source: 0, target: 1) == (first.isEmpty ? nil : histogram(first)))
        #expect(merged.pair(source: 0, target: 0).successes == all.count)
        #expect(merged.allocatedHistograms == [all.count, first.count].filter { $0 > Self.limit }.count)
    }

    @Test func aThousandSessionTalliesMergeWithoutHoldingAHistogramEach() {
        var run = TrafficTally(clusterNames: ["one", "two"])
        var everything: [UInt64] = []
        for session in 0..<1000 {
            let latencies = values(2, from: UInt64(session))
            everything += latencies
            let perSession = tally([latencies, []])
            #expect(perSession.allocatedHistograms == 0)
            run.merge(perSession)
        }
        #expect(run.allocatedHistograms == 1)
        #expect(run.makeLatencyHistogram(source: 0, target: 0) == histogram(everything))
    }
}

/// Answers per HelloWorld pod (for `balance-instances`): only successes of registered pods count, per source, and
/// session tallies merge into the run's, including pods only one of them registered.
@Suite struct TrafficTallyInstanceTests {
    private func sample(_ instance: UInt32, status: UInt16 = 200) -> RequestSample {
        RequestSample(
            burst: 0, worker: 0, sequence: 0, status: status, curlExit: 0, connectMicros: 1, firstByteMicros: 1, totalMicros: 10,
            version: .absent, instance: NameID(rawValue: instance))
    }

    @Test func successesAreCountedPerInstanceAndSource() {
        var tally = TrafficTally(clusterNames: ["one", "two"])
        tally.assign(instance: NameID(rawValue: 2), named: "hw-2a", toCluster: 1)
        tally.assign(instance: NameID(rawValue: 3), named: "hw-2b", toCluster: 1)
        for _ in 0..<3 { tally.record(sample(2), source: 0) }
        tally.record(sample(3), source: 1)
        tally.record(sample(3, status: 503), source: 0) // an error is not an answer to count
        tally.record(sample(9), source: 0) // not registered: an unknown-instance error
        #expect(tally.instances.map(\.name) == ["hw-2a", "hw-2b"])
        #expect(tally.instances.map(\.cluster) == [1, 1])
        #expect(tally.successes(source: 0, instance: NameID(rawValue: 2)) == 3)
        #expect(tally.successes(source: 0, instance: NameID(rawValue: 3)) == 0)
        #expect(tally.successes(source: 1, instance: NameID(rawValue: 3)) == 1)
        #expect(tally.successes(source: 0, instance: NameID(rawValue: 9)) == 0)
    }

    @Test func mergedTalliesAddPerInstanceCounts() {
        var run = TrafficTally(clusterNames: ["one", "two"])
        run.assign(instance: NameID(rawValue: 1), named: "hw-1a", toCluster: 0)
        var session = run
        session.assign(instance: NameID(rawValue: 4), named: "hw-2z", toCluster: 1)
        session.record(sample(1), source: 1)
        session.record(sample(4), source: 1)
        run.record(sample(1), source: 1)
        run.merge(session)
        #expect(run.instances.map(\.name) == ["hw-1a", "hw-2z"])
        #expect(run.successes(source: 1, instance: NameID(rawValue: 1)) == 2)
        #expect(run.successes(source: 1, instance: NameID(rawValue: 4)) == 1)
    }

    /// Pods that appeared during the load (a cluster scaled back up) are registered by each session on its own, under
    /// ids that differ between sessions and may collide: merging keeps one instance per pod name and every answer.
    @Test func instancesRegisteredBySessionsMergeByName() {
        var base = TrafficTally(clusterNames: ["one", "two"])
        base.assign(instance: NameID(rawValue: 1), named: "hw-1a", toCluster: 0)
        var first = base
        first.assign(instance: NameID(rawValue: 5), named: "hw-1new", toCluster: 0)
        first.record(sample(5), source: 0)
        first.record(sample(1), source: 0)
        var second = base
        // The same new pod under another id, and another new pod under the first session's id for its pod.
        second.assign(instance: NameID(rawValue: 6), named: "hw-1new", toCluster: 0)
        second.assign(instance: NameID(rawValue: 5), named: "hw-2new", toCluster: 1)
        second.record(sample(6), source: 1)
        second.record(sample(5), source: 1)
        second.record(sample(5), source: 1)
        var run = base
        run.merge(first)
        run.merge(second)
        let byName = Dictionary(uniqueKeysWithValues: run.instances.map { ($0.name, $0) })
        #expect(run.instances.count == 3, "\(run.instances)")
        #expect(byName["hw-1new"]?.cluster == 0)
        #expect(byName["hw-2new"]?.cluster == 1)
        let newOne = try! #require(byName["hw-1new"]).id
        let newTwo = try! #require(byName["hw-2new"]).id
        #expect(run.successes(source: 0, instance: newOne) == 1)
        #expect(run.successes(source: 1, instance: newOne) == 1)
        #expect(run.successes(source: 1, instance: newTwo) == 2)
        #expect(run.successes(source: 0, instance: NameID(rawValue: 1)) == 1)
        #expect(run.pair(source: 1, target: 1).successes == 2)
    }
}
