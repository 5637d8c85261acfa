import Testing

@testable import MeshSimRuntime

@Suite struct ServerFrameDecoderTests {
    /// Feeds `bytes` split at `split` and returns what the decoder produced.
    private func decode(_ bytes: [UInt8], splitAt split: Int) throws(ServerFrameDecodingError) -> [ServerInboundFrame] {
        var decoder = ServerFrameDecoder()
        var frames: [ServerInboundFrame] = []
        decoder.append(bytes[..<split])
        while let frame = try decoder.nextFrame() { frames.append(frame) }
        decoder.append(bytes[split...])
        while let frame = try decoder.nextFrame() { frames.append(frame) }
        #expect(decoder.bufferedByteCount == 0)
        return frames
    }

    @Test(arguments: [0, 1, 5, 125, 126, 127, 65535, 65536, 70_000])
    func payloadLengthsRoundTripAtEverySplit(length: Int) throws {
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let bytes = clientFrame(opcode: 2, payload: payload)
        // Every split for small frames; for large ones, every header/mask boundary plus a few inside the payload.
        let splits = bytes.count < 400 ? Array(0...bytes.count) : Array(0...20) + [bytes.count / 2, bytes.count - 1, bytes.count]
        for split in splits {
            let frames = try decode(bytes, splitAt: split)
            #expect(frames == [ServerInboundFrame(fin: true, opcode: 2, payload: payload)], "split \(split)")
        }
    }

    @Test func lengthFormsAreChosenByPayloadSize() throws {
        #expect(clientFrame(opcode: 2, payload: Array(repeating: 1, count: 125))[1] & 0x7F == 125)
        #expect(clientFrame(opcode: 2, payload: Array(repeating: 1, count: 126))[1] & 0x7F == 126)
        #expect(clientFrame(opcode: 2, payload: Array(repeating: 1, count: 65536))[1] & 0x7F == 127)
    }

    @Test func unmaskedFrameIsRefusedAsSoonAsTheHeaderArrives() {
        var decoder = ServerFrameDecoder()
        decoder.append(clientFrame(opcode: 2, payload: [1, 2, 3], masked: false).prefix(2))
        #expect(throws: ServerFrameDecodingError.unmaskedClientFrame) { _ = try decoder.nextFrame() }
    }

    @Test func oversizedFrameIsRefusedBeforeItsPayload() {
        var decoder = ServerFrameDecoder(maxPayload: 100)
        decoder.append(clientFrame(opcode: 2, payload: Array(repeating: 0, count: 101)).prefix(8))
        #expect(throws: ServerFrameDecodingError.frameTooLarge(declared: 101, limit: 100)) { _ = try decoder.nextFrame() }
    }

    @Test func continuationAndUnknownOpcodesAreDeliveredAsTheyCame() throws {
        let bytes =
            clientFrame(opcode: 2, payload: [0, 65], fin: false) + clientFrame(opcode: 0, payload: [66])
            + clientFrame(opcode: 3, payload: [9])
        for split in 0...bytes.count {
            let frames = try decode(bytes, splitAt: split)
            #expect(
                frames == [
                    ServerInboundFrame(fin: false, opcode: 2, payload: [0, 65]),
                    ServerInboundFrame(fin: true, opcode: 0, payload: [66]),
                    ServerInboundFrame(fin: true, opcode: 3, payload: [9]),
                ])
        }
    }

    @Test func manyFramesInOneReadAndByteByByte() throws {
        let messages: [[UInt8]] = (0..<50).map { index in [0] + Array(repeating: UInt8(index), count: index * 7) }
        let bytes = messages.flatMap { clientFrame(opcode: 2, payload: $0, mask: [UInt8($0.count & 0xFF), 1, 2, 3]) }
        var decoder = ServerFrameDecoder()
        var received: [[UInt8]] = []
        for byte in bytes {
            decoder.append([byte])
            while let frame = try decoder.nextFrame() { received.append(frame.payload) }
        }
        #expect(received == messages)
    }
}

@Suite struct ServerFrameEncoderTests {
    @Test(arguments: [0, 1, 125, 126, 65535, 65536, 1 << 20])
    func serverFramesAreUnmaskedFinalAndShortestForm(length: Int) {
        let payload = Array(repeating: UInt8(0xAB), count: length)
        let encoded = ServerOutboundFrame.binary(payload).encoded
        let (frames, rest) = decodeServerFrames(encoded)
        #expect(rest.isEmpty)
        #expect(frames == [ReceivedFrame(fin: true, opcode: 2, masked: false, payload: payload)])
        let expectedHeader = length < 126 ? 2 : (length <= 65535 ? 4 : 10)
        #expect(encoded.count == expectedHeader + length)
    }

    @Test func closeFrameCarriesTheCodeBigEndian() {
        #expect(ServerOutboundFrame.close(code: .protocolError).encoded == [0x88, 0x02, 0x03, 0xEA])
        #expect(ServerOutboundFrame.close(code: .normalClosure).encoded == [0x88, 0x02, 0x03, 0xE8])
    }
}
