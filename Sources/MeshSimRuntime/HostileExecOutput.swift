// What a hostile exec server sends instead of a command's output: the bytes behind the simulator's hostile exec
// faults (`ExecStreamFault.flood`, `.endlessFrame`, `.invalidFrameLength`), which test that an exec client stays
// within its bounds however the server behaves. Pure values: the session writes what `next()` returns as fast as
// the connection drains, until the client leaves.

/// The kinds of hostile output a session can send.
package enum HostileExecKind: String, CaseIterable, Sendable {
    /// Well-framed output without end: record lines that name ever new versions and instances, lines that never
    /// end, and stderr noise.
    case flood
    /// One stdout frame that announces 2^62 payload bytes (a legal length), then payload without end.
    case endlessFrame = "endless-frame"
    /// A frame whose 64-bit length has its top bit set (2^63), which RFC 6455 forbids; then silence.
    case invalidFrameLength = "invalid-frame-length"
}

package struct HostileExecOutput: Sendable {
    /// Bytes in one chunk: the session writes a few per event-loop turn while the connection is writable.
    package static let chunkSize = 64 << 10

    package let kind: HostileExecKind
    private var step = 0
    private var lines = 0

    package init(_ kind: HostileExecKind) {
        self.kind = kind
    }

    /// The next bytes to write to the connection, as they go on the wire (frames included); nil when this kind has
    /// nothing more to send.
    package mutating func next() -> [UInt8]? {
        defer { step += 1 }
        switch kind {
        case .flood:
            let (channel, payload) = floodPayload()
            return ServerOutboundFrame.binary([channel.rawValue] + payload).encoded
        case .endlessFrame:
            // The header once, then raw payload: the frame never ends.
            let payload = step % 8 == 0 ? recordLines() : Self.unendingLine
            return step == 0 ? Self.header(declaredLength: 1 << 62) + [ExecServerChannel.stdout.rawValue] + payload : payload
        case .invalidFrameLength:
            return step == 0 ? Self.header(declaredLength: 1 << 63) + [ExecServerChannel.stdout.rawValue] + recordLines() : nil
        }
    }

    /// Per 16 chunks: 4 of record lines, 11 of one line that does not end, 1 of stderr.
    private mutating func floodPayload() -> (ExecServerChannel, [UInt8]) {
        switch step % 16 {
        case 0..<4: return (.stdout, recordLines())
        case 15: return (.stderr, Array(repeating: UInt8(ascii: "e"), count: Self.chunkSize - 1) + [UInt8(ascii: "\n")])
        default: return (.stdout, Self.unendingLine)
        }
    }

    /// Contract 1 record lines (docs/ARCHITECTURE.md), each naming a version and an instance no pod has.
    private mutating func recordLines() -> [UInt8] {
        var bytes: [UInt8] = [UInt8(ascii: "\n")] // ends whatever unfinished line came before
        bytes.reserveCapacity(Self.chunkSize)
        while bytes.count < Self.chunkSize - 128 {
            lines += 1
            let line = "MC1 0 0 \(lines % 60000) 200 0 1000 2000 3000 v\(lines) flood-\(lines)-\(step)\n"
            bytes += Array(line.utf8)
        }
        return bytes
    }

    private static let unendingLine = Array(repeating: UInt8(ascii: "x"), count: chunkSize)

    /// A final binary frame's header with the 64-bit length form, whatever the length.
    static func header(declaredLength: UInt64) -> [UInt8] {
        [0x80 | WireOpcode.binary.rawValue, 127] + stride(from: 56, through: 0, by: -8).map { UInt8((declaredLength >> UInt64($0)) & 0xFF) }
    }
}
