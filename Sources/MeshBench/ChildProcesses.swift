import Foundation

// Child processes of the benchmarks: kubectl as the baseline, and this binary again for our side of a
// memory comparison (so the simulated mesh in this process is not counted).

/// Starts `path` with stdin, stdout and stderr on /dev/null; nil when it cannot be started.
func spawnDiscardingOutput(_ path: String, _ arguments: [String]) -> pid_t? {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    defer { for argument in argv { free(argument) } }
    var pid: pid_t = 0
    let result = posix_spawn(&pid, path, &actions, nil, argv, environ)
    return result == 0 ? pid : nil
}

/// Waits for `pid` and returns its exit code, or nil when it was killed by a signal or not our child.
func exitStatus(of pid: pid_t) -> Int32? {
    var status: Int32 = 0
    guard waitpid(pid, &status, 0) == pid, status & 0x7F == 0 else { return nil }
    return (status >> 8) & 0xFF
}

/// Runs this binary with `arguments` (a child mode of MeshBench) and returns what it printed; stops
/// the benchmark when the child fails.
func runChild(_ arguments: [String], benchmark: String) -> String {
    let child = Process()
    child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
    child.arguments = arguments
    let output = Pipe()
    child.standardOutput = output
    do { try child.run() } catch { fatalError("\(benchmark): cannot start the client process: \(error)") }
    let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    child.waitUntilExit()
    guard child.terminationStatus == 0 else { fatalError("\(benchmark): client process failed: \(printed)") }
    return printed
}

/// Runs every command at once, each under `/usr/bin/time -f format`, starting all before waiting for
/// any so they really run concurrently. `time` reports the command's own peak RSS and CPU: a child
/// spawned straight from this (large) process would carry our peak into its ru_maxrss. Returns how
/// many exited 0 and, for each command that left a report, the numbers of its last line.
func timedConcurrently(_ commands: [[String]], format: String) -> (succeeded: Int, reports: [[Double]]) {
    let reports = commands.indices.map { NSTemporaryDirectory() + "meshbench-time-\(getpid())-\($0)" }
    let pids = zip(commands, reports).compactMap { command, report in
        spawnDiscardingOutput("/usr/bin/time", ["-f", format, "-o", report] + command)
    }
    let succeeded = pids.filter { exitStatus(of: $0) == 0 }.count
    let fields = format.split(separator: " ").count
    let numbers = reports.compactMap { report -> [Double]? in
        defer { try? FileManager.default.removeItem(atPath: report) }
        let last = (try? String(contentsOfFile: report, encoding: .utf8))?.split(separator: "\n").last ?? ""
        let values = last.split(separator: " ").compactMap { Double($0) }
        return values.count == fields ? values : nil
    }
    return (succeeded, numbers)
}

/// Peak resident memory of this process in KiB (VmHWM).
func peakResidentKiB() -> Int {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }
    return 0
}

/// User plus system CPU seconds of an rusage.
func cpuSeconds(_ usage: rusage) -> Double {
    Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}
