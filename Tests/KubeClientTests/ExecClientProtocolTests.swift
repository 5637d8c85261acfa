import Foundation
import Testing

@testable import KubeClient

/// Builds server-to-client (unmasked) frames.
func serverFrame(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, forceLength: Int? = nil) -> [UInt8] {
    var frame: [UInt8] = [(fin ? 0x80 : 0) | opcode]
    let form = forceLength ?? (payload.count < 126 ? 0 : payload.count <= 0xFFFF ? 126 : 127)
    switch form {
    case 126:
        frame += [126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
    case 127:
        frame.append(127)
        for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8((UInt64(payload.count) >> UInt64(shift)) & 0xFF)) }
    default:
        frame.append(UInt8(payload.count))
    }
    return frame + payload
}

/// Decodes client frames (masked) back into opcode + payload.
func decodeClientFrames(_ bytes: [UInt8]) -> [(WebSocketOpcode, [UInt8])] {
    var frames: [(WebSocketOpcode, [UInt8])] = []
    var index = 0
    while index < bytes.count {
        let opcode = WebSocketOpcode(rawValue: bytes[index] & 0x0F)
        #expect(bytes[index] & 0x80 != 0, "client frames are never fragmented")
        #expect(bytes[index + 1] & 0x80 != 0, "client frames are masked")
        var length = Int(bytes[index + 1] & 0x7F)
        index += 2
        if length == 126 {
            length = Int(bytes[index]) << 8 | Int(bytes[index + 1])
            index += 2
        } else if length == 127 {
            length = 0
            for _ in 0..<8 {
                length = length << 8 | Int(bytes[index])
                index += 1
            }
        }
        let mask = Array(bytes[index..<(index + 4)])
        index += 4
        frames.append((opcode, (0..<length).map { bytes[index + $0] ^ mask[$0 & 3] }))
        index += length
    }
    return frames
}

@Suite struct ClientWebSocketCodecTests {
    private func decodeAll(_ chunks: [[UInt8]], complete: Bool = true) throws -> [(ClientFrameDecoder.Header, [UInt8])] {
        var decoder = ClientFrameDecoder()
        var frames: [(ClientFrameDecoder.Header, [UInt8])] = []
        var current: (ClientFrameDecoder.Header, [UInt8])?
        for chunk in chunks {
            try chunk.withUnsafeBytes { raw in
                var offset = 0
                while let event = try decoder.next(raw, at: &offset) {
                    switch event {
                    case .frameStart(let header): current = (header, [])
                    case .payload(let bytes): current?.1.append(contentsOf: bytes)
                    case .frameEnd:
                        if let done = current { frames.append(done) }
                        current = nil
                    }
                }
            }
        }
        if complete { #expect(decoder.isAtFrameBoundary) }
        return frames
    }

    /// All three length encodings decode identically whatever the split point of the input.
    @Test func lengthsSplitAtEveryBoundary() throws {
        let small = [UInt8](repeating: 7, count: 5)
        let medium = (0..<300).map { UInt8($0 & 0xFF) }
        let large = (0..<70_000).map { UInt8($0 % 251) }
        let stream = serverFrame(2, small) + serverFrame(2, medium) + serverFrame(0x9, []) + serverFrame(2, large) + serverFrame(2, small, forceLength: 127)
        let expected = try decodeAll([stream])
        #expect(expected.map(\.1.count) == [5, 300, 0, 70_000, 5])
        #expect(expected[3].1 == large)
        #expect(expected[2].0.opcode == .ping)
        for split in stride(from: 0, through: stream.count, by: 97) + Array(0..<40) {
            let frames = try decodeAll([Array(stream[..<split]), Array(stream[split...])])
            #expect(frames.map(\.0) == expected.map(\.0))
            #expect(frames.map(\.1) == expected.map(\.1))
        }
        // byte by byte
        let single = try decodeAll(stream.prefix(400).map { [$0] }, complete: false)
        #expect(single.map(\.1.count) == [5, 300, 0])
    }

    /// Frames a client must reject.
    @Test func rejectsInvalidServerFrames() {
        func fails(_ bytes: [UInt8], _ reason: String) {
            #expect(throws: WebSocketProtocolError(reason: reason)) { _ = try decodeAll([bytes]) }
        }
        fails([0x82, 0x81, 1, 2, 3, 4, 9], "server frame is masked")
        fails([0xC2, 0x00], "reserved bits set without a negotiated extension")
        fails([0x83, 0x00], "unknown opcode 0x3")
        fails([0x09, 0x00], "fragmented control frame")
        fails([0x89, 126, 0, 126] + [UInt8](repeating: 0, count: 126), "control frame longer than 125 bytes")
        fails([0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1], "64-bit length has its top bit set")
    }

    /// Client frames are FIN, masked, and use the shortest length form.
    @Test func encoderMasksAndSizes() {
        for size in [0, 1, 125, 126, 65_535, 65_536] {
            let payload = (0..<size).map { UInt8($0 & 0xFF) }
            let frame = ClientFrameEncoder.frame(opcode: .binary, prefix: [1], payload: payload, maskKey: (0xA1, 0xB2, 0xC3, 0xD4))
            let decoded = decodeClientFrames(frame)
            #expect(decoded.count == 1)
            #expect(decoded[0].0 == .binary)
            #expect(decoded[0].1 == [1] + payload)
            let headerLength = size + 1 < 126 ? 6 : size + 1 <= 0xFFFF ? 8 : 14
            #expect(frame.count == headerLength + size + 1)
        }
    }
}

@Suite struct ExecClientMachineTests {
    static let key = "dGhlIHNhbXBsZSBub25jZQ=="

