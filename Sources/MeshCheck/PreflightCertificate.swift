// The only place meshcheck reads certificates: PEM blocks → DER, SHA-256 fingerprints of the DER
// (libcrypto), and the few X.509 fields the root-ca check reports (subject, notAfter), read with a
// minimal DER walker. Pure apart from the digest call; nothing here verifies signatures.

internal import COpenSSL
import Foundation

/// What the root-ca check needs to know about one certificate.
package struct CertificateSummary: Sendable, Equatable, Codable {
    /// Lower-case hex SHA-256 of the DER encoding (what `openssl x509 -fingerprint -sha256` prints, minus colons).
    package var sha256: String
    /// The subject as `CN=..., O=...` (RFC 4514 order: most specific first).
    package var subject: String
    /// Seconds since 1970 of `notAfter`.
    package var notAfter: Double

    package init(sha256: String, subject: String, notAfter: Double) {
        self.sha256 = sha256
        self.subject = subject
        self.notAfter = notAfter
    }

    /// First 16 hex digits, enough to tell certificates apart in a one-line message.
    package var shortFingerprint: String { String(sha256.prefix(16)) }
}

package enum CertificateParseError: Error, Equatable, CustomStringConvertible {
    case noCertificate
    case badBase64
    case malformedDER(String)

    package var description: String {
        switch self {
        case .noCertificate: return "no BEGIN CERTIFICATE block"
        case .badBase64: return "a CERTIFICATE block is not valid base64"
        case .malformedDER(let what): return "not an X.509 certificate (\(what))"
        }
    }
}

