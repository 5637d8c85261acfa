import Foundation
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

struct BurstRun {
    var lines: [ContractLine]
    var brokenLines: [String]
    var exitStatus: Int32

    var records: [ContractLine] { lines.filter { if case .record = $0 { return true } else { return false } } }
}

/// Runs the command's argv (with `shell` in place of /bin/sh) under a 60 s `timeout`, collects stdout.
func runBurst(_ command: BurstCommand, shell: [String], pathPrefix: String? = nil) throws -> BurstRun {
    let argv = try command.argv(shell: shell)
    // The sidecar's proxy is what `http_proxy` means in the simulated mesh; here requests go direct.
    let result = try ChildProcess.run(
        argv[0], Array(argv.dropFirst()),
        environment: ["PATH": (pathPrefix.map { $0 + ":" } ?? "") + "/usr/local/bin:/usr/bin:/bin"],
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
        threshold: Int = 0, requestTimeout: Duration = .seconds(5)
    ) -> BurstCommand {
        BurstCommand(
            target: BurstTarget(host: "127.0.0.1", port: port, path: path), burst: burst, requests: requests, workers: workers,
            intervalMicroseconds: interval, lateThresholdMicroseconds: threshold, connectTimeout: .seconds(2),
            requestTimeout: requestTimeout)
    }

    @Test func argvPassesParametersAfterAConstantScript() throws {
        var load = LoadSettings(requestsPerBurst: 20)
        let sequential = try BurstCommand(target: .helloWorld(namespace: "meshcheck-ab12cd"), burst: 3, load: load).argv()
        #expect(
            sequential == [
                "/bin/sh", "-c", BurstCommand.script, "meshcheck", "http://helloworld.meshcheck-ab12cd:5000/hello",
                "3", "20", "1", "0", "0", "5", "10",
            ])
        load.mode = .paced(ratePerSecond: 50, parallelism: 2)
        load.requestTimeout = .milliseconds(2500)
        load.connectTimeout = .milliseconds(250)
        let paced = BurstCommand(target: .helloWorld(namespace: "ns"), burst: 0, load: load)
        #expect(paced.intervalMicroseconds == 40_000)
        #expect(paced.lateThresholdMicroseconds == 4_000)
        #expect(Array(try paced.argv().suffix(5)) == ["2", "40000", "4000", "0.25", "2.5"])
        // Nothing run-specific is spliced into the program text.
        #expect(!BurstCommand.script.contains("helloworld"))
        #expect(!BurstCommand.script.contains("meshcheck-"))
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
}
