import Foundation // log, exp, pow; not a hot path

/// A confidence interval for a share (a proportion in [0, 1]).
public struct ShareInterval: Sendable, Equatable {
    /// The observed share k / n.
    public var share: Double
    /// The interval's lower end.
    public var lower: Double
    /// The interval's upper end.
    public var upper: Double

    /// The Wilson score interval for `successes` of `trials` at two-sided `confidence`
    /// (0.95 by default, z = 1.959964). Stays inside [0, 1] and behaves at 0 and n, unlike the
    /// normal (Wald) interval. With no trials the interval is the whole [0, 1].
    public static func wilson(successes: UInt64, trials: UInt64, confidence: Double = 0.95) -> ShareInterval {
        precondition(successes <= trials, "successes cannot exceed trials")
        precondition(confidence > 0 && confidence < 1, "confidence must be in (0, 1)")
        guard trials > 0 else { return ShareInterval(share: 0, lower: 0, upper: 1) }
        let z = SpecialFunctions.normalQuantile(1 - (1 - confidence) / 2)
        let n = Double(trials)
        let p = Double(successes) / n
        let z2 = z * z
        let scale = 1 + z2 / n
        let centre = (p + z2 / (2 * n)) / scale
        let half = z * (p * (1 - p) / n + z2 / (4 * n * n)).squareRoot() / scale
        return ShareInterval(share: p, lower: Swift.max(0, centre - half), upper: Swift.min(1, centre + half))
    }
}

/// How a goodness-of-fit p-value was obtained.
public enum GoodnessOfFitMethod: String, Sendable, Equatable {
    /// Pearson's chi-square with categories − 1 degrees of freedom (every expected count ≥ 5).
    case chiSquare = "chi-square"
    /// Exact two-sided binomial test (two categories, an expected count < 5).
    case exactBinomial = "exact binomial"
    /// Exact multinomial test over every possible outcome (small n, an expected count < 5).
    case exactMultinomial = "exact multinomial"
    /// Seeded Monte-Carlo estimate of the chi-square statistic's null distribution (too many
    /// outcomes to enumerate, an expected count < 5).
    case monteCarlo = "Monte-Carlo multinomial"
}

/// The result of testing observed counts against an expected split.
public struct GoodnessOfFit: Sendable, Equatable {
    /// The method used (see ``test(observed:expectedShares:monteCarloSamples:seed:)``).
    public var method: GoodnessOfFitMethod
    /// Pearson's X² = Σ (oᵢ − n·eᵢ)² / (n·eᵢ) over categories with a non-zero expected share.
    public var statistic: Double
    /// Categories with a non-zero expected share, minus one.
    public var degreesOfFreedom: Int
    /// The probability, if the expected split were true, of an outcome at least as extreme.
    public var pValue: Double
    /// The total count n.
    public var total: UInt64

