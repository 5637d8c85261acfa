// SERVER side of exec (the simulated API server). Its client counterpart is
// Sources/KubeClient/Exec/ClientWebSocketCodec.swift.
// The two sides are written apart on purpose: the simulator is the client's judge, and a shared codec
// would share its bugs. Change this side to match what real Kubernetes servers do, never to match the client.
//
// RFC 6455 framing as the Kubernetes exec servers apply it (golang.org/x/net/websocket on the server side):
// client frames must be masked, server frames are never masked, lengths use the 7/16/64-bit forms, and
// continuation frames are delivered as separate messages carrying the previous data opcode (x/net reads one
// frame per message, it does not reassemble). Pure values: no I/O.

/// The opcodes the session distinguishes; anything else that is not a control frame is data.
package enum WireOpcode: UInt8, Sendable {
    case continuation = 0x0
    case text = 0x1
    case binary = 0x2
    case close = 0x8
    case ping = 0x9
    case pong = 0xA
}

/// One frame as received from a client, already unmasked.
package struct ServerInboundFrame: Equatable, Sendable {
    package var fin: Bool
    /// The raw 4-bit opcode; unknown values are kept so the session can treat them as x/net does.
    package var opcode: UInt8
    package var payload: [UInt8]

    package init(fin: Bool, opcode: UInt8, payload: [UInt8]) {
        self.fin = fin
        self.opcode = opcode
        self.payload = payload
    }
}

/// Why a client's byte stream cannot be decoded further. Each case maps to what the real server does.
package enum ServerFrameDecodingError: Error, Equatable, Sendable {
    /// The client sent an unmasked frame; the server answers with close code 1002 and hangs up.
    case unmaskedClientFrame
    /// The frame's declared payload exceeds the server's limit (x/net `DefaultMaxPayloadBytes`, 32 MiB).
    case frameTooLarge(declared: UInt64, limit: Int)
}

/// WebSocket close status codes used by the server.
package enum WebSocketCloseCode: UInt16, Sendable {
    case normalClosure = 1000
    case protocolError = 1002
}

/// Incremental decoder of client → server frames. Feed bytes in any split; pull complete frames.
package struct ServerFrameDecoder: Sendable {
    /// x/net's `DefaultMaxPayloadBytes`.
    package static let defaultMaxPayload = 32 << 20

    package let maxPayload: Int
    private var buffer: [UInt8] = []
    private var readIndex = 0

    package init(maxPayload: Int = ServerFrameDecoder.defaultMaxPayload) {
        self.maxPayload = maxPayload
    }

    /// Bytes received but not yet part of a returned frame.
    package var bufferedByteCount: Int { buffer.count - readIndex }

    package mutating func append<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        // Compact before growing so a long session does not keep every byte it ever received.
        if readIndex > 0 && readIndex >= buffer.count / 2 {
            buffer.removeSubrange(0..<readIndex)
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame, or nil when more bytes are needed.
    package mutating func nextFrame() throws(ServerFrameDecodingError) -> ServerInboundFrame? {
        let available = buffer.count - readIndex
        guard available >= 2 else { return nil }
        let first = buffer[readIndex]
        let second = buffer[readIndex + 1]
        // x/net checks the mask right after the header; refuse before waiting for a payload that may never come.
        guard second & 0x80 != 0 else { throw .unmaskedClientFrame }
        var headerLength = 2
        var payloadLength = UInt64(second & 0x7F)
        if payloadLength == 126 {
            guard available >= 4 else { return nil }
            payloadLength = UInt64(buffer[readIndex + 2]) << 8 | UInt64(buffer[readIndex + 3])
            headerLength = 4
        } else if payloadLength == 127 {
            guard available >= 10 else { return nil }
            payloadLength = 0
            for offset in 2..<10 {
                payloadLength = payloadLength << 8 | UInt64(buffer[readIndex + offset])
            }
            headerLength = 10
        }
        guard payloadLength <= UInt64(maxPayload) else {
            throw .frameTooLarge(declared: payloadLength, limit: maxPayload)
        }
        let maskStart = readIndex + headerLength
        let payloadStart = maskStart + 4
        let frameEnd = payloadStart + Int(payloadLength)
        guard buffer.count >= frameEnd else { return nil }
        let mask = (buffer[maskStart], buffer[maskStart + 1], buffer[maskStart + 2], buffer[maskStart + 3])
        var payload = [UInt8](repeating: 0, count: Int(payloadLength))
        payload.withUnsafeMutableBufferPointer { out in
            buffer.withUnsafeBufferPointer { input in
                for index in 0..<out.count {
                    let key: UInt8
                    switch index & 3 {
                    case 0: key = mask.0
                    case 1: key = mask.1
                    case 2: key = mask.2
                    default: key = mask.3
                    }
                    out[index] = input[payloadStart + index] ^ key
                }
            }
        }
        readIndex = frameEnd
        return ServerInboundFrame(fin: first & 0x80 != 0, opcode: first & 0x0F, payload: payload)
    }
}

/// A frame the server sends: always FIN, never masked.
package struct ServerOutboundFrame: Equatable, Sendable {
    package var opcode: WireOpcode
    package var payload: [UInt8]

    package init(opcode: WireOpcode, payload: [UInt8]) {
        self.opcode = opcode
        self.payload = payload
    }

    package static func binary(_ payload: [UInt8]) -> ServerOutboundFrame { ServerOutboundFrame(opcode: .binary, payload: payload) }

    package static func close(code: WebSocketCloseCode) -> ServerOutboundFrame {
        ServerOutboundFrame(opcode: .close, payload: [UInt8(code.rawValue >> 8), UInt8(code.rawValue & 0xFF)])
    }

    package var encoded: [UInt8] { ServerFrameEncoder.frame(opcode: opcode, payload: payload) }
}

/// Encodes server → client frames: FIN set, never masked, shortest length form.
package enum ServerFrameEncoder {
    /// The frame header for a payload of `length` bytes; the payload follows it unchanged.
    package static func header(opcode: WireOpcode, payloadLength length: Int) -> [UInt8] {
        let first = 0x80 | opcode.rawValue
        if length < 126 {
            return [first, UInt8(length)]
        }
        if length <= 0xFFFF {
            return [first, 126, UInt8(length >> 8), UInt8(length & 0xFF)]
        }
        var header: [UInt8] = [first, 127]
        for shift in stride(from: 56, through: 0, by: -8) {
            header.append(UInt8((UInt64(length) >> UInt64(shift)) & 0xFF))
        }
        return header
    }

    package static func frame(opcode: WireOpcode, payload: [UInt8]) -> [UInt8] {
        header(opcode: opcode, payloadLength: payload.count) + payload
    }
}
