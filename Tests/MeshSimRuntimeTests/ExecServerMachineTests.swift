import Testing

@testable import MeshSimRuntime

/// Session transcripts: client bytes are fed split at every byte boundary and the resulting actions must be
/// the same as when fed whole.
@Suite struct ExecServerMachineTests {
    typealias Action = ExecServerMachine.Action

    private func feedSplit(_ machine: ExecServerMachine, _ bytes: [UInt8], at split: Int) -> (ExecServerMachine, [Action]) {
        var machine = machine
        let actions = machine.receive(bytes[..<split]) + machine.receive(bytes[split...])
        return (machine, actions)
    }

    private func allSplits(_ request: ExecServerRequest, _ bytes: [UInt8], fault: ExecStreamFault? = nil) -> [Action] {
        var reference = ExecServerMachine(request: request, fault: fault)
        _ = reference.start()
        let whole = reference.receive(bytes)
        for split in 0...bytes.count {
            var machine = ExecServerMachine(request: request, fault: fault)
            _ = machine.start()
            let (_, actions) = feedSplit(machine, bytes, at: split)
            #expect(actions == whole, "split at \(split)")
        }
        return whole
    }

    @Test func readyFrameGoesToTheLowestWritableChannel() {
        var withStdout = ExecServerMachine(request: makeRequest(["true"]))
        #expect(withStdout.start() == [.send(.binary([1]))])
        var stderrOnly = ExecServerMachine(request: makeRequest(["true"], stdout: false))
        #expect(stderrOnly.start() == [.send(.binary([2]))])
        var none = ExecServerMachine(request: makeRequest(["true"], stdin: true, stdout: false, stderr: false))
        #expect(none.start() == [.send(.binary([3]))])
        var ttyDropsStderr = ExecServerMachine(request: makeRequest(["true"], stdout: false, tty: true))
        #expect(ttyDropsStderr.start() == [.send(.binary([3]))])
    }

    @Test func stdinDataThenV5CloseSignal() {
        let bytes = clientFrame(opcode: 2, payload: [0] + Array("foo\n".utf8)) + clientFrame(opcode: 2, payload: [0xFF, 0])
        let actions = allSplits(makeRequest(["cat"], stdin: true), bytes)
        #expect(actions == [.writeStdin(Array("foo\n".utf8)), .closeStdin])
    }

    @Test func stdinIsIgnoredWhenNotRequestedOrAfterClose() {
        #expect(allSplits(makeRequest(["cat"]), clientFrame(opcode: 2, payload: [0, 1, 2])) == [])
        let afterClose =
            clientFrame(opcode: 2, payload: [0xFF, 0]) + clientFrame(opcode: 2, payload: [0, 7])
            + clientFrame(opcode: 2, payload: [0xFF, 0])
        #expect(allSplits(makeRequest(["cat"], stdin: true), afterClose) == [.closeStdin])
    }

    @Test func emptyResizeOutputChannelAndUnknownMessagesAreIgnored() {
        let bytes =
            clientFrame(opcode: 2, payload: []) + clientFrame(opcode: 2, payload: [0])
            + clientFrame(opcode: 2, payload: [4] + Array(#"{"Width":80,"Height":24}"#.utf8))
            + clientFrame(opcode: 2, payload: [1, 9]) + clientFrame(opcode: 2, payload: [3, 9])
            + clientFrame(opcode: 2, payload: [5, 9]) + clientFrame(opcode: 2, payload: [0xFF, 2])
        #expect(allSplits(makeRequest(["cat"], stdin: true), bytes) == [])
    }

    @Test func v4HasNoCloseSignal() {
        let bytes = clientFrame(opcode: 2, payload: [0xFF, 0]) + clientFrame(opcode: 2, payload: [0xFF])
        #expect(allSplits(makeRequest(["cat"], stdin: true, subprotocol: .v4), bytes) == [])
    }

    @Test(arguments: [[0xFF] as [UInt8], [0xFF, 0, 0], [0xFF, 5], [0xFF, 200]])
    func malformedCloseSignalAbortsTheSession(payload: [UInt8]) {
        let actions = allSplits(makeRequest(["cat"], stdin: true), clientFrame(opcode: 2, payload: payload))
        #expect(actions == [.killProcess, .send(.close(code: .normalClosure)), .closeConnection])
    }

    @Test func pingIsAnsweredWithTheSamePayload() {
        let bytes = clientFrame(opcode: 9, payload: Array("keepalive".utf8)) + clientFrame(opcode: 9, payload: [])
        #expect(
            allSplits(makeRequest(["cat"]), bytes) == [
                .send(ServerOutboundFrame(opcode: .pong, payload: Array("keepalive".utf8))),
                .send(ServerOutboundFrame(opcode: .pong, payload: [])),
            ])
    }

    @Test func unsolicitedPongAbortsLikeXNet() {
        let bytes = clientFrame(opcode: 10, payload: []) + clientFrame(opcode: 2, payload: [0, 1])
        #expect(
            allSplits(makeRequest(["cat"], stdin: true), bytes)
                == [.killProcess, .send(.close(code: .normalClosure)), .closeConnection])
    }

