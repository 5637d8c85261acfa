import Testing

@testable import MeshSimRuntime

#if canImport(Glibc)
    import Glibc
#endif

/// Exec sessions over real loopback TCP, with real processes.
@Suite struct ExecServerSessionSocketTests {
    private func run(_ request: ExecServerRequest, stdin: [UInt8]? = nil) async throws -> ExecTranscript {
        let server = try await TestExecServer(request: request)
        defer { Task { await server.close() } }
        let client = try TestExecClient(port: server.port)
        if let stdin {
            var offset = 0
            while offset < stdin.count {
                let end = min(offset + 32 * 1024, stdin.count)
                client.send(channel: 0, Array(stdin[offset..<end]))
                offset = end
            }
            client.sendFrame(opcode: 2, payload: [0xFF, 0])
        }
        return try client.finish()
    }

    @Test func successfulCommandStreamsBothChannelsAndEndsCleanly() async throws {
        let transcript = try await run(makeRequest(["sh", "-c", "echo out; echo err >&2; echo $HOSTNAME"]))
        #expect(transcript.firstFrame?.payload == [1])
        #expect(String(decoding: transcript.stdout, as: UTF8.self) == "out\nsleep-1\n")
        #expect(String(decoding: transcript.stderr, as: UTF8.self) == "err\n")
        #expect(transcript.status == #"{"metadata":{},"status":"Success"}"#)
        #expect(transcript.statusCount == 1)
        #expect(transcript.closeCode == 1000)
        #expect(transcript.frames.allSatisfy { !$0.masked && $0.fin })
    }

    @Test(arguments: [(["true"], 0), (["false"], 1), (["sh", "-c", "exit 3"], 3), (["sh", "-c", "no-such-command-xyz"], 127)] as [([String], Int)])
    func exitCodesArriveInTheStatus(command: [String], code: Int) async throws {
        let transcript = try await run(makeRequest(command))
        if code == 0 {
            #expect(transcript.status == #"{"metadata":{},"status":"Success"}"#)
        } else {
            #expect(transcript.status?.contains(#""reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"\#(code)"}]}"#) == true)
        }
    }

    @Test func processStartsInTheContainersWorkingDirectory() async throws {
        #expect(String(decoding: try await run(makeRequest(["pwd"])).stdout, as: UTF8.self) == "/\n")
        var request = makeRequest(["pwd"])
        request.workingDirectory = "/tmp"
        #expect(String(decoding: try await run(request).stdout, as: UTF8.self) == "/tmp\n")
    }

    @Test func missingExecutableIsTheRuntimesInternalError() async throws {
        let transcript = try await run(makeRequest(["no-such-binary-xyz"]))
        let status = try #require(transcript.status)
        #expect(status.contains(#""reason":"InternalError""#))
        #expect(status.contains(#"executable file not found in $PATH"#))
        #expect(status.contains(#""code":500"#))
    }

    @Test func v4SessionReportsTheKubeletsExitMessage() async throws {
        let transcript = try await run(makeRequest(["sh", "-c", "exit 4"], subprotocol: .v4))
        #expect(transcript.status?.contains("command terminated with non-zero exit code: error executing command [sh -c exit 4], exit code 4") == true)
    }

    @Test func oneMebibyteOfStdinComesBackIntact() async throws {
        var generator = SystemRandomNumberGenerator()
        let input = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let transcript = try await run(makeRequest(["cat"], stdin: true), stdin: input)
        #expect(transcript.stdout.count == input.count)
        let intact = transcript.stdout == input
        #expect(intact)
        #expect(transcript.status == #"{"metadata":{},"status":"Success"}"#)
    }

    /// The CLOSE signal arrives while input still waits in the pipe's queue; none of it may be dropped.
    @Test func stdinQueuedBehindASlowReaderSurvivesTheCloseSignal() async throws {
        let input = [UInt8](repeating: 0x61, count: 1 << 20)
        let transcript = try await run(makeRequest(["sh", "-c", "sleep 0.2; wc -c"], stdin: true), stdin: input)
        #expect(String(decoding: transcript.stdout, as: UTF8.self).trimmingSpaces == "1048576")
    }

    @Test func largeOutputStreamsCompletely() async throws {
        let size = 64 << 20
        let server = try await TestExecServer(request: makeRequest(["head", "-c", String(size), "/dev/zero"]))
        defer { Task { await server.close() } }
        let client = try TestExecClient(port: server.port)
        client.retainStdoutLimit = 0
        let transcript = try client.finish(seconds: 120)
        #expect(transcript.stdoutByteCount == size)
        #expect(transcript.status == #"{"metadata":{},"status":"Success"}"#)
    }

    @Test func closingEarlyKillsAndReapsTheProcessGroup() async throws {
        // The shell prints its pid and that of a child in the same group, then waits.
        let server = try await TestExecServer(
            request: makeRequest(["sh", "-c", "sleep 30 & echo $$ $!; wait"]))
        defer { Task { await server.close() } }
        let client = try TestExecClient(port: server.port)
        try client.pump(seconds: 10) { String(decoding: $0.stdout, as: UTF8.self).hasSuffix("\n") }
        let pids = String(decoding: client.transcript.stdout, as: UTF8.self)
            .split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { pid_t($0) }
        #expect(pids.count == 2)
        client.sendFrame(opcode: 8, payload: [3, 232])
        _ = try client.finish()
        for pid in pids {
            #expect(processIsGone(pid, within: 10), "pid \(pid) still exists")
        }
        #expect(server.registry.activeCount == 0 || waitUntil(seconds: 5) { server.registry.activeCount == 0 })
    }

