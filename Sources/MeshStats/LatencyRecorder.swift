/// A latency histogram filled by one owner: the same buckets and exact summary as
/// ``LatencyHistogram``, but noncopyable, so recording needs no copy-on-write check and a value
/// costs one bucket increment plus the running summary (HdrHistogram's `Recorder` plays the same
/// part). Record into it where values arrive one at a time in a hot loop; take ``histogram`` to
/// report, merge or keep the result as an ordinary value.
///
/// Memory: the same fixed ``LatencyHistogram/countsMemoryBytes`` of buckets, allocated once and
/// freed when the recorder ends.
public struct LatencyRecorder: ~Copyable {
    @usableFromInline let buckets: UnsafeMutablePointer<UInt64>
    @usableFromInline var totalCount: UInt64 = 0
    @usableFromInline var minimumValue: UInt64 = .max
    @usableFromInline var maximumValue: UInt64 = 0
    @usableFromInline var valueSum: UInt64 = 0
    @usableFromInline var squareSum: Wide128 = .zero
    @usableFromInline var clampedTotal: UInt64 = 0

    /// An empty recorder.
    public init() {
        buckets = .allocate(capacity: LatencyHistogram.bucketCount)
        buckets.initialize(repeating: 0, count: LatencyHistogram.bucketCount)
    }

    deinit {
        buckets.deallocate()
    }

    /// The number of values recorded.
    public var count: UInt64 { totalCount }

    /// Records one latency of `value` microseconds (clamped to
    /// ``LatencyHistogram/highestTrackableValue`` like ``LatencyHistogram/record(_:)``). O(1).
    @inlinable @inline(__always)
    public mutating func record(_ value: UInt64) {
        LatencyHistogram.tally(value, into: buckets, count: &totalCount, sum: &valueSum, squares: &squareSum,
                               minimum: &minimumValue, maximum: &maximumValue, clamped: &clampedTotal)
    }

    /// Everything recorded so far, as a histogram value (the buckets are copied; the recorder
    /// goes on recording).
    public var histogram: LatencyHistogram {
        LatencyHistogram(
            counts: Array(UnsafeBufferPointer(start: buckets, count: LatencyHistogram.bucketCount)),
            count: totalCount, minimum: minimumValue, maximum: maximumValue, sum: valueSum, squares: squareSum,
            clamped: clampedTotal)
    }
}
