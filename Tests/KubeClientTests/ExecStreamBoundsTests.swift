import Testing

@testable import KubeClient

/// What a broken or hostile exec server can make the client hold: the upgrade head, a frame of any
/// announced length, the error channel. Output itself is handed on as it arrives, never collected.
@Suite struct ExecStreamBoundsTests {
    typealias Machine = ExecClientMachineTests

    /// An upgrade response whose head never ends fails once it passes 64 KiB.
    @Test func endlessUpgradeHeadIsRefused() {
        let header = Array("X-Filler: \(String(repeating: "a", count: 1000))\r\n".utf8)
        let start = Array("HTTP/1.1 101 Switching Protocols\r\n".utf8)
        let transcript = Machine.run([start] + Array(repeating: header, count: 200))
        #expect(transcript.outcome == .failed(.invalidHandshake("response headers larger than 64 KiB")))
    }

    /// A frame announcing 2^62 bytes is streamed: its payload reaches stdout chunk by chunk and the
    /// machine buffers none of it. A 2^63 length is refused before any payload.
    @Test func hugeFrameIsStreamedAndTopBitLengthRefused() {
        var machine = ExecClientMachine(key: Machine.key)
        let header: [UInt8] = [0x82, 127, 0x40, 0, 0, 0, 0, 0, 0, 0]
        var delivered = 0
        var largest = 0
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 64 * 1024)
        let inputs = [Machine.upgrade() + header + [1]] + Array(repeating: chunk, count: 128) // 8 MiB
        for input in inputs {
            let progress = input.withUnsafeBytes { raw in
                machine.receive(raw) { action in
                    if case .output(.stdout, let bytes) = action {
                        delivered += bytes.count
                        largest = max(largest, bytes.count)
                    }
                }
            }
            #expect(progress == .running)
        }
        #expect(delivered == 128 * chunk.count)
        #expect(largest <= chunk.count)

        let refused = Machine.run([Machine.upgrade() + [0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0]])
        #expect(refused.outcome == .failed(.protocolViolation("64-bit length has its top bit set")))
    }

    /// The exit Status on channel 3 is small; a server sending more than 64 KiB there is refused.
    @Test func endlessErrorChannelIsRefused() {
        let frames =
            [Machine.upgrade(), serverFrame(2, [3] + [UInt8](repeating: 0x20, count: 60_000), fin: false)]
            + Array(repeating: serverFrame(0, [UInt8](repeating: 0x20, count: 60_000), fin: false), count: 4)
        let transcript = Machine.run(frames)
        #expect(transcript.outcome == .failed(.protocolViolation("error channel message larger than 64 KiB")))
    }
}
