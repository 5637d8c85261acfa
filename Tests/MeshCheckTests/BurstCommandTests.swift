import Foundation
import MeshStats
import MeshTestSupport
import Testing

@testable import MeshCheck

/// One output line of the in-pod command, checked field by field against Contract 1 (docs/ARCHITECTURE.md).
enum ContractLine: Equatable {
    case record(
        burst: Int, worker: Int, seq: Int, status: String, curlExit: Int, connect: String, ttfb: String, total: String,
        version: String, instance: String)
    case begin(burst: Int, worker: Int)
    case end(burst: Int, worker: Int, count: Int)
    case late(burst: Int, worker: Int, lateStarts: Int, maxLagMicroseconds: Int)

    /// nil when the line breaks the contract.
    init?(_ line: Substring) {
        let fields = line.split(separator: " ", omittingEmptySubsequences: false)
        func unsigned(_ field: Substring) -> Int? {
            field.isEmpty || !field.allSatisfy({ $0.isASCII && $0.isNumber }) ? nil : Int(field)
        }
        func seconds(_ field: Substring) -> Bool {
            let parts = field.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count <= 2, let whole = parts.first, unsigned(whole) != nil else { return false }
            return parts.count == 1 || (parts[1].count <= 6 && unsigned(parts[1]) != nil)
        }
        func token(_ field: Substring) -> Bool {
            field == "-"
                || (!field.isEmpty && field.utf8.count <= 253
                    && field.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)) })
        }
        switch fields.first {
        case "MC1":
            guard fields.count == 11, let burst = unsigned(fields[1]), let worker = unsigned(fields[2]), let seq = unsigned(fields[3]),
                fields[4].count == 3, unsigned(fields[4]) != nil, let exit = unsigned(fields[5]),
                seconds(fields[6]), seconds(fields[7]), seconds(fields[8]), token(fields[9]), token(fields[10])
            else { return nil }
            self = .record(
                burst: burst, worker: worker, seq: seq, status: String(fields[4]), curlExit: exit, connect: String(fields[6]),
                ttfb: String(fields[7]), total: String(fields[8]), version: String(fields[9]), instance: String(fields[10]))
        case "MC1-BEGIN":
            guard fields.count == 3, let burst = unsigned(fields[1]), let worker = unsigned(fields[2]) else { return nil }
            self = .begin(burst: burst, worker: worker)
        case "MC1-END":
            guard fields.count == 4, let burst = unsigned(fields[1]), let worker = unsigned(fields[2]), let count = unsigned(fields[3]) else { return nil }
            self = .end(burst: burst, worker: worker, count: count)
        case "MC1-LATE":
            guard fields.count == 5, let burst = unsigned(fields[1]), let worker = unsigned(fields[2]), let late = unsigned(fields[3]),
                let lag = unsigned(fields[4])
            else { return nil }
            self = .late(burst: burst, worker: worker, lateStarts: late, maxLagMicroseconds: lag)
        default:
            return nil
        }
    }
}

/// Shells available here to run the script with (dash is Debian's /bin/sh; busybox when installed).
enum TestShell: String, CaseIterable, CustomStringConvertible {
    case dash, busybox

    var description: String { rawValue }

    var command: [String]? {
        switch self {
        case .dash: return FileManager.default.isExecutableFile(atPath: "/usr/bin/dash") ? ["/usr/bin/dash"] : nil
        case .busybox:
            for path in ["/usr/bin/busybox", "/bin/busybox"] where FileManager.default.isExecutableFile(atPath: path) {
                return [path, "sh"]
            }
            return nil
        }
    }
}

/// The reuse engine's two readers of curl's output: awk where the pod has it, the sh loop where it has not. The sh
/// reader runs with a PATH holding only curl, sleep and date (links into a temporary directory).
enum ReuseReader: String, CaseIterable, CustomStringConvertible {
    case awk, sh

    var description: String { rawValue }

    /// The directory to use as the whole PATH for this reader (hold it while the burst runs); nil keeps the usual PATH.
    func pathDirectory() throws -> TemporaryDirectory? {
        guard self == .sh else { return nil }
        let directory = try TemporaryDirectory(prefix: "meshcheck-noawk")
        for tool in ["curl", "sleep", "date"] {
            guard let found = ["/usr/bin/", "/bin/"].map({ $0 + tool }).first(where: FileManager.default.isExecutableFile(atPath:)) else {
                throw POSIXError(.ENOENT)
            }
            try FileManager.default.createSymbolicLink(atPath: directory.path + "/" + tool, withDestinationPath: found)
        }
        return directory
    }
}

