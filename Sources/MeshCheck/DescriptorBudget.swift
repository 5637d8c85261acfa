// Open-file limits. Every concurrent burst holds an exec connection open for its whole duration, and with
// `--simulate` the simulated mesh in the same process holds the server end, the in-pod process's pipes and
// the sidecar's connections too: a thousand concurrent bursts need several thousand descriptors, while
// many machines start processes with a soft limit of 1024. Like Go programs (kubectl and other client-go
// tools raise the soft limit to the hard limit at start since Go 1.19), meshcheck raises its own.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

package enum DescriptorBudget {
    /// Descriptors one concurrent burst holds in meshcheck: the exec connection.
    static let perSession = 2
    /// With the simulated mesh in-process, it adds the API server's end, the in-pod process's stdout and
    /// stderr pipes and, per request in flight, the curl→sidecar and sidecar→HelloWorld connections.
    static let perSimulatedSession = 8
    /// Files, listeners, API connections and libraries that do not grow with the bursts.
    static let baseline = 256

    /// Descriptors a run with this scenario needs at its peak (the measured bursts, all lanes at once).
    package static func required(for scenario: Scenario, simulated: Bool) -> Int {
        let clientPods = scenario.clusters.filter(\.clients).reduce(0) { $0 + $1.sleepReplicas }
        let sessions = clientPods * max(1, scenario.load.concurrentBurstsPerClientPod)
        return baseline + sessions * (simulated ? perSimulatedSession : perSession)
    }

    /// What to tell the user when `limit` is below what the run needs; nil when it suffices.
    package static func shortfall(for scenario: Scenario, simulated: Bool, limit: UInt64) -> String? {
        let needed = required(for: scenario, simulated: simulated)
        guard limit < UInt64(needed) else { return nil }
        let clientPods = scenario.clusters.filter(\.clients).reduce(0) { $0 + $1.sleepReplicas }
        return "the open-file limit is \(limit) but \(clientPods) client pods × \(scenario.load.concurrentBurstsPerClientPod) "
            + "concurrent bursts need about \(needed) descriptors; exec connections beyond the limit will fail — raise the "
            + "hard limit (`ulimit -Hn`, systemd LimitNOFILE, the container runtime's nofile) or lower concurrentBurstsPerClientPod"
    }

    /// Raises the soft RLIMIT_NOFILE to the hard limit (on macOS at most OPEN_MAX) and returns the soft
    /// limit in effect afterwards.
    @discardableResult
    package static func raiseSoftLimit() -> UInt64 {
        var limits = rlimit()
        guard getrlimit(resourceNoFile, &limits) == 0 else { return 0 }
        var target = limits.rlim_max
        #if canImport(Darwin)
            target = min(target, rlim_t(OPEN_MAX))
        #endif
        if target > limits.rlim_cur {
            var raised = limits
            raised.rlim_cur = target
            if setrlimit(resourceNoFile, &raised) == 0 { limits = raised }
        }
        return UInt64(limits.rlim_cur)
    }

    #if canImport(Glibc)
        private static let resourceNoFile = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
        private static let resourceNoFile = RLIMIT_NOFILE
    #endif
}
