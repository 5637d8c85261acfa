// Envoy's outlier detection for one upstream cluster of one sidecar (`outbound|port|subset|host`), as Istio
// configures it (split_external_local_origin_errors false, so a locally originated connect failure, refusal
// or timeout counts as a 503 from the host). A host is ejected the moment its consecutive-error count reaches
// the threshold, unless `maxEjectionPercent` of the cluster's hosts are ejected already (one ejection is always
// allowed); an ejection lasts baseEjectionTime × (times ejected), and the host returns only at the first
// `interval` tick after that; each tick also lowers the multiplier of hosts that stayed healthy. Pure: the time
// is passed in, so tests drive it with a fake clock.

import Synchronization

/// What one attempt to a host came back with.
package enum UpstreamOutcome: Equatable, Sendable {
    case response(status: Int)
    /// Connect refused, failed or timed out, or reset before any response: local origin.
    case localFailure
}

/// The outlier state of the hosts of one upstream cluster.
package struct OutlierDetector: Sendable {
    struct HostState: Sendable {
        var consecutive5xx = 0
        var consecutiveGateway = 0
        var ejectedAt: ContinuousClock.Instant?
        /// Times ejected, less the intervals since spent healthy: the ejection-time multiplier.
        var ejections = 0
    }

    package var rule: OutlierDetectionRule
    private var hosts: [String: HostState] = [:]
    private var nextTick: ContinuousClock.Instant

    package init(rule: OutlierDetectionRule, now: ContinuousClock.Instant) {
        self.rule = rule
        self.nextTick = now + Self.positive(rule.interval)
    }

    /// Hosts currently ejected.
    package var ejected: Set<String> { Set(hosts.filter { $0.value.ejectedAt != nil }.keys) }

    package func isEjected(_ host: String) -> Bool { hosts[host]?.ejectedAt != nil }

    /// How many times `host` has been ejected, less healthy intervals since (Envoy's ejection multiplier).
    package func ejectionMultiplier(_ host: String) -> Int { hosts[host]?.ejections ?? 0 }

    /// Counts one attempt's outcome. `hostCount` is the number of hosts the cluster has now. Returns true when
    /// this outcome ejected the host.
    @discardableResult
    package mutating func record(
        _ outcome: UpstreamOutcome, host: String, hostCount: Int, now: ContinuousClock.Instant
    ) -> Bool {
        advance(to: now)
        var state = hosts[host] ?? HostState()
        let status: Int
        switch outcome {
        case .response(let code): status = code
        case .localFailure: status = 503
        }
        var tripped = false
        if (500...599).contains(status) {
            if [502, 503, 504].contains(status) {
                state.consecutiveGateway += 1
                if rule.consecutiveGatewayErrors > 0, state.consecutiveGateway == rule.consecutiveGatewayErrors { tripped = true }
            } else {
                state.consecutiveGateway = 0
            }
            state.consecutive5xx += 1
            if rule.consecutive5xxErrors > 0, state.consecutive5xx == rule.consecutive5xxErrors { tripped = true }
        } else {
            state.consecutive5xx = 0
            state.consecutiveGateway = 0
        }
        var ejectedNow = false
        if tripped {
            // Envoy resets the counters whether or not the ejection is allowed.
            state.consecutive5xx = 0
            state.consecutiveGateway = 0
            if state.ejectedAt == nil, mayEject(hostCount: hostCount) {
                state.ejectedAt = now
                state.ejections += 1
                ejectedNow = true
            }
        }
        hosts[host] = state
        return ejectedNow
    }

    /// Below `maxEjectionPercent` of the cluster's hosts ejected, or none ejected at all.
    private func mayEject(hostCount: Int) -> Bool {
        let ejectedCount = hosts.values.filter { $0.ejectedAt != nil }.count
        guard ejectedCount > 0 else { return true }
        return 100 * ejectedCount < rule.maxEjectionPercent * max(hostCount, 1)
    }

    /// Runs the interval ticks due by `now`: ejections that have lasted baseEjectionTime × multiplier end, and
    /// hosts that stayed in lose one from their multiplier.
    package mutating func advance(to now: ContinuousClock.Instant) {
        let interval = Self.positive(rule.interval)
        // Bounded: after enough ticks nothing changes any more (every multiplier is 0 and nothing is ejected),
        // so the remaining ticks are skipped in one step.
        var ticks = 0
        while nextTick <= now, ticks < 10_000 {
            tick(at: nextTick)
            nextTick += interval
            ticks += 1
        }
        if nextTick <= now {
            let behind = (now - nextTick) / interval
            nextTick += interval * Int(behind.rounded(.down)) + interval
        }
    }

    private mutating func tick(at instant: ContinuousClock.Instant) {
        for (host, var state) in hosts {
            if let ejectedAt = state.ejectedAt {
                if instant - ejectedAt >= rule.baseEjectionTime * state.ejections { state.ejectedAt = nil }
            } else if state.ejections > 0 {
                state.ejections -= 1
            }
            hosts[host] = state
        }
    }

    /// Forgets hosts no longer in the cluster.
    package mutating func retain(_ present: Set<String>) {
        hosts = hosts.filter { present.contains($0.key) }
    }

    private static func positive(_ duration: Duration) -> Duration { duration > .zero ? duration : .milliseconds(1) }
}

/// One sidecar's outlier detectors, by upstream cluster (`outbound|port|subset|host`); hosts by
/// `LeastRequestBalancer.key` (`cluster/pod`). A detector starts when its cluster first gets traffic with an
/// outlierDetection policy and starts over when the policy changes.
package final class OutlierRegistry: Sendable {
    private let detectors = Mutex<[String: OutlierDetector]>([:])
    private let now: @Sendable () -> ContinuousClock.Instant

    package init(now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.now = now
    }

    /// Which of `hosts` are not ejected; all of them without a policy.
    package func healthy(cluster: String, rule: OutlierDetectionRule?, hosts: [String]) -> [Bool] {
        guard let rule else { return hosts.map { _ in true } }
        let instant = now()
        return detectors.withLock { detectors in
            var detector = Self.detector(detectors[cluster], rule: rule, now: instant)
            detector.advance(to: instant)
            detector.retain(Set(hosts))
            detectors[cluster] = detector
            return hosts.map { !detector.isEjected($0) }
        }
    }

    /// Counts an attempt's outcome against `host` of `cluster`, which has `hostCount` hosts.
    package func record(_ outcome: UpstreamOutcome, cluster: String, rule: OutlierDetectionRule?, host: String, hostCount: Int) {
        guard let rule else { return }
        let instant = now()
        detectors.withLock { detectors in
            var detector = Self.detector(detectors[cluster], rule: rule, now: instant)
            detector.record(outcome, host: host, hostCount: hostCount, now: instant)
            detectors[cluster] = detector
        }
    }

    /// Ejected hosts by cluster, as of now.
    package func ejected() -> [String: Set<String>] {
        let instant = now()
        return detectors.withLock { detectors in
            var result: [String: Set<String>] = [:]
            for (cluster, var detector) in detectors {
                detector.advance(to: instant)
                detectors[cluster] = detector
                if !detector.ejected.isEmpty { result[cluster] = detector.ejected }
            }
            return result
        }
    }

    private static func detector(_ existing: OutlierDetector?, rule: OutlierDetectionRule, now: ContinuousClock.Instant) -> OutlierDetector {
        if let existing, existing.rule == rule { return existing }
        return OutlierDetector(rule: rule, now: now)
    }
}
