import Foundation // String(format:) for the fixed-width numbers; export is not a hot path

extension LatencyHistogram {
    /// One row of the percentile distribution: the value (µs) reached at a percentile level.
    public struct PercentileStep: Sendable, Equatable {
        /// The reported value at this step, in µs.
        public var value: UInt64
        /// The percentile level (0 … 100) this step iterated to.
        public var percentileLevel: Double
        /// How many recorded values are ≤ the step's bucket.
        public var totalCount: UInt64
    }

    /// The percentile distribution in HdrHistogram's steps: levels start at 0 % and advance by
    /// 100 / (ticksPerHalfDistance · 2ᵏ) %, where k halves the tick each time half of the remaining
    /// distance to 100 % is covered; a final step at 100 % reports the maximum.
    public func percentileSteps(ticksPerHalfDistance: Int = 5) -> [PercentileStep] {
        precondition(ticksPerHalfDistance > 0, "ticksPerHalfDistance must be positive")
        guard count > 0 else { return [] }
        var steps: [PercentileStep] = []
        var level = 0.0
        var cumulative: UInt64 = 0
        let first = Self.bucketIndex(of: minimumValue)
        let last = Self.bucketIndex(of: maximumValue)
        var lastValue = maximumValue
        for index in first...last where counts[index] > 0 {
            cumulative += counts[index]
            let reached = 100 * Double(cumulative) / Double(count)
            while reached >= level {
                lastValue = representativeValue(ofBucket: index)
                steps.append(PercentileStep(value: lastValue, percentileLevel: level, totalCount: cumulative))
                // Like HdrHistogram: once every value is counted, only the final 100 % step follows.
                if cumulative == count { break }
                let halvings = Int((100 / (100 - level)).log2Floor) + 1
                level += 100 / Double(ticksPerHalfDistance << halvings)
            }
        }
        steps.append(PercentileStep(value: lastValue, percentileLevel: 100, totalCount: count))
        return steps
    }

    /// The percentile distribution in HdrHistogram's text format (as written by its
    /// `outputPercentileDistribution`), readable by HdrHistogram's plotters: a
    /// `Value Percentile TotalCount 1/(1-Percentile)` table, then `#[Mean = …]`, `#[Max = …]` and
    /// `#[Buckets = …]` footer lines.
    ///
    /// - Parameters:
    ///   - valueUnitScalingRatio: recorded µs are divided by this for printing; 1000 prints ms.
    ///   - ticksPerHalfDistance: percentile steps per halving of the distance to 100 %.
    public func percentileDistributionText(valueUnitScalingRatio: Double, ticksPerHalfDistance: Int = 5) -> String {
        func padded(_ text: String, to width: Int) -> String {
            String(repeating: " ", count: Swift.max(0, width - text.count)) + text
        }
        var text =
            "\(padded("Value", to: 12)) \(padded("Percentile", to: 14)) "
            + "\(padded("TotalCount", to: 10)) \(padded("1/(1-Percentile)", to: 14))\n\n"
        for step in percentileSteps(ticksPerHalfDistance: ticksPerHalfDistance) {
            let value = Double(step.value) / valueUnitScalingRatio
            let fraction = step.percentileLevel / 100
            if step.percentileLevel < 100 {
                text += String(format: "%12.3f %2.12f %10llu %14.2f\n", value, fraction, step.totalCount, 1 / (1 - fraction))
            } else {
                text += String(format: "%12.3f %2.12f %10llu\n", value, fraction, step.totalCount)
            }
        }
        let meanValue = (mean ?? 0) / valueUnitScalingRatio
        let deviation = (standardDeviation ?? 0) / valueUnitScalingRatio
        let maxValue = Double(max ?? 0) / valueUnitScalingRatio
        text += String(format: "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n", meanValue, deviation)
        text += String(format: "#[Max     = %12.3f, Total count    = %12llu]\n", maxValue, count)
        // The equivalent HdrHistogram layout: 2048 sub-buckets, 22 power-of-two buckets.
        let subBuckets = 2 << Self.subBucketHalfCountMagnitude
        let powerBuckets = Self.bucketCount / (subBuckets / 2) - 1
        text += String(format: "#[Buckets = %12d, SubBuckets     = %12d]\n", powerBuckets, subBuckets)
        return text
    }
}

extension Double {
    /// ⌊log₂(self)⌋ for self ≥ 1, via the binary exponent (exact, unlike `log2` rounding).
    fileprivate var log2Floor: Double { Double(exponent) }
}
