// The run's timeline: microseconds from the start of the load, on meshcheck's monotonic clock. Records are placed on
// it when they arrive (minus their in-pod duration), and disruptions when their API calls complete, so the failover
// figures compare times read from one clock.

package struct LoadClock: Sendable {
    package let origin: ContinuousClock.Instant

    package init(origin: ContinuousClock.Instant = .now) {
        self.origin = origin
    }

    /// Microseconds from the origin to `instant` (negative before it).
    package func micros(at instant: ContinuousClock.Instant) -> Int64 {
        (instant - origin).wholeMicroseconds
    }

    package func nowMicros() -> Int64 { micros(at: .now) }

    /// Milliseconds from the origin to now, as reports state disruption times.
    package func nowMilliseconds() -> Int64 { nowMicros() / 1000 }
}
