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
    @usableFromInline var slots: [UInt32]          // open addressing; 0 = empty, else id
    @usableFromInline var hashes: [UInt64] = [0]   // by id
    @usableFromInline var starts: [Int] = [0]      // by id, into `bytes`
    @usableFromInline var lengths: [Int] = [0]     // by id
    @usableFromInline var bytes: [UInt8] = []
    @usableFromInline var strings: [String] = [""] // by id; index 0 unused

    /// An empty table.
    public init() {
        slots = [UInt32](repeating: 0, count: 64)
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
            for id in 1..<other.strings.count {
                let start = other.starts[id]
                let token = UnsafeRawBufferPointer(rebasing: otherBytes[start..<start + other.lengths[id]])
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
            var word: UInt64 = 0
            var shift: UInt64 = 0
            while offset < count {
                word |= UInt64(base.load(fromByteOffset: offset, as: UInt8.self)) << shift
                shift += 8
                offset += 1
            }
            hash = (hash ^ word) &* 0xBF58_476D_1CE4_E5B9
            hash ^= hash >> 29
        }
        return hash &* 0x94D0_49BB_1331_11EB
    }

    @inlinable
    func find(_ token: UnsafeRawBufferPointer, hash: UInt64) -> NameID? {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        return slots.withUnsafeBufferPointer { slots in
            while true {
                let id = Int(slots[slot])
                if id == 0 { return nil }
                if hashes[id] == hash && lengths[id] == token.count && matches(id, token) {
                    return NameID(rawValue: UInt32(id))
                }
                slot = (slot + 1) & mask
            }
        }
    }

    @inlinable
    func matches(_ id: Int, _ token: UnsafeRawBufferPointer) -> Bool {
        bytes.withUnsafeBytes { stored in
            let start = starts[id]
            for offset in 0..<token.count where stored[start + offset] != token[offset] { return false }
            return true
        }
    }

    @usableFromInline
    mutating func insert(_ token: UnsafeRawBufferPointer, hash: UInt64) -> NameID {
        let id = strings.count
        hashes.append(hash)
        starts.append(bytes.count)
        lengths.append(token.count)
        bytes.append(contentsOf: token)
        strings.append(String(decoding: token, as: UTF8.self))
        if id * 2 >= slots.count { rehash(capacity: slots.count * 2) } else { place(id) }
        return NameID(rawValue: UInt32(id))
    }

    private mutating func place(_ id: Int) {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hashes[id]) & mask
        while slots[slot] != 0 { slot = (slot + 1) & mask }
        slots[slot] = UInt32(id)
    }

    private mutating func rehash(capacity: Int) {
        slots = [UInt32](repeating: 0, count: capacity)
        for id in 1..<strings.count { place(id) }
    }
}

extension NameTable: Equatable {
    /// Two tables are equal when they issued the same names in the same order.
    public static func == (lhs: NameTable, rhs: NameTable) -> Bool { lhs.strings == rhs.strings }
}
