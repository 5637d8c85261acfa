// The failover time a scale-to-zero must show when outlier detection is what moves the traffic: derived from the
// ejection settings, the retries, the pacing and the window width, so an end-to-end run can check the reported
// figure against the simulator's known behaviour (from the records, not from a stopwatch). Pure.
//
// Derivation. The disrupted cluster is the source's local priority (locality in effect), its E endpoints stay listed
// while their pods are gone, and every attempt to one of them fails with a 5xx (503, a gateway error).
// 1. Envoy ejects a host on its k-th consecutive 5xx (`consecutive5xxErrors`/`consecutiveGatewayErrors`, the smaller),
//    at once, not at the next `interval` sweep; while any host of the local priority is not ejected, every attempt
//    goes to the local priority. A request makes `a` attempts (1 + Istio's default 2 retries), each to a host not yet
//    tried, so ejecting all E hosts takes exactly E·k failed attempts: n = ⌈E·k / a⌉ requests. The attempts of the
//    n-th request that find every local host ejected go to the next priority and succeed.
// 2. One sidecar's requests come from W workers, each started every q µs (the pacing interval) at an unknown phase.
//    Any interval of length T holds at most W·(⌊T/q⌋ + 1) and at least W·⌊T/q⌋ starts, so the n-th start after the
//    effect begins at t lies in [t + (⌈n/W⌉ − 1)·q, t + ⌈n/W⌉·q].
// 3. Requests that start before the last ejection completes also fail: at most `requestSpan` µs (the time from a
//    request's start to its last attempt, retry back-off included) after the n-th start.
// 4. The effect begins `effectDelay` after the action was applied (pods may stop a little before or after the API
//    call that scaled them returns).
// 5. The figure is window-grained: failover is the start of the window after the one holding the last failing start,
//    so the reported seconds lie in [start(window(lo)) + w, start(window(hi)) + w] − applied, lo and hi the earliest
//    and latest last failing starts.
// 6. When the disrupted endpoints leave the sidecar's endpoint list (`endpointRemoval` after the action: the pods
//    are gone and the change propagated), nothing is sent to them any more: the last failing start is then the
//    earlier of the ejection's and the removal's.
// Two conditions make the prediction nil. Envoy ejects a host only while the ejected hosts are below
// `maxEjectionPercent` of the cluster's hosts (all priorities), one more at least ("allow one additional ejection past
// the maximum ... matches Envoy proxy behavior", grpc/grpc-java#9489): at most max(1, ⌈total·pct/100⌉) hosts, so more
// disrupted endpoints than that never all leave by ejection (only by removal). And the ejection lasts
// `baseEjectionTime`: when the restore comes later than that after the ejection, the hosts return (still dead), fail k
// more times and the "every window clean until the restore" condition moves past the re-probe.

