/// A log-linear (HDR-style) histogram of latencies in integer microseconds.
///
/// **Layout.** Values 0 … 2047 µs each have their own bucket (exact). Above that, every power-of-two
/// range [2ᵏ, 2ᵏ⁺¹) with k ≥ 11 is split into 1024 equal sub-buckets of width 2ᵏ⁻¹⁰, so a bucket
/// is never wider than 1/1024 of its lower bound. Values are reported as the bucket's midpoint
/// (clamped to the exact recorded minimum and maximum), so any reported value is within
/// 1/2048 ≈ 0.049 % of the true value, and within 0.1 % whatever point of the bucket is used.
///
/// **Range.** 0 … ``highestTrackableValue`` = 2³² − 1 µs (≈ 71.6 minutes, covering the required
/// 1 µs … 1 h). Larger values are clamped to the top and counted in ``clampedCount``.
///
/// **Memory.** A fixed 23 552 buckets of `UInt64` = 188 416 bytes of counts (184 KiB) in one heap
/// block (plus its 32-byte array header), allocated once at initialisation; the value itself is
/// 64 bytes of summary fields. Copies share the buckets until one of them records (copy-on-write).
///
/// Recording is O(1) and branch-light: the magnitude from one integer-to-double conversion, one
/// shift, one increment, plus exact running count, minimum, maximum, sum and sum of squares (so
/// mean and standard deviation are exact, not bucket estimates). ``record(contentsOf:)`` records a
/// batch with one copy-on-write check instead of one per value. Each worker should own its
/// histogram and ``merge(_:)`` them afterwards; the type is a `Sendable` value with no locks.
public struct LatencyHistogram: Sendable, Equatable {
    // MARK: Layout constants

    /// log₂ of the number of sub-buckets in the lower half of a power-of-two range (1024).
    @usableFromInline static let subBucketHalfCountMagnitude = 10
    /// Values below this (2048 µs) have one bucket per microsecond.
    @usableFromInline static let unitResolutionLimit: UInt64 = 2048
    /// The largest value recorded without clamping: 2³² − 1 µs.
    public static let highestTrackableValue: UInt64 = (1 << 32) - 1
    /// The number of buckets: bucket indexes run from 0 to `bucketCount - 1`.
    public static let bucketCount = bucketIndex(of: highestTrackableValue) + 1
    /// The bytes held by the bucket counts of one histogram.
    public static let countsMemoryBytes = bucketCount * MemoryLayout<UInt64>.stride

    // MARK: State

    @usableFromInline var counts: [UInt64]
    @usableFromInline var totalCount: UInt64
    /// The smallest value recorded, in µs (`UInt64.max` while empty).
    @usableFromInline var minimumValue: UInt64
    /// The largest value recorded, in µs (0 while empty).
    @usableFromInline var maximumValue: UInt64
    @usableFromInline var valueSum: UInt64
    @usableFromInline var squareSum: Wide128
    @usableFromInline var clampedTotal: UInt64

    /// The number of values recorded (including the synthetic ones added by coordinated-omission
    /// correction).
    public var count: UInt64 { totalCount }
    /// The exact sum of recorded values, in µs (wraps only beyond 1.8·10¹⁹ µs in total).
    public var sum: UInt64 { valueSum }
    /// The exact sum of squared recorded values, in µs².
    public var sumOfSquares: Wide128 { squareSum }
    /// How many recorded values exceeded ``highestTrackableValue`` and were clamped to it.
    public var clampedCount: UInt64 { clampedTotal }

    /// An empty histogram.
    @inlinable
    public init() {
        counts = [UInt64](repeating: 0, count: Self.bucketCount)
        totalCount = 0
        minimumValue = .max
        maximumValue = 0
        valueSum = 0
        squareSum = .zero
        clampedTotal = 0
    }

    // MARK: Bucket geometry

