import MeshSimRuntime
import Testing

/// What the simulator's hostile exec faults put on the wire: checked byte by byte, since the client tests
/// (HostileExecEndToEndTests) rely on each kind being exactly the attack it is named for.
@Suite struct HostileExecOutputTests {
    /// The 64-bit length of a header that starts `bytes`.
    static func declaredLength(_ bytes: [UInt8]) -> UInt64 {
        bytes[2..<10].reduce(0) { $0 << 8 | UInt64($1) }
    }

    @Test func floodIsWellFramedOutputThatNeverEnds() throws {
        var output = HostileExecOutput(.flood)
        var channels: [UInt8: Int] = [:]
        var recordLines = 0
        var instances = Set<Substring>()
        for _ in 0..<64 {
            let next = output.next()
            let bytes = try #require(next)
            #expect(bytes[0] == 0x82, "a final binary frame")
            // The shortest length form (16 or 64 bits: every chunk is over 125 bytes), exact.
            let headerSize = bytes[1] == 126 ? 4 : 10
            let length = headerSize == 4 ? UInt64(bytes[2]) << 8 | UInt64(bytes[3]) : Self.declaredLength(bytes)
            #expect((bytes[1] == 126 || bytes[1] == 127) && length == UInt64(bytes.count - headerSize))
            channels[bytes[headerSize], default: 0] += 1
            let text = String(decoding: bytes[(headerSize + 1)...], as: UTF8.self)
            for line in text.split(separator: "\n") where line.hasPrefix("MC1 ") {
                let fields = line.split(separator: " ")
                #expect(fields.count == 11, "a Contract 1 record: \(line)")
                recordLines += 1
                instances.insert(fields[10])
            }
        }
        #expect(channels == [1: 60, 2: 4], "stdout with one stderr chunk in sixteen")
        #expect(recordLines > 5000)
        #expect(instances.count == recordLines, "every record names an instance no other record named")
    }

    @Test func endlessFrameAnnouncesTwoToTheSixtyTwoThenStreams() throws {
        var output = HostileExecOutput(.endlessFrame)
        let next = output.next()
        let first = try #require(next)
        #expect(Array(first[0..<2]) == [0x82, 127])
        #expect(Self.declaredLength(first) == 1 << 62)
        #expect(first[10] == 1, "stdout")
        for _ in 0..<32 {
            let next = output.next()
            let more = try #require(next)
            #expect(more.count >= HostileExecOutput.chunkSize - 128 && more.count <= HostileExecOutput.chunkSize, "raw payload, no headers")
        }
    }

    @Test func invalidFrameLengthSetsTheTopBitOnceThenGoesSilent() throws {
        var output = HostileExecOutput(.invalidFrameLength)
        let next = output.next()
        let first = try #require(next)
        #expect(Self.declaredLength(first) == 1 << 63)
        #expect(output.next() == nil)
        #expect(output.next() == nil)
    }
}
