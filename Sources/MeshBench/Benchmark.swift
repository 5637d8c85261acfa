import Foundation  // String(format:), exit

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
        case seconds = "s"

        /// Whether larger figures are better (throughput) rather than worse (time).
        var isThroughput: Bool { self == .megabytesPerSecond }
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

/// The best (smallest) duration in seconds of `body` over `rounds` runs. The machine is shared, so
/// the minimum is the figure least disturbed by other load; ours and the baseline are alternated by
/// the callers so both see the same conditions.
func bestSeconds(rounds: Int, _ body: () -> Void) -> Double {
    let clock = ContinuousClock()
    var best = Double.infinity
    for _ in 0..<rounds {
        let elapsed = clock.measure(body)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        best = min(best, seconds)
    }
    return best
}

/// Keeps a value alive so the optimiser cannot drop the work that produced it.
@inline(never)
func consume<T>(_ value: T) {
    withExtendedLifetime(value) {}
}
