// Per (source cluster → serving cluster) counts and latency histograms, fed one parsed record at a
// time. Attribution goes by instance (pod name), registered up front from the pod lists: N clusters
// need not have N versions, and an instance nobody registered is an error, not a guess.
//
// This is the run's one tally: every exec session fills its own (no locks on the hot path), the
// run merges them once, and the verdict reads the merged one. `RequestErrorKind` is the one
// vocabulary of request failures; reports spell it with `description`.

/// Why a request did not count as a success.
public enum RequestErrorKind: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// curl exited non-zero (6 DNS, 7 refused, 28 timeout, 52 empty reply, 56 reset...).
    case curl(UInt16)
    /// A response with a status other than 200.
    case http(UInt16)
    /// Status 200 but the body named no instance, or one that is not a HelloWorld pod of this run.
    case unknownInstance

    /// `curl-7`, `http-503`, `unknown-instance` (the report's `errorsByKind` keys).
    public var description: String {
        switch self {
        case .curl(let code): return "curl-\(code)"
        case .http(let status): return "http-\(status)"
        case .unknownInstance: return "unknown-instance"
        }
    }
}

/// Counters of one source cluster.
public struct SourceCounters: Sendable, Equatable {
    /// Record lines received.
    public var records = 0
    public var succeeded = 0
    public var errorsByKind: [RequestErrorKind: Int] = [:]
    /// Requests a burst should have produced but did not (exec broke, worker truncated).
    public var missingRecords = 0
    public var malformedLines = 0
    public var lateStarts = 0
    /// Whether any paced burst reported lateness (so 0 late starts means "measured, none").
    public var paced = false

    public var errors: Int { errorsByKind.values.reduce(0, +) }
}

/// Counters of one (source, target) pair.
public struct PairCounters: Sendable, Equatable {
    public var successes: Int
    /// Failed requests answered by (or timed out at) a known pod of the target.
    public var errors: Int

    public init(successes: Int = 0, errors: Int = 0) {
        self.successes = successes
        self.errors = errors
    }
}

public struct TrafficTally: Sendable {
    /// Cluster names in scenario order; sources and targets are indexes into it.
    public let clusterNames: [String]
    /// Cluster index + 1 per `NameID.rawValue` of an instance; 0 = not a known HelloWorld pod.
    private var clusterOfInstance: [UInt16] = []
    /// The pod name per `NameID.rawValue` of a registered instance, so the verdict can name the pods it judges
    /// without the run's name table.
    private var instanceNames: [String] = []
    /// Successful requests per (instance, source): `instanceSuccesses[slot * clusterCount + source]`, sized with
    /// `clusterOfInstance`. Only registered instances can succeed, so the hot path never grows it.
    private var instanceSuccesses: [Int] = []
    private var pairs: [PairCounters]
    /// Where each pair's latencies are kept (by pair index). Histograms are 184 KiB each, and every exec
    /// session has a tally of its own: a thousand concurrent bursts of a few requests would hold 360 MB of
    /// nearly empty histograms. So a pair keeps up to ``rawLatencyLimit`` values as they are and gets a
    /// histogram only beyond that; dense arrays of non-optional values let `record` update one in place.
    private var latencyStore: [LatencyStore]
    private var histograms: [LatencyHistogram] = []
    private var rawLatencies: [[UInt64]] = []
    /// 2 KiB of raw values per pair at most, against a histogram's 184 KiB.
    static let rawLatencyLimit = 256

    private enum LatencyStore {
        /// No successful request yet.
        case empty
        /// A few values, as they are: `rawLatencies[index]`.
        case raw(Int32)
        /// `histograms[index]`.
        case histogram(Int32)
    }

    public private(set) var sources: [SourceCounters]

    public init(clusterNames: [String]) {
        precondition(clusterNames.count < Int(UInt16.max), "too many clusters")
        self.clusterNames = clusterNames
        let count = clusterNames.count
        pairs = Array(repeating: PairCounters(), count: count * count)
        latencyStore = Array(repeating: .empty, count: count * count)
        sources = Array(repeating: SourceCounters(), count: count)
    }

    /// Declares that `instance`, the HelloWorld pod `name` interned in the run's NameTable, runs in `cluster`.
    public mutating func assign(instance: NameID, named name: String, toCluster cluster: Int) {
        precondition(clusterNames.indices.contains(cluster), "cluster index out of range")
        let slot = Int(instance.rawValue)
        if slot >= clusterOfInstance.count {
            let added = slot + 1 - clusterOfInstance.count
            clusterOfInstance += Array(repeating: 0, count: added)
            instanceNames += Array(repeating: "", count: added)
            instanceSuccesses += Array(repeating: 0, count: added * clusterNames.count)
        }
        clusterOfInstance[slot] = UInt16(cluster + 1)
        instanceNames[slot] = name
    }