    @Test func unmaskedFrameGetsProtocolErrorClose() {
        let bytes = clientFrame(opcode: 2, payload: [0, 1]) + clientFrame(opcode: 2, payload: [0, 2], masked: false)
        #expect(
            allSplits(makeRequest(["cat"], stdin: true), bytes)
                == [.writeStdin([1]), .killProcess, .send(.close(code: .protocolError)), .closeConnection])
    }

    @Test func clientCloseWhileRunningTearsEverythingDown() {
        var machine = ExecServerMachine(request: makeRequest(["sleep", "60"], stdin: true))
        _ = machine.start()
        #expect(
            machine.receive(clientFrame(opcode: 8, payload: [3, 232]) + clientFrame(opcode: 2, payload: [0, 1]))
                == [.killProcess, .send(.close(code: .normalClosure)), .closeConnection])
        #expect(machine.phase == .finished)
        #expect(machine.processOutput(.stdout, [1]) == [])
        #expect(machine.processFinished(.exited(code: 137)) == [])
    }

    @Test func outputIsFramedPerChannelAndUnrequestedStreamsDropped() {
        var machine = ExecServerMachine(request: makeRequest(["x"], stderr: false))
        _ = machine.start()
        #expect(machine.processOutput(.stdout, [65, 66]) == [.send(.binary([1, 65, 66]))])
        #expect(machine.processOutput(.stderr, [67]) == [])
        #expect(machine.processOutput(.stdout, []) == [])
    }

    @Test func exitWritesOneStatusThenCloseThenWaitsForTheClient() {
        var machine = ExecServerMachine(request: makeRequest(["sh", "-c", "exit 3"]))
        _ = machine.start()
        let status = ExecServerStatus.forOutcome(.exited(code: 3), command: ["sh", "-c", "exit 3"], subprotocol: .v5)
        #expect(
            machine.processFinished(.exited(code: 3)) == [
                .send(.binary([3] + Array(status.json.utf8))), .send(.close(code: .normalClosure)), .awaitClientClose,
            ])
        #expect(machine.phase == .closing)
        #expect(machine.processFinished(.exited(code: 3)) == [])
        // Data after the status is ignored; pings are still answered; the client's close ends it.
        #expect(machine.receive(clientFrame(opcode: 2, payload: [0, 1])) == [])
        #expect(machine.receive(clientFrame(opcode: 9, payload: [1])) == [.send(ServerOutboundFrame(opcode: .pong, payload: [1]))])
        #expect(machine.receive(clientFrame(opcode: 8, payload: [3, 232])) == [.closeConnection])
        #expect(machine.phase == .finished)
    }

    @Test func closeWaitIsBounded() {
        var machine = ExecServerMachine(request: makeRequest(["true"]))
        _ = machine.start()
        _ = machine.processFinished(.exited(code: 0))
        #expect(machine.closeWaitExpired() == [.closeConnection])
        #expect(machine.closeWaitExpired() == [])
    }

    @Test func startFailureBecomesInternalErrorStatus() {
        var machine = ExecServerMachine(request: makeRequest(["nope"]))
        _ = machine.start()
        let actions = machine.processFinished(.failedToStart(reason: "boom"))
        guard case .send(let frame) = actions.first else {
            Issue.record("expected a status frame")
            return
        }
        #expect(frame.payload.first == 3)
        #expect(String(decoding: frame.payload.dropFirst(), as: UTF8.self).contains(#""reason":"InternalError""#))
    }

    @Test func transportLossKillsARunningProcessOnly() {
        var running = ExecServerMachine(request: makeRequest(["sleep", "60"]))
        _ = running.start()
        #expect(running.clientDisconnected() == [.killProcess, .closeConnection])
        var closing = ExecServerMachine(request: makeRequest(["true"]))
        _ = closing.start()
        _ = closing.processFinished(.exited(code: 0))
        #expect(closing.clientDisconnected() == [.closeConnection])
        #expect(closing.clientDisconnected() == [])
    }

    @Test func podDeletionKillsAndTheExitIsStillReported() {
        var machine = ExecServerMachine(request: makeRequest(["sleep", "60"]))
        _ = machine.start()
        #expect(machine.podDeleted() == [.killProcess])
        #expect(machine.processFinished(.exited(code: 137)).count == 3)
    }

    @Test func breakFaultCutsTheStreamAfterNBytes() {
        var machine = ExecServerMachine(request: makeRequest(["yes"]), fault: .breakAfter(bytes: 5))
        _ = machine.start()
        #expect(machine.processOutput(.stdout, [1, 2, 3]) == [.send(.binary([1, 1, 2, 3]))])
        #expect(machine.processOutput(.stderr, [4, 5, 6]) == [.send(.binary([2, 4, 5])), .killProcess, .closeConnection])
        #expect(machine.processOutput(.stdout, [7]) == [])
        #expect(machine.processFinished(.exited(code: 137)) == [])
    }

    @Test func stallFaultWithholdsOutputAndStatus() {
        var machine = ExecServerMachine(request: makeRequest(["yes"]), fault: .stallAfter(bytes: 2))
        _ = machine.start()
        #expect(machine.processOutput(.stdout, [1, 2, 3]) == [.send(.binary([1, 1, 2]))])
        #expect(machine.phase == .stalled)
        #expect(machine.processOutput(.stdout, [4]) == [])
        #expect(machine.processFinished(.exited(code: 0)) == [])
        #expect(machine.receive(clientFrame(opcode: 9, payload: [])) == [.send(ServerOutboundFrame(opcode: .pong, payload: []))])
        #expect(machine.clientDisconnected() == [.killProcess, .closeConnection])
    }

    @Test func zeroByteStallStallsBeforeAnyOutput() {
        var machine = ExecServerMachine(request: makeRequest(["yes"]), fault: .stallAfter(bytes: 0))
        _ = machine.start()
        #expect(machine.processOutput(.stdout, [1]) == [])
        #expect(machine.phase == .stalled)
    }
}

