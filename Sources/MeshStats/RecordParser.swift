/// One request as reported by the in-pod burst command (docs/ARCHITECTURE.md, Contract 1: record line
/// `MC1 <burst> <worker> <seq> <status> <curlExit> <connect> <ttfb> <total> <version> <instance>`).
@frozen
public struct RequestSample: Sendable, Hashable {
    /// The burst index.
    public var burst: UInt32
    /// The in-pod parallel worker index.
    public var worker: UInt32
    /// The request index within the worker.
    public var sequence: UInt32
    /// curl's `%{http_code}` (0 when no response was received).
    public var status: UInt16
    /// curl's exit code (0 = success).
    public var curlExit: UInt16
    /// curl's `time_connect`, in µs.
    public var connectMicros: UInt64
    /// curl's `time_starttransfer` (time to first byte), in µs.
    public var firstByteMicros: UInt64
    /// curl's `time_total`, in µs.
    public var totalMicros: UInt64
    /// The HelloWorld version that answered, or ``NameID/absent``.
    public var version: NameID
    /// The HelloWorld instance (pod name) that answered, or ``NameID/absent``.
    public var instance: NameID

    public init(
        burst: UInt32, worker: UInt32, sequence: UInt32, status: UInt16, curlExit: UInt16,
        connectMicros: UInt64, firstByteMicros: UInt64, totalMicros: UInt64, version: NameID, instance: NameID
    ) {
        self.burst = burst
        self.worker = worker
        self.sequence = sequence
        self.status = status
        self.curlExit = curlExit
        self.connectMicros = connectMicros
        self.firstByteMicros = firstByteMicros
        self.totalMicros = totalMicros
        self.version = version
        self.instance = instance
    }
}

/// A field of a record or framing line, named in malformed-line reasons.
public enum RecordField: UInt8, CaseIterable, Sendable, CustomStringConvertible {
    case burst, worker, sequence, status, curlExit, connect, firstByte, total, version, instance, count

    public var description: String {
        switch self {
        case .burst: "burst"
        case .worker: "worker"
        case .sequence: "seq"
        case .status: "status"
        case .curlExit: "curlExit"
        case .connect: "connect"
        case .firstByte: "ttfb"
        case .total: "total"
        case .version: "version"
        case .instance: "instance"
        case .count: "count"
        }
    }
}

/// Why a line was not a record or framing line. The set is bounded, so counts per reason make a
/// fixed-size report.
public enum MalformedLineReason: Hashable, Sendable, CustomStringConvertible {
    /// The line does not start with `MC1 `, `MC1-BEGIN `, `MC1-END ` or `MC1-LATE ` (blank lines, stray output).
    case notARecord
    /// A field is missing or not in its format (digits, three-digit status, seconds with at most six
    /// decimals, a token of `[A-Za-z0-9._-]` up to 253 bytes).
    case invalidField(RecordField)
    /// The fields were all read but more bytes follow before the newline.
    case trailingBytes
    /// The line exceeded ``RecordStreamParser/maximumLineLength`` bytes; only that many were kept.
    case overlongLine
    /// The stream ended in the middle of a line (no final newline).
    case truncatedAtEndOfStream
    /// A valid record whose version or instance is new while record lines already added the most
    /// names of that field the table takes (``NameTable/maximumRecordVersions``,
    /// ``NameTable/maximumRecordInstances``); the record is not tallied.
    case tooManyNames(RecordField)

    /// Every reason, in a fixed order.
    public static let allReasons: [MalformedLineReason] =
        [.notARecord] + RecordField.allCases.map { .invalidField($0) } + [
            .trailingBytes, .overlongLine, .truncatedAtEndOfStream, .tooManyNames(.version), .tooManyNames(.instance),
        ]

    @usableFromInline
    var ordinal: Int {
        switch self {
        case .notARecord: 0
        case .invalidField(let field): 1 + Int(field.rawValue)
        case .trailingBytes: 1 + RecordField.allCases.count
        case .overlongLine: 2 + RecordField.allCases.count
        case .truncatedAtEndOfStream: 3 + RecordField.allCases.count
        case .tooManyNames(let field): field == .version ? 4 + RecordField.allCases.count : 5 + RecordField.allCases.count
        }
    }

