// Bursts: one exec per burst, its stdout parsed as it arrives and tallied per session (no locks on
// the hot path), every record appended to records.jsonl as it is parsed. Sessions merge at the end.
// Measured bursts also place each request on the run's timeline: its start is the time its chunk arrived
// (one clock read per chunk) minus its in-pod duration, so a request is placed no earlier than it began.

import Foundation
import KubeClient
import MeshStats
import Synchronization

/// `records.jsonl`, appended by many sessions: each session buffers its lines and hands over whole
/// buffers, so the file only ever holds complete lines.
package final class RecordsFile: Sendable {
    private let descriptor: Mutex<Int32>
    let path: String

    package init(path: String) throws {
        self.path = path
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw RunAbort(.badInput, "cannot write \(path): \(String(cString: strerror(errno))) — check --output-dir")
        }
        descriptor = Mutex(fd)
    }

    func append(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        descriptor.withLock { fd in
            guard fd >= 0 else { return }
            bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        return
                    }
                    offset += written
                }
            }
        }
    }

    package func close() {
        descriptor.withLock { fd in
            if fd >= 0 { _ = Foundation.close(fd) }
            fd = -1
        }
    }
}

/// What the run knows before its bursts: which pod serves where, interned once so every session
/// agrees on the ids of known instances and versions.
package struct AttributionBase: Sendable {
    var names = NameTable()
    var tally: TrafficTally
    /// An empty timeline over the run's clusters, in the scenario's windows; sessions with a clock start from it.
    var timeline: TimelineTally
    /// JSON string bytes per NameID raw value (known names only).
    var jsonNames: [JSONStringBytes] = [.null]
    var clusterJSON: [JSONStringBytes]
    /// HelloWorld pods registered after the sessions started (a cluster scaled back up during the load).
    let lateInstances: LateInstances

    package init(
        clusterNames: [String], helloworldPods: [(pod: String, cluster: Int)], versions: [String],
        timelineWindow: Duration = TimelineSettings.defaultWindow, lateInstances: LateInstances = LateInstances()
    ) {
        self.lateInstances = lateInstances
        tally = TrafficTally(clusterNames: clusterNames)
        timeline = TimelineTally(clusterCount: clusterNames.count, windowMicros: timelineWindow.wholeMicroseconds)
        clusterJSON = clusterNames.map { JSONStringBytes($0) }
        for (pod, cluster) in helloworldPods {
            let id = names.intern(pod)
            tally.assign(instance: id, named: pod, toCluster: cluster)
        }
        for version in versions { _ = names.intern(version) }
        jsonNames += names.names.map { JSONStringBytes($0) }
    }
}

/// Collects a chunk's parse events so they can be tallied once the parser has let go of the name table.
/// Malformed lines are left out: the parser counts them, and a chunk of bare newlines would otherwise
/// hold an event per byte.
struct PendingEvents: RecordSink {
    var events: [RecordEvent] = []
    mutating func receive(_ event: RecordEvent) {
        if case .malformed = event { return }
        events.append(event)
    }
}

