// A VirtualService route's `fault` (Istio's HTTPFaultInjection), applied by the client sidecar's fault filter
// before the router picks an upstream: first the delay, then the abort, each to its percentage of requests. An
// aborted request never reaches an upstream, so outlier detection does not see it. Pure: draws take the random
// source as a parameter.

/// `fault.delay` or `fault.abort`'s share of requests.
package struct FaultPercentage: Equatable, Sendable {
    /// 0–100; fractions allowed (`percentage.value`).
    package var percent: Double

    package init(percent: Double) {
        self.percent = min(max(percent, 0), 100)
    }

    /// True for about `percent` % of draws.
    package func applies<Generator: RandomNumberGenerator>(using generator: inout Generator) -> Bool {
        guard percent > 0 else { return false }
        guard percent < 100 else { return true }
        return Double.random(in: 0..<100, using: &generator) < percent
    }
}

package struct HTTPFaultRule: Equatable, Sendable {
    package struct Abort: Equatable, Sendable {
        package var httpStatus: Int
        package var percentage: FaultPercentage

        package init(httpStatus: Int, percentage: FaultPercentage) {
            self.httpStatus = httpStatus
            self.percentage = percentage
        }
    }

    package struct Delay: Equatable, Sendable {
        package var fixedDelay: Duration
        package var percentage: FaultPercentage

        package init(fixedDelay: Duration, percentage: FaultPercentage) {
            self.fixedDelay = fixedDelay
            self.percentage = percentage
        }
    }

    package var abort: Abort?
    package var delay: Delay?

    package init(abort: Abort? = nil, delay: Delay? = nil) {
        self.abort = abort
        self.delay = delay
    }

    /// Envoy's fault filter's answer body for an abort.
    package static let abortBody = "fault filter abort"

    /// What the filter does to one request: how long it holds it, and the status it aborts it with (nil: the
    /// request goes on to the router).
    package func draw<Generator: RandomNumberGenerator>(using generator: inout Generator) -> (delay: Duration, abortStatus: Int?) {
        var held = Duration.zero
        if let delay, delay.percentage.applies(using: &generator) { held = delay.fixedDelay }
        var status: Int?
        if let abort, abort.percentage.applies(using: &generator) { status = abort.httpStatus }
        return (held, status)
    }
}

/// Istio's duration strings (`1s`, `500ms`, `1m`, `1.5s`, `2h`, `100us`): a decimal number and a unit.
package enum IstioDuration {
    package static func parse(_ text: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("ns", 1e-9), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, seconds) in units where text.hasSuffix(suffix) {
            guard let value = Double(text.dropLast(suffix.count)), value >= 0, value.isFinite else { return nil }
            return .nanoseconds(Int64((value * seconds * 1e9).rounded()))
        }
        return nil
    }
}