    @Test func deletingThePodKillsTheProcessAndReports137() async throws {
        let server = try await TestExecServer(request: makeRequest(["sh", "-c", "echo started; exec sleep 30"]))
        defer { Task { await server.close() } }
        let client = try TestExecClient(port: server.port)
        try client.pump(seconds: 10) { !$0.stdout.isEmpty }
        server.registry.terminateSessions(cluster: "cluster-1", namespace: "sample", pod: "sleep-1")
        let transcript = try client.finish()
        #expect(transcript.status?.contains(#""message":"137""#) == true)
    }

    @Test func unmaskedClientFrameGetsProtocolErrorClose() async throws {
        let server = try await TestExecServer(request: makeRequest(["sleep", "30"], stdin: true))
        defer { Task { await server.close() } }
        let client = try TestExecClient(port: server.port)
        client.sendFrame(opcode: 2, payload: [0, 65], masked: false)
        let transcript = try client.finish()
        #expect(transcript.closeCode == 1002)
        #expect(transcript.status == nil)
    }

    @Test func breakFaultDropsTheConnectionMidStream() async throws {
        let server = try await TestExecServer(request: makeRequest(["head", "-c", "100000", "/dev/zero"]))
        defer { Task { await server.close() } }
        server.faults.set(RuntimeFaults(allClustersExecStreamFault: .breakAfter(bytes: 1000)))
        let client = try TestExecClient(port: server.port)
        let transcript = try client.finish()
        #expect(transcript.stdoutByteCount == 1000)
        #expect(transcript.status == nil)
        #expect(transcript.closeCode == nil)
    }
}

func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = monotonicSeconds() + seconds
    while monotonicSeconds() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

@Suite struct ExecStallTests {
    @Test func stallFaultHoldsTheStreamUntilTheClientLeaves() async throws {
        let server = try await TestExecServer(request: makeRequest(["sh", "-c", "echo $$; exec yes"]))
        defer { Task { await server.close() } }
        server.faults.set(RuntimeFaults(execStreamFaults: ["cluster-1": .stallAfter(bytes: 4096)]))
        let client = try TestExecClient(port: server.port)
        try client.pump(seconds: 10) { $0.stdoutByteCount >= 4096 }
        let pid = String(decoding: client.transcript.stdout.prefix(while: { $0 != 10 }), as: UTF8.self)
        // Nothing more arrives while stalled; the wait ends on the deadline, which is the expected outcome.
        #expect(throws: TestError.self) { try client.pump(seconds: 0.5) { $0.stdoutByteCount > 4096 || $0.sawEOF } }
        #expect(client.transcript.stdoutByteCount == 4096)
        #expect(client.transcript.status == nil)
        client.sendFrame(opcode: 8, payload: [3, 232])
        _ = try client.finish()
        let processID = try #require(pid_t(pid))
        #expect(processIsGone(processID, within: 10))
    }
}

extension String {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " || $0 == "\n" }).reversed().drop(while: { $0 == " " || $0 == "\n" }).reversed())
    }
}

@Suite struct ExecStdinBackpressureTests {
    /// The process exits without reading while the client is still sending: the session must still read
    /// the client's close frame and end (not sit paused behind a dead pipe until the close wait expires).
    @Test func exitWithUnreadStdinStillCompletesTheCloseHandshake() async throws {
        let server = try await TestExecServer(
            request: makeRequest(["sh", "-c", "sleep 0.2; exit 5"], stdin: true),
            settings: ExecServerSettings(closeWait: .seconds(60)))
        defer { Task { await server.close() } }
        let client = try TestExecClient(port: server.port)
        for _ in 0..<64 { client.send(channel: 0, [UInt8](repeating: 7, count: 32 * 1024)) }
        let transcript = try client.finish(seconds: 30)
        #expect(transcript.status?.contains(#""message":"5""#) == true)
        #expect(transcript.closeCode == 1000)
        #expect(waitUntil(seconds: 10) { server.registry.activeCount == 0 })
    }
}

@Suite struct ExecConcurrencyTests {
    static let sessionCount = 200
    /// 200 sessions alive at once (the simulator's acceptance figure), each then fed and finished in turn.
    /// Each session's process starts while the other connections are open, so this also checks that no
    /// process inherits (and holds open) another session's connection.
    @Test func twoHundredConcurrentSessions() async throws {
        let server = try await TestExecServer(request: makeRequest(["cat"], stdin: true))
        defer { Task { await server.close() } }
        var clients: [TestExecClient] = []
        for _ in 0..<Self.sessionCount {
            let client = try TestExecClient(port: server.port)
            try client.pump(seconds: 10) { $0.firstFrame != nil }
            clients.append(client)
        }
        #expect(waitUntil(seconds: 10) { server.registry.activeCount == Self.sessionCount })
        for (index, client) in clients.enumerated() {
            client.send(channel: 0, Array("session \(index)\n".utf8))
            client.sendFrame(opcode: 2, payload: [0xFF, 0])
        }
        var intact = 0
        for (index, client) in clients.enumerated() {
            let transcript = try client.finish()
            if String(decoding: transcript.stdout, as: UTF8.self) == "session \(index)\n"
                && transcript.status == #"{"metadata":{},"status":"Success"}"#
            {
                intact += 1
            } else if index == 0 {
                Issue.record(
                    "session 0 got stdout \(String(decoding: transcript.stdout, as: UTF8.self).debugDescription) status \(transcript.status ?? "none")")
            }
        }
        #expect(intact == Self.sessionCount)
        #expect(waitUntil(seconds: 10) { server.registry.activeCount == 0 })
    }
}