    /// The index of the bucket holding `value` (µs, at most ``highestTrackableValue``).
    @inlinable @inline(__always)
    static func bucketIndex(of value: UInt64) -> Int {
        // magnitude = ⌊log₂(value | 2047)⌋ ≥ 10; values below 2048 get shift 0 and index = value.
        // It is read from the exponent of the (exact, value < 2³²) Double conversion rather than by
        // counting leading zeros: without LZCNT that compiles to BSR, which some x86 cores (AMD Zen)
        // issue only once every 4 cycles, and that alone would cap recording at ~4 cycles a value.
        let wide = Double(Int64(truncatingIfNeeded: value | (unitResolutionLimit &- 1)))
        let magnitude = Int(truncatingIfNeeded: wide.bitPattern &>> 52) &- 1023
        let shift = magnitude &- subBucketHalfCountMagnitude
        return (shift &<< subBucketHalfCountMagnitude) &+ Int(truncatingIfNeeded: value &>> UInt64(truncatingIfNeeded: shift))
    }

    /// The smallest value that falls in bucket `index`, in µs.
    @inlinable
    static func lowerBound(ofBucket index: Int) -> UInt64 {
        let half = 1 << subBucketHalfCountMagnitude
        if index < 2 * half { return UInt64(index) }
        let shift = index / half - 1
        let subBucket = index - shift * half
        return UInt64(subBucket) << UInt64(shift)
    }

    /// The largest value that falls in bucket `index`, in µs.
    @inlinable
    static func upperBound(ofBucket index: Int) -> UInt64 {
        lowerBound(ofBucket: index + 1) - 1
    }

    // MARK: Recording

    /// Records one latency of `value` microseconds. O(1).
    ///
    /// Each call checks that the buckets are not shared with a copy (copy-on-write), which costs
    /// about as much as the recording itself; a loop recording many values should use
    /// ``record(contentsOf:)``, which checks once.
    @inlinable @inline(__always)
    public mutating func record(_ value: UInt64) {
        counts.withUnsafeMutableBufferPointer { buckets in
            Self.tally(
                value, into: buckets.baseAddress!, count: &totalCount, sum: &valueSum, squares: &squareSum,
                minimum: &minimumValue, maximum: &maximumValue, clamped: &clampedTotal)
        }
    }

    /// Records every latency (µs) of `values`, in order; the same result as calling
    /// ``record(_:)`` for each, but the buckets' copy-on-write check runs once per call instead of
    /// once per value and the running sums stay in registers, so prefer it for batches.
    @inlinable
    public mutating func record<Values: Sequence<UInt64>>(contentsOf values: Values) {
        let start = (totalCount, valueSum, squareSum, minimumValue, maximumValue, clampedTotal)
        // The running summary lives in the closure's own locals (not captured ones, which would sit
        // in memory) so it stays in registers.
        (totalCount, valueSum, squareSum, minimumValue, maximumValue, clampedTotal) = counts.withUnsafeMutableBufferPointer { buckets in
            let base = buckets.baseAddress!
            var (total, sum, squares, low, high, clamped) = start
            for value in values {
                Self.tally(value, into: base, count: &total, sum: &sum, squares: &squares, minimum: &low, maximum: &high, clamped: &clamped)
            }
            return (total, sum, squares, low, high, clamped)
        }
    }

    /// The one place a value is recorded: into `buckets` (``bucketCount`` counts) and the running
    /// summary. Values above ``highestTrackableValue`` are clamped to it and counted as clamped,
    /// without a branch.
    @inlinable @inline(__always)
    static func tally(
        _ value: UInt64, into buckets: UnsafeMutablePointer<UInt64>, count: inout UInt64, sum: inout UInt64,
        squares: inout Wide128, minimum: inout UInt64, maximum: inout UInt64, clamped: inout UInt64
    ) {
        let isClamped = value > highestTrackableValue
        let kept = isClamped ? highestTrackableValue : value
        clamped &+= isClamped ? 1 : 0
        // The index is below bucketCount for every value ≤ highestTrackableValue.
        buckets[bucketIndex(of: kept)] &+= 1
        count &+= 1
        sum &+= kept
        squares.add(kept &* kept)
        minimum = kept < minimum ? kept : minimum
        maximum = kept > maximum ? kept : maximum
    }

    @usableFromInline
    mutating func recordClamped(_ value: UInt64, count occurrences: UInt64) {
        clampedTotal &+= occurrences
        record(Self.highestTrackableValue, count: occurrences)
    }

