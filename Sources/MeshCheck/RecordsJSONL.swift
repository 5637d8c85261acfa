// records.jsonl: one JSON object per request, written as records arrive. The encoder appends bytes
// directly (names are escaped once and reused), because it runs once per request on the harness's hot
// path where a JSONEncoder per record would cost more than parsing the record did.

/// A string already escaped and quoted as a JSON string (`"cluster-1"`), or `null`.
package struct JSONStringBytes: Sendable, Equatable {
    package let bytes: [UInt8]

    package static let null = JSONStringBytes(bytes: Array("null".utf8))

    package init(_ value: String?) {
        guard let value else {
            self = .null
            return
        }
        var out: [UInt8] = [0x22]
        out.reserveCapacity(value.utf8.count + 2)
        let hex = Array("0123456789abcdef".utf8)
        for byte in value.utf8 {
            switch byte {
            case 0x22: out += [0x5c, 0x22]
            case 0x5c: out += [0x5c, 0x5c]
            case 0x0a: out += [0x5c, UInt8(ascii: "n")]
            case 0x0d: out += [0x5c, UInt8(ascii: "r")]
            case 0x09: out += [0x5c, UInt8(ascii: "t")]
            case 0..<0x20, 0x7f:
                out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0x0f)]]
            default: out.append(byte)
            }
        }
        out.append(0x22)
        bytes = out
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }
}

/// One request, as stored in records.jsonl (also what `meshcheck report --from-records` reads back).
package struct StoredRecord: Codable, Sendable, Equatable {
    /// Source (client) cluster name.
    package var source: String
    /// Serving cluster name; nil when no pod answered or the instance is unknown.
    package var target: String?
    /// Client pod that ran the burst.
    package var client: String?
    package var version: String?
    package var instance: String?
    package var status: Int
    package var curlExit: Int
    package var connectUs: UInt64
    package var ttfbUs: UInt64
    package var totalUs: UInt64
    package var burst: UInt32
    package var worker: UInt32
    package var seq: UInt32
    /// The in-pod engine: `reuse` (one curl per worker, connections kept open) or `fresh` (one curl per request).
    /// Absent in records written before engines were named, which were all `fresh`.
    package var engine: String?
    /// Whether the request went over a connection an earlier request of its worker had opened: curl reported
    /// no connect time for a transfer that got an answer. Always false with the `fresh` engine.
    package var reused: Bool?
    /// When the request started, in ms on the run's timeline (from the start of the load), 3 decimals: the time its
    /// output reached meshcheck minus `totalUs`. Absent in records written before the timeline and in records of
    /// bursts outside the measured load.
    package var atMs: Double?

    package init(
        source: String, target: String?, client: String?, version: String?, instance: String?, status: Int, curlExit: Int,
        connectUs: UInt64, ttfbUs: UInt64, totalUs: UInt64, burst: UInt32, worker: UInt32, seq: UInt32,
        engine: String? = nil, reused: Bool? = nil, atMs: Double? = nil
    ) {
        self.atMs = atMs
        self.source = source
        self.target = target
        self.client = client
        self.version = version
        self.instance = instance
        self.status = status
        self.curlExit = curlExit
        self.connectUs = connectUs
        self.ttfbUs = ttfbUs
        self.totalUs = totalUs
        self.burst = burst
        self.worker = worker
        self.seq = seq
        self.engine = engine
        self.reused = reused
    }

    /// `atMs` in whole microseconds, as the timeline places requests.
    package var atMicros: Int64? {
        guard let atMs, atMs.isFinite else { return nil }
        let micros = (atMs * 1000).rounded()
        return Int64(exactly: micros) ?? (micros < 0 ? .min : .max)
    }

    /// What `reused` says for a record of the given engine.
    package static func reusedConnection(connectionReuse: Bool, status: UInt16, connectUs: UInt64) -> Bool {
        connectionReuse && status != 0 && connectUs == 0
    }
}

