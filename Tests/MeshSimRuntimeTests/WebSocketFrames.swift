// WebSocket frames for the runtime tests: a masking client-frame encoder and an unmasked server-frame decoder,
// written independently of the production codec so the two check each other.
@testable import MeshSimRuntime

/// Encodes a frame as a client must: FIN configurable, payload masked with `mask`.
func clientFrame(opcode: UInt8, payload: [UInt8], fin: Bool = true, mask: [UInt8] = [0x37, 0xFA, 0x21, 0x3D], masked: Bool = true) -> [UInt8] {
    var bytes: [UInt8] = [(fin ? 0x80 : 0) | opcode]
    let maskBit: UInt8 = masked ? 0x80 : 0
    if payload.count < 126 {
        bytes.append(maskBit | UInt8(payload.count))
    } else if payload.count <= 0xFFFF {
        bytes += [maskBit | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
    } else {
        bytes.append(maskBit | 127)
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((payload.count >> shift) & 0xFF)) }
    }
    if masked {
        bytes += mask
        for (index, byte) in payload.enumerated() { bytes.append(byte ^ mask[index % 4]) }
    } else {
        bytes += payload
    }
    return bytes
}

/// A server frame as a client sees it.
struct ReceivedFrame: Equatable {
    var fin: Bool
    var opcode: UInt8
    var masked: Bool
    var payload: [UInt8]
}

/// Decodes server → client frames from a byte buffer; returns the frames and the unconsumed remainder.
func decodeServerFrames(_ bytes: [UInt8]) -> (frames: [ReceivedFrame], rest: [UInt8]) {
    var frames: [ReceivedFrame] = []
    var index = 0
    while bytes.count - index >= 2 {
        let first = bytes[index]
        let second = bytes[index + 1]
        var length = Int(second & 0x7F)
        var header = 2
        if length == 126 {
            guard bytes.count - index >= 4 else { break }
            length = Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
            header = 4
        } else if length == 127 {
            guard bytes.count - index >= 10 else { break }
            length = 0
            for offset in 2..<10 { length = length << 8 | Int(bytes[index + offset]) }
            header = 10
        }
        let masked = second & 0x80 != 0
        if masked { header += 4 }
        guard bytes.count - index >= header + length else { break }
        frames.append(
            ReceivedFrame(
                fin: first & 0x80 != 0, opcode: first & 0x0F, masked: masked,
                payload: Array(bytes[(index + header)..<(index + header + length)])))
        index += header + length
    }
    return (frames, Array(bytes[index...]))
}
