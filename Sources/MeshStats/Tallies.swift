/// Who answered one request: the source cluster that sent it, the serving cluster, and the
/// HelloWorld version and instance that replied. All four are ids of one ``NameTable``;
/// ``NameID/absent`` where unknown (a failed request has no version or instance).
@frozen
public struct OutcomeKey: Hashable, Sendable, Comparable {
    public var source: NameID
    public var serving: NameID
    public var version: NameID
    public var instance: NameID

    public init(source: NameID, serving: NameID, version: NameID, instance: NameID) {
        self.source = source
        self.serving = serving
        self.version = version
        self.instance = instance
    }

    /// The same key with every id translated (see ``NameTable/absorb(_:)``).
    public func translated(by translation: [NameID]) -> OutcomeKey {
        OutcomeKey(source: translation[Int(source.rawValue)], serving: translation[Int(serving.rawValue)],
                   version: translation[Int(version.rawValue)], instance: translation[Int(instance.rawValue)])
    }

    public static func < (lhs: OutcomeKey, rhs: OutcomeKey) -> Bool {
        (lhs.source, lhs.serving, lhs.version, lhs.instance) < (rhs.source, rhs.serving, rhs.version, rhs.instance)
    }
}

/// Request counts per ``OutcomeKey``; mergeable.
public struct OutcomeTally: Sendable, Equatable {
    /// The count of every key seen.
    public private(set) var counts: [OutcomeKey: UInt64] = [:]

    public init() {}

    /// Counts `count` more requests for `key`.
    public mutating func add(_ key: OutcomeKey, count: UInt64 = 1) {
        counts[key, default: 0] &+= count
    }

    /// Adds every count of `other` (whose ids come from the same table).
    public mutating func merge(_ other: OutcomeTally) {
        for (key, count) in other.counts { add(key, count: count) }
    }

    /// Adds every count of `other`, whose ids come from another table, translating them.
    public mutating func merge(_ other: OutcomeTally, translation: [NameID]) {
        for (key, count) in other.counts { add(key.translated(by: translation), count: count) }
    }

    /// All requests counted.
    public var total: UInt64 { counts.values.reduce(0, &+) }

    /// The keys and counts in key order (stable for reports).
    public var sortedEntries: [(key: OutcomeKey, count: UInt64)] {
        counts.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// The distinct source clusters, in id order.
    public var sources: [NameID] { Set(counts.keys.map(\.source)).sorted() }

    /// Requests from `source` per serving cluster (absent included when some had no answer).
    public func servingCounts(from source: NameID) -> [NameID: UInt64] {
        var result: [NameID: UInt64] = [:]
        for (key, count) in counts where key.source == source { result[key.serving, default: 0] &+= count }
        return result
    }

    /// Requests from `source` per instance that answered.
    public func instanceCounts(from source: NameID) -> [NameID: UInt64] {
        var result: [NameID: UInt64] = [:]
        for (key, count) in counts where key.source == source && !key.instance.isAbsent {
            result[key.instance, default: 0] &+= count
        }
        return result
    }
}

/// A bounded classification of what went wrong with a request or its stream, so error tallies
/// and report columns stay finite.
public enum ErrorKind: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// curl exited non-zero (exit codes are 0…255; e.g. 7 connect failed, 28 timeout, 56 receive error).
    case curlExit(UInt8)
    /// curl succeeded but the HTTP status was not 2xx (`000`: no HTTP response). Codes outside
    /// 100…599 are folded into 0.
    case httpStatus(UInt16)
    /// Running the burst command in the pod failed (see ``ExecFailure``).
    case exec(ExecFailure)
    /// A line of the command's output was not a record (see ``MalformedLineReason``).
    case malformedRecord(MalformedLineReason)
    /// A worker's `MC1-END` was missing or its count disagreed with the records received.
    case truncatedBurst

    /// How running the in-pod command failed.
    public enum ExecFailure: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        /// The API server could not be reached or refused the exec request.
        case requestRejected
        /// The WebSocket upgrade or stream broke before the command finished.
        case streamBroken
        /// The command exited non-zero.
        case nonZeroExit
        /// The command did not finish in time.
        case timeout