    /// Tests `observed` counts against `expectedShares` (non-negative, normalised here).
    ///
    /// Uses Pearson's chi-square when every expected count n·eᵢ ≥ 5; otherwise an exact test:
    /// the two-sided binomial test for two categories, the exact multinomial test (summing the
    /// probabilities of all outcomes no more likely than the observed one) when there are at most
    /// 200 000 possible outcomes, else a Monte-Carlo multinomial test of X² with
    /// `monteCarloSamples` draws from a generator seeded with `seed` (reproducible; p-value
    /// (1 + #{X²ₛᵢₘ ≥ X²}) / (1 + samples)); above 10⁷ simulated requests in all, fewer samples
    /// are drawn, but at least 1000. A count in a category of expected share 0 makes the
    /// split impossible: p-value 0.
    public static func test(
        observed: [UInt64], expectedShares: [Double], monteCarloSamples: Int = 20_000, seed: UInt64 = 0x6D65_7368
    ) -> GoodnessOfFit {
        precondition(observed.count == expectedShares.count && observed.count >= 2, "need two or more categories")
        precondition(expectedShares.allSatisfy { $0 >= 0 } && expectedShares.contains { $0 > 0 }, "shares must be ≥ 0, not all 0")
        let shareSum = expectedShares.reduce(0, +)
        let total = observed.reduce(0, +)
        let n = Double(total)
        var counts: [UInt64] = []
        var shares: [Double] = []
        var impossible = false
        for (count, share) in zip(observed, expectedShares) {
            if share > 0 {
                counts.append(count)
                shares.append(share / shareSum)
            } else if count > 0 {
                impossible = true
            }
        }
        let df = Swift.max(counts.count - 1, 1)
        let statistic = pearsonStatistic(counts, shares)
        func result(_ method: GoodnessOfFitMethod, _ p: Double) -> GoodnessOfFit {
            GoodnessOfFit(method: method, statistic: statistic, degreesOfFreedom: df, pValue: Swift.min(1, Swift.max(0, p)), total: total)
        }
        if impossible { return result(.chiSquare, 0) }
        if counts.count < 2 || total == 0 { return result(.chiSquare, 1) }
        if shares.allSatisfy({ n * $0 >= 5 }) {
            return result(.chiSquare, SpecialFunctions.chiSquareUpperTail(statistic, degreesOfFreedom: df))
        }
        if counts.count == 2 {
            return result(.exactBinomial, BalanceTests.binomialTwoSidedPValue(successes: counts[0], trials: total, share: shares[0]))
        }
        if outcomeCount(total: total, categories: counts.count, limit: 200_000) <= 200_000 {
            return result(.exactMultinomial, exactMultinomialPValue(counts, shares))
        }
        // Each sample draws n requests one by one: past 10⁷ draws in all, fewer samples are taken,
        // but at least 1000 (p-values still resolve to 0.001), so the cost is O(max(10⁷, 1000·n)).
        let affordable = Swift.max(10_000_000 / Int(total), 1000)
        let samples = Swift.min(monteCarloSamples, affordable)
        return result(.monteCarlo, monteCarloPValue(counts, shares, samples: samples, seed: seed))
    }

    /// (1 + #{X²ₛᵢₘ ≥ X²}) / (1 + samples) over multinomial draws with the expected shares.
    static func monteCarloPValue(_ counts: [UInt64], _ shares: [Double], samples: Int, seed: UInt64) -> Double {
        let statistic = pearsonStatistic(counts, shares)
        let total = counts.reduce(0, +)
        var generator = SeededGenerator(seed: seed)
        var atLeastAsExtreme = 0
        var simulated = [UInt64](repeating: 0, count: counts.count)
        let cumulative = shares.indices.map { shares[...$0].reduce(0, +) }
        for _ in 0..<samples {
            for index in simulated.indices { simulated[index] = 0 }
            for _ in 0..<total {
                let u = generator.nextUnitInterval()
                simulated[cumulative.firstIndex { u < $0 } ?? (counts.count - 1)] += 1
            }
            if pearsonStatistic(simulated, shares) >= statistic * (1 - 1e-12) { atLeastAsExtreme += 1 }
        }
        return Double(1 + atLeastAsExtreme) / Double(1 + samples)
    }

    static func pearsonStatistic(_ counts: [UInt64], _ shares: [Double]) -> Double {
        let n = Double(counts.reduce(0, +))
        return zip(counts, shares).reduce(0) { sum, pair in
            let expected = n * pair.1
            let difference = Double(pair.0) - expected
            return sum + difference * difference / expected
        }
    }

    /// C(n + k − 1, k − 1), stopping once it exceeds `limit`.
    static func outcomeCount(total: UInt64, categories: Int, limit: Int) -> Int {
        var result = 1.0
        for step in 1..<categories {
            result = result * Double(Int(total) + step) / Double(step)
            if result > Double(limit) { return limit + 1 }
        }
        return Int(result.rounded())
    }

