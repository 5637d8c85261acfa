/// The record parser's fast path: a Contract 1 (docs/ARCHITECTURE.md) record line in its usual shape (counters of 1 to 7
/// digits, a three-digit status, curl's `D.DDDDDD` seconds, a version and an instance already in the
/// name table) is read a word at a time: the spaces of the line as one bit mask, sixteen bytes at a
/// time; each digit field validated and converted as an eight-byte word (SWAR); the names looked up
/// without a byte-class scan.
/// Anything else (a first sighting of a name, long numbers, `\r\n`, every malformed line) falls
/// back to the byte-by-byte scanner, which stays the reference: both give the same event for every
/// line (checked by `RecordParserTests.fastPathAgreesWithTheScanner` and the fuzz target).
extension RecordStreamParser.LineScanner {
    /// How many bytes past the line's start the fast path may load; it runs only when that many lie
    /// before the end of the complete lines, so its unaligned loads never leave the buffer.
    @inlinable static var fastPathWindow: Int { 160 }

    @inlinable @inline(__always) func load(_ offset: Int) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(base + offset).loadUnaligned(as: UInt64.self))
    }

    /// Parses the fields of a record line after its `MC1 ` (at `index`), or returns `nil` (with
    /// `index` unspecified) when the line needs the byte-by-byte scanner.
    ///
    /// The spaces of the 64 bytes after `MC1 ` are found first, as one bit mask built from four
    /// independent 16-byte blocks, so the fields' boundaries come from bit tricks rather than from a chain
    /// of dependent scans; every field is then validated in full (a newline or a missing field
    /// shows up as a field that fails its format, which sends the line to the scanner).
    @inlinable @inline(__always)
    mutating func fastRecord(names: inout NameTable) -> RecordEvent? {
        let fields = index
        var spaces: UInt64 = 0
        for block in 0..<4 {
            let bytes = UnsafeRawPointer(base + fields).loadUnaligned(fromByteOffset: block &* 16, as: SIMD16<UInt8>.self)
            spaces |= Self.bitMask(of: 0x20, in: bytes) &<< UInt64(block &* 16)
        }
        guard spaces.nonzeroBitCount >= 9 else { return nil }
        var ends = (0, 0, 0, 0, 0, 0, 0, 0, 0)
        ends.0 = spaces.trailingZeroBitCount
        spaces &= spaces &- 1
        ends.1 = spaces.trailingZeroBitCount
        spaces &= spaces &- 1
        ends.2 = spaces.trailingZeroBitCount
        spaces &= spaces &- 1
        ends.3 = spaces.trailingZeroBitCount
        spaces &= spaces &- 1
        ends.4 = spaces.trailingZeroBitCount
        spaces &= spaces &- 1
        ends.5 = spaces.trailingZeroBitCount
        spaces &= spaces &- 1
        ends.6 = spaces.trailingZeroBitCount
        spaces &= spaces &- 1
        ends.7 = spaces.trailingZeroBitCount
        spaces &= spaces &- 1
        ends.8 = spaces.trailingZeroBitCount
        guard let burst = fastCounter(at: fields, end: fields &+ ends.0),
            let worker = fastCounter(at: fields &+ ends.0 &+ 1, end: fields &+ ends.1),
            let sequence = fastCounter(at: fields &+ ends.1 &+ 1, end: fields &+ ends.2),
            ends.3 &- ends.2 == 4, let status = fastStatus(at: fields &+ ends.2 &+ 1),
            let curlExit = fastCounter(at: fields &+ ends.3 &+ 1, end: fields &+ ends.4), curlExit <= 255,
            ends.5 &- ends.4 == 9, let connect = fastSeconds(at: fields &+ ends.4 &+ 1),
            ends.6 &- ends.5 == 9, let firstByte = fastSeconds(at: fields &+ ends.5 &+ 1),
            ends.7 &- ends.6 == 9, let total = fastSeconds(at: fields &+ ends.6 &+ 1)
        else { return nil }
        guard ends.8 &- ends.7 > 1,
            let version = fastName(UnsafeRawBufferPointer(start: base + (fields &+ ends.7 &+ 1), count: ends.8 &- ends.7 &- 1), names: names)
        else { return nil }
        index = fields &+ ends.8 &+ 1
        guard let instance = fastToken(terminator: 0x0A, windowEnd: fields &- 4 &+ Self.fastPathWindow, names: &names) else { return nil }
        return .sample(
            RequestSample(
                burst: UInt32(truncatingIfNeeded: burst), worker: UInt32(truncatingIfNeeded: worker),
                sequence: UInt32(truncatingIfNeeded: sequence), status: status, curlExit: UInt16(truncatingIfNeeded: curlExit),
                connectMicros: connect, firstByteMicros: firstByte, totalMicros: total, version: version, instance: instance))
    }

    /// 1…7 digits in `start..<end`.
    @inlinable @inline(__always) func fastCounter(at start: Int, end: Int) -> UInt64? {
        let length = end &- start
        let word = load(start)
        guard length > 0, length < 8, Self.nonDigitBytes(word) & ~(UInt64.max &<< UInt64(length &* 8)) == 0 else { return nil }
        // The digits' bytes minus '0' (no borrow: they are all ≥ '0'), moved to the top so the
        // bytes below read as leading zeros.
        return Self.eightDigits((word &- Self.asciiZeros) &<< UInt64((8 &- length) &* 8))
    }

    /// Exactly three digits at `start` (the caller checked the field's length).
    @inlinable @inline(__always) func fastStatus(at start: Int) -> UInt16? {
        let word = load(start)
        guard Self.nonDigitBytes(word) & 0x80_8080 == 0 else { return nil }
        let digits = word &- Self.asciiZeros
        return UInt16(truncatingIfNeeded: (digits & 0xFF) &* 100 &+ ((digits &>> 8) & 0xFF) &* 10 &+ ((digits &>> 16) & 0xFF))
    }

    /// curl's `D.DDDDDD` (one whole digit, six decimals) at `start`, as µs (the caller checked
    /// the field's length).
    @inlinable @inline(__always) func fastSeconds(at start: Int) -> UInt64? {
        let word = load(start)
        // "D.DDDDDD" → "0DDDDDDD": the whole digit takes the point's place, a '0' leads.
        let digits = (word & 0xFFFF_FFFF_FFFF_0000) | ((word & 0xFF) &<< 8) | 0x30
        guard (word &>> 8) & 0xFF == 0x2E, Self.nonDigitBytes(digits) == 0 else { return nil }
        return Self.eightDigits(digits &- Self.asciiZeros)
    }

    /// The id of a name already in the table with its bytes validated; `-` alone is absent.
    @inlinable @inline(__always) func fastName(_ token: UnsafeRawBufferPointer, names: NameTable) -> NameID? {
        if token.count == 1 && token[0] == UInt8(ascii: "-") { return .absent }
        return names.idOfRecordToken(token)
    }

    /// One bit per byte of `bytes` (bit k for byte k) that equals `byte`.
    ///
    /// Lane comparisons of Swift's SIMD types compile to a loop over the lanes here (Swift 6.3,
    /// x86-64), but wrapping lane arithmetic compiles to vector instructions: a lane that matches
    /// becomes zero, and `(x - 1) & ~x` has its high bit set only for a zero lane (lanes do not
    /// borrow from each other). Each half's eight high bits are then gathered into one byte with a
    /// multiply (each lands on its own bit, so nothing carries).
    @inlinable @inline(__always) static func bitMask(of byte: UInt8, in bytes: SIMD16<UInt8>) -> UInt64 {
        let flipped = bytes ^ SIMD16(repeating: byte)
        let zeroLanes = (flipped &- SIMD16(repeating: 1)) & ~flipped & SIMD16(repeating: 0x80)
        let halves = unsafeBitCast(zeroLanes, to: SIMD2<UInt64>.self)
        let low = ((UInt64(littleEndian: halves[0]) &>> 7) &* 0x0102_0408_1020_4080) &>> 56
        let high = ((UInt64(littleEndian: halves[1]) &>> 7) &* 0x0102_0408_1020_4080) &>> 56
        return low | high &<< 8
    }

    /// A token ended by `terminator`, found in the name table with its bytes already validated;
    /// `-` alone is absent.
    @inlinable @inline(__always)
    mutating func fastToken(terminator: UInt8, windowEnd: Int, names: inout NameTable) -> NameID? {
        let start = index
        var cursor = index
        while true {
            guard cursor &+ 8 <= windowEnd else { return nil }
            let separators = Self.separatorBytes(load(cursor))
            if separators != 0 {
                cursor &+= separators.trailingZeroBitCount &>> 3
                break
            }
            cursor &+= 8
        }
        let length = cursor &- start
        guard length > 0, base[cursor] == terminator else { return nil }
        index = cursor &+ 1
        return fastName(UnsafeRawBufferPointer(start: base + start, count: length), names: names)
    }

    @inlinable static var asciiZeros: UInt64 { 0x3030_3030_3030_3030 }

    /// The high bit of each byte of `word` that is not an ASCII digit, all other bits 0.
    @inlinable @inline(__always) static func nonDigitBytes(_ word: UInt64) -> UInt64 {
        let highBits: UInt64 = 0x8080_8080_8080_8080
        let ones: UInt64 = 0x0101_0101_0101_0101
        let raised = word | highBits // per-byte subtraction below cannot borrow across bytes
        let digits = (raised &- ones &* 0x30) & ~(raised &- ones &* 0x3A) & highBits
        return (~digits & highBits) | (word & highBits)
    }

    /// The high bit of each byte of `word` that is a control byte, a space or not ASCII (what ends
    /// a token), all other bits 0.
    @inlinable @inline(__always) static func separatorBytes(_ word: UInt64) -> UInt64 {
        let highBits: UInt64 = 0x8080_8080_8080_8080
        let ones: UInt64 = 0x0101_0101_0101_0101
        return (~((word | highBits) &- ones &* 0x21) & highBits) | (word & highBits)
    }

    /// The number whose eight decimal digits are the bytes of `digits` (values 0…9), the first
    /// byte the most significant: pairs, then quads, then the whole, each step one multiply.
    @inlinable @inline(__always) static func eightDigits(_ digits: UInt64) -> UInt64 {
        let pairs = (digits &* (10 &<< 8 &+ 1)) &>> 8 & 0x00FF_00FF_00FF_00FF
        let quads = (pairs &* (100 &<< 16 &+ 1)) &>> 16 & 0x0000_FFFF_0000_FFFF
        return (quads &* (10_000 &<< 32 &+ 1)) &>> 32
    }
}
