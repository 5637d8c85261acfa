// API-server faults that the Kubernetes API cannot express: throttling, server errors and dropped connections
// for a fraction of requests. Decisions use a seeded generator so a fault rate is reproducible per run.

import NIOConcurrencyHelpers

package struct APIFaults: Sendable, Equatable, Codable {
    /// Fraction of requests answered 429 TooManyRequests with Retry-After.
    package var throttleFraction: Double = 0
    package var retryAfterSeconds: Int = 1
    /// Fraction of requests answered 503 ServiceUnavailable (or 500 when `serverErrorCode` says so).
    package var serverErrorFraction: Double = 0
    package var serverErrorCode: Int = 503
    /// Fraction of requests whose connection is closed without an answer.
    package var dropFraction: Double = 0

    package init() {}

    package static let none = APIFaults()

    enum Decision: Equatable { case serve, throttle, serverError, drop }

    /// Maps a uniform sample in [0, 1) to an outcome; the fractions are checked in a fixed order.
    func decide(sample: Double) -> Decision {
        var bound = dropFraction
        if sample < bound { return .drop }
        bound += throttleFraction
        if sample < bound { return .throttle }
        bound += serverErrorFraction
        if sample < bound { return .serverError }
        return .serve
    }
}

/// Shared, mutable fault settings of one cluster's API server.
final class APIFaultState: Sendable {
    private let state: NIOLockedValueBox<(faults: APIFaults, random: UInt64)>

    init(seed: UInt64) { state = NIOLockedValueBox((APIFaults.none, seed | 1)) }

    var faults: APIFaults {
        get { state.withLockedValue { $0.faults } }
        set { state.withLockedValue { $0.faults = newValue } }
    }

    func decide() -> (APIFaults.Decision, APIFaults) {
        state.withLockedValue { value in
            if value.faults == .none { return (.serve, value.faults) }
            value.random ^= value.random >> 12
            value.random ^= value.random << 25
            value.random ^= value.random >> 27
            let sample = Double((value.random &* 2_685_821_657_736_338_717) >> 11) / Double(1 << 53)
            return (value.faults.decide(sample: sample), value.faults)
        }
    }
}
