// The run's requests in time: per source cluster, fixed-width windows of answers per serving cluster, failures
// and latencies, beside the totals of `TrafficTally`. A request is placed by its start on the run's timeline (the
// caller's clock, microseconds from the start of the load). Like the traffic tally, each exec session fills its
// own and the run merges them once; windows are kept only where requests fell, so a sparse run costs little.

/// One window of one source.
public struct TimelineWindow: Sendable, Equatable {
    /// Successful answers per serving cluster index.
    public var successes: [Int]
    /// Failed requests whose serving cluster is known (an error status from a known HelloWorld pod).
    public var errorsByTarget: [Int]
    /// Every failed request, attributed or not.
    public var errors: Int
    /// In-pod `time_total` of successful requests in µs, the first ``TimelineTally/latencySampleLimit`` of the window
    /// (a window's quantiles are read from them).
    public var latencySamples: [UInt64]
    /// Successful requests whose latency was not kept because the window already held the limit.
    public var latencySamplesDropped: Int

    init(clusterCount: Int) {
        successes = Array(repeating: 0, count: clusterCount)
        errorsByTarget = Array(repeating: 0, count: clusterCount)
        errors = 0
        latencySamples = []
        latencySamplesDropped = 0
    }

    /// Every request placed in the window.
    public var requests: Int { successes.reduce(0, +) + errors }
    public var succeeded: Int { successes.reduce(0, +) }

    /// The `quantile` (0...1) of the kept latencies, nearest rank; nil when none were kept.
    public func latencyQuantile(_ quantile: Double) -> UInt64? {
        guard !latencySamples.isEmpty else { return nil }
        let sorted = latencySamples.sorted()
        let rank = Int((quantile * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    /// One request; `target` is a valid cluster index or nil.
    @inline(__always)
    mutating func count(target: Int?, succeeded: Bool, totalMicros: UInt64) {
        if succeeded, let target {
            successes[target] += 1
            if latencySamples.count < TimelineTally.latencySampleLimit {
                latencySamples.append(totalMicros)
            } else {
                latencySamplesDropped += 1
            }
        } else {
            errors += 1
            if let target { errorsByTarget[target] += 1 }
        }
    }

    mutating func merge(_ other: TimelineWindow) {
        for index in successes.indices {
            successes[index] += other.successes[index]
            errorsByTarget[index] += other.errorsByTarget[index]
        }
        errors += other.errors
        let room = TimelineTally.latencySampleLimit - latencySamples.count
        latencySamples += other.latencySamples.prefix(max(room, 0))
        latencySamplesDropped += other.latencySamplesDropped + max(other.latencySamples.count - max(room, 0), 0)
    }
}

public struct TimelineTally: Sendable {
    /// Latencies kept per window and source: quantiles of a busy window come from its first 4096 answers.
    public static let latencySampleLimit = 4096
    /// Windows a source may have (27 hours of 1 s windows): a request placed later — a corrupt or foreign `atMs` in
    /// saved records — is counted in ``beyondLimit`` instead, so reading the windows never allocates without bound.
    public static let windowLimit = 100_000

    /// Window width in µs (at least 1).
    public let windowMicros: Int64
    public let clusterCount: Int
    /// Per source cluster index: window index → window.
    private var bySource: [[Int: TimelineWindow]]
    /// Requests placed at or after window ``windowLimit``, left out of every window.
    public private(set) var beyondLimit = 0

    public init(clusterCount: Int, windowMicros: Int64) {
        self.clusterCount = clusterCount
        self.windowMicros = max(windowMicros, 1)
        bySource = Array(repeating: [:], count: clusterCount)
    }

    /// The window a request started at `atMicros` on the run's timeline falls in; a start before the origin (a clock
    /// read an instant early) counts in the first window.
    public func windowIndex(atMicros: Int64) -> Int { Int(truncatingIfNeeded: max(atMicros, 0) / windowMicros) }

    /// Places one request of `source`: `target` is the serving cluster when known, `totalMicros` its in-pod latency.
    public mutating func record(source: Int, target: Int?, succeeded: Bool, atMicros: Int64, totalMicros: UInt64) {
        guard bySource.indices.contains(source) else { return }
        let index = windowIndex(atMicros: atMicros)
        guard index < Self.windowLimit else {
            beyondLimit += 1
            return
        }
        let clusterCount = clusterCount
        let knownTarget = target.flatMap { (0..<clusterCount).contains($0) ? $0 : nil }
        // Counted in place: a copy of the window out of the dictionary would copy its latency samples on every request.
        bySource[source][index, default: TimelineWindow(clusterCount: clusterCount)].count(
            target: knownTarget, succeeded: succeeded, totalMicros: totalMicros)
    }

    public mutating func merge(_ other: TimelineTally) {
        precondition(other.clusterCount == clusterCount && other.windowMicros == windowMicros, "merging timelines of different shapes")
        beyondLimit += other.beyondLimit
        let clusterCount = clusterCount
        for source in bySource.indices {
            for (index, window) in other.bySource[source] {
                bySource[source][index, default: TimelineWindow(clusterCount: clusterCount)].merge(window)
            }
        }
    }

    /// The source's windows from the origin to the last that holds a request, empty ones included, in order.
    public func windows(source: Int) -> [(index: Int, window: TimelineWindow)] {
        guard bySource.indices.contains(source), let last = bySource[source].keys.max() else { return [] }
        return (0...last).map { ($0, bySource[source][$0] ?? TimelineWindow(clusterCount: clusterCount)) }
    }

    /// The last window index holding a request of any source, or nil when none was placed.
    public var lastWindowIndex: Int? { bySource.compactMap { $0.keys.max() }.max() }

    public var isEmpty: Bool { bySource.allSatisfy(\.isEmpty) }
}