    public var description: String {
        switch self {
        case .notARecord: "not a record line"
        case .invalidField(let field): "missing or invalid \(field)"
        case .trailingBytes: "trailing bytes after the last field"
        case .overlongLine: "line longer than \(RecordStreamParser.maximumLineLength) bytes"
        case .truncatedAtEndOfStream: "stream ended mid-line"
        case .tooManyNames(let field):
            "more than \(field == .version ? NameTable.maximumRecordVersions : NameTable.maximumRecordInstances) distinct \(field) names"
        }
    }
}

/// Counts of malformed lines per reason; mergeable.
public struct MalformedLineCounts: Sendable, Equatable {
    @usableFromInline var counts = [UInt64](repeating: 0, count: MalformedLineReason.allReasons.count)

    public init() {}

    /// The number of lines dropped for `reason`.
    public subscript(reason: MalformedLineReason) -> UInt64 { counts[reason.ordinal] }

    /// The number of malformed lines of any reason.
    public var total: UInt64 { counts.reduce(0, &+) }

    /// The reasons seen at least once with their counts, in the order of
    /// ``MalformedLineReason/allReasons``.
    public var nonZero: [(reason: MalformedLineReason, count: UInt64)] {
        MalformedLineReason.allReasons.compactMap { counts[$0.ordinal] > 0 ? ($0, counts[$0.ordinal]) : nil }
    }

    @inlinable
    mutating func add(_ reason: MalformedLineReason) { counts[reason.ordinal] &+= 1 }

    /// Adds `other`'s counts to these.
    public mutating func merge(_ other: MalformedLineCounts) {
        for index in counts.indices { counts[index] &+= other.counts[index] }
    }
}

/// What a line of the in-pod command's output turned out to be.
public enum RecordEvent: Sendable, Hashable {
    /// A request record.
    case sample(RequestSample)
    /// `MC1-BEGIN <burst> <worker>`: the worker is about to send its first request.
    case begin(burst: UInt32, worker: UInt32)
    /// `MC1-END <burst> <worker> <count>`: the worker finished after `count` requests.
    case end(burst: UInt32, worker: UInt32, count: UInt32)
    /// `MC1-LATE <burst> <worker> <lateStarts> <maxLagMicros>`: in paced mode, how many of the worker's
    /// requests started behind schedule and by how much at most (coordinated omission made visible).
    case late(burst: UInt32, worker: UInt32, lateStarts: UInt32, maxLagMicros: UInt32)
    /// A line that was neither; it is also counted in ``RecordStreamParser/malformedLines``.
    case malformed(MalformedLineReason)
}

/// Receives the events of a ``RecordStreamParser``. Generic sinks are specialised into the parse
/// loop, so a sink that records into histograms pays no call overhead.
public protocol RecordSink {
    mutating func receive(_ event: RecordEvent)
}

/// A sink that keeps every event, in order (tests, small streams).
public struct RecordEventCollector: RecordSink, Sendable {
    public var events: [RecordEvent] = []
    public init() {}
    public mutating func receive(_ event: RecordEvent) { events.append(event) }
}

/// A byte-level streaming parser of one output stream of the in-pod command (Contract 1).
///
/// Feed it the stream's bytes in chunks of any size; lines split across chunks are reassembled.
/// Complete lines inside a chunk are parsed in place (no copy, no `String`); only a line split by a
/// chunk boundary is copied, into a buffer capped at ``maximumLineLength`` bytes, so memory stays
/// bounded whatever the input. Every line yields exactly one ``RecordEvent``; malformed lines are
/// counted per reason and never stop the parse. A `\r` before the newline is tolerated.
///
/// Use one parser per stream (it holds that stream's partial line) and one ``NameTable`` for the
/// whole run, passed to every `feed`, so version and instance ids agree across streams.
public struct RecordStreamParser: Sendable {
    /// The longest line, in bytes including the newline; longer lines are malformed
    /// (``MalformedLineReason/overlongLine``) and at most this many of their bytes are kept. A
    /// valid line is at most 613 bytes (10-digit counters, 16-byte times, two 253-byte tokens).
    public static let maximumLineLength = 1024

    @usableFromInline var pending: [UInt8] = []
    @usableFromInline var pendingIsOverlong = false

    @usableFromInline var malformedCounts = MalformedLineCounts()
    @usableFromInline var linesSeen: UInt64 = 0