struct BurstRun {
    var lines: [ContractLine]
    var brokenLines: [String]
    var exitStatus: Int32

    var records: [ContractLine] { lines.filter { if case .record = $0 { return true } else { return false } } }
}

/// Runs the command's argv (with `shell` in place of /bin/sh) under a 60 s `timeout`, collects stdout.
/// `path` replaces the whole PATH (to take curl away); `pathPrefix` goes in front of the usual one.
func runBurst(_ command: BurstCommand, shell: [String], pathPrefix: String? = nil, path: String? = nil) throws -> BurstRun {
    let argv = try command.argv(shell: shell)
    // The sidecar's proxy is what `http_proxy` means in the simulated mesh; here requests go direct.
    let result = try ChildProcess.run(
        argv[0], Array(argv.dropFirst()),
        environment: ["PATH": path ?? ((pathPrefix.map { $0 + ":" } ?? "") + "/usr/local/bin:/usr/bin:/bin")],
        timeout: .processGroup(60))
    let text = result.stdoutText
    var lines: [ContractLine] = []
    var broken: [String] = []
    #expect(text.isEmpty || text.hasSuffix("\n"), "output must end with a newline")
    for line in text.split(separator: "\n") {
        if let parsed = ContractLine(line) { lines.append(parsed) } else { broken.append(String(line)) }
    }
    return BurstRun(lines: lines, brokenLines: broken, exitStatus: result.status)
}

@Suite struct BurstCommandTests {
    func command(
        port: Int, path: String = "/hello", burst: Int = 0, requests: Int, workers: Int = 1, interval: Int = 0,
        threshold: Int = 0, requestTimeout: Duration = .seconds(5), reuse: Bool = false
    ) -> BurstCommand {
        BurstCommand(
            target: BurstTarget(host: "127.0.0.1", port: port, path: path), burst: burst, requests: requests, workers: workers,
            intervalMicroseconds: interval, lateThresholdMicroseconds: threshold, connectTimeout: .seconds(2),
            requestTimeout: requestTimeout, connectionReuse: reuse)
    }

