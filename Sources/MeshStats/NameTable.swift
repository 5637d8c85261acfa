/// A small integer standing for an interned name (a version, an instance, a cluster).
///
/// Ids are only meaningful together with the ``NameTable`` that issued them. ``absent`` (0) stands
/// for "no name" (the `-` token of a record line).
@frozen
public struct NameID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The id's position in its table; 0 is ``absent``.
    public var rawValue: UInt32

    @inlinable
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// No name.
    public static let absent = NameID(rawValue: 0)

    /// Whether this is ``absent``.
    @inlinable
    public var isAbsent: Bool { rawValue == 0 }

    @inlinable
    public static func < (lhs: NameID, rhs: NameID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "#\(rawValue)" }
}

/// An interning table from names (byte strings) to dense ids 1, 2, 3, … in order of first sight.
///
/// Lookups by bytes allocate nothing; a `String` is built once per *distinct* name. One table is
/// meant to be shared (passed `inout`) by every stream parser of a run, so that ids from different
/// streams agree and tallies keyed by them merge directly.
public struct NameTable: Sendable {
    /// Open addressing, linear probing: 0 = empty, else the high 32 bits of the name's hash
    /// (a tag that rejects most mismatches without touching the entry) and the id in the low 32.
    @usableFromInline var slots: [UInt64]
    /// Where each id's bytes lie in `bytes`; index 0 unused.
    @usableFromInline var entries: [Entry] = [Entry(hash: 0, start: 0, length: 0, isRecordToken: false)]
    @usableFromInline var bytes: [UInt8] = []
    @usableFromInline var strings: [String] = [""] // by id; index 0 unused
    /// Names added by record lines (``internRecordToken(_:field:)``), per field: versions, instances.
    @usableFromInline var recordVersionsAdded = 0
    @usableFromInline var recordInstancesAdded = 0

    /// The most distinct versions record lines may add to a table. Names interned with
    /// ``intern(_:)-(String)`` (the versions and pods the run listed) do not count; a mesh has a
    /// handful of versions.
    public static let maximumRecordVersions = 16
    /// The most distinct instances record lines may add to a table. Listed pods do not count, however
    /// many; a burst that meets pods the run did not list (started since) meets a few. Each exec session
    /// has its own table, and a 253-byte name costs about 750 bytes held, so this keeps a session under
    /// about 110 KiB of names and 1,000 flooding sessions near 110 MB.
    public static let maximumRecordInstances = 128

    @usableFromInline
    struct Entry: Sendable {
        @usableFromInline var hash: UInt64
        @usableFromInline var start: Int
        @usableFromInline var length: Int
        /// Whether the name is 1…253 bytes of `[A-Za-z0-9._-]`, so a record line may carry it.
        @usableFromInline var isRecordToken: Bool

        @usableFromInline
        init(hash: UInt64, start: Int, length: Int, isRecordToken: Bool) {
            self.hash = hash
            self.start = start
            self.length = length
            self.isRecordToken = isRecordToken
        }
    }

    /// An empty table.
    public init() {
        slots = [UInt64](repeating: 0, count: 64)
    }

    /// The number of distinct names interned.
    public var count: Int { strings.count - 1 }

    /// Every interned name, in id order (the name of id k is at index k − 1).
    public var names: ArraySlice<String> { strings[1...] }

    /// The name of `id`, or `nil` for ``NameID/absent`` or an id this table never issued.
    public func name(of id: NameID) -> String? {
        id.isAbsent || Int(id.rawValue) >= strings.count ? nil : strings[Int(id.rawValue)]
    }

    /// The id of `name` if it was interned.
    public func id(of name: String) -> NameID? {
        Array(name.utf8).withUnsafeBytes { find($0, hash: Self.hash($0.baseAddress, $0.count)) }
    }

    /// The id of `name`, interning it if new.
    @discardableResult
    public mutating func intern(_ name: String) -> NameID {
        Array(name.utf8).withUnsafeBytes { intern($0) }
    }

    /// The id of the name spelled by `token` (UTF-8), interning it if new.
    @inlinable @inline(__always)
    public mutating func intern(_ token: UnsafeRawBufferPointer) -> NameID {
        let hash = Self.hash(token.baseAddress, token.count)
        if let existing = find(token, hash: hash) { return existing }
        return insert(token, hash: hash)
    }

    /// The id of the name a record line carries in `field` (``RecordField/version`` or
    /// ``RecordField/instance``), interning it if new; `nil`, and nothing stored, when it is new and
    /// the field already added its maximum (``maximumRecordVersions``, ``maximumRecordInstances``).
    /// A pod printing endless distinct names cannot grow the table without bound.
    @inlinable @inline(__always)
    public mutating func internRecordToken(_ token: UnsafeRawBufferPointer, field: RecordField) -> NameID? {
        let hash = Self.hash(token.baseAddress, token.count)
        if let existing = find(token, hash: hash) { return existing }
        return insertRecordToken(token, hash: hash, field: field)
    }

    /// Whether record lines added as many names in `field` as they may.
    public func isFull(_ field: RecordField) -> Bool {
        field == .version ? recordVersionsAdded >= Self.maximumRecordVersions : recordInstancesAdded >= Self.maximumRecordInstances
    }

    @usableFromInline
    mutating func insertRecordToken(_ token: UnsafeRawBufferPointer, hash: UInt64, field: RecordField) -> NameID? {
        guard !isFull(field) else { return nil }
        if field == .version { recordVersionsAdded += 1 } else { recordInstancesAdded += 1 }
        return insert(token, hash: hash)
    }