    /// Malformed lines seen so far, per reason.
    public var malformedLines: MalformedLineCounts { malformedCounts }
    /// Complete lines seen so far (of any kind).
    public var lineCount: UInt64 { linesSeen }

    public init() {}

    /// Parses `chunk`, interning versions and instances in `names`, and passes one event per
    /// complete line to `sink`.
    @inlinable
    public mutating func feed<Sink: RecordSink>(_ chunk: UnsafeRawBufferPointer, names: inout NameTable, into sink: inout Sink) {
        guard let base = chunk.baseAddress?.assumingMemoryBound(to: UInt8.self), chunk.count > 0 else { return }
        let end = chunk.count
        var start = 0
        if !pending.isEmpty || pendingIsOverlong {
            // Complete the line begun in an earlier chunk.
            var newline = 0
            while newline < end && base[newline] != 0x0A { newline += 1 }
            appendPending(UnsafeBufferPointer(start: base, count: newline))
            guard newline < end else { return }
            finishPendingLine(names: &names, into: &sink)
            start = newline + 1
        }
        // Lines up to the last newline are complete; that newline stops every field scanner, so
        // the line parser needs no bounds checks of its own.
        var lastNewline = end - 1
        while lastNewline >= start && base[lastNewline] != 0x0A { lastNewline -= 1 }
        if lastNewline >= start {
            var cursor = start
            while cursor <= lastNewline {
                cursor = parseLine(base, from: cursor, limit: lastNewline + 1, names: &names, into: &sink)
            }
        }
        if lastNewline + 1 < end {
            appendPending(UnsafeBufferPointer(start: base + (lastNewline + 1), count: end - lastNewline - 1))
        }
    }

    /// Parses `bytes` (see ``feed(_:names:into:)-(UnsafeRawBufferPointer,_,_)``).
    @inlinable
    public mutating func feed<Sink: RecordSink>(_ bytes: ArraySlice<UInt8>, names: inout NameTable, into sink: inout Sink) {
        bytes.withUnsafeBytes { feed($0, names: &names, into: &sink) }
    }

    /// Parses `bytes` (see ``feed(_:names:into:)-(UnsafeRawBufferPointer,_,_)``).
    @inlinable
    public mutating func feed<Sink: RecordSink>(_ bytes: [UInt8], names: inout NameTable, into sink: inout Sink) {
        bytes.withUnsafeBytes { feed($0, names: &names, into: &sink) }
    }

    /// Ends the stream: a line left without its newline is reported as
    /// ``MalformedLineReason/truncatedAtEndOfStream`` (or ``MalformedLineReason/overlongLine``).
    /// The parser can then be reused for a new stream.
    @inlinable
    public mutating func finish<Sink: RecordSink>(into sink: inout Sink) {
        guard !pending.isEmpty || pendingIsOverlong else { return }
        report(pendingIsOverlong ? .overlongLine : .truncatedAtEndOfStream, into: &sink)
        pending.removeAll(keepingCapacity: true)
        pendingIsOverlong = false
    }

    // MARK: Partial lines

    @usableFromInline
    mutating func appendPending(_ bytes: UnsafeBufferPointer<UInt8>) {
        let room = Self.maximumLineLength - 1 - pending.count // keep one byte for the newline
        if bytes.count > room {
            pendingIsOverlong = true
            if room > 0 { pending.append(contentsOf: bytes.prefix(room)) }
        } else {
            pending.append(contentsOf: bytes)
        }
    }

    @inlinable
    mutating func finishPendingLine<Sink: RecordSink>(names: inout NameTable, into sink: inout Sink) {
        if pendingIsOverlong {
            report(.overlongLine, into: &sink)
        } else {
            // Parse from a local array: `pending` is part of `self`, which the parse mutates.
            var line: [UInt8] = []
            swap(&line, &pending)
            line.append(0x0A)
            line.withUnsafeBufferPointer { buffer in
                _ = parseLine(buffer.baseAddress!, from: 0, limit: buffer.count, names: &names, into: &sink)
            }
            swap(&line, &pending)
        }
        pending.removeAll(keepingCapacity: true)
        pendingIsOverlong = false
    }

    @inlinable
    mutating func report<Sink: RecordSink>(_ reason: MalformedLineReason, into sink: inout Sink) {
        linesSeen &+= 1
        malformedCounts.add(reason)
        sink.receive(.malformed(reason))
    }