        public var description: String {
            switch self {
            case .requestRejected: "exec request rejected"
            case .streamBroken: "exec stream broken"
            case .nonZeroExit: "command exited non-zero"
            case .timeout: "command timed out"
            }
        }
    }

    /// The error of a request record, or `nil` when it succeeded (curl exit 0 and a 2xx status).
    public static func classify(_ sample: RequestSample) -> ErrorKind? {
        if sample.curlExit != 0 { return .curlExit(UInt8(clamping: sample.curlExit)) }
        if (200...299).contains(sample.status) { return nil }
        return .httpStatus((100...599).contains(sample.status) ? sample.status : 0)
    }

    /// The HTTP status class ("5xx"), for status errors.
    public var statusClass: String? {
        if case .httpStatus(let code) = self { return code == 0 ? "000" : "\(code / 100)xx" }
        return nil
    }

    private var order: (Int, Int) {
        switch self {
        case .curlExit(let code): (0, Int(code))
        case .httpStatus(let code): (1, Int(code))
        case .exec(let failure): (2, Int(failure.rawValue))
        case .malformedRecord(let reason): (3, reason.ordinal)
        case .truncatedBurst: (4, 0)
        }
    }

    public static func < (lhs: ErrorKind, rhs: ErrorKind) -> Bool { lhs.order < rhs.order }

    public var description: String {
        switch self {
        case .curlExit(let code): "curl exit \(code)"
        case .httpStatus(let code): code == 0 ? "HTTP 000 (no response)" : "HTTP \(code)"
        case .exec(let failure): failure.description
        case .malformedRecord(let reason): "malformed record: \(reason)"
        case .truncatedBurst: "truncated burst"
        }
    }
}

/// Error counts per (source cluster, ``ErrorKind``); mergeable.
public struct ErrorTally: Sendable, Equatable {
    /// One tally cell.
    public struct Key: Hashable, Sendable, Comparable {
        public var source: NameID
        public var kind: ErrorKind

        public init(source: NameID, kind: ErrorKind) {
            self.source = source
            self.kind = kind
        }

        public static func < (lhs: Key, rhs: Key) -> Bool {
            lhs.source != rhs.source ? lhs.source < rhs.source : lhs.kind < rhs.kind
        }
    }

    /// The count of every (source, kind) seen.
    public private(set) var counts: [Key: UInt64] = [:]

    public init() {}

    /// Counts `count` more errors of `kind` from `source`.
    public mutating func add(_ kind: ErrorKind, from source: NameID, count: UInt64 = 1) {
        counts[Key(source: source, kind: kind), default: 0] &+= count
    }

    /// Adds every count of `other` (same name table).
    public mutating func merge(_ other: ErrorTally) {
        for (key, count) in other.counts { counts[key, default: 0] &+= count }
    }

    /// Adds every count of `other`, translating its source ids (see ``NameTable/absorb(_:)``).
    public mutating func merge(_ other: ErrorTally, translation: [NameID]) {
        for (key, count) in other.counts {
            counts[Key(source: translation[Int(key.source.rawValue)], kind: key.kind), default: 0] &+= count
        }
    }

    /// All errors counted.
    public var total: UInt64 { counts.values.reduce(0, &+) }

    /// Errors per kind over every source, in kind order.
    public var byKind: [(kind: ErrorKind, count: UInt64)] {
        var merged: [ErrorKind: UInt64] = [:]
        for (key, count) in counts { merged[key.kind, default: 0] &+= count }
        return merged.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Keys and counts in key order.
    public var sortedEntries: [(key: Key, count: UInt64)] {
        counts.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}

/// Latency histograms per (source cluster → serving cluster); mergeable.
public struct LatencyMatrix: Sendable, Equatable {
    /// A directed pair of clusters.
    public struct Route: Hashable, Sendable, Comparable {
        public var source: NameID
        public var serving: NameID

        public init(source: NameID, serving: NameID) {
            self.source = source
            self.serving = serving
        }

        public static func < (lhs: Route, rhs: Route) -> Bool {
            (lhs.source, lhs.serving) < (rhs.source, rhs.serving)
        }
    }

    /// The histogram of every route seen (each one ``LatencyHistogram/countsMemoryBytes`` bytes).
    public private(set) var histograms: [Route: LatencyHistogram] = [:]

    public init() {}

    /// Records a latency of `micros` µs from `source` served by `serving`.
    public mutating func record(_ micros: UInt64, from source: NameID, servedBy serving: NameID) {
        histograms[Route(source: source, serving: serving), default: LatencyHistogram()].record(micros)
    }

    /// The histogram of one route, if any latency was recorded for it.
    public subscript(source: NameID, serving: NameID) -> LatencyHistogram? {
        histograms[Route(source: source, serving: serving)]
    }

    /// Merges `other` (same name table) into this matrix.
    public mutating func merge(_ other: LatencyMatrix) {
        for (route, histogram) in other.histograms {
            histograms[route, default: LatencyHistogram()].merge(histogram)
        }
    }

    /// Merges `other`, translating its ids (see ``NameTable/absorb(_:)``).
    public mutating func merge(_ other: LatencyMatrix, translation: [NameID]) {
        for (route, histogram) in other.histograms {
            let translated = Route(source: translation[Int(route.source.rawValue)], serving: translation[Int(route.serving.rawValue)])
            histograms[translated, default: LatencyHistogram()].merge(histogram)
        }
    }

    /// The routes in order.
    public var routes: [Route] { histograms.keys.sorted() }

    /// All routes from `source` merged into one histogram.
    public func combined(from source: NameID) -> LatencyHistogram {
        var result = LatencyHistogram()
        for (route, histogram) in histograms where route.source == source { result.merge(histogram) }
        return result
    }
}
