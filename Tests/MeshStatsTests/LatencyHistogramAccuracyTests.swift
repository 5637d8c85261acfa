import MeshStats
import Testing

/// Every percentile the histogram reports is within its stated relative error (0.1 %; in fact
/// 1/2048 by construction) of the exact nearest-rank percentile of the raw data.
@Suite struct LatencyHistogramAccuracyTests {
    static let relativeError = 0.001

    static func check(_ histogram: LatencyHistogram, sorted: [UInt64], label: String) {
        for percentile in percentileGrid {
            let exact = exactPercentile(sorted, percentile)
            let reported = histogram.value(atPercentile: percentile)!
            let error = abs(Double(reported) - Double(exact)) / Double(Swift.max(exact, 1))
            #expect(error <= relativeError, "\(label) p\(percentile): \(reported) vs exact \(exact)")
            if exact < 2048 { #expect(reported == exact, "\(label) p\(percentile): unit buckets are exact") }
        }
        let batch = histogram.values(atPercentiles: percentileGrid)
        #expect(batch == percentileGrid.map { histogram.value(atPercentile: $0)! }, "\(label): batch = single")
    }

    @Test(arguments: Distribution.allCases, [1, 2, 3, 10, 1000, 100_000, 1_000_000])
    func sortBasedPercentiles(distribution: Distribution, size: Int) {
        let values = distribution.sample(count: size, seed: UInt64(size) &* 7919 &+ 17)
        var histogram = LatencyHistogram()
        for value in values { histogram.record(value) }
        let sorted = values.sorted()
        Self.check(histogram, sorted: sorted, label: "\(distribution) n=\(size)")
        #expect(histogram.count == UInt64(size))
        #expect(histogram.min == sorted.first)
        #expect(histogram.max == sorted.last)
        let mean = Double(values.reduce(0, +)) / Double(size)
        #expect(abs(histogram.mean! - mean) <= 1e-9 * mean)
        let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(size)
        #expect(abs(histogram.standardDeviation! - variance.squareRoot()) <= 1e-6 * Swift.max(1, variance.squareRoot()))
    }

    /// 10⁷ values: the exact percentiles come from a unit-resolution count table instead of a sort,
    /// which keeps the case affordable in debug builds while staying exact.
    @Test(arguments: [Distribution.uniform, .bimodal])
    func tenMillionValues(distribution: Distribution) {
        let size = 10_000_000
        let limit = 4_000_000
        var exactCounts = [UInt32](repeating: 0, count: limit + 1)
        var histogram = LatencyHistogram()
        var generator = SeededGenerator(seed: 10_000_019)
        for _ in 0..<size {
            let value = Swift.min(distribution.draw(&generator), UInt64(limit))
            exactCounts[Int(value)] += 1
            histogram.record(value)
        }
        for percentile in percentileGrid {
            let rank = LatencyHistogram.nearestRank(percentile: percentile, count: UInt64(size))
            var cumulative: UInt64 = 0
            var exact = 0
            while true {
                cumulative += UInt64(exactCounts[exact])
                if cumulative >= rank { break }
                exact += 1
            }
            let reported = histogram.value(atPercentile: percentile)!
            let error = abs(Double(reported) - Double(exact)) / Double(Swift.max(exact, 1))
            #expect(error <= Self.relativeError, "\(distribution) n=10^7 p\(percentile): \(reported) vs \(exact)")
        }
    }

    @Test func boundaryValues() {
        var histogram = LatencyHistogram()
        for value: UInt64 in [0, 1, 2047, 2048, 2049, 4095, 4096, 3_600_000_000, LatencyHistogram.highestTrackableValue] {
            let range = LatencyHistogram.equivalentRange(of: value)
            #expect(range.contains(value))
            let width = Double(range.upperBound - range.lowerBound)
            #expect(width <= Double(Swift.max(range.lowerBound, 1)) / 1024)
            histogram.record(value)
        }
        #expect(histogram.clampedCount == 0)
        histogram.record(LatencyHistogram.highestTrackableValue + 1)
        histogram.record(.max)
        #expect(histogram.clampedCount == 2)
        #expect(histogram.max == LatencyHistogram.highestTrackableValue)
        #expect(histogram.value(atPercentile: 0) == 0)
        #expect(histogram.value(atPercentile: 100) == LatencyHistogram.highestTrackableValue)
    }

    /// A narrow spread around a large mean keeps full precision (exact 128-bit sums), also once
    /// the sum of squares passes 64 bits.
    @Test func standardDeviationOfNarrowSpreadsAndHugeSums() {
        var narrow = LatencyHistogram()
        for offset: UInt64 in [0, 1, 2] { narrow.record(3_000_000_000 + offset) }
        #expect(abs(narrow.standardDeviation! - (2.0 / 3).squareRoot()) < 1e-12)
        #expect(narrow.mean == 3_000_000_001)
        var huge = LatencyHistogram()
        huge.record(3_600_000_000, count: 2)
        #expect(huge.sumOfSquares.high > 0)
        #expect(huge.standardDeviation == 0)
        huge.record(3_599_999_998, count: 2)
        #expect(abs(huge.standardDeviation! - 1) < 1e-12)
    }

    @Test func emptyHistogram() {
        let histogram = LatencyHistogram()
        #expect(histogram.isEmpty)
        #expect(histogram.min == nil && histogram.max == nil && histogram.mean == nil)
        #expect(histogram.standardDeviation == nil)
        #expect(histogram.value(atPercentile: 50) == nil)
        #expect(histogram.percentile(ofValue: 10) == nil)
        #expect(histogram.nonEmptyBuckets.isEmpty)
        #expect(histogram.values(atPercentiles: [50]).isEmpty)
    }

    @Test func memoryIsFixed() {
        #expect(LatencyHistogram.bucketCount == 23_552)
        #expect(LatencyHistogram.countsMemoryBytes == 188_416)
        #expect(MemoryLayout<LatencyHistogram>.size == 64)
    }

    @Test func nearestRankDefinition() {
        #expect(LatencyHistogram.nearestRank(percentile: 99.9, count: 1000) == 999)
        #expect(LatencyHistogram.nearestRank(percentile: 50, count: 3) == 2)
        #expect(LatencyHistogram.nearestRank(percentile: 0, count: 3) == 1)
        #expect(LatencyHistogram.nearestRank(percentile: 100, count: 3) == 3)
        #expect(LatencyHistogram.nearestRank(percentile: 99, count: 1000) == 990)
        #expect(LatencyHistogram.nearestRank(percentile: 99.01, count: 1000) == 991)
    }
}