/// Randomised robustness: arbitrary bytes and arbitrary splits never trap the machine, and once it has
/// finished it stays silent.
@Suite struct ExecServerMachineRandomTests {
    @Test func arbitraryBytesNeverTrapAndFinishedStaysFinished() {
        var generator = SplitMix64(state: 7)
        for round in 0..<1500 {
            var machine = ExecServerMachine(request: makeRequest(["cat"], stdin: true), maxFramePayload: 1 << 16)
            _ = machine.start()
            let length = Int.random(in: 0...300, using: &generator)
            // Mostly valid masked headers (so payloads get parsed), sometimes pure noise.
            var bytes: [UInt8] = []
            if round % 3 != 0 {
                let payload = (0..<Int.random(in: 0...200, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                bytes = clientFrame(
                    opcode: UInt8.random(in: 0...15, using: &generator), payload: payload,
                    fin: Bool.random(using: &generator))
            }
            bytes += (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var offset = 0
            while offset < bytes.count {
                let step = Int.random(in: 1...max(1, bytes.count - offset), using: &generator)
                _ = machine.receive(bytes[offset..<(offset + step)])
                offset += step
            }
            if machine.phase == .finished {
                #expect(machine.receive(clientFrame(opcode: 9, payload: [1])) == [])
                #expect(machine.processOutput(.stdout, [1]) == [])
                #expect(machine.processFinished(.exited(code: 0)) == [])
            }
        }
    }

    @Test func validTranscriptSplitRandomlyGivesTheSameActions() {
        var generator = SplitMix64(state: 99)
        var transcript: [UInt8] = []
        for index in 0..<40 {
            transcript += clientFrame(
                opcode: 2, payload: [0] + Array(repeating: UInt8(index), count: index * 37),
                mask: [UInt8(index), 3, 5, 7])
            if index % 7 == 0 { transcript += clientFrame(opcode: 9, payload: [UInt8(index)]) }
        }
        transcript += clientFrame(opcode: 2, payload: [0xFF, 0])
        var whole = ExecServerMachine(request: makeRequest(["cat"], stdin: true))
        let expected = whole.receive(transcript)
        #expect(expected.last == .closeStdin)
        for _ in 0..<200 {
            var machine = ExecServerMachine(request: makeRequest(["cat"], stdin: true))
            var actions: [ExecServerMachine.Action] = []
            var offset = 0
            while offset < transcript.count {
                let step = Int.random(in: 1...64, using: &generator)
                let end = min(transcript.count, offset + step)
                actions += machine.receive(transcript[offset..<end])
                offset = end
            }
            #expect(actions == expected)
        }
    }
}