    // MARK: One line

    /// Parses the line starting at `start`; `base[limit - 1]` is a newline. Returns the index after
    /// the line's newline.
    @inlinable @inline(__always)
    mutating func parseLine<Sink: RecordSink>(
        _ base: UnsafePointer<UInt8>, from start: Int, limit: Int, names: inout NameTable, into sink: inout Sink
    ) -> Int {
        var scanner = LineScanner(base: base, index: start)
        var event = scanner.parse(limit: limit, names: &names)
        linesSeen &+= 1
        if case .malformed(var reason) = event {
            // A record refused for its names was read to its end; any other stopped mid-line.
            if case .tooManyNames = reason {} else { scanner.skipPastNewline() }
            // Over-long lines get the same reason whether they arrived whole or split across
            // chunks (valid lines are never this long).
            if scanner.index - start > Self.maximumLineLength {
                reason = .overlongLine
                event = .malformed(reason)
            }
            malformedCounts.add(reason)
        }
        sink.receive(event)
        return scanner.index
    }

    /// Field scanners over one line. Every scanner stops at a byte outside its class, and the
    /// line's terminating newline is outside every class, so none reads past it.
    @usableFromInline
    struct LineScanner {
        @usableFromInline let base: UnsafePointer<UInt8>
        @usableFromInline var index: Int
        /// Set when a valid value was followed by the end of the line instead of a space.
        @usableFromInline var lineEndedBeforeSeparator = false

        @inlinable
        init(base: UnsafePointer<UInt8>, index: Int) {
            self.base = base
            self.index = index
        }

        @inlinable mutating func skipPastNewline() {
            while base[index] != 0x0A { index += 1 }
            index += 1
        }

        @inlinable @inline(__always) func word(at offset: Int) -> UInt32 {
            UInt32(littleEndian: UnsafeRawPointer(base + offset).loadUnaligned(as: UInt32.self))
        }

        /// Reads the line; on success `index` is past the newline.
        @inlinable @inline(__always) mutating func parse(limit: Int, names: inout NameTable) -> RecordEvent {
            guard limit - index >= 4 else { return .malformed(.notARecord) }
            let head = word(at: index)
            if head == RecordParserWords.record {
                let lineStart = index
                index += 4
                if limit - lineStart >= Self.fastPathWindow, let event = fastRecord(names: &names) { return event }
                index = lineStart + 4
                return parseRecord(limit: limit, names: &names)
            }
            guard head == RecordParserWords.framing else { return .malformed(.notARecord) }
            index += 4
            if limit - index >= 6 && word(at: index) == RecordParserWords.begin
                && base[index + 4] == UInt8(ascii: "N") && base[index + 5] == UInt8(ascii: " ")
            {
                index += 6
                guard let burst = counter(.burst, then: 0x20) else { return blame(.burst, next: .worker) }
                guard let worker = counter(.worker, then: 0x0A) else { return .malformed(.invalidField(.worker)) }
                return .begin(burst: burst, worker: worker)
            }
            if limit - index >= 4 && word(at: index) == RecordParserWords.end {
                index += 4
                guard let burst = counter(.burst, then: 0x20) else { return blame(.burst, next: .worker) }
                guard let worker = counter(.worker, then: 0x20) else { return blame(.worker, next: .count) }
                guard let count = counter(.count, then: 0x0A) else { return .malformed(.invalidField(.count)) }
                return .end(burst: burst, worker: worker, count: count)
            }
            if limit - index >= 5 && word(at: index) == RecordParserWords.late && base[index + 4] == UInt8(ascii: " ") {
                index += 5
                guard let burst = counter(.burst, then: 0x20) else { return blame(.burst, next: .worker) }
                guard let worker = counter(.worker, then: 0x20) else { return blame(.worker, next: .count) }
                guard let late = counter(.count, then: 0x20) else { return blame(.count, next: .count) }
                guard let lag = counter(.count, then: 0x0A) else { return .malformed(.invalidField(.count)) }
                return .late(burst: burst, worker: worker, lateStarts: late, maxLagMicros: lag)
            }
            return .malformed(.notARecord)
        }