package enum RecordsJSONL {
    /// Appends one line: `{"source":…,"target":…,"client":…,"version":…,"instance":…,"status":200,"curlExit":0,
    /// "connectUs":…,"ttfbUs":…,"totalUs":…,"burst":…,"worker":…,"seq":…,"engine":"reuse","reused":true,"atMs":1234.567}\n`
    /// (`atMs` only when the request was placed on the timeline: `atMicros` / 1000 with 3 decimals).
    ///
    /// Builds the line in stack scratch space and appends it with one copy: keys are static strings and
    /// names are pre-escaped bytes, so a line costs a few memory copies and no reference counting.
    package static func append(
        source: JSONStringBytes, target: JSONStringBytes, client: JSONStringBytes, version: JSONStringBytes,
        instance: JSONStringBytes, status: UInt16, curlExit: UInt16, connectUs: UInt64, ttfbUs: UInt64,
        totalUs: UInt64, burst: UInt32, worker: UInt32, seq: UInt32, connectionReuse: Bool?, atMicros: Int64? = nil,
        to buffer: inout [UInt8]
    ) {
        let names = source.bytes.count + target.bytes.count + client.bytes.count + version.bytes.count + instance.bytes.count
        // Keys and punctuation (< 220 bytes) plus eight numbers of at most 20 digits and a signed decimal of at most 22.
        let bound = names + 220 + 8 * 20 + 22
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bound) { scratch in
            var cursor = scratch.baseAddress!
            let origin = cursor
            copy(#"{"source":"#, to: &cursor)
            copy(source.bytes, to: &cursor)
            copy(#","target":"#, to: &cursor)
            copy(target.bytes, to: &cursor)
            copy(#","client":"#, to: &cursor)
            copy(client.bytes, to: &cursor)
            copy(#","version":"#, to: &cursor)
            copy(version.bytes, to: &cursor)
            copy(#","instance":"#, to: &cursor)
            copy(instance.bytes, to: &cursor)
            copy(#","status":"#, to: &cursor)
            writeDecimal(UInt64(status), to: &cursor)
            copy(#","curlExit":"#, to: &cursor)
            writeDecimal(UInt64(curlExit), to: &cursor)
            copy(#","connectUs":"#, to: &cursor)
            writeDecimal(connectUs, to: &cursor)
            copy(#","ttfbUs":"#, to: &cursor)
            writeDecimal(ttfbUs, to: &cursor)
            copy(#","totalUs":"#, to: &cursor)
            writeDecimal(totalUs, to: &cursor)
            copy(#","burst":"#, to: &cursor)
            writeDecimal(UInt64(burst), to: &cursor)
            copy(#","worker":"#, to: &cursor)
            writeDecimal(UInt64(worker), to: &cursor)
            copy(#","seq":"#, to: &cursor)
            writeDecimal(UInt64(seq), to: &cursor)
            switch connectionReuse {
            case true?:
                copy(#","engine":"reuse","reused":"#, to: &cursor)
                copy(StoredRecord.reusedConnection(connectionReuse: true, status: status, connectUs: connectUs) ? "true" : "false", to: &cursor)
            case false?:
                copy(#","engine":"fresh","reused":false"#, to: &cursor)
            case nil:
                // A record saved before engines were named stays as it was.
                break
            }
            if let atMicros {
                copy(#","atMs":"#, to: &cursor)
                writeMilliseconds(atMicros, to: &cursor)
            }
            copy("}\n", to: &cursor)
            buffer.append(contentsOf: UnsafeBufferPointer(start: origin, count: cursor - origin))
        }
    }

    @inline(__always)
    static func copy(_ text: StaticString, to cursor: inout UnsafeMutablePointer<UInt8>) {
        cursor.update(from: text.utf8Start, count: text.utf8CodeUnitCount)
        cursor += text.utf8CodeUnitCount
    }

    @inline(__always)
    static func copy(_ bytes: [UInt8], to cursor: inout UnsafeMutablePointer<UInt8>) {
        let count = bytes.count
        bytes.withUnsafeBufferPointer { cursor.update(from: $0.baseAddress!, count: count) }
        cursor += count
    }

    /// Writes `value` in decimal (at most 20 digits) and advances the cursor.
    @inline(__always)
    static func writeDecimal(_ value: UInt64, to cursor: inout UnsafeMutablePointer<UInt8>) {
        var digits = 1
        var probe = value
        while probe >= 10 {
            probe /= 10
            digits += 1
        }
        var rest = value
        var position = digits
        while position > 0 {
            position -= 1
            cursor[position] = 0x30 &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
        }
        cursor += digits
    }

    /// Writes microseconds as milliseconds with exactly 3 decimals (`-0.250`, `1234.567`) and advances the cursor.
    @inline(__always)
    static func writeMilliseconds(_ micros: Int64, to cursor: inout UnsafeMutablePointer<UInt8>) {
        if micros < 0 {
            cursor.pointee = UInt8(ascii: "-")
            cursor += 1
        }
        let magnitude = micros.magnitude
        writeDecimal(magnitude / 1000, to: &cursor)
        cursor.pointee = UInt8(ascii: ".")
        let fraction = magnitude % 1000
        cursor[1] = 0x30 &+ UInt8(truncatingIfNeeded: fraction / 100)
        cursor[2] = 0x30 &+ UInt8(truncatingIfNeeded: fraction / 10 % 10)
        cursor[3] = 0x30 &+ UInt8(truncatingIfNeeded: fraction % 10)
        cursor += 4
    }

    /// Appends a stored record (slower path: escapes its strings each time).
    package static func append(_ record: StoredRecord, to buffer: inout [UInt8]) {
        append(
            source: JSONStringBytes(record.source), target: JSONStringBytes(record.target), client: JSONStringBytes(record.client),
            version: JSONStringBytes(record.version), instance: JSONStringBytes(record.instance),
            status: UInt16(clamping: record.status), curlExit: UInt16(clamping: record.curlExit), connectUs: record.connectUs,
            ttfbUs: record.ttfbUs, totalUs: record.totalUs, burst: record.burst, worker: record.worker, seq: record.seq,
            connectionReuse: record.engine.map { $0 == "reuse" }, atMicros: record.atMicros, to: &buffer)
    }
}
