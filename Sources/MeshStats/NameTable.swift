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
/// streams agree and tallies keyed by them merge directly. Tables built separately can be joined
/// with ``absorb(_:)``, which returns how to translate the other table's ids.
public struct NameTable: Sendable {
    /// Open addressing, linear probing: 0 = empty, else the high 32 bits of the name's hash
    /// (a tag that rejects most mismatches without touching the entry) and the id in the low 32.
    @usableFromInline var slots: [UInt64]
    /// Where each id's bytes lie in `bytes`; index 0 unused.
    @usableFromInline var entries: [Entry] = [Entry(hash: 0, start: 0, length: 0)]
    @usableFromInline var bytes: [UInt8] = []
    @usableFromInline var strings: [String] = [""]  // by id; index 0 unused

    @usableFromInline
    struct Entry: Sendable {
        @usableFromInline var hash: UInt64
        @usableFromInline var start: Int
        @usableFromInline var length: Int

        @usableFromInline
        init(hash: UInt64, start: Int, length: Int) {
            self.hash = hash
            self.start = start
            self.length = length
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
    @inlinable
    public mutating func intern(_ token: UnsafeRawBufferPointer) -> NameID {
        let hash = Self.hash(token.baseAddress, token.count)
        if let existing = find(token, hash: hash) { return existing }
        return insert(token, hash: hash)
    }

    /// Adds every name of `other` to this table and returns the translation of `other`'s ids:
    /// `translation[Int(id.rawValue)]` is the id of the same name here (index 0 maps absent to
    /// absent).
    public mutating func absorb(_ other: NameTable) -> [NameID] {
        var translation: [NameID] = [.absent]
        translation.reserveCapacity(other.strings.count)
        other.bytes.withUnsafeBytes { otherBytes in
            for entry in other.entries.dropFirst() {
                let token = UnsafeRawBufferPointer(rebasing: otherBytes[entry.start..<entry.start + entry.length])
                translation.append(intern(token))
            }
        }
        return translation
    }

    // MARK: Internals

    /// A word-at-a-time multiplicative hash (not cryptographic; names come from our own pods).
    @inlinable
    static func hash(_ base: UnsafeRawPointer?, _ count: Int) -> UInt64 {
        var hash: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(count)
        guard let base, count > 0 else { return hash }
        var offset = 0
        while offset + 8 <= count {
            let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            hash = (hash ^ word) &* 0xBF58_476D_1CE4_E5B9
            hash ^= hash >> 29
            offset += 8
        }
        if offset < count {
            // The last partial word, read without touching bytes past the name: an overlapping
            // full word when the name is at least 8 bytes, else two overlapping 4-byte halves, else
            // byte by byte.
            var word: UInt64
            if count >= 8 {
                word = base.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
            } else if count >= 4 {
                word = UInt64(base.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
                    | UInt64(base.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)) << 32
            } else {
                word = 0
                for index in 0..<count { word = word << 8 | UInt64(base.load(fromByteOffset: index, as: UInt8.self)) }
            }
            hash = (hash ^ UInt64(littleEndian: word)) &* 0xBF58_476D_1CE4_E5B9
            hash ^= hash >> 29
        }
        return hash &* 0x94D0_49BB_1331_11EB
    }

    @inlinable
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
                                && Self.equalBytes(stored.baseAddress! + entry.start, token.baseAddress, token.count) {
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
    @inlinable
    static func equalBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer?, _ count: Int) -> Bool {
        guard let b, count > 0 else { return true }
        var offset = 0
        while offset + 8 <= count {
            if a.loadUnaligned(fromByteOffset: offset, as: UInt64.self) != b.loadUnaligned(fromByteOffset: offset, as: UInt64.self) {
                return false
            }
            offset += 8
        }
        if offset < count && count >= 8 {  // the rest, as an overlapping last word
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
        entries.append(Entry(hash: hash, start: bytes.count, length: token.count))
        bytes.append(contentsOf: token)
        strings.append(String(decoding: token, as: UTF8.self))
        if id * 2 >= slots.count { rehash(capacity: slots.count * 2) } else { place(id) }
        return NameID(rawValue: UInt32(id))
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