    /// Σ P(outcome) over outcomes with P ≤ P(observed), by enumeration.
    static func exactMultinomialPValue(_ counts: [UInt64], _ shares: [Double]) -> Double {
        let n = Int(counts.reduce(0, +))
        let logShares = shares.map { log($0) }
        let logFactorials = (0...n).map { SpecialFunctions.logGamma(Double($0) + 1) }
        func logProbability(_ outcome: [Int]) -> Double {
            var value = logFactorials[n]
            for (count, logShare) in zip(outcome, logShares) {
                value += Double(count) * logShare - logFactorials[count]
            }
            return value
        }
        let observedLog = logProbability(counts.map { Int($0) })
        let threshold = observedLog + log1p(1e-7) // ties within rounding count as "no more likely"
        var outcome = [Int](repeating: 0, count: counts.count)
        var pValue = 0.0
        func visit(_ category: Int, _ remaining: Int) {
            if category == counts.count - 1 {
                outcome[category] = remaining
                let value = logProbability(outcome)
                if value <= threshold { pValue += exp(value) }
                return
            }
            for count in 0...remaining {
                outcome[category] = count
                visit(category + 1, remaining - count)
            }
        }
        visit(0, n)
        return pValue
    }
}

/// Balance tests and planning figures for two-way splits.
public enum BalanceTests {
    /// The two-sided exact binomial p-value of `successes` in `trials` when the true share is
    /// `share`: the summed probability of every outcome no more likely than the observed one
    /// (SciPy's `binomtest` definition, with the same 1e-7 relative tie tolerance).
    public static func binomialTwoSidedPValue(successes: UInt64, trials: UInt64, share: Double) -> Double {
        precondition(successes <= trials && share >= 0 && share <= 1, "need successes ≤ trials and 0 ≤ share ≤ 1")
        let n = Int(trials)
        let k = Int(successes)
        if share == 0 { return k == 0 ? 1 : 0 }
        if share == 1 { return k == n ? 1 : 0 }
        let observed = SpecialFunctions.logBinomialProbability(k, n, share)
        let threshold = observed + log1p(1e-7)
        var total = 0.0
        for outcome in 0...n {
            let value = SpecialFunctions.logBinomialProbability(outcome, n, share)
            if value <= threshold { total += exp(value) }
        }
        return Swift.min(1, total)
    }

    /// The number of requests needed to detect a true share `p1` when the expected share is `p0`,
    /// with a two-sided test at level `alpha` and the given `power` (normal approximation):
    /// n = ⌈(z₁₋α/₂·√(p₀(1−p₀)) + z_power·√(p₁(1−p₁)))² / (p₁ − p₀)²⌉.
    public static func requiredSampleSize(p0: Double, p1: Double, alpha: Double, power: Double) -> Int {
        precondition(p0 > 0 && p0 < 1 && p1 >= 0 && p1 <= 1 && p0 != p1, "need 0 < p0 < 1, 0 ≤ p1 ≤ 1, p0 ≠ p1")
        precondition(alpha > 0 && alpha < 1 && power > 0 && power < 1, "alpha and power must be in (0, 1)")
        let zAlpha = SpecialFunctions.normalQuantile(1 - alpha / 2)
        let zPower = SpecialFunctions.normalQuantile(power)
        let numerator = zAlpha * (p0 * (1 - p0)).squareRoot() + zPower * (p1 * (1 - p1)).squareRoot()
        return Int((numerator * numerator / ((p1 - p0) * (p1 - p0))).rounded(.up))
    }