    /// A registered HelloWorld pod.
    public struct Instance: Sendable, Equatable {
        public var id: NameID
        public var name: String
        public var cluster: Int
    }

    /// Every registered instance, in id order.
    public var instances: [Instance] {
        clusterOfInstance.indices.compactMap { slot in
            let cluster = clusterOfInstance[slot]
            return cluster == 0 ? nil : Instance(id: NameID(rawValue: UInt32(slot)), name: instanceNames[slot], cluster: Int(cluster) - 1)
        }
    }

    /// Successful requests from cluster `source` that `instance` answered (0 for an instance never registered).
    public func successes(source: Int, instance: NameID) -> Int {
        let slot = Int(instance.rawValue)
        guard slot < clusterOfInstance.count else { return 0 }
        return instanceSuccesses[slot * clusterNames.count + source]
    }

    /// The cluster a registered instance runs in.
    @inline(__always)
    public func cluster(ofInstance instance: NameID) -> Int? {
        let slot = Int(instance.rawValue)
        guard slot < clusterOfInstance.count, clusterOfInstance[slot] != 0 else { return nil }
        return Int(clusterOfInstance[slot]) - 1
    }

    /// Tallies one request sent from cluster `source`; returns the serving cluster it was attributed to.
    @discardableResult
    public mutating func record(_ sample: RequestSample, source: Int) -> Int? {
        sources[source].records &+= 1
        let target = cluster(ofInstance: sample.instance)
        if sample.curlExit == 0, sample.status == 200, let target {
            let index = source &* clusterNames.count &+ target
            pairs[index].successes &+= 1
            instanceSuccesses[Int(sample.instance.rawValue) &* clusterNames.count &+ source] &+= 1
            recordLatency(sample.totalMicros, pair: index)
            sources[source].succeeded &+= 1
            return target
        }
        let kind: RequestErrorKind
        if sample.curlExit != 0 {
            kind = .curl(sample.curlExit)
        } else if sample.status != 200 {
            kind = .http(sample.status)
        } else {
            kind = .unknownInstance
        }
        sources[source].errorsByKind[kind, default: 0] += 1
        if let target { pairs[source &* clusterNames.count &+ target].errors &+= 1 }
        return target
    }

    /// Adds one latency to a pair, as a raw value while it has few, moving them into a histogram beyond that.
    @inline(__always)
    private mutating func recordLatency(_ micros: UInt64, pair index: Int) {
        switch latencyStore[index] {
        case .histogram(let slot):
            histograms[Int(slot)].record(micros)
        case .raw(let slot) where rawLatencies[Int(slot)].count < Self.rawLatencyLimit:
            rawLatencies[Int(slot)].append(micros)
        case .raw:
            var histogram = LatencyHistogram()
            histogram.record(micros)
            storeHistogram(histogram, pair: index)
        case .empty:
            latencyStore[index] = .raw(Int32(rawLatencies.count))
            rawLatencies.append([micros])
        }
    }

    /// Gives a pair `histogram` with the pair's raw values (if any) added to it.
    private mutating func storeHistogram(_ histogram: LatencyHistogram, pair index: Int) {
        var histogram = histogram
        if case .raw(let slot) = latencyStore[index] {
            histogram.record(contentsOf: rawLatencies[Int(slot)])
            rawLatencies[Int(slot)] = []
        }
        latencyStore[index] = .histogram(Int32(histograms.count))
        histograms.append(histogram)
    }

    /// Histograms allocated so far (pairs beyond ``rawLatencyLimit`` successes).
    var allocatedHistograms: Int { histograms.count }

    /// Requests announced but never reported (a worker's `MC1-END` count minus its records, or a whole
    /// burst lost to a failed exec).
    public mutating func recordMissing(source: Int, count: Int) {
        sources[source].missingRecords += count
    }

    public mutating func recordMalformed(source: Int, count: Int) {
        sources[source].malformedLines += count
    }

    /// Late starts from a paced burst's `MC1-LATE` line (record 0 too: it says lateness was measured).
    public mutating func recordLateStarts(source: Int, count: Int) {
        sources[source].lateStarts += count
        sources[source].paced = true
    }

    public func pair(source: Int, target: Int) -> PairCounters { pairs[source * clusterNames.count + target] }