/// One exec session's consumer: parser, tally and record buffer, touched only by the I/O engine
/// thread while the exec runs and by the run after it returned. Public for `make bench`, which
/// measures exactly this pipeline.
package final class BurstSession: ExecOutputConsumer, @unchecked Sendable {
    let source: Int
    let command: BurstCommand
    private let base: AttributionBase
    private let clientJSON: JSONStringBytes
    private let records: RecordsFile?
    private var parser = RecordStreamParser()
    private var names: NameTable
    private(set) var pending = PendingEvents()
    package private(set) var tally: TrafficTally
    /// The run's clock for measured bursts, nil for converge probes and benchmarks that leave time out.
    private let clock: LoadClock?
    /// This session's requests in time; nil without a clock.
    package private(set) var timeline: TimelineTally?
    private var buffer: [UInt8] = []
    /// Records per worker, and each worker's END count once seen, for the command's workers only: lines
    /// naming other workers are tallied but cannot grow these.
    private var samplesPerWorker: [Int]
    private var endCount: [Int?]
    private(set) var stderrTail: [UInt8] = []
    /// Serving clusters this session's successful requests reached.
    private(set) var reached = Set<Int>()
    /// Answered requests that opened a connection, and those that went over one opened before (see
    /// ``StoredRecord/reusedConnection(connectionReuse:status:connectUs:)``).
    private(set) var connections = ConnectionCounts()
    /// Answers from an instance no one had registered when they arrived, held until the session ends in case the run
    /// registers the pod meanwhile (it lists new pods while the answers already flow). Only when pods can appear during
    /// the load, and at most 1024 (72 KiB): a pod printing made-up names must not make every session hold more.
    private var unresolved: [(sample: RequestSample, arrivalMicros: Int64?)] = []
    static let unresolvedLimit = 1024

    static let flushThreshold = 64 * 1024
    /// Parse events whose room a session keeps between chunks (about 30 KiB).
    static let retainedEvents = 512
    static let stderrTailLimit = 2048

    package init(source: Int, clientPod: String, command: BurstCommand, base: AttributionBase, records: RecordsFile?, clock: LoadClock?) {
        self.source = source
        self.clock = clock
        timeline = clock == nil ? nil : base.timeline
        self.command = command
        self.base = base
        self.records = records
        names = base.names
        tally = base.tally
        clientJSON = JSONStringBytes(clientPod)
        samplesPerWorker = Array(repeating: 0, count: command.workers)
        endCount = Array(repeating: nil, count: command.workers)
    }

    package func receive(_ bytes: UnsafeRawBufferPointer, from channel: ExecChannel) {
        if channel == .stdout {
            parser.feed(bytes, names: &names, into: &pending)
            drain()
        } else if channel == .stderr {
            stderrTail.append(contentsOf: bytes.prefix(Self.stderrTailLimit))
            if stderrTail.count > Self.stderrTailLimit { stderrTail.removeFirst(stderrTail.count - Self.stderrTailLimit) }
        }
    }

    private func drain() {
        // Every record of a chunk arrived by now: one clock read places them all.
        let arrivalMicros = clock?.nowMicros()
        for event in pending.events {
            switch event {
            case .sample(let sample):
                if base.lateInstances.expected, sample.status == 200, sample.curlExit == 0, !sample.instance.isAbsent,
                    tally.cluster(ofInstance: sample.instance) == nil, !registerLate(sample.instance), unresolved.count < Self.unresolvedLimit
                {
                    unresolved.append((sample, arrivalMicros))
                    continue
                }
                take(sample, arrivalMicros: arrivalMicros)
            case .begin:
                break
            case .end(_, let worker, let count):
                if worker < endCount.count { endCount[Int(worker)] = Int(count) }
            case .late(_, _, let lateStarts, _):
                // Recorded even when 0: it says lateness was measured for this source.
                tally.recordLateStarts(source: source, count: Int(lateStarts))
            case .malformed:
                break
            }
        }
        // A chunk of short lines can hold thousands of events; a session keeps room for a few only.
        if pending.events.capacity > Self.retainedEvents {
            pending.events = []
        } else {
            pending.events.removeAll(keepingCapacity: true)
        }
    }

    /// Tallies one record, places it on the timeline (by `arrivalMicros`, its chunk's arrival on the load's clock) and
    /// appends it to records.jsonl.
    private func take(_ sample: RequestSample, arrivalMicros: Int64?) {
        let target = tally.record(sample, source: source)
        let succeeded = sample.status == 200 && sample.curlExit == 0
        if let target, succeeded { reached.insert(target) }
        // The start: in-pod durations are far below Int64's range, which a corrupt value is clamped to.
        let startMicros = arrivalMicros.map { $0 &- Int64(clamping: sample.totalMicros) }
        if let startMicros {
            timeline?.record(source: source, target: target, succeeded: succeeded, atMicros: startMicros, totalMicros: sample.totalMicros)
        }
        if sample.worker < samplesPerWorker.count { samplesPerWorker[Int(sample.worker)] += 1 }
        connections.count(status: sample.status, connectUs: sample.connectMicros, connectionReuse: command.connectionReuse)
        guard records != nil else { return }
        RecordsJSONL.append(
            source: base.clusterJSON[source], target: target.map { base.clusterJSON[$0] } ?? .null, client: clientJSON,
            version: json(for: sample.version), instance: json(for: sample.instance), status: sample.status,
            curlExit: sample.curlExit, connectUs: sample.connectMicros, ttfbUs: sample.firstByteMicros,
            totalUs: sample.totalMicros, burst: sample.burst, worker: sample.worker, seq: sample.sequence,
            connectionReuse: command.connectionReuse, atMicros: startMicros, to: &buffer)
        // Within the chunk: a 256 KiB chunk of short records is megabytes of JSON.
        if buffer.count >= Self.flushThreshold { flush() }
    }

    /// Registers `instance` in this session's tally when the run has registered its pod as a late instance.
    private func registerLate(_ instance: NameID) -> Bool {
        guard let name = names.name(of: instance), let cluster = base.lateInstances.cluster(of: name) else { return false }
        tally.assign(instance: instance, named: name, toCluster: cluster)
        return true
    }

    private func json(for id: NameID) -> JSONStringBytes {
        if id.isAbsent { return .null }
        let raw = Int(id.rawValue)
        if raw < base.jsonNames.count { return base.jsonNames[raw] }
        return JSONStringBytes(names.name(of: id))
    }

    func flush() {
        records?.append(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Ends the session's accounting: the trailing partial line, requests announced but never
    /// reported, malformed lines; then writes what is left of the buffer.
    package func finish(execFailed: Bool) {
        parser.finish(into: &pending)
        drain()
        // Whatever the run has registered by now attributes the held answers; the rest are unknown instances after all.
        for (sample, arrivalMicros) in unresolved {
            if tally.cluster(ofInstance: sample.instance) == nil { _ = registerLate(sample.instance) }
            take(sample, arrivalMicros: arrivalMicros)
        }
        unresolved = []
        var missing = 0
        for worker in 0..<command.workers {
            let expected = command.requests(ofWorker: worker)
            let got = samplesPerWorker[worker]
            if endCount[worker] == nil || execFailed { missing += max(0, expected - got) }
        }
        if missing > 0 { tally.recordMissing(source: source, count: missing) }
        let malformed = Int(parser.malformedLines.total)
        if malformed > 0 { tally.recordMalformed(source: source, count: malformed) }
        flush()
        // The run keeps every finished session until it merges them: keep only what it reads (the
        // tally, `reached`, the stderr tail), not the session's names, buffers or partial line.
        names = base.names
        parser = RecordStreamParser()
        buffer = []
        pending = PendingEvents()
    }
}