package enum CertificateReader {
    /// Every certificate of a PEM bundle, in order.
    package static func summaries(pem: String) throws(CertificateParseError) -> [CertificateSummary] {
        var result: [CertificateSummary] = []
        for der in try derBlocks(pem: pem) { result.append(try summary(der: der)) }
        return result
    }

    static func derBlocks(pem: String) throws(CertificateParseError) -> [[UInt8]] {
        let begin = "-----BEGIN CERTIFICATE-----"
        let end = "-----END CERTIFICATE-----"
        var blocks: [[UInt8]] = []
        var rest = Substring(pem)
        while let start = rest.range(of: begin) {
            guard let stop = rest.range(of: end, range: start.upperBound..<rest.endIndex) else { throw .badBase64 }
            let body = rest[start.upperBound..<stop.lowerBound].filter { !$0.isWhitespace }
            guard let data = Data(base64Encoded: String(body)) else { throw .badBase64 }
            blocks.append([UInt8](data))
            rest = rest[stop.upperBound...]
        }
        if blocks.isEmpty { throw .noCertificate }
        return blocks
    }

    package static func sha256Hex(_ bytes: [UInt8]) -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        bytes.withUnsafeBufferPointer { input in
            digest.withUnsafeMutableBufferPointer { output in
                _ = SHA256(input.baseAddress, input.count, output.baseAddress)
            }
        }
        return digest.map { String(format: "%02x", $0) }.joined()
    }

    /// Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version?, serial, signature, issuer,
    /// validity { notBefore, notAfter }, subject, ... }, ... }
    static func summary(der: [UInt8]) throws(CertificateParseError) -> CertificateSummary {
        var outer = DERReader(der[...])
        var certificate = DERReader(try outer.read(tag: 0x30, "certificate").content)
        var tbs = DERReader(try certificate.read(tag: 0x30, "tbsCertificate").content)
        if tbs.peekTag == 0xA0 { _ = try tbs.read(tag: 0xA0, "version") }
        _ = try tbs.read(tag: 0x02, "serialNumber")
        _ = try tbs.read(tag: 0x30, "signature")
        _ = try tbs.read(tag: 0x30, "issuer")
        var validity = DERReader(try tbs.read(tag: 0x30, "validity").content)
        _ = try validity.readAny("notBefore")
        let notAfter = try validity.readAny("notAfter")
        let subject = try tbs.read(tag: 0x30, "subject")
        return CertificateSummary(
            sha256: sha256Hex(der), subject: try distinguishedName(subject.content),
            notAfter: try time(tag: notAfter.tag, notAfter.content))
    }

    private static let attributeNames: [[UInt8]: String] = [
        [0x55, 0x04, 0x03]: "CN", [0x55, 0x04, 0x06]: "C", [0x55, 0x04, 0x07]: "L", [0x55, 0x04, 0x08]: "ST",
        [0x55, 0x04, 0x0A]: "O", [0x55, 0x04, 0x0B]: "OU",
    ]

    /// Name ::= SEQUENCE OF SET OF { type OID, value }; printed most specific first, as RFC 4514 does.
    static func distinguishedName(_ content: ArraySlice<UInt8>) throws(CertificateParseError) -> String {
        var parts: [String] = []
        var sets = DERReader(content)
        while !sets.isAtEnd {
            var attributes = DERReader(try sets.read(tag: 0x31, "name attribute set").content)
            while !attributes.isAtEnd {
                var pair = DERReader(try attributes.read(tag: 0x30, "name attribute").content)
                let type = try pair.read(tag: 0x06, "attribute type")
                let value = try pair.readAny("attribute value")
                let key = attributeNames[Array(type.content)] ?? "OID." + oidText(type.content)
                parts.append("\(key)=\(String(decoding: value.content, as: UTF8.self))")
            }
        }
        return parts.reversed().joined(separator: ", ")
    }

    static func oidText(_ bytes: ArraySlice<UInt8>) -> String {
        guard let first = bytes.first else { return "" }
        var components = [Int(first) / 40, Int(first) % 40]
        var value = 0
        for byte in bytes.dropFirst() {
            value = value << 7 | Int(byte & 0x7F)
            if byte & 0x80 == 0 {
                components.append(value)
                value = 0
            }
        }
        return components.map(String.init).joined(separator: ".")
    }

    /// UTCTime `YYMMDDHHMMSSZ` (years 50–99 are 19xx, RFC 5280) or GeneralizedTime `YYYYMMDDHHMMSSZ`.
    static func time(tag: UInt8, _ content: ArraySlice<UInt8>) throws(CertificateParseError) -> Double {
        let text = String(decoding: content, as: UTF8.self)
        let digits = text.dropLast()
        guard text.hasSuffix("Z"), digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else {
            throw .malformedDER("validity time \(text)")
        }
        var fields = Array(digits)
        var year: Int
        switch (tag, fields.count) {
        case (0x17, 12):
            year = Int(String(fields[0..<2]))!
            year += year < 50 ? 2000 : 1900
            fields.removeFirst(2)
        case (0x18, 14):
            year = Int(String(fields[0..<4]))!
            fields.removeFirst(4)
        default:
            throw .malformedDER("validity time \(text)")
        }
        let number = { (offset: Int) in Int(String(fields[offset..<offset + 2]))! }
        var components = DateComponents()
        components.calendar = Calendar(identifier: .gregorian)
        components.timeZone = TimeZone(identifier: "UTC")
        components.year = year
        components.month = number(0)
        components.day = number(2)
        components.hour = number(4)
        components.minute = number(6)
        components.second = number(8)
        guard let date = components.date else { throw .malformedDER("validity time \(text)") }
        return date.timeIntervalSince1970
    }
}

/// Reads definite-length DER TLVs from a byte slice.
struct DERReader {
    struct Element {
        var tag: UInt8
        var content: ArraySlice<UInt8>
    }

    private var bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

    var isAtEnd: Bool { bytes.isEmpty }
    var peekTag: UInt8? { bytes.first }

    mutating func read(tag expected: UInt8, _ what: String) throws(CertificateParseError) -> Element {
        let element = try readAny(what)
        guard element.tag == expected else { throw .malformedDER("\(what): unexpected tag 0x\(String(element.tag, radix: 16))") }
        return element
    }

    mutating func readAny(_ what: String) throws(CertificateParseError) -> Element {
        guard bytes.count >= 2 else { throw .malformedDER("\(what): truncated") }
        let tag = bytes[bytes.startIndex]
        var index = bytes.startIndex + 1
        let first = bytes[index]
        index += 1
        var length = 0
        if first < 0x80 {
            length = Int(first)
        } else {
            let count = Int(first & 0x7F)
            guard (1...4).contains(count), bytes.endIndex - index >= count else { throw .malformedDER("\(what): bad length") }
            for _ in 0..<count {
                length = length << 8 | Int(bytes[index])
                index += 1
            }
        }
        guard bytes.endIndex - index >= length else { throw .malformedDER("\(what): truncated") }
        let content = bytes[index..<index + length]
        bytes = bytes[(index + length)...]
        return Element(tag: tag, content: content)
    }
}
