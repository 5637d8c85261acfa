// Shared by the fuzz targets that list it in their .sources: the input read as a recipe for well-formed
// values, so that one input both attacks a decoder and builds something it must accept.

/// Reads the input front to back; past the end it yields zeros.
struct ByteReader {
    let bytes: [UInt8]
    var offset = 0

    mutating func byte() -> UInt8 {
        defer { offset += 1 }
        return offset < bytes.count ? bytes[offset] : 0
    }

    mutating func int32() -> Int32 {
        (0..<4).reduce(Int32(0)) { value, _ in (value << 8) | Int32(byte()) }
    }

    /// Up to 15 bytes as text (lossy UTF-8).
    mutating func text() -> String {
        let count = Int(byte() % 16)
        return String(decoding: (0..<count).map { _ in byte() }, as: UTF8.self)
    }

    /// One of `choices`, or text from the input when the byte points past them.
    mutating func pick(_ choices: [String?]) -> String? {
        let index = Int(byte()) % (choices.count + 1)
        return index < choices.count ? choices[index] : text()
    }
}
