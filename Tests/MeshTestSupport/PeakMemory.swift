import Foundation

/// Peak resident memory, for memory ceilings in tests (a ceiling is not a speed assertion).
package enum PeakMemory {
    /// The largest peak resident set of any child this process has waited for (getrusage RUSAGE_CHILDREN), in
    /// bytes: an upper bound for the peak of the child a test just ran.
    package static var ofWaitedChildren: Int {
        var usage = rusage()
        guard getrusage(RUSAGE_CHILDREN.rawValue, &usage) == 0 else { return 0 }
        return Int(usage.ru_maxrss) * 1024 // kilobytes on Linux
    }

    /// This process's own peak resident set (VmHWM in /proc/self/status), in bytes; nil where /proc is missing.
    package static var ofThisProcess: Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kilobytes = line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
            return kilobytes.map { $0 * 1024 }
        }
        return nil
    }
}
