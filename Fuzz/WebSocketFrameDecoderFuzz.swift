// libFuzzer target for the exec transport's WebSocket frame decoder (server-to-client frames),
// compiled together with Sources/KubeClient/Exec/ClientWebSocketCodec.swift (see
// WebSocketFrameDecoderFuzz.sources and `make fuzz`). The first input byte chooses a chunk size.
// Checks, beyond "never crashes":
//  - frames, payload bytes and the error (if any) do not depend on how the input is chunked;
//  - every completed frame carries exactly the payload length its header announced;
//  - control frames never exceed 125 bytes and are never fragmented.

struct DecodedFrame: Equatable {
    var opcode: UInt8
    var isFinal: Bool
    var length: UInt64
    var payload: [UInt8]
}

struct DecodeOutcome: Equatable {
    var frames: [DecodedFrame] = []
    var error: String?
    var atBoundary = true
}

func decode(_ bytes: UnsafeRawBufferPointer, chunkSize: Int) -> DecodeOutcome {
    var decoder = ClientFrameDecoder()
    var outcome = DecodeOutcome()
    var current: DecodedFrame?
    var start = 0
    while start < bytes.count {
        let chunk = UnsafeRawBufferPointer(rebasing: bytes[start..<min(start + chunkSize, bytes.count)])
        start += chunk.count
        var offset = 0
        do {
            while let event = try decoder.next(chunk, at: &offset) {
                switch event {
                case .frameStart(let header):
                    precondition(current == nil, "frame started inside a frame")
                    current = DecodedFrame(opcode: header.opcode.rawValue, isFinal: header.isFinal, length: header.length, payload: [])
                case .payload(let slice):
                    precondition(current != nil, "payload outside a frame")
                    current?.payload.append(contentsOf: slice)
                case .frameEnd:
                    guard let frame = current else { preconditionFailure("frame end outside a frame") }
                    precondition(UInt64(frame.payload.count) == frame.length, "payload length differs from header")
                    if frame.opcode & 0x8 != 0 { precondition(frame.length <= 125 && frame.isFinal, "invalid control frame accepted") }
                    outcome.frames.append(frame)
                    current = nil
                }
            }
        } catch {
            outcome.error = error.reason
            return outcome
        }
    }
    outcome.atBoundary = decoder.isAtFrameBoundary && current == nil
    if let partial = current { outcome.frames.append(partial) }
    return outcome
}

@_cdecl("LLVMFuzzerTestOneInput")
public func webSocketFrameDecoderFuzzTest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let chunkSize = Int(data[0]) % 31 + 1
    let stream = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let whole = decode(stream, chunkSize: max(stream.count, 1))
    let chunked = decode(stream, chunkSize: chunkSize)
    precondition(whole == chunked, "decoding depends on chunking")
    return 0
}
