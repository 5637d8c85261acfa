// CLIENT side of exec (meshcheck talking to a real API server). Its server counterpart, in the simulator, is
// Sources/MeshSimRuntime/ServerWebSocketCodec.swift.
// The two sides are written apart on purpose: the simulator is this client's judge, and a shared codec
// would share its bugs. Change this side to match real Kubernetes servers, never to match the simulator.
//
/// RFC 6455 opcodes (open set of constants, as NIO models them).
package struct WebSocketOpcode: RawRepresentable, Sendable, Equatable, Hashable, CustomStringConvertible {
    package let rawValue: UInt8
    package init(rawValue: UInt8) { self.rawValue = rawValue }

    package static let continuation = WebSocketOpcode(rawValue: 0x0)
    package static let text = WebSocketOpcode(rawValue: 0x1)
    package static let binary = WebSocketOpcode(rawValue: 0x2)
    package static let close = WebSocketOpcode(rawValue: 0x8)
    package static let ping = WebSocketOpcode(rawValue: 0x9)
    package static let pong = WebSocketOpcode(rawValue: 0xA)

    package var isControl: Bool { rawValue & 0x8 != 0 }
    var isKnown: Bool { [0x0, 0x1, 0x2, 0x8, 0x9, 0xA].contains(rawValue) }
    package var description: String { "opcode 0x\(String(rawValue, radix: 16))" }
}

/// A frame that breaks RFC 6455 (or what a client may accept from a server).
package struct WebSocketProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    package let reason: String
    package var description: String { "WebSocket protocol error: \(reason)" }
}

/// Streaming decoder for server-to-client frames.
///
/// Payload bytes are handed out as slices of the caller's input as soon as they arrive, so a
/// 32 MiB frame is never buffered; only the (≤14-byte) header is kept across input chunks.
struct ClientFrameDecoder {
    struct Header: Equatable {
        var isFinal: Bool
        var opcode: WebSocketOpcode
        var length: UInt64
    }

    enum Event {
        case frameStart(Header)
        /// Payload bytes of the current frame (a slice of the input passed to ``next(_:at:)``).
        case payload(UnsafeRawBufferPointer)
        case frameEnd
    }

    private enum State {
        case header
        case payload(remaining: UInt64)
        case endPending
    }

    private var state: State = .header
    private var headerBytes: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    private var headerCount = 0

    /// True between frames (no partial header or payload pending).
    var isAtFrameBoundary: Bool {
        if case .header = state { return headerCount == 0 }
        return false
    }

    /// Returns the next event from `input` starting at `offset` (advanced past consumed bytes),
    /// or nil when `input` is exhausted without completing an event.
    mutating func next(_ input: UnsafeRawBufferPointer, at offset: inout Int) throws(WebSocketProtocolError) -> Event? {
        switch state {
        case .endPending:
            state = .header
            return .frameEnd
        case .payload(let remaining):
            guard offset < input.count else { return nil }
            let take = Int(min(UInt64(input.count - offset), remaining))
            let slice = UnsafeRawBufferPointer(rebasing: input[offset..<(offset + take)])
            offset += take
            let left = remaining - UInt64(take)
            state = left == 0 ? .endPending : .payload(remaining: left)
            return .payload(slice)
        case .header:
            while offset < input.count {
                appendHeaderByte(input[offset])
                offset += 1
                if let header = try parsedHeader() {
                    headerCount = 0
                    state = header.length == 0 ? .endPending : .payload(remaining: header.length)
                    return .frameStart(header)
                }
            }
            return nil
        }
    }

    private mutating func appendHeaderByte(_ byte: UInt8) {
        withUnsafeMutableBytes(of: &headerBytes) { $0[headerCount] = byte }
        headerCount += 1
    }

    private func headerByte(_ index: Int) -> UInt8 {
        withUnsafeBytes(of: headerBytes) { $0[index] }
    }

    /// The header once enough bytes are buffered; validates everything a client must check.
    private func parsedHeader() throws(WebSocketProtocolError) -> Header? {
        guard headerCount >= 2 else { return nil }
        let first = headerByte(0)
        let second = headerByte(1)
        if first & 0x70 != 0 { throw WebSocketProtocolError(reason: "reserved bits set without a negotiated extension") }
        if second & 0x80 != 0 { throw WebSocketProtocolError(reason: "server frame is masked") }
        let opcode = WebSocketOpcode(rawValue: first & 0x0F)
        guard opcode.isKnown else { throw WebSocketProtocolError(reason: "unknown \(opcode)") }
        let isFinal = first & 0x80 != 0
        let shortLength = second & 0x7F
        var length: UInt64
        switch shortLength {
        case 126:
            guard headerCount >= 4 else { return nil }
            length = UInt64(headerByte(2)) << 8 | UInt64(headerByte(3))
        case 127:
            guard headerCount >= 10 else { return nil }
            length = 0
            for index in 2..<10 { length = length << 8 | UInt64(headerByte(index)) }
            if length >> 63 != 0 { throw WebSocketProtocolError(reason: "64-bit length has its top bit set") }
        default:
            length = UInt64(shortLength)
        }
        if opcode.isControl {
            if !isFinal { throw WebSocketProtocolError(reason: "fragmented control frame") }
            if length > 125 { throw WebSocketProtocolError(reason: "control frame longer than 125 bytes") }
        }
        return Header(isFinal: isFinal, opcode: opcode, length: length)
    }
}

/// Encoder for client-to-server frames: always FIN (never fragmented) and always masked.
enum ClientFrameEncoder {
    /// Builds one frame whose payload is `prefix` followed by `payload`, masked with `maskKey`.
    static func frame(opcode: WebSocketOpcode, prefix: [UInt8] = [], payload: UnsafeRawBufferPointer, maskKey: (UInt8, UInt8, UInt8, UInt8)) -> [UInt8] {
        let length = prefix.count + payload.count
        var frame: [UInt8] = []
        frame.reserveCapacity(length + 14)
        frame.append(0x80 | opcode.rawValue)
        if length < 126 {
            frame.append(0x80 | UInt8(length))
        } else if length <= 0xFFFF {
            frame.append(0x80 | 126)
            frame.append(UInt8(length >> 8))
            frame.append(UInt8(length & 0xFF))
        } else {
            frame.append(0x80 | 127)
            for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8((UInt64(length) >> UInt64(shift)) & 0xFF)) }
        }
        let mask = [maskKey.0, maskKey.1, maskKey.2, maskKey.3]
        frame += mask
        var index = 0
        for byte in prefix {
            frame.append(byte ^ mask[index & 3])
            index += 1
        }
        for byte in payload {
            frame.append(byte ^ mask[index & 3])
            index += 1
        }
        return frame
    }

    static func frame(opcode: WebSocketOpcode, prefix: [UInt8] = [], payload: [UInt8], maskKey: (UInt8, UInt8, UInt8, UInt8)) -> [UInt8] {
        payload.withUnsafeBytes { frame(opcode: opcode, prefix: prefix, payload: $0, maskKey: maskKey) }
    }
}
