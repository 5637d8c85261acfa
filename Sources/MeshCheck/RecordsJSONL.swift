// records.jsonl: one JSON object per request, written as records arrive. The encoder appends bytes
// directly (names are escaped once and reused), because it runs once per request on the harness's hot
// path where a JSONEncoder per record would cost more than parsing the record did.

/// A string already escaped and quoted as a JSON string (`"cluster-1"`), or `null`.
public struct JSONStringBytes: Sendable, Equatable {
    public let bytes: [UInt8]

    public static let null = JSONStringBytes(bytes: Array("null".utf8))

    public init(_ value: String?) {
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
public struct StoredRecord: Codable, Sendable, Equatable {
    /// Source (client) cluster name.
    public var source: String
    /// Serving cluster name; nil when no pod answered or the instance is unknown.
    public var target: String?
    /// Client pod that ran the burst.
    public var client: String?
    public var version: String?
    public var instance: String?
    public var status: Int
    public var curlExit: Int
    public var connectUs: UInt64
    public var ttfbUs: UInt64
    public var totalUs: UInt64
    public var burst: UInt32
    public var worker: UInt32
    public var seq: UInt32

    public init(source: String, target: String?, client: String?, version: String?, instance: String?, status: Int, curlExit: Int,
                connectUs: UInt64, ttfbUs: UInt64, totalUs: UInt64, burst: UInt32, worker: UInt32, seq: UInt32) {
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
    }
}

public enum RecordsJSONL {
    /// Appends one line: `{"source":…,"target":…,"client":…,"version":…,"instance":…,"status":200,"curlExit":0,
    /// "connectUs":…,"ttfbUs":…,"totalUs":…,"burst":…,"worker":…,"seq":…}\n`.
    @inlinable
    public static func append(source: JSONStringBytes, target: JSONStringBytes, client: JSONStringBytes, version: JSONStringBytes,
                              instance: JSONStringBytes, status: UInt16, curlExit: UInt16, connectUs: UInt64, ttfbUs: UInt64,
                              totalUs: UInt64, burst: UInt32, worker: UInt32, seq: UInt32, to buffer: inout [UInt8]) {
        buffer.append(contentsOf: Keys.source)
        buffer.append(contentsOf: source.bytes)
        buffer.append(contentsOf: Keys.target)
        buffer.append(contentsOf: target.bytes)
        buffer.append(contentsOf: Keys.client)
        buffer.append(contentsOf: client.bytes)
        buffer.append(contentsOf: Keys.version)
        buffer.append(contentsOf: version.bytes)
        buffer.append(contentsOf: Keys.instance)
        buffer.append(contentsOf: instance.bytes)
        buffer.append(contentsOf: Keys.status)
        appendDecimal(UInt64(status), to: &buffer)
        buffer.append(contentsOf: Keys.curlExit)
        appendDecimal(UInt64(curlExit), to: &buffer)
        buffer.append(contentsOf: Keys.connectUs)
        appendDecimal(connectUs, to: &buffer)
        buffer.append(contentsOf: Keys.ttfbUs)
        appendDecimal(ttfbUs, to: &buffer)
        buffer.append(contentsOf: Keys.totalUs)
        appendDecimal(totalUs, to: &buffer)
        buffer.append(contentsOf: Keys.burst)
        appendDecimal(UInt64(burst), to: &buffer)
        buffer.append(contentsOf: Keys.worker)
        appendDecimal(UInt64(worker), to: &buffer)
        buffer.append(contentsOf: Keys.seq)
        appendDecimal(UInt64(seq), to: &buffer)
        buffer.append(contentsOf: Keys.end)
    }

    /// Appends a stored record (slower path: escapes its strings each time).
    public static func append(_ record: StoredRecord, to buffer: inout [UInt8]) {
        append(source: JSONStringBytes(record.source), target: JSONStringBytes(record.target), client: JSONStringBytes(record.client),
               version: JSONStringBytes(record.version), instance: JSONStringBytes(record.instance),
               status: UInt16(clamping: record.status), curlExit: UInt16(clamping: record.curlExit), connectUs: record.connectUs,
               ttfbUs: record.ttfbUs, totalUs: record.totalUs, burst: record.burst, worker: record.worker, seq: record.seq, to: &buffer)
    }

    @inlinable
    static func appendDecimal(_ value: UInt64, to buffer: inout [UInt8]) {
        if value < 10 {
            buffer.append(0x30 &+ UInt8(truncatingIfNeeded: value))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { raw in
            while rest > 0 {
                raw[count] = 0x30 &+ UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
                count &+= 1
            }
            var index = count
            while index > 0 {
                index &-= 1
                buffer.append(raw[index])
            }
        }
    }

    @usableFromInline
    enum Keys {
        @usableFromInline static let source = Array(#"{"source":"#.utf8)
        @usableFromInline static let target = Array(#","target":"#.utf8)
        @usableFromInline static let client = Array(#","client":"#.utf8)
        @usableFromInline static let version = Array(#","version":"#.utf8)
        @usableFromInline static let instance = Array(#","instance":"#.utf8)
        @usableFromInline static let status = Array(#","status":"#.utf8)
        @usableFromInline static let curlExit = Array(#","curlExit":"#.utf8)
        @usableFromInline static let connectUs = Array(#","connectUs":"#.utf8)
        @usableFromInline static let ttfbUs = Array(#","ttfbUs":"#.utf8)
        @usableFromInline static let totalUs = Array(#","totalUs":"#.utf8)
        @usableFromInline static let burst = Array(#","burst":"#.utf8)
        @usableFromInline static let worker = Array(#","worker":"#.utf8)
        @usableFromInline static let seq = Array(#","seq":"#.utf8)
        @usableFromInline static let end = Array("}\n".utf8)
    }
}