    /// Records `occurrences` latencies of `value` microseconds at once. O(1).
    @inlinable
    public mutating func record(_ value: UInt64, count occurrences: UInt64) {
        guard occurrences > 0 else { return }
        guard value <= Self.highestTrackableValue else { return recordClamped(value, count: occurrences) }
        let clamped = value
        counts[Self.bucketIndex(of: clamped)] &+= occurrences
        totalCount &+= occurrences
        valueSum &+= clamped &* occurrences
        squareSum.add(Wide128.product(clamped &* clamped, occurrences))
        minimumValue = Swift.min(minimumValue, clamped)
        maximumValue = Swift.max(maximumValue, clamped)
    }

    /// Records a latency of `value` µs measured by a paced (open-loop) client that meant to start a
    /// request every `expectedInterval` µs, correcting for coordinated omission the way
    /// HdrHistogram's `recordCorrectedValue` does: besides `value` it records the latencies that the
    /// requests which should have started during the stall would have seen,
    /// `value − expectedInterval`, `value − 2·expectedInterval`, … down to `expectedInterval`.
    ///
    /// Costs O(number of buckets those values span), not O(value / expectedInterval): the synthetic
    /// values form an arithmetic sequence, which is counted bucket by bucket with closed-form sums.
    /// An `expectedInterval` of 0 records `value` alone.
    public mutating func record(_ value: UInt64, expectedInterval: UInt64) {
        record(value)
        let clamped = Swift.min(value, Self.highestTrackableValue)
        guard expectedInterval > 0, clamped > expectedInterval else { return }
        let step = expectedInterval
        var next = clamped - step // the largest synthetic value still to record
        while next >= step {
            let index = Self.bucketIndex(of: next)
            let floor = Swift.max(Self.lowerBound(ofBucket: index), step)
            // Terms next, next − step, … that stay ≥ floor.
            let terms = (next - floor) / step + 1
            addArithmeticRun(first: next, step: step, terms: terms, bucket: index)
            let consumed = terms * step
            if consumed > next { break }
            next -= consumed
        }
    }

    /// Adds `terms` values `first, first − step, …` (all in bucket `index`) with exact sums.
    private mutating func addArithmeticRun(first a: UInt64, step i: UInt64, terms c: UInt64, bucket index: Int) {
        counts[index] &+= c
        totalCount &+= c
        // Σ (a − j·i) for j < c = c·a − i·c(c−1)/2; every term is ≥ i so i·c ≤ a < 2³².
        let pairs = c % 2 == 0 ? (c / 2) &* (c - 1) : c &* ((c - 1) / 2)
        valueSum &+= c &* a &- i &* pairs
        // Σ (a − j·i)² = c·a² − a·i·c(c−1) + i²·(c−1)c(2c−1)/6.
        var squares = Wide128.product(c &* a, a)
        squares.subtract(Wide128.product(a &* (i &* c), c - 1))
        var f1 = c - 1
        var f2 = c
        var f3 = 2 * c - 1
        if f1 % 2 == 0 { f1 /= 2 } else { f2 /= 2 }
        if f1 % 3 == 0 { f1 /= 3 } else if f2 % 3 == 0 { f2 /= 3 } else { f3 /= 3 }
        // (i·f1)·(i·f2) ≤ (i·c)² < 2⁶⁴, and the product with f3 < 2³³ fits 128 bits.
        squares.add(Wide128.product((i &* f1) &* (i &* f2), f3))
        squareSum.add(squares)
        let last = a - (c - 1) * i
        minimumValue = Swift.min(minimumValue, last)
        maximumValue = Swift.max(maximumValue, a)
    }

    /// Adds every value recorded in `other` to this histogram. Afterwards this histogram equals
    /// one that recorded both sequences of values. Costs O(buckets between `other`'s minimum and
    /// maximum).
    public mutating func merge(_ other: LatencyHistogram) {
        guard other.count > 0 else { return }
        let first = Self.bucketIndex(of: other.minimumValue)
        let last = Self.bucketIndex(of: other.maximumValue)
        counts.withUnsafeMutableBufferPointer { target in
            other.counts.withUnsafeBufferPointer { source in
                for index in first...last {
                    target[index] &+= source[index]
                }
            }
        }
        totalCount &+= other.count
        valueSum &+= other.sum
        squareSum.add(other.sumOfSquares)
        clampedTotal &+= other.clampedCount
        minimumValue = Swift.min(minimumValue, other.minimumValue)
        maximumValue = Swift.max(maximumValue, other.maximumValue)
    }

