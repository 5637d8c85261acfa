import Foundation // exp, log for the test data
import Histogram
import MeshStats

/// Latencies shaped like a mesh's: log-normal, median 20 ms, in µs; the same values for both sides.
private func latencySample(count: Int, seed: UInt64) -> [UInt64] {
    var generator = SeededGenerator(seed: seed)
    return (0..<count).map { _ in
        let u1 = 1 - generator.nextUnitInterval()
        let u2 = generator.nextUnitInterval()
        let normal = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
        return UInt64(exp(log(20_000.0) + normal))
    }
}

/// hdrhistogram-swift configured like ours: 3 significant digits, up to 1 h in µs.
private func makeBaseline() -> Histogram<UInt64> {
    Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
}

extension Benchmark {
    /// ns per value recorded one call at a time into an empty-then-filling histogram: our
    /// copy-on-write ``LatencyHistogram/record(_:)`` (what the tally records with), which checks on
    /// every call that its buckets are not shared with a copy, against hdrhistogram-swift's `record(_:)`.
    static let histogramRecordValue = recording(name: "histogram-record-value") { values in
        var histogram = LatencyHistogram()
        for value in values { histogram.record(value) }
        consume(histogram.count)
    }

    /// The same with our `record(contentsOf:)` (one copy-on-write check per batch); hdrhistogram-swift
    /// has only the per-value `record(_:)`.
    static let histogramRecordBatch = recording(name: "histogram-record-batch") { values in
        var histogram = LatencyHistogram()
        histogram.record(contentsOf: values)
        consume(histogram.count)
    }

    /// ns per value: `ours` records the 10⁶ values it is given, the baseline records them one by
    /// one into hdrhistogram-swift.
    private static func recording(name: String, ours: @escaping @Sendable ([UInt64]) -> Void) -> Benchmark {
        Benchmark(name: name) {
            let values = latencySample(count: 1_000_000, seed: 1)
            let (oursSeconds, baselineSeconds) = alternatingBestSeconds(
                ours: { ours(values) },
                baseline: {
                    var histogram = makeBaseline()
                    for value in values { histogram.record(value) }
                    consume(histogram.totalCount)
                })
            let perValue = 1e9 / Double(values.count)
            return Comparison(name: name, ours: oursSeconds * perValue, baseline: baselineSeconds * perValue, unit: .nanosecondsPerValue)
        }
    }

    /// µs per merge of a 100 000-value histogram into an accumulating one.
    static let histogramMerge = Benchmark(name: "histogram-merge") {
        let values = latencySample(count: 100_000, seed: 2)
        var oursSource = LatencyHistogram()
        var baselineSource = makeBaseline()
        for value in values {
            oursSource.record(value)
            baselineSource.record(value)
        }
        let merges = 200
        let (ours, baseline) = alternatingBestSeconds(
            ours: {
                var target = LatencyHistogram()
                for _ in 0..<merges { target.merge(oursSource) }
                consume(target.count)
            },
            baseline: {
                var target = makeBaseline()
                for _ in 0..<merges { target.add(baselineSource) }
                consume(target.totalCount)
            })
        let perMerge = 1e6 / Double(merges)
        return Comparison(name: "histogram-merge", ours: ours * perMerge, baseline: baseline * perMerge, unit: .microsecondsPerMerge)
    }

    /// ns per percentile query (p50, p90, p99, p99.9, p99.99) on a 1 000 000-value histogram.
    static let histogramPercentiles = Benchmark(name: "histogram-percentiles") {
        let values = latencySample(count: 1_000_000, seed: 3)
        var oursHistogram = LatencyHistogram()
        var baselineHistogram = makeBaseline()
        for value in values {
            oursHistogram.record(value)
            baselineHistogram.record(value)
        }
        let percentiles = [50.0, 90, 99, 99.9, 99.99]
        let repeats = 200
        let (ours, baseline) = alternatingBestSeconds(
            ours: {
                var checksum: UInt64 = 0
                for _ in 0..<repeats {
                    for percentile in percentiles { checksum &+= oursHistogram.value(atPercentile: percentile) ?? 0 }
                }
                consume(checksum)
            },
            baseline: {
                var checksum: UInt64 = 0
                for _ in 0..<repeats {
                    for percentile in percentiles { checksum &+= baselineHistogram.valueAtPercentile(percentile) }
                }
                consume(checksum)
            })
        let perQuery = 1e9 / Double(repeats * percentiles.count)
        return Comparison(name: "histogram-percentiles", ours: ours * perQuery, baseline: baseline * perQuery, unit: .nanosecondsPerQuery)
    }
}
