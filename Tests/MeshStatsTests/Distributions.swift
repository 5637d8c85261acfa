import Foundation
import MeshStats

/// Latency-like random data for accuracy tests, in integer microseconds.
enum Distribution: String, CaseIterable, CustomStringConvertible {
    case uniform, logNormal, bimodal, heavyTailed

    var description: String { rawValue }

    /// One value drawn with `generator`.
    func draw(_ generator: inout SeededGenerator) -> UInt64 {
        switch self {
        case .uniform:
            return 1 + generator.next() % 2_000_000
        case .logNormal:
            // median 20 ms, σ = 1 (in log space).
            return UInt64(exp(log(20_000.0) + standardNormal(&generator))).clampedToHour
        case .bimodal:
            // 90 % fast (≈ 2 ms), 10 % slow cross-cluster (≈ 150 ms).
            let slow = generator.nextUnitInterval() < 0.1
            let centre = slow ? 150_000.0 : 2_000.0
            return UInt64(Swift.max(1, centre * (1 + 0.2 * standardNormal(&generator))))
        case .heavyTailed:
            // Pareto, scale 500 µs, shape 1.2: a tail reaching seconds to an hour.
            let u = 1 - generator.nextUnitInterval()
            return UInt64(500 * pow(u, -1 / 1.2)).clampedToHour
        }
    }

    func sample(count: Int, seed: UInt64) -> [UInt64] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in draw(&generator) }
    }
}

/// Box–Muller.
func standardNormal(_ generator: inout SeededGenerator) -> Double {
    let u1 = 1 - generator.nextUnitInterval()
    let u2 = generator.nextUnitInterval()
    return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
}

extension UInt64 {
    var clampedToHour: UInt64 { Swift.min(Swift.max(self, 1), 3_600_000_000) }
}

/// The exact nearest-rank percentile of sorted data.
func exactPercentile(_ sorted: [UInt64], _ percentile: Double) -> UInt64 {
    let rank = LatencyHistogram.nearestRank(percentile: percentile, count: UInt64(sorted.count))
    return sorted[Int(rank) - 1]
}

let percentileGrid: [Double] = [0, 0.1, 1, 5, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 99.999, 100]