package enum FailoverWindow {
    package struct Parameters: Sendable, Equatable {
        /// k: consecutive 5xx answers that eject a host.
        package var consecutiveErrors: Int
        /// a: attempts per request (1 + retries).
        package var attemptsPerRequest: Int
        /// E: endpoints of the disrupted clusters one sidecar balances over.
        package var endpoints: Int
        /// W: in-pod workers of one source pod, sharing its sidecar.
        package var workers: Int
        /// q: µs between one worker's scheduled starts (`LoadSettings.pacingIntervalMicroseconds`).
        package var workerIntervalMicros: Int64
        /// w: the timeline's window width in µs.
        package var windowMicros: Int64
        /// How long after a request's start its last attempt may happen.
        package var requestSpanMicros: Int64
        /// From the action's completion to the endpoints failing (may start below 0).
        package var effectDelayMicros: ClosedRange<Int64>
        package var baseEjectionTimeMicros: Int64
        /// Hosts of the whole cluster (every priority) for the ejection cap; nil = not capped.
        package var totalEndpoints: Int?
        package var maxEjectionPercent: Int
        /// From the action's completion to the disrupted endpoints leaving the sidecar's list; nil = they stay.
        package var endpointRemovalMicros: ClosedRange<Int64>?

        package init(
            consecutiveErrors: Int, attemptsPerRequest: Int, endpoints: Int, workers: Int, workerIntervalMicros: Int64, windowMicros: Int64,
            requestSpanMicros: Int64 = 0, effectDelayMicros: ClosedRange<Int64> = 0...0,
            baseEjectionTimeMicros: Int64 = OutlierDetectionSettings.defaultBaseEjectionTime.wholeMicroseconds, totalEndpoints: Int? = nil,
            maxEjectionPercent: Int = OutlierDetectionSettings.defaultMaxEjectionPercent, endpointRemovalMicros: ClosedRange<Int64>? = nil
        ) {
            self.totalEndpoints = totalEndpoints
            self.maxEjectionPercent = maxEjectionPercent
            self.endpointRemovalMicros = endpointRemovalMicros
            self.consecutiveErrors = consecutiveErrors
            self.attemptsPerRequest = attemptsPerRequest
            self.endpoints = endpoints
            self.workers = workers
            self.workerIntervalMicros = workerIntervalMicros
            self.windowMicros = windowMicros
            self.requestSpanMicros = requestSpanMicros
            self.effectDelayMicros = effectDelayMicros
            self.baseEjectionTimeMicros = baseEjectionTimeMicros
        }

        /// The parameters of a paced scenario with Istio's default retries (2 per request): k from the outlier
        /// detection settings (Istio's default 5 when neither count is set); nil when the load is not paced.
        package init?(
            outlierDetection: OutlierDetectionSettings, load: LoadSettings, timeline: TimelineSettings, endpoints: Int, totalEndpoints: Int? = nil,
            retries: Int = 2, requestSpanMicros: Int64 = 0, effectDelayMicros: ClosedRange<Int64> = 0...0,
            endpointRemovalMicros: ClosedRange<Int64>? = nil
        ) {
            guard let interval = load.pacingIntervalMicroseconds else { return nil }
            let counts = [outlierDetection.consecutive5xxErrors, outlierDetection.consecutiveGatewayErrors].compactMap { $0 }
            self.init(
                consecutiveErrors: counts.min() ?? OutlierDetectionSettings.defaultConsecutive5xxErrors, attemptsPerRequest: 1 + retries,
                endpoints: endpoints, workers: load.workersPerBurst, workerIntervalMicros: Int64(interval),
                windowMicros: timeline.window.wholeMicroseconds, requestSpanMicros: requestSpanMicros,
                effectDelayMicros: effectDelayMicros,
                baseEjectionTimeMicros: (outlierDetection.baseEjectionTime ?? OutlierDetectionSettings.defaultBaseEjectionTime).wholeMicroseconds,
                totalEndpoints: totalEndpoints,
                maxEjectionPercent: outlierDetection.maxEjectionPercent ?? OutlierDetectionSettings.defaultMaxEjectionPercent,
                endpointRemovalMicros: endpointRemovalMicros)
        }

        /// n: requests that fail before every disrupted endpoint is ejected.
        package var failingRequests: Int {
            let attempts = max(1, endpoints) * max(1, consecutiveErrors)
            return (attempts + max(1, attemptsPerRequest) - 1) / max(1, attemptsPerRequest)
        }

        /// Whether Envoy's ejection cap lets every disrupted endpoint be ejected.
        package var ejectsAll: Bool {
            guard let totalEndpoints, totalEndpoints > 0 else { return true }
            let cap = min(totalEndpoints, max(1, (totalEndpoints * max(0, maxEjectionPercent) + 99) / 100))
            return endpoints <= cap
        }
    }

    /// The range the reported `failoverSeconds` must fall in for an action applied at `appliedAtMicros` and restored
    /// at `restoredAtMicros` (nil = not restored), on the run's timeline; nil when ejected hosts would return and fail
    /// again before the restore (see the derivation above).
    package static func expected(appliedAtMicros: Int64, restoredAtMicros: Int64?, _ parameters: Parameters) -> ClosedRange<Double>? {
        let requests = parameters.failingRequests
        let workers = Int64(max(1, parameters.workers))
        let rounds = (Int64(requests) + workers - 1) / workers
        let interval = max(1, parameters.workerIntervalMicros)
        var earliestLast = appliedAtMicros + parameters.effectDelayMicros.lowerBound + (rounds - 1) * interval
        var latestLast = appliedAtMicros + parameters.effectDelayMicros.upperBound + rounds * interval + parameters.requestSpanMicros
        var reprobed = restoredAtMicros.map { $0 > latestLast + parameters.baseEjectionTimeMicros } ?? false
        if !parameters.ejectsAll {
            // Only the removal ends the failures.
            guard let removal = parameters.endpointRemovalMicros else { return nil }
            (earliestLast, latestLast, reprobed) = (appliedAtMicros + removal.lowerBound - interval, appliedAtMicros + removal.upperBound, false)
        } else if let removal = parameters.endpointRemovalMicros {
            earliestLast = min(earliestLast, appliedAtMicros + removal.lowerBound - interval)
            // Removed before the ejected hosts could return: no re-probe.
            if appliedAtMicros + removal.upperBound < latestLast + parameters.baseEjectionTimeMicros { reprobed = false }
            latestLast = min(latestLast, appliedAtMicros + removal.upperBound)
        }
        if reprobed { return nil }
        let width = max(1, parameters.windowMicros)
        func failover(_ lastFailingStart: Int64) -> Double {
            let window = (max(lastFailingStart, 0) / width + 1) * width
            return Double(max(0, window - appliedAtMicros)) / 1_000_000
        }
        // A removal before the first request after the effect leaves no failing request: the action's window is clean.
        let lower = earliestLast < appliedAtMicros + parameters.effectDelayMicros.lowerBound ? 0 : failover(earliestLast)
        return lower...max(lower, failover(latestLast))
    }
}