    /// The power (0 … 1) of a two-sided level-`alpha` test with `requests` requests to detect a true
    /// share `p1` when `p0` is expected (the inverse of ``requiredSampleSize(p0:p1:alpha:power:)``):
    /// Φ((|p₁ − p₀|·√n − z₁₋α/₂·√(p₀(1−p₀))) / √(p₁(1−p₁))).
    public static func power(requests: Int, p0: Double, p1: Double, alpha: Double) -> Double {
        precondition(requests >= 0 && p0 > 0 && p0 < 1 && p1 > 0 && p1 < 1, "need n ≥ 0 and shares in (0, 1)")
        let zAlpha = SpecialFunctions.normalQuantile(1 - alpha / 2)
        let z =
            (abs(p1 - p0) * Double(requests).squareRoot() - zAlpha * (p0 * (1 - p0)).squareRoot())
            / (p1 * (1 - p1)).squareRoot()
        return SpecialFunctions.normalCDF(z)
    }

    /// The probability that `requests` independent requests all miss a cluster whose share is
    /// `share`: (1 − share)ⁿ.
    public static func probabilityOfMissing(share: Double, requests: Int) -> Double {
        pow(1 - share, Double(requests))
    }

    /// The probability that at least one cluster receives none of `requests` requests when they
    /// are spread with `shares` (summing to 1), by inclusion–exclusion over subsets of clusters
    /// (at most 20 clusters).
    public static func probabilityAnyClusterMissed(shares: [Double], requests: Int) -> Double {
        precondition(shares.count <= 20, "inclusion–exclusion is limited to 20 clusters")
        var total = 0.0
        for subset in 1..<(1 << shares.count) {
            var missedShare = 0.0
            for index in shares.indices where subset & (1 << index) != 0 { missedShare += shares[index] }
            let term = pow(Swift.max(0, 1 - missedShare), Double(requests))
            total += subset.nonzeroBitCount % 2 == 1 ? term : -term
        }
        return Swift.min(1, Swift.max(0, total))
    }
}

/// Wald's sequential probability ratio test of H₀: share = p0 against H₁: share = p1, so a run
/// can stop as soon as the verdict is clear.
public struct SequentialShareTest: Sendable, Equatable {
    /// Where the test stands.
    public enum Decision: Sendable, Equatable {
        /// Not enough evidence yet.
        case undecided
        /// The log-likelihood ratio fell below the lower bound: accept p0.
        case acceptNull
        /// The log-likelihood ratio rose above the upper bound: accept p1.
        case acceptAlternative
    }

    /// The accumulated log-likelihood ratio ln(L₁ / L₀).
    public private(set) var logLikelihoodRatio = 0.0
    /// The observations so far.
    public private(set) var observations: UInt64 = 0
    /// ln(β / (1 − α)): accept H₀ at or below this.
    public let lowerBound: Double
    /// ln((1 − β) / α): accept H₁ at or above this.
    public let upperBound: Double
    private let hitStep: Double
    private let missStep: Double

    /// A test with false-alarm rate `alpha` and miss rate `beta`.
    public init(p0: Double, p1: Double, alpha: Double, beta: Double) {
        precondition(p0 > 0 && p0 < 1 && p1 > 0 && p1 < 1 && p0 != p1, "shares must be in (0, 1) and differ")
        precondition(alpha > 0 && alpha < 1 && beta > 0 && beta < 1, "alpha and beta must be in (0, 1)")
        lowerBound = log(beta / (1 - alpha))
        upperBound = log((1 - beta) / alpha)
        hitStep = log(p1 / p0)
        missStep = log((1 - p1) / (1 - p0))
    }

    /// The current decision.
    public var decision: Decision {
        logLikelihoodRatio <= lowerBound ? .acceptNull : logLikelihoodRatio >= upperBound ? .acceptAlternative : .undecided
    }

    /// Adds `hits` requests served by the cluster of interest and `misses` served elsewhere, and
    /// returns the decision.
    @discardableResult
    public mutating func observe(hits: UInt64, misses: UInt64) -> Decision {
        logLikelihoodRatio += Double(hits) * hitStep + Double(misses) * missStep
        observations += hits + misses
        return decision
    }
}