    @Test func argvPassesParametersAfterAConstantScript() throws {
        var load = LoadSettings(requestsPerBurst: 20)
        let sequential = try BurstCommand(target: .helloWorld(namespace: "meshcheck-ab12cd"), burst: 3, load: load).argv()
        #expect(
            sequential == [
                "/bin/sh", "-c", BurstCommand.script, "meshcheck", "http://helloworld.meshcheck-ab12cd:5000/hello",
                "3", "20", "1", "0", "0", "5", "10", "fresh", "-",
            ])
        load.mode = .paced(ratePerSecond: 50, parallelism: 2)
        load.requestTimeout = .milliseconds(2500)
        load.connectTimeout = .milliseconds(250)
        let paced = BurstCommand(target: .helloWorld(namespace: "ns"), burst: 0, load: load)
        #expect(paced.intervalMicroseconds == 40_000)
        #expect(paced.lateThresholdMicroseconds == 4_000)
        #expect(Array(try paced.argv().suffix(7)) == ["2", "40000", "4000", "0.25", "2.5", "fresh", "-"])
        load.connectionReuse = true
        let reusing = BurstCommand(target: .helloWorld(namespace: "ns"), burst: 0, load: load)
        let argv = try reusing.argv()
        #expect(argv[argv.count - 2] == "reuse")
        #expect(argv.last == reusing.transferMarker && reusing.transferMarker.count == 24)
        #expect(reusing.transferMarker != BurstCommand(target: .helloWorld(namespace: "ns"), burst: 0, load: load).transferMarker)
        // Nothing run-specific is spliced into the program text.
        for program in [BurstCommand.script, BurstCommand.reuseScript] {
            #expect(!program.contains("helloworld"))
            #expect(!program.contains("meshcheck-"))
        }
        // Each exec carries only its engine's program (a thousand concurrent execs each hold theirs, URL-encoded).
        #expect(argv[2] == BurstCommand.reuseScript && !BurstCommand.script.contains("awk"))
        #expect(!BurstCommand.reuseScript.contains("date +%s%N"))
    }

    @Test func workersShareRequestsEvenly() {
        let burst = command(port: 1, requests: 10, workers: 4)
        #expect((0..<4).map(burst.requests(ofWorker:)) == [3, 3, 2, 2])
        #expect((0..<4).map(burst.requests(ofWorker:)).reduce(0, +) == 10)
        let wide = BurstCommand(
            target: .helloWorld(namespace: "ns"), burst: 0,
            load: LoadSettings(requestsPerBurst: 3, mode: .parallelInPod(parallelism: 8)))
        #expect(wide.workers == 3)
    }

    @Test func invalidCommandsAreRefused() {
        #expect(throws: BurstCommandError.self) { try command(port: 1, path: "/hello;id", requests: 1).argv() }
        #expect(throws: BurstCommandError.self) { try command(port: 0, requests: 1).argv() }
        #expect(throws: BurstCommandError.self) { try command(port: 1, requests: 0).argv() }
        #expect(throws: BurstCommandError.self) { try command(port: 1, requests: 2, workers: 3).argv() }
        var bad = command(port: 1, requests: 1)
        bad.target.host = "$(reboot)"
        #expect(throws: BurstCommandError.self) { try bad.argv() }
        #expect(BurstTarget(host: "10.0.0.1", port: 80, path: "/").problem == nil)
        #expect(BurstTarget(host: "Host_Name", port: 80, path: "/").problem != nil)
    }

    @Test func reuseNeedsASafeMarkerAndWholeMillisecondPacing() throws {
        var reusing = command(port: 1, requests: 2, reuse: true)
        _ = try reusing.argv()
        for marker in ["short", "has space in it", "percent%{urlnum}", "ünïcödeletters", String(repeating: "a", count: 65)] {
            reusing.transferMarker = marker
            #expect(throws: BurstCommandError.self) { try reusing.argv() }
        }
        reusing.transferMarker = "abcdefgh"
        reusing.intervalMicroseconds = 1500
        #expect(throws: BurstCommandError.self) { try reusing.argv() }
        // curl's --rate counts whole milliseconds: 5000/s over 8 workers (1.6 ms) becomes 2 ms; without reuse it stays exact.
        #expect(LoadSettings.pacingInterval(rate: 5000, workers: 8, connectionReuse: true) == 2000)
        #expect(LoadSettings.pacingInterval(rate: 5000, workers: 8, connectionReuse: false) == 1600)
        #expect(LoadSettings.pacingInterval(rate: 5000, workers: 10, connectionReuse: true) == 2000)
        #expect(LoadSettings.pacingInterval(rate: 100_000, workers: 1, connectionReuse: true) == 1000)
    }

    @Test func curlTimeoutsAreDecimalSeconds() {
        #expect(BurstCommand.seconds(.seconds(10)) == "10")
        #expect(BurstCommand.seconds(.milliseconds(250)) == "0.25")
        #expect(BurstCommand.seconds(.milliseconds(1005)) == "1.005")
        #expect(BurstCommand.seconds(.microseconds(10)) == "0.001")
    }

    // MARK: - The script, run for real

    @Test(arguments: TestShell.allCases)
    func sequentialBurstPrintsOneRecordPerRequest(shell: TestShell) throws {
        let shellCommand = try #require(shell.command, "\(shell) is needed to test the in-pod script (apt-get install -y \(shell))")
        let server = try LoopbackHelloWorld()
        defer { server.stop() }
        let run = try runBurst(command(port: server.port, burst: 7, requests: 5), shell: shellCommand)
        #expect(run.brokenLines.isEmpty)
        #expect(run.exitStatus == 0)
        #expect(run.lines.first == .begin(burst: 7, worker: 0))
        #expect(run.lines.last == .end(burst: 7, worker: 0, count: 5))
        #expect(run.records.count == 5)
        for (index, record) in run.records.enumerated() {
            guard case .record(let burst, let worker, let seq, let status, let exit, _, _, _, let version, let instance) = record else { continue }
            #expect(burst == 7 && worker == 0 && seq == index)
            #expect(status == "200" && exit == 0)
            #expect(version == "v1" && instance == "helloworld-v1-776f57d5f6-s7zfc")
        }
    }

    @Test(arguments: TestShell.allCases)
    func parallelWorkersStayAttributable(shell: TestShell) throws {
        let shellCommand = try #require(shell.command, "\(shell) is needed to test the in-pod script (apt-get install -y \(shell))")
        let server = try LoopbackHelloWorld()
        defer { server.stop() }
        let run = try runBurst(command(port: server.port, burst: 2, requests: 10, workers: 4), shell: shellCommand)
        #expect(run.brokenLines.isEmpty)
        for worker in 0..<4 {
            let expected = [3, 3, 2, 2][worker]
            let mine = run.records.compactMap { line -> Int? in
                if case .record(_, worker, let seq, "200", 0, _, _, _, "v1", _) = line { return seq }
                return nil
            }
            #expect(mine == Array(0..<expected))
            let begin = run.lines.firstIndex(of: .begin(burst: 2, worker: worker))
            let end = run.lines.firstIndex(of: .end(burst: 2, worker: worker, count: expected))
            #expect(begin != nil && end != nil && begin! < end!)
        }
        #expect(run.records.count == 10)
    }

    @Test(arguments: TestShell.allCases)
    func failuresStillPrintWellFormedRecords(shell: TestShell) throws {
        let shellCommand = try #require(shell.command, "\(shell) is needed to test the in-pod script (apt-get install -y \(shell))")
        let refused = try runBurst(command(port: try refusedLoopbackPort(), requests: 2), shell: shellCommand)
        #expect(refused.brokenLines.isEmpty)
        #expect(refused.records.count == 2)
        for record in refused.records {
            guard case .record(_, _, _, let status, let exit, _, _, _, let version, let instance) = record else { continue }
            #expect(status == "000" && exit == 7 && version == "-" && instance == "-")
        }

        let server = try LoopbackHelloWorld()
        defer { server.stop() }
        let busy = try runBurst(command(port: server.port, path: "/busy", requests: 1), shell: shellCommand)
        #expect(busy.brokenLines.isEmpty)
        guard case .record(_, _, _, "503", 0, _, _, _, "-", "-")? = busy.records.first else {
            Issue.record("503 without a HelloWorld body: \(busy.lines)")
            return
        }
        let timedOut = try runBurst(command(port: server.port, path: "/slow", requests: 1, requestTimeout: .milliseconds(100)), shell: shellCommand)
        #expect(timedOut.brokenLines.isEmpty)
        guard case .record(_, _, _, "000", 28, _, _, _, "-", "-")? = timedOut.records.first else {
            Issue.record("a request over --max-time: \(timedOut.lines)")
            return
        }
    }

    @Test(arguments: TestShell.allCases)
    func bodyTokensAreSanitized(shell: TestShell) throws {
        let shellCommand = try #require(shell.command, "\(shell) is needed to test the in-pod script (apt-get install -y \(shell))")
        let server = try LoopbackHelloWorld()
        defer { server.stop() }
        let run = try runBurst(command(port: server.port, path: "/odd", requests: 1), shell: shellCommand)
        #expect(run.brokenLines.isEmpty)
        guard case .record(_, _, _, "200", 0, _, _, _, let version, let instance)? = run.records.first else {
            Issue.record("no record: \(run.lines)")
            return
        }
        #expect(version == "v2-rm--rf")
        // The é is one character in a UTF-8 locale and two bytes in C: either way only '-' remain.
        #expect(instance.hasPrefix("pod-with-spaces-") && instance.allSatisfy { $0 == "-" || $0.isLetter || $0.isNumber })
    }

    @Test(arguments: TestShell.allCases)
    func pacedBurstCountsLateStarts(shell: TestShell) throws {
        let shellCommand = try #require(shell.command, "\(shell) is needed to test the in-pod script (apt-get install -y \(shell))")
        let server = try LoopbackHelloWorld()
        defer { server.stop() }
        // Each response takes 300 ms but starts are due every 50 ms: every start after the first is late.
        let run = try runBurst(command(port: server.port, path: "/slow", requests: 3, interval: 50_000, threshold: 5_000), shell: shellCommand)
        #expect(run.brokenLines.isEmpty)
        #expect(run.records.count == 3)
        let late = run.lines.compactMap { line -> (Int, Int)? in
            if case .late(0, 0, let starts, let lag) = line { return (starts, lag) }
            return nil
        }
        #expect(late.count == 1)
        // Starts 2 and 3 come ≥ 250 ms late; the first may also count on a busy machine (its due time is
        // the script's start), so only the lower bound is exact.
        #expect((2...3).contains(late.first?.0 ?? 0))
        #expect((late.first?.1 ?? 0) >= 200_000)
        #expect(run.lines.last == .end(burst: 0, worker: 0, count: 3))
        if let lateIndex = run.lines.firstIndex(where: { if case .late = $0 { return true } else { return false } }) {
            #expect(lateIndex == run.lines.count - 2)
        }
    }

    /// A pod whose `date` has no nanoseconds (some busybox builds print a literal `N` or nothing for %N): pacing falls back
    /// to a virtual clock advanced by curl's own timings, and slow responses still count as late starts.
    @Test(arguments: ["1700000000N", "1700000000"])
    func pacingWithoutANanosecondClockStillCountsLateStarts(dateOutput: String) throws {
        let shellCommand = try #require(TestShell.dash.command)
        let fakeBin = try TemporaryDirectory(prefix: "meshcheck-nodate")
        defer { withExtendedLifetime(fakeBin) {} }
        try fakeBin.write("date", "#!/bin/sh\necho \(dateOutput)\n", executable: true)
        let server = try LoopbackHelloWorld()
        defer { server.stop() }
        let run = try runBurst(
            command(port: server.port, path: "/slow", requests: 3, interval: 50_000, threshold: 5_000),
            shell: shellCommand, pathPrefix: fakeBin.path)
        #expect(run.brokenLines.isEmpty)
        #expect(run.records.count == 3)
        let late = run.lines.compactMap { line -> Int? in
            if case .late(0, 0, let starts, _) = line { return starts }
            return nil
        }
        #expect(late == [2])
    }

    @Test func contractCheckerRejectsBrokenLines() {
        #expect(ContractLine("MC1 0 0 0 200 0 0.1 0.2 0.3 v1 pod-a") != nil)
        #expect(ContractLine("MC1 0 0 0 200 0 0.1 0.2 0.3 v1") == nil)
        #expect(ContractLine("MC1 0 0 0 20 0 0.1 0.2 0.3 v1 pod") == nil)
        #expect(ContractLine("MC1 0 0 0 200 0 0.1234567 0.2 0.3 v1 pod") == nil)
        #expect(ContractLine("MC1 0 0 0 200 0 0.1 0.2 0.3 v1 po;d") == nil)
        #expect(ContractLine("MC1-END 0 0") == nil)
    }

    // MARK: - The reuse engine, run for real

    @Test(arguments: TestShell.allCases, ReuseReader.allCases)
    func reuseRunsEveryRequestOfAWorkerOverOneConnection(shell: TestShell, reader: ReuseReader) throws {
        let shellCommand = try #require(shell.command, "\(shell) is needed to test the in-pod script (apt-get install -y \(shell))")
        let noAwk = try reader.pathDirectory()
        defer { withExtendedLifetime(noAwk) {} }
        let searchPath = noAwk?.path
        let server = try LoopbackHelloWorld()
        defer { server.stop() }
        let run = try runBurst(command(port: server.port, burst: 4, requests: 50, reuse: true), shell: shellCommand, path: searchPath)
        #expect(run.brokenLines.isEmpty)
        #expect(run.exitStatus == 0)
        #expect(run.lines.first == .begin(burst: 4, worker: 0))
        #expect(run.lines.last == .end(burst: 4, worker: 0, count: 50))
        #expect(run.records.count == 50)
        #expect(server.acceptedConnections == 1)
        for (index, record) in run.records.enumerated() {
            guard case .record(4, 0, let seq, let status, let exit, let connect, _, _, let version, let instance) = record else {
                Issue.record("not a record of burst 4, worker 0: \(record)")
                continue
            }
            #expect(seq == index && status == "200" && exit == 0)
            #expect(version == "v1" && instance == "helloworld-v1-776f57d5f6-s7zfc")
            // curl reports no connect time for a transfer over the connection it already has.
            if index > 0 { #expect(connect == "0.000000") } else { #expect(connect != "0.000000") }
        }
    }

    @Test(arguments: TestShell.allCases, ReuseReader.allCases)
    func reuseWorkersStayAttributable(shell: TestShell, reader: ReuseReader) throws {
        let shellCommand = try #require(shell.command, "\(shell) is needed to test the in-pod script (apt-get install -y \(shell))")
        let noAwk = try reader.pathDirectory()
        defer { withExtendedLifetime(noAwk) {} }
        let searchPath = noAwk?.path
        let server = try LoopbackHelloWorld()
        defer { server.stop() }
        let run = try runBurst(command(port: server.port, burst: 2, requests: 10, workers: 4, reuse: true), shell: shellCommand, path: searchPath)
        #expect(run.brokenLines.isEmpty)
        #expect(run.records.count == 10)
        #expect(server.acceptedConnections == 4)
        for worker in 0..<4 {
            let expected = [3, 3, 2, 2][worker]
            let mine = run.records.compactMap { line -> Int? in
                if case .record(2, worker, let seq, "200", 0, _, _, _, "v1", _) = line { return seq }
                return nil
            }
            #expect(mine == Array(0..<expected))
            let begin = run.lines.firstIndex(of: .begin(burst: 2, worker: worker))
            let end = run.lines.firstIndex(of: .end(burst: 2, worker: worker, count: expected))
            #expect(begin != nil && end != nil && begin! < end!)
        }
    }

    @Test(arguments: TestShell.allCases, ReuseReader.allCases)
    func reuseFailuresPrintTheSameRecordsAsFresh(shell: TestShell, reader: ReuseReader) throws {
        let shellCommand = try #require(shell.command, "\(shell) is needed to test the in-pod script (apt-get install -y \(shell))")
        let noAwk = try reader.pathDirectory()
        defer { withExtendedLifetime(noAwk) {} }
        let searchPath = noAwk?.path
        let refusedPort = try refusedLoopbackPort()
        let server = try LoopbackHelloWorld()
        defer { server.stop() }
        for reuse in [false, true] {
            let refused = try runBurst(command(port: refusedPort, requests: 2, reuse: reuse), shell: shellCommand, path: searchPath)
            #expect(refused.brokenLines.isEmpty)
            #expect(refused.records.map(Self.outcome) == ["000 7 - -", "000 7 - -"], "reuse: \(reuse)")
            let busy = try runBurst(command(port: server.port, path: "/busy", requests: 2, reuse: reuse), shell: shellCommand, path: searchPath)
            #expect(busy.records.map(Self.outcome) == ["503 0 - -", "503 0 - -"], "reuse: \(reuse)")
            let slow = try runBurst(
                command(port: server.port, path: "/slow", requests: 1, requestTimeout: .milliseconds(100), reuse: reuse), shell: shellCommand, path: searchPath)
            #expect(slow.records.map(Self.outcome) == ["000 28 - -"], "reuse: \(reuse)")
            // No curl at all: every request is still accounted for, with the shell's "not found".
            let noCurl = try runBurst(command(port: server.port, requests: 3, workers: 2, reuse: reuse), shell: shellCommand, path: "/nonexistent")
            #expect(noCurl.brokenLines.isEmpty)
            #expect(noCurl.records.map(Self.outcome) == Array(repeating: "000 127 - -", count: 3), "reuse: \(reuse)")
            #expect(noCurl.lines.filter { if case .end = $0 { return true } else { return false } }.count == 2)
        }
    }

    /// Bodies that imitate record lines, curl's per-transfer lines (with a wrong marker), shell syntax and curl's
    /// `-w` variables; a body without a final newline; a body written one byte at a time. Each answer yields exactly
    /// one record with the version and instance of its first HelloWorld line, with both engines.
    @Test(arguments: TestShell.allCases, ReuseReader.allCases)
    func hostileAndSplitBodiesYieldOneRecordEach(shell: TestShell, reader: ReuseReader) throws {
        let shellCommand = try #require(shell.command, "\(shell) is needed to test the in-pod script (apt-get install -y \(shell))")
        let noAwk = try reader.pathDirectory()
        defer { withExtendedLifetime(noAwk) {} }
        let searchPath = noAwk?.path
        let server = try LoopbackHelloWorld()
        defer { server.stop() }
        let cases: [(path: String, outcome: String)] = [
            ("/hostile", "200 0 v1 helloworld-v1-776f57d5f6-s7zfc"), ("/unterminated", "200 0 v3 pod-without-newline"),
            ("/trickle", "200 0 v1 helloworld-v1-776f57d5f6-s7zfc"),
        ]
        for reuse in [false, true] {
            for (path, outcome) in cases {
                let run = try runBurst(command(port: server.port, path: path, requests: 3, reuse: reuse), shell: shellCommand, path: searchPath)
                #expect(run.brokenLines.isEmpty, "\(path), reuse: \(reuse)")
                #expect(run.records.map(Self.outcome) == Array(repeating: outcome, count: 3), "\(path), reuse: \(reuse)")
                #expect(run.lines.last == .end(burst: 0, worker: 0, count: 3), "\(path), reuse: \(reuse)")
            }
        }
    }

    /// curl's --rate starts a transfer once the interval has passed since the previous start; a 300 ms answer with
    /// starts due every 50 ms makes every start after the first late by the model the reader applies.
    @Test(arguments: TestShell.allCases, ReuseReader.allCases)
    func reusePacedBurstCountsLateStarts(shell: TestShell, reader: ReuseReader) throws {
        let shellCommand = try #require(shell.command, "\(shell) is needed to test the in-pod script (apt-get install -y \(shell))")
        let noAwk = try reader.pathDirectory()
        defer { withExtendedLifetime(noAwk) {} }
        let searchPath = noAwk?.path
        let server = try LoopbackHelloWorld()
        defer { server.stop() }
        let run = try runBurst(
            command(port: server.port, path: "/slow", requests: 3, interval: 50_000, threshold: 5_000, reuse: true), shell: shellCommand, path: searchPath)
        #expect(run.brokenLines.isEmpty)
        #expect(run.records.count == 3)
        let late = run.lines.compactMap { line -> (Int, Int)? in
            if case .late(0, 0, let starts, let lag) = line { return (starts, lag) }
            return nil
        }
        #expect(late.count == 1)
        #expect(late.first?.0 == 2)
        #expect((late.first?.1 ?? 0) >= 500_000)
        #expect(run.lines.last == .end(burst: 0, worker: 0, count: 3))
        #expect(server.acceptedConnections == 1)
    }

    /// The reuse engine's real output, fed to meshcheck's record parser whole and split at every byte: the same
    /// samples and framing events, none malformed.
    @Test func reuseOutputParsesTheSameAtEverySplit() throws {
        let shellCommand = try #require(TestShell.dash.command)
        let server = try LoopbackHelloWorld()
        defer { server.stop() }
        let argv = try command(port: server.port, path: "/hostile", requests: 6, workers: 2, reuse: true).argv(shell: shellCommand)
        let result = try ChildProcess.run(
            argv[0], Array(argv.dropFirst()), environment: ["PATH": "/usr/local/bin:/usr/bin:/bin"], timeout: .processGroup(60))
        let bytes = Array(result.stdoutText.utf8)
        func parse(splitAt cut: Int?) -> [RecordEvent] {
            var parser = RecordStreamParser()
            var names = NameTable()
            var sink = RecordEventCollector()
            if let cut {
                parser.feed(Array(bytes[..<cut]), names: &names, into: &sink)
                parser.feed(Array(bytes[cut...]), names: &names, into: &sink)
            } else {
                for byte in bytes { parser.feed([byte], names: &names, into: &sink) }
            }
            parser.finish(into: &sink)
            return sink.events
        }
        let whole = parse(splitAt: bytes.count)
        #expect(whole.filter { if case .sample = $0 { return true } else { return false } }.count == 6)
        #expect(!whole.contains { if case .malformed = $0 { return true } else { return false } })
        #expect(parse(splitAt: nil) == whole)
        for cut in 0...bytes.count { #expect(parse(splitAt: cut) == whole) }
    }

    /// `status curlExit version instance` of a record line.
    static func outcome(_ line: ContractLine) -> String {
        guard case .record(_, _, _, let status, let exit, _, _, _, let version, let instance) = line else { return "not a record" }
        return "\(status) \(exit) \(version) \(instance)"
    }
}