    /// In-pod `time_total` of the successful requests of a pair, in µs; nil when there were none.
    /// Builds the histogram from raw values when the pair has few, so call it once per pair (the
    /// verdict does, through ``latencyHistograms()``).
    public func makeLatencyHistogram(source: Int, target: Int) -> LatencyHistogram? {
        switch latencyStore[source * clusterNames.count + target] {
        case .empty: return nil
        case .histogram(let slot): return histograms[Int(slot)]
        case .raw(let slot):
            var histogram = LatencyHistogram()
            histogram.record(contentsOf: rawLatencies[Int(slot)])
            return histogram
        }
    }

    /// Every pair's latency histogram, each built once.
    public func latencyHistograms() -> PairHistograms {
        let count = clusterNames.count
        var matrix: [LatencyHistogram?] = []
        matrix.reserveCapacity(count * count)
        for source in 0..<count {
            for target in 0..<count { matrix.append(makeLatencyHistogram(source: source, target: target)) }
        }
        return PairHistograms(clusterCount: count, histograms: matrix)
    }

    /// Adds another tally over the same clusters (e.g. one per exec session) into this one. Instance
    /// assignments are kept from both. Instances registered before the sessions split share their ids; one a session
    /// registered on its own (a pod that appeared during the load) may have an id another session gave another pod,
    /// so an id whose name differs here moves to a free id (the merged tally's, not any session's NameTable's).
    public mutating func merge(_ other: TrafficTally) {
        precondition(other.clusterNames == clusterNames, "tallies over different clusters")
        // Assignments first: they size the per-instance counts the other tally's successes are added to.
        var slotHere: [Int] = Array(other.clusterOfInstance.indices)
        for (slot, cluster) in other.clusterOfInstance.enumerated() where cluster != 0 {
            let name = other.instanceNames[slot]
            let free = slot >= clusterOfInstance.count || clusterOfInstance[slot] == 0
            let target: Int
            if !free, instanceNames[slot] == name {
                target = slot
            } else if let existing = clusterOfInstance.indices.first(where: { clusterOfInstance[$0] != 0 && instanceNames[$0] == name }) {
                target = existing
            } else if free {
                target = slot
            } else {
                target = max(clusterOfInstance.count, other.clusterOfInstance.count)
            }
            slotHere[slot] = target
            assign(instance: NameID(rawValue: UInt32(target)), named: name, toCluster: Int(cluster) - 1)
        }
        let clusterCount = clusterNames.count
        for slot in other.clusterOfInstance.indices {
            for source in 0..<clusterCount {
                instanceSuccesses[slotHere[slot] * clusterCount + source] += other.instanceSuccesses[slot * clusterCount + source]
            }
        }
        for index in pairs.indices {
            pairs[index].successes += other.pairs[index].successes
            pairs[index].errors += other.pairs[index].errors
            switch (other.latencyStore[index], latencyStore[index]) {
            case (.empty, _):
                break
            case (.raw(let theirs), _):
                for micros in other.rawLatencies[Int(theirs)] { recordLatency(micros, pair: index) }
            case (.histogram(let theirs), .histogram(let mine)):
                histograms[Int(mine)].merge(other.histograms[Int(theirs)])
            case (.histogram(let theirs), _):
                storeHistogram(other.histograms[Int(theirs)], pair: index)
            }
        }
        for index in sources.indices {
            let theirs = other.sources[index]
            sources[index].records += theirs.records
            sources[index].succeeded += theirs.succeeded
            sources[index].missingRecords += theirs.missingRecords
            sources[index].malformedLines += theirs.malformedLines
            sources[index].lateStarts += theirs.lateStarts
            sources[index].paced = sources[index].paced || theirs.paced
            for (kind, count) in theirs.errorsByKind { sources[index].errorsByKind[kind, default: 0] += count }
        }
    }
}

/// Latency histograms per (source, target) cluster index, as ``TrafficTally/latencyHistograms()``
/// built them.
public struct PairHistograms: Sendable {
    public let clusterCount: Int
    private let histograms: [LatencyHistogram?]

    init(clusterCount: Int, histograms: [LatencyHistogram?]) {
        precondition(histograms.count == clusterCount * clusterCount, "one entry per pair")
        self.clusterCount = clusterCount
        self.histograms = histograms
    }

    /// The pair's histogram; nil when it had no successful request.
    public subscript(source source: Int, target target: Int) -> LatencyHistogram? {
        histograms[source * clusterCount + target]
    }
}