    /// Forgets every recorded value, keeping the allocated buckets.
    public mutating func reset() {
        guard count > 0 else { return }
        let first = Self.bucketIndex(of: minimumValue)
        let last = Self.bucketIndex(of: maximumValue)
        counts.withUnsafeMutableBufferPointer { buckets in
            for index in first...last { buckets[index] = 0 }
        }
        self = LatencyHistogram(reusing: counts)
    }

    private init(reusing zeroedCounts: [UInt64]) {
        counts = zeroedCounts
        totalCount = 0
        minimumValue = .max
        maximumValue = 0
        valueSum = 0
        squareSum = .zero
        clampedTotal = 0
    }

    // MARK: Summary statistics

    /// Whether nothing has been recorded.
    public var isEmpty: Bool { count == 0 }

    /// The smallest recorded value in µs, exact; `nil` when empty.
    public var min: UInt64? { count == 0 ? nil : minimumValue }

    /// The largest recorded value in µs, exact (after clamping); `nil` when empty.
    public var max: UInt64? { count == 0 ? nil : maximumValue }

    /// The exact arithmetic mean in µs; `nil` when empty.
    public var mean: Double? {
        count == 0 ? nil : Double(sum) / Double(count)
    }

    /// The population standard deviation in µs, from exact sums; `nil` when empty.
    public var standardDeviation: Double? {
        guard count > 0 else { return nil }
        let n = Double(count)
        // n·Σx² − (Σx)² is computed exactly in 128 bits and converted to Double once, so a narrow
        // spread around a large mean keeps its precision; doubles only if n·Σx² passes 2¹²⁸.
        let (scaledSquares, overflow) = sumOfSquares.multipliedReportingOverflow(by: count)
        if !overflow {
            var spread = scaledSquares
            let squaredSum = Wide128.product(sum, sum)
            guard spread > squaredSum else { return 0 }
            spread.subtract(squaredSum)
            return (spread.doubleValue / (n * n)).squareRoot()
        }
        let meanValue = Double(sum) / n
        let variance = Swift.max(0, sumOfSquares.doubleValue / n - meanValue * meanValue)
        return variance.squareRoot()
    }

    // MARK: Percentiles

    /// The nearest rank (1-based) of `percentile` (0 … 100) among `count` sorted values: the
    /// smallest r with r ≥ percentile/100 · count, at least 1. Rounding noise of the decimal
    /// percentile (99.9 is not exact in binary) is absorbed so that e.g. 99.9 % of 1000 is rank 999.
    public static func nearestRank(percentile: Double, count: UInt64) -> UInt64 {
        guard count > 0 else { return 0 }
        let fraction = Swift.min(Swift.max(percentile, 0), 100) / 100
        let exact = fraction * Double(count)
        let nearest = exact.rounded()
        let rank = abs(exact - nearest) <= 1e-9 * Swift.max(1, exact) ? nearest : exact.rounded(.up)
        return Swift.min(Swift.max(UInt64(rank), 1), count)
    }

    /// The value reported for bucket `index`: its midpoint, clamped to the exact minimum and maximum.
    @usableFromInline
    func representativeValue(ofBucket index: Int) -> UInt64 {
        let low = Self.lowerBound(ofBucket: index)
        let high = Self.upperBound(ofBucket: index)
        let middle = low + (high - low + 1) / 2
        return Swift.min(Swift.max(middle, minimumValue), maximumValue)
    }