    static func upgrade(protocol chosen: String? = "v5.channel.k8s.io", accept: String = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") -> [UInt8] {
        var head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(accept)\r\n"
        if let chosen { head += "Sec-WebSocket-Protocol: \(chosen)\r\n" }
        return Array((head + "\r\n").utf8)
    }

    static func status(_ json: String) -> [UInt8] { serverFrame(2, [3] + Array(json.utf8)) }
    static let success = status(#"{"metadata":{},"status":"Success"}"#)
    static func exit(_ code: Int) -> [UInt8] {
        status(
            #"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: exit status \#(code)","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"\#(code)"}]}}"#
        )
    }
    static let closeFrame = serverFrame(8, [0x03, 0xE8])

    struct Transcript: Equatable {
        var upgraded: [ExecProtocol] = []
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var sent: [ClientOutboundFrame] = []
        var outcome: ExecClientMachine.Outcome?
    }

    /// Feeds `input` split into the given chunks, then EOF if `eof`.
    static func run(_ chunks: [[UInt8]], eof: Bool = false) -> Transcript {
        var machine = ExecClientMachine(key: key)
        var transcript = Transcript()
        for chunk in chunks where transcript.outcome == nil {
            let progress = chunk.withUnsafeBytes { raw in
                machine.receive(raw) { action in
                    switch action {
                    case .upgraded(let chosen): transcript.upgraded.append(chosen)
                    case .output(.stdout, let bytes): transcript.stdout += bytes
                    case .output(_, let bytes): transcript.stderr += bytes
                    case .send(let frame): transcript.sent.append(frame)
                    }
                }
            }
            if case .finished(let outcome) = progress { transcript.outcome = outcome }
        }
        if eof, transcript.outcome == nil { transcript.outcome = machine.receiveEOF() }
        return transcript
    }

    /// The RFC 6455 sample key/accept pair, checked against our SHA-1 path.
    @Test func acceptKey() {
        #expect(webSocketAccept(forKey: Self.key) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    /// A whole v5 session (101 + ready frame + output + ping + fragmented stderr + status + close)
    /// gives the same transcript wherever the bytes are split.
    @Test func transcriptSplitAtEveryByte() {
        let stream =
            Self.upgrade() + serverFrame(2, [1]) + serverFrame(2, [1] + Array("hello ".utf8))
            + serverFrame(9, Array("p".utf8))
            + serverFrame(2, [2] + Array("er".utf8), fin: false) + serverFrame(0, Array("ror".utf8))
            + serverFrame(2, [1] + Array("world".utf8)) + serverFrame(2, [7, 1, 2]) + Self.exit(3) + Self.closeFrame
        let whole = Self.run([stream])
        #expect(whole.upgraded == [.v5])
        #expect(String(decoding: whole.stdout, as: UTF8.self) == "hello world")
        #expect(String(decoding: whole.stderr, as: UTF8.self) == "error")
        #expect(whole.sent == [ClientOutboundFrame(opcode: .pong, payload: Array("p".utf8)), ClientOutboundFrame(opcode: .close, payload: [0x03, 0xE8])])
        guard case .exited(let result) = whole.outcome else {
            Issue.record("expected an exit, got \(String(describing: whole.outcome))")
            return
        }
        #expect(result.exitCode == 3)
        #expect(result.stdoutBytes == 11 && result.stderrBytes == 5)
        for split in 0...stream.count {
            #expect(Self.run([Array(stream[..<split]), Array(stream[split...])]) == whole, "split at \(split)")
        }
        #expect(Self.run(stream.map { [$0] }) == whole)
    }

    /// Exit codes 0/1/127 on v4 and v5; EOF after the status (older servers) also completes.
    @Test func exitCodes() {
        for (proto, expected) in [("v5.channel.k8s.io", ExecProtocol.v5), ("v4.channel.k8s.io", .v4)] {
            for code in [1, 127] {
                let result = Self.run([Self.upgrade(protocol: proto) + Self.exit(code)], eof: true)
                guard case .exited(let exit) = result.outcome else {
                    Issue.record("no exit")
                    continue
                }
                #expect(exit.exitCode == Int32(code))
                #expect(exit.negotiatedProtocol == expected)
            }
            let ok = Self.run([Self.upgrade(protocol: proto) + Self.success + Self.closeFrame])
            guard case .exited(let exit) = ok.outcome else {
                Issue.record("no exit")
                continue
            }
            #expect(exit.exitCode == 0)
        }
    }

    /// Failures before the 101: Status bodies (Content-Length or chunked), empty 403, junk.
    @Test func upgradeFailures() {
        let body = #"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"pods \"x\" not found","reason":"NotFound","code":404}"#
        let notFound = Self.run([Array("HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8)])
        guard case .failed(.rejected(404, let status?, _)) = notFound.outcome else {
            Issue.record("\(String(describing: notFound.outcome))")
            return
        }
        #expect(status.reason == "NotFound")

        let chunkedBody = "\(String(body.utf8.count, radix: 16))\r\n\(body)\r\n0\r\n\r\n"
        let stream = Array("HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n\(chunkedBody)".utf8)
        for split in stride(from: 0, through: stream.count, by: 7) {
            let chunked = Self.run([Array(stream[..<split]), Array(stream[split...])])
            guard case .failed(.rejected(400, _, _)) = chunked.outcome else {
                Issue.record("split \(split): \(String(describing: chunked.outcome))")
                return
            }
        }
        let empty403 = Self.run([Array("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n".utf8)])
        #expect(empty403.outcome == .failed(.protocolNotSupported(httpStatus: 403)))
        let closeDelimited = Self.run([Array("HTTP/1.1 502 Bad Gateway\r\n\r\nupstream down".utf8)], eof: true)
        #expect(closeDelimited.outcome == .failed(.upgradeFailed(httpStatus: 502, excerpt: "upstream down")))
        #expect(Self.run([Array("garbage\r\n\r\n".utf8)]).outcome == .failed(.invalidHandshake("response is not HTTP/1.1")))
        #expect(
            Self.run([Array("HTTP/1.1 101 Sw".utf8)], eof: true).outcome == .failed(.streamBroken("connection closed before the upgrade response was complete"))
        )
    }

    /// A wrong accept value or an unoffered subprotocol fails the handshake; no subprotocol means legacy semantics.
    @Test func handshakeChecks() {
        #expect(Self.run([Self.upgrade(accept: "AAAA")]).outcome == .failed(.invalidHandshake("Sec-WebSocket-Accept does not match the key we sent")))
        #expect(
            Self.run([Self.upgrade(protocol: "v3.channel.k8s.io")]).outcome
                == .failed(.invalidHandshake("server chose subprotocol v3.channel.k8s.io, which was not offered")))
        let legacyOK = Self.run([Self.upgrade(protocol: nil) + serverFrame(2, [1, 65])], eof: true)
        guard case .exited(let result) = legacyOK.outcome else {
            Issue.record("legacy")
            return
        }
        #expect(result.negotiatedProtocol == .legacy && result.exitCode == 0)
        let legacyFail = Self.run([Self.upgrade(protocol: nil) + serverFrame(2, [3] + Array("boom".utf8))], eof: true)
        guard case .failed(.remoteFailure(let status)) = legacyFail.outcome else {
            Issue.record("legacy failure")
            return
        }
        #expect(status.message == "boom")
    }

    /// Failures after the 101: remote Status, broken stream, protocol violations.
    @Test func failuresAfterUpgrade() {
        let notRunning = Self.run([
            Self.upgrade() + Self.status(#"{"status":"Failure","message":"container not running","reason":"InternalError","code":500}"#) + Self.closeFrame
        ])
        guard case .failed(.remoteFailure(let status)) = notRunning.outcome else {
            Issue.record("remote")
            return
        }
        #expect(status.code == 500 && status.message == "container not running")
        #expect(
            Self.run([Self.upgrade() + serverFrame(2, [1, 65])], eof: true).outcome
                == .failed(.streamBroken("the connection closed before the exit status arrived")))
        #expect(
            Self.run([Self.upgrade() + Array(serverFrame(2, [1, 65, 66]).prefix(3))], eof: true).outcome
                == .failed(.streamBroken("connection closed in the middle of a frame")))
        #expect(Self.run([Self.upgrade() + Self.closeFrame]).outcome == .failed(.streamBroken("the connection closed before the exit status arrived")))
        #expect(
            Self.run([Self.upgrade() + serverFrame(1, Array("1hi".utf8))]).outcome
                == .failed(.protocolViolation("unexpected text message; exec uses binary messages")))
        #expect(Self.run([Self.upgrade() + serverFrame(0, [1])]).outcome == .failed(.protocolViolation("continuation frame without a message in progress")))
        #expect(
            Self.run([Self.upgrade() + Self.status("not json") + Self.closeFrame]).outcome == .failed(.protocolViolation("error channel is not a JSON Status")))
        #expect(
            Self.run([Self.upgrade() + Self.status(#"{"status":"Failure","reason":"NonZeroExitCode"}"#) + Self.closeFrame]).outcome
                == .failed(.protocolViolation("NonZeroExitCode status without an ExitCode cause")))
    }

    /// stdin goes out in ≤32 KiB channel-0 messages; EOF is `FF 00` on v5 and impossible on v4.
    @Test func stdinFramesAndClose() {
        let data = [UInt8](repeating: 0x41, count: 70_000)
        let frames = ExecClientMachine.stdinFrames(data)
        #expect(frames.map(\.payload.count) == [32_769, 32_769, 4_465])
        #expect(frames.allSatisfy { $0.payload.first == 0 && $0.opcode == .binary })
        #expect(ExecClientMachine.stdinClose(for: .v5) == ClientOutboundFrame(opcode: .binary, payload: [255, 0]))
        #expect(ExecClientMachine.stdinClose(for: .v4) == nil)
        var v4 = ExecClientMachine(key: Self.key)
        _ = Self.upgrade(protocol: "v4.channel.k8s.io").withUnsafeBytes { v4.receive($0) { _ in } }
        #expect(v4.closeForCancellation() == ClientOutboundFrame(opcode: .close, payload: [0x03, 0xE8]))
        #expect(v4.closeForCancellation() == nil)
    }

    /// Exec URLs carry argv in order, `+` escaped, every boolean explicit.
    @Test func execPath() {
        let request = ExecRequest(namespace: "ns", pod: "sleep-1", container: "sleep", command: ["sh", "-c", "echo a+b && exit 3"])
        #expect(
            request.path
                == "/api/v1/namespaces/ns/pods/sleep-1/exec?command=sh&command=-c&command=echo%20a%2Bb%20%26%26%20exit%203&container=sleep&stdin=false&stdout=true&stderr=true&tty=false"
        )
    }
}
