import Foundation // String(format:), exit, clock_gettime

/// One named comparison of our implementation against a baseline.
struct Benchmark: Sendable {
    /// The kebab-case name printed after `BENCH`.
    let name: String
    /// Measures both sides and returns the figures.
    let run: @Sendable () -> Comparison
}

/// The outcome of a benchmark: our figure and the baseline's, in one unit.
struct Comparison {
    enum Unit: String {
        case nanosecondsPerValue = "ns/value"
        case microsecondsPerMerge = "us/merge"
        case nanosecondsPerQuery = "ns/query"
        case megabytesPerSecond = "MB/s"
        case megabytes = "MB"
        case microsecondsPerRequest = "us/request"
        case requestsPerSecond = "req/s"
        case seconds = "s"
        case requestsPerCPUSecond = "req/cpu-s"

        /// Whether larger figures are better (throughput) rather than worse (time).
        var isThroughput: Bool { self == .megabytesPerSecond || self == .requestsPerCPUSecond || self == .requestsPerSecond }
    }

    let name: String
    let ours: Double
    let baseline: Double
    let unit: Unit

    /// How many times faster we are (see the top of main.swift).
    var speedup: Double { unit.isThroughput ? ours / baseline : baseline / ours }

    var line: String {
        "BENCH \(name) ours=\(Self.format(ours)) baseline=\(Self.format(baseline)) unit=\(unit.rawValue) "
            + "ratio=\(String(format: "%.2f", speedup))"
    }

    private static func format(_ value: Double) -> String {
        String(format: value >= 100 ? "%.0f" : value >= 10 ? "%.1f" : "%.3f", value)
    }
}

/// The best (smallest) CPU time in seconds that the calling thread spent running `body`, over
/// `rounds` runs. Every body measured this way is single-threaded work on the calling thread
/// (parsing, recording, counting), so its thread CPU time is its cost; unlike wall time it leaves
/// out the time the thread waited while other processes ran on the shared machine's two cores.
/// The minimum is the figure least disturbed by what remains (caches, frequency); ours and the
/// baseline are alternated by the callers so both see the same conditions.
func bestSeconds(rounds: Int, _ body: () -> Void) -> Double {
    var best = Double.infinity
    for _ in 0..<rounds {
        let start = threadCPUNanoseconds()
        body()
        best = min(best, Double(threadCPUNanoseconds() - start) * 1e-9)
    }
    return best
}

/// CPU time in nanoseconds that the calling thread has run so far.
func threadCPUNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// CPU seconds (user + system) used so far by this process (`RUSAGE_SELF`) or by its waited-for children
/// (`RUSAGE_CHILDREN`).
func cpuSeconds(_ who: __rusage_who) -> Double {
    var usage = rusage()
    getrusage(who.rawValue, &usage)
    return cpuSeconds(usage)
}

/// Keeps a value alive so the optimiser cannot drop the work that produced it.
@inline(never)
func consume<T>(_ value: T) {
    withExtendedLifetime(value) {}
}