        @inlinable @inline(__always) mutating func parseRecord(limit: Int, names: inout NameTable) -> RecordEvent {
            guard let burst = counter(.burst, then: 0x20) else { return blame(.burst, next: .worker) }
            guard let worker = counter(.worker, then: 0x20) else { return blame(.worker, next: .sequence) }
            guard let sequence = counter(.sequence, then: 0x20) else { return blame(.sequence, next: .status) }
            guard let status = threeDigitStatus() else { return blame(.status, next: .curlExit) }
            // An exit status is 0…255; the bound also keeps a session's error kinds few (see TrafficTally).
            guard let curlExit = counter(.curlExit, then: 0x20), curlExit <= 255 else {
                return blame(.curlExit, next: .connect)
            }
            guard let connect = seconds(then: 0x20) else { return blame(.connect, next: .firstByte) }
            guard let firstByte = seconds(then: 0x20) else { return blame(.firstByte, next: .total) }
            guard let total = seconds(then: 0x20) else { return blame(.total, next: .version) }
            guard let version = token(then: 0x20, limit: limit) else { return blame(.version, next: .instance) }
            let instanceStart = index
            guard let instance = token(then: 0x0A, limit: limit) else {
                let length = index - instanceStart
                return .malformed(base[index] == 0x20 && length > 0 && length <= 253 ? .trailingBytes : .invalidField(.instance))
            }
            // Intern only once the whole line is valid, so noise never grows the table; past a
            // field's name limit the record is dropped (a version admitted just before a refused
            // instance stays, within its own limit).
            guard let versionID = intern(version, .version, names: &names) else { return .malformed(.tooManyNames(.version)) }
            guard let instanceID = intern(instance, .instance, names: &names) else { return .malformed(.tooManyNames(.instance)) }
            return .sample(
                RequestSample(
                    burst: burst, worker: worker, sequence: sequence, status: status, curlExit: UInt16(curlExit),
                    connectMicros: connect, firstByteMicros: firstByte, totalMicros: total,
                    version: versionID, instance: instanceID))
        }

        /// The field to blame for a failed read of `field`: when its value was fine but the line
        /// ended where the separator before `next` was due, `next` is the one missing.
        @inlinable func blame(_ field: RecordField, next: RecordField) -> RecordEvent {
            .malformed(.invalidField(lineEndedBeforeSeparator ? next : field))
        }

        /// Exactly three digits and a space. Each byte is read only after the previous one proved
        /// to be a digit, so the scan never passes the newline.
        @inlinable @inline(__always) mutating func threeDigitStatus() -> UInt16? {
            let hundreds = base[index] &- 0x30
            guard hundreds < 10 else { return nil }
            let tens = base[index + 1] &- 0x30
            guard tens < 10 else { return nil }
            let units = base[index + 2] &- 0x30
            guard units < 10 else { return nil }
            index += 3
            guard consume(0x20) else { return nil }
            return UInt16(hundreds) * 100 + UInt16(tens) * 10 + UInt16(units)
        }

        /// A decimal counter of 1…10 digits fitting `UInt32`, followed by `terminator` (a `\r`
        /// before a final newline is skipped).
        @inlinable @inline(__always) mutating func counter(_ field: RecordField, then terminator: UInt8) -> UInt32? {
            let start = index
            var value: UInt64 = 0
            while true {
                let digit = base[index] &- 0x30
                if digit > 9 { break }
                value = value &* 10 &+ UInt64(digit)
                index += 1
            }
            let length = index - start
            guard length > 0, length <= 10, value <= UInt64(UInt32.max), consume(terminator) else { return nil }
            return UInt32(truncatingIfNeeded: value)
        }

        /// curl's seconds with at most six decimals (`12`, `0.5`, `0.012345`), as µs.
        @inlinable @inline(__always) mutating func seconds(then terminator: UInt8) -> UInt64? {
            let start = index
            var whole: UInt64 = 0
            while true {
                let digit = base[index] &- 0x30
                if digit > 9 { break }
                whole = whole &* 10 &+ UInt64(digit)
                index += 1
            }
            let wholeLength = index - start
            guard wholeLength > 0, wholeLength <= 9 else { return nil }
            var fraction: UInt64 = 0
            if base[index] == UInt8(ascii: ".") {
                index += 1
                let fractionStart = index
                while true {
                    let digit = base[index] &- 0x30
                    if digit > 9 { break }
                    fraction = fraction &* 10 &+ UInt64(digit)
                    index += 1
                }
                let fractionLength = index - fractionStart
                guard fractionLength > 0, fractionLength <= 6 else { return nil }
                for _ in fractionLength..<6 { fraction &*= 10 }
            }
            guard consume(terminator) else { return nil }
            return whole &* 1_000_000 &+ fraction
        }

