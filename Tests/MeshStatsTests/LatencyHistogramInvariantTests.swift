import MeshStats
import Testing

/// Randomized invariants over many small histograms drawn with a fixed seed.
@Suite struct LatencyHistogramInvariantTests {
    static func randomValues(_ generator: inout SeededGenerator) -> [UInt64] {
        let count = Int(generator.next() % 300)
        let distribution = Distribution.allCases[Int(generator.next() % 4)]
        return (0..<count).map { _ in distribution.draw(&generator) }
    }

    @Test func bucketCountsSumToCountAndPercentilesAreMonotone() {
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<300 {
            var histogram = LatencyHistogram()
            for value in Self.randomValues(&generator) { histogram.record(value) }
            let buckets = histogram.nonEmptyBuckets
            #expect(buckets.reduce(0) { $0 + $1.count } == histogram.count)
            for (lower, upper) in zip(buckets, buckets.dropFirst()) {
                #expect(lower.upperBound < upper.lowerBound)
            }
            guard !histogram.isEmpty else { continue }
            let values = percentileGrid.map { histogram.value(atPercentile: $0)! }
            #expect(values == values.sorted())
            #expect(values.first == histogram.min && values.last == histogram.max)
            for percentile in percentileGrid {
                let value = histogram.value(atPercentile: percentile)!
                #expect(histogram.percentile(ofValue: value)! >= percentile * (1 - 1e-12))
            }
        }
    }

    @Test func mergeEqualsRecordingTheUnion() {
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<100 {
            let a = Self.randomValues(&generator)
            let b = Self.randomValues(&generator)
            var left = LatencyHistogram()
            var right = LatencyHistogram()
            var union = LatencyHistogram()
            for value in a {
                left.record(value)
                union.record(value)
            }
            for value in b {
                right.record(value)
                union.record(value)
            }
            var merged = left
            merged.merge(right)
            #expect(merged == union)
            var mergedOtherWay = right
            mergedOtherWay.merge(left)
            #expect(mergedOtherWay == union)
            #expect(left.count == UInt64(a.count), "merge must not touch the source")
        }
    }

    @Test func recordWithCountEqualsRepeatedRecords() {
        var generator = SeededGenerator(seed: 99)
        for _ in 0..<200 {
            let value = Distribution.heavyTailed.draw(&generator)
            let repeats = generator.next() % 20
            var once = LatencyHistogram()
            var repeated = LatencyHistogram()
            once.record(value, count: repeats)
            for _ in 0..<repeats { repeated.record(value) }
            #expect(once == repeated)
        }
    }

    /// The closed-form, bucket-at-a-time coordinated-omission correction equals HdrHistogram's
    /// definition: record value, value − interval, value − 2·interval, … while ≥ interval.
    @Test func coordinatedOmissionMatchesTheNaiveDefinition() {
        var generator = SeededGenerator(seed: 2024)
        for trial in 0..<400 {
            let value = trial < 200 ? generator.next() % 50_000 : Distribution.heavyTailed.draw(&generator) % 3_000_000
            let interval = [0, 1, 3, 7, 100, 1000, 4096, 20_000][Int(generator.next() % 8)]
            var corrected = LatencyHistogram()
            var naive = LatencyHistogram()
            corrected.record(value, expectedInterval: UInt64(interval))
            naive.record(value)
            if interval > 0 && value > UInt64(interval) {
                var missing = value - UInt64(interval)
                while missing >= UInt64(interval) {
                    naive.record(missing)
                    missing -= UInt64(interval)
                }
            }
            #expect(corrected == naive, "value \(value) interval \(interval)")
        }
    }

    @Test func coordinatedOmissionOfAnHourAtOneMicrosecondIsBounded() {
        var histogram = LatencyHistogram()
        histogram.record(3_600_000_000, expectedInterval: 1)
        #expect(histogram.count == 3_600_000_000)
        #expect(histogram.min == 1)
        #expect(histogram.sum == UInt64(3_600_000_000) * 3_600_000_001 / 2)
        let median = Double(histogram.value(atPercentile: 50)!)
        #expect(abs(median - 1_800_000_000) / 1_800_000_000 < 0.001)
    }

    @Test func resetEmptiesTheHistogram() {
        var histogram = LatencyHistogram()
        for value: UInt64 in [5, 50_000, 9_000_000] { histogram.record(value) }
        histogram.reset()
        #expect(histogram == LatencyHistogram())
    }

    @Test func batchRecordEqualsRecordingOneByOne() {
        var generator = SeededGenerator(seed: 77)
        for _ in 0..<50 {
            let values = (0..<Int(generator.next() % 500)).map { _ in
                generator.next() % 8 == 0 ? generator.next() : Distribution.heavyTailed.draw(&generator)
            }
            var batch = LatencyHistogram()
            var single = LatencyHistogram()
            batch.record(contentsOf: values)
            for value in values { single.record(value) }
            #expect(batch == single)
        }
    }
}