    /// The id of `token` if it was interned and is a valid record token (1…253 bytes of
    /// `[A-Za-z0-9._-]`); the record parser's fast path, which has not checked the bytes itself.
    @inlinable @inline(__always)
    public func idOfRecordToken(_ token: UnsafeRawBufferPointer) -> NameID? {
        guard let id = find(token, hash: Self.hash(token.baseAddress, token.count)) else { return nil }
        return entries[Int(id.rawValue)].isRecordToken ? id : nil
    }

    // MARK: Internals

    /// A hash of the length and the first, middle and last eight bytes, multiplied in parallel
    /// rather than word after word (the record parser looks up two names per line). Names longer
    /// than 24 bytes that differ only between the sampled words share a hash and are told apart by
    /// the full comparison in `find`; instance names (pod names) differ in their last bytes.
    /// Not cryptographic: the names come from the run's own pods.
    @inlinable @inline(__always)
    static func hash(_ base: UnsafeRawPointer?, _ count: Int) -> UInt64 {
        guard let base, count > 0 else { return 0x9E37_79B9_7F4A_7C15 }
        let first: UInt64
        let middle: UInt64
        let last: UInt64
        if count >= 8 {
            first = base.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
            middle = base.loadUnaligned(fromByteOffset: (count - 8) / 2, as: UInt64.self)
            last = base.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
        } else if count >= 4 {
            first = UInt64(base.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
            middle = 0
            last = UInt64(base.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self))
        } else {
            first = UInt64(base.load(fromByteOffset: 0, as: UInt8.self))
            middle = UInt64(base.load(fromByteOffset: count / 2, as: UInt8.self))
            last = UInt64(base.load(fromByteOffset: count - 1, as: UInt8.self))
        }
        let a = (first ^ 0x9E37_79B9_7F4A_7C15) &* 0xBF58_476D_1CE4_E5B9
        let b = (last ^ UInt64(count)) &* 0x94D0_49BB_1331_11EB
        let c = (middle ^ 0xD6E8_FEB8_6659_FD93) &* 0x9E37_79B9_7F4A_7C15
        let mixed = a ^ (b >> 31 | b << 33) ^ (c >> 17 | c << 47)
        return (mixed ^ mixed >> 29) &* 0xBF58_476D_1CE4_E5B9
    }

    @inlinable @inline(__always)
    func find(_ token: UnsafeRawBufferPointer, hash: UInt64) -> NameID? {
        let mask = slots.count - 1
        let tag = hash & 0xFFFF_FFFF_0000_0000
        var slot = Int(truncatingIfNeeded: hash) & mask
        return slots.withUnsafeBufferPointer { slots in
            entries.withUnsafeBufferPointer { entries in
                bytes.withUnsafeBytes { stored in
                    while true {
                        let occupant = slots[slot]
                        if occupant == 0 { return nil }
                        if occupant & 0xFFFF_FFFF_0000_0000 == tag {
                            let id = Int(truncatingIfNeeded: occupant & 0xFFFF_FFFF)
                            let entry = entries[id]
                            if entry.hash == hash && entry.length == token.count
                                && Self.equalBytes(stored.baseAddress! + entry.start, token.baseAddress, token.count)
                            {
                                return NameID(rawValue: UInt32(id))
                            }
                        }
                        slot = (slot + 1) & mask
                    }
                }
            }
        }
    }

    /// Whether `count` bytes at `a` and `b` are equal, compared eight at a time.
    @inlinable @inline(__always)
    static func equalBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer?, _ count: Int) -> Bool {
        guard let b, count > 0 else { return true }
        var offset = 0
        while offset + 8 <= count {
            if a.loadUnaligned(fromByteOffset: offset, as: UInt64.self) != b.loadUnaligned(fromByteOffset: offset, as: UInt64.self) {
                return false
            }
            offset += 8
        }
        if offset < count && count >= 8 { // the rest, as an overlapping last word
            return a.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
                == b.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
        }
        while offset < count {
            if a.load(fromByteOffset: offset, as: UInt8.self) != b.load(fromByteOffset: offset, as: UInt8.self) { return false }
            offset += 1
        }
        return true
    }

    @usableFromInline
    mutating func insert(_ token: UnsafeRawBufferPointer, hash: UInt64) -> NameID {
        let id = strings.count
        let isRecordToken = (1...253).contains(token.count) && token.allSatisfy(Self.isRecordTokenByte)
        entries.append(Entry(hash: hash, start: bytes.count, length: token.count, isRecordToken: isRecordToken))
        bytes.append(contentsOf: token)
        strings.append(String(decoding: token, as: UTF8.self))
        if id * 2 >= slots.count { rehash(capacity: slots.count * 2) } else { place(id) }
        return NameID(rawValue: UInt32(id))
    }

    /// Whether `byte` may appear in a record line's version or instance token.
    static func isRecordTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default: false
        }
    }

    private mutating func place(_ id: Int) {
        let mask = slots.count - 1
        let hash = entries[id].hash
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] != 0 { slot = (slot + 1) & mask }
        slots[slot] = (hash & 0xFFFF_FFFF_0000_0000) | UInt64(id)
    }

    private mutating func rehash(capacity: Int) {
        slots = [UInt64](repeating: 0, count: capacity)
        for id in 1..<strings.count { place(id) }
    }
}

extension NameTable: Equatable {
    /// Two tables are equal when they issued the same names in the same order.
    public static func == (lhs: NameTable, rhs: NameTable) -> Bool { lhs.strings == rhs.strings }
}