    /// The value at `percentile` (0 … 100) in µs, by the nearest-rank definition (the smallest
    /// recorded value v such that at least percentile % of the values are ≤ v), within 0.05 %
    /// (exact below 2048 µs and at 0 % and 100 %); `nil` when empty.
    ///
    /// Scans only the buckets between the minimum and maximum, from whichever end is nearer the
    /// rank.
    public func value(atPercentile percentile: Double) -> UInt64? {
        guard count > 0 else { return nil }
        let rank = Self.nearestRank(percentile: percentile, count: count)
        if rank == count { return maximumValue }
        if rank == 1 { return minimumValue }
        let first = Self.bucketIndex(of: minimumValue)
        let last = Self.bucketIndex(of: maximumValue)
        return counts.withUnsafeBufferPointer { buckets in
            if rank <= count / 2 {
                var cumulative: UInt64 = 0
                for index in first...last {
                    cumulative &+= buckets[index]
                    if cumulative >= rank { return representativeValue(ofBucket: index) }
                }
            } else {
                // Values strictly above the one sought number count − rank.
                let above = count - rank
                var cumulative: UInt64 = 0
                var index = last
                while index >= first {
                    let next = cumulative &+ buckets[index]
                    if next > above { return representativeValue(ofBucket: index) }
                    cumulative = next
                    index -= 1
                }
            }
            return maximumValue
        }
    }

    /// The values at several percentiles (each 0 … 100), in µs, with one pass over the buckets.
    /// The result is in the order given; empty when nothing was recorded.
    public func values(atPercentiles percentiles: [Double]) -> [UInt64] {
        guard count > 0 else { return [] }
        let ranks = percentiles.map { Self.nearestRank(percentile: $0, count: count) }
        let order = ranks.indices.sorted { ranks[$0] < ranks[$1] }
        var result = [UInt64](repeating: maximumValue, count: ranks.count)
        var position = 0
        var cumulative: UInt64 = 0
        let first = Self.bucketIndex(of: minimumValue)
        let last = Self.bucketIndex(of: maximumValue)
        counts.withUnsafeBufferPointer { buckets in
            for index in first...last where position < order.count {
                cumulative &+= buckets[index]
                while position < order.count && ranks[order[position]] <= cumulative {
                    let rank = ranks[order[position]]
                    result[order[position]] =
                        rank == 1
                        ? minimumValue
                        : rank == count ? maximumValue : representativeValue(ofBucket: index)
                    position += 1
                }
            }
        }
        return result
    }

    /// The percentage (0 … 100) of recorded values that are ≤ `value` µs, counting whole buckets
    /// (so values within 0.1 % above `value` may be included); `nil` when empty.
    public func percentile(ofValue value: UInt64) -> Double? {
        guard count > 0 else { return nil }
        if value < minimumValue { return 0 }
        if value >= maximumValue { return 100 }
        let first = Self.bucketIndex(of: minimumValue)
        let last = Self.bucketIndex(of: value)
        let atOrBelow = counts.withUnsafeBufferPointer { buckets in
            var cumulative: UInt64 = 0
            for index in first...last { cumulative &+= buckets[index] }
            return cumulative
        }
        return 100 * Double(atOrBelow) / Double(count)
    }

    // MARK: Buckets

    /// One non-empty bucket: the closed range of values (µs) it holds and how many were recorded.
    public struct Bucket: Sendable, Equatable {
        /// The smallest value the bucket holds, in µs.
        public var lowerBound: UInt64
        /// The largest value the bucket holds, in µs.
        public var upperBound: UInt64
        /// How many recorded values fell in the bucket.
        public var count: UInt64
    }

    /// The non-empty buckets in increasing value order (for charts). Adjacent buckets can be
    /// re-binned by the caller; their ranges never overlap.
    public var nonEmptyBuckets: [Bucket] {
        guard count > 0 else { return [] }
        var result: [Bucket] = []
        let first = Self.bucketIndex(of: minimumValue)
        let last = Self.bucketIndex(of: maximumValue)
        for index in first...last where counts[index] > 0 {
            result.append(
                Bucket(
                    lowerBound: Self.lowerBound(ofBucket: index),
                    upperBound: Self.upperBound(ofBucket: index),
                    count: counts[index]))
        }
        return result
    }

    /// The range of values (µs) that share `value`'s bucket, i.e. that this histogram cannot tell
    /// apart.
    public static func equivalentRange(of value: UInt64) -> ClosedRange<UInt64> {
        let index = bucketIndex(of: Swift.min(value, highestTrackableValue))
        return lowerBound(ofBucket: index)...upperBound(ofBucket: index)
    }
}