        /// A name token of `[A-Za-z0-9._-]`, 1…253 bytes, followed by `terminator`; returns where
        /// it lies in the line. Bytes are classified eight at a time while eight remain before
        /// `limit` (the end of the complete lines), then one at a time.
        @inlinable @inline(__always) mutating func token(then terminator: UInt8, limit: Int) -> (start: Int, length: Int)? {
            let start = index
            var cursor = index
            while cursor + 8 <= limit {
                let word = UInt64(littleEndian: UnsafeRawPointer(base + cursor).loadUnaligned(as: UInt64.self))
                let outside = Self.nonTokenBytes(word)
                if outside != 0 {
                    cursor += outside.trailingZeroBitCount >> 3
                    break
                }
                cursor += 8
            }
            while Self.isTokenByte(base[cursor]) { cursor += 1 }
            index = cursor
            let length = cursor - start
            guard length > 0, length <= 253, consume(terminator) else { return nil }
            return (start, length)
        }

        /// The high bit of each byte of `word` that is not in `[A-Za-z0-9._-]`, all other bits 0.
        /// Each range test subtracts per byte with the byte's high bit set first, so no borrow
        /// crosses into the next byte.
        @inlinable @inline(__always) static func nonTokenBytes(_ word: UInt64) -> UInt64 {
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highBits: UInt64 = 0x8080_8080_8080_8080
            @inline(__always) func within(_ value: UInt64, _ low: UInt8, _ high: UInt8) -> UInt64 {
                let raised = value | highBits
                return (raised &- ones &* UInt64(low)) & ~(raised &- ones &* UInt64(high &+ 1)) & highBits
            }
            let folded = word | (ones &* 0x20) // 'A'…'Z' → 'a'…'z'; only letters land in 'a'…'z'
            let valid =
                within(word, 0x2D, 0x2E) | within(word, 0x30, 0x39) | within(word, 0x5F, 0x5F)
                | within(folded, 0x61, 0x7A)
            return (~valid & highBits) | (word & highBits)
        }

        /// The id of a token; `-` alone is absent; `nil` when it is new and `field` has no room left.
        @inlinable @inline(__always)
        func intern(_ token: (start: Int, length: Int), _ field: RecordField, names: inout NameTable) -> NameID? {
            if token.length == 1 && base[token.start] == UInt8(ascii: "-") { return .absent }
            return names.internRecordToken(UnsafeRawBufferPointer(start: base + token.start, count: token.length), field: field)
        }

        @inlinable @inline(__always) static func isTokenByte(_ byte: UInt8) -> Bool {
            // Bitmaps of [A-Za-z0-9._-] for bytes 0…63 and 64…127.
            let low: UInt64 = 0x03FF_6000_0000_0000 // '-' 45, '.' 46, '0'…'9' 48…57
            let high: UInt64 = 0x07FF_FFFE_87FF_FFFE // 'A'…'Z' 65…90, '_' 95, 'a'…'z' 97…122
            let map = byte < 64 ? low : high
            return byte < 128 && (map >> UInt64(byte & 63)) & 1 == 1
        }

        @inlinable @inline(__always) mutating func consume(_ terminator: UInt8) -> Bool {
            if base[index] == terminator {
                index += 1
                return true
            }
            let atLineEnd = base[index] == 0x0A || (base[index] == 0x0D && base[index + 1] == 0x0A)
            if terminator == 0x0A && atLineEnd {
                index += 2 // the "\r\n" case; a bare "\n" matched above
                return true
            }
            lineEndedBeforeSeparator = atLineEnd
            return false
        }
    }
}

/// The four-byte words the line parser compares (little-endian).
@usableFromInline
enum RecordParserWords {
    @inlinable static var record: UInt32 { 0x2031_434D } // "MC1 "
    @inlinable static var framing: UInt32 { 0x2D31_434D } // "MC1-"
    @inlinable static var begin: UInt32 { 0x4947_4542 } // "BEGI"
    @inlinable static var end: UInt32 { 0x2044_4E45 } // "END "
    @inlinable static var late: UInt32 { 0x4554_414C } // "LATE"
}
