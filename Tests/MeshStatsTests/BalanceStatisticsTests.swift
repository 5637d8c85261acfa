import Testing

@testable import MeshStats

/// Reference values: the standard Wilson-interval, goodness-of-fit and sample-size values (the formulas
/// are documented at each function of Sources/MeshStats/BalanceStatistics.swift), computed with SciPy 1.17.1 (`scipy.special.gammainc/gammaincc`, `scipy.stats.chi2.sf/isf`,
/// `scipy.stats.binomtest`, `scipy.stats.norm.ppf`), with the Wilson and sample-size formulas
/// evaluated in Python on `norm.ppf` quantiles, and exact multinomial p-values by enumerating every
/// outcome with `scipy.stats.multinomial.pmf`.
@Suite struct BalanceStatisticsTests {
    static func close(_ actual: Double, _ expected: Double, relative: Double = 1e-10, absolute: Double = 1e-15) -> Bool {
        abs(actual - expected) <= Swift.max(absolute, relative * abs(expected))
    }

    @Test(arguments: [
        (0.5, 0.1, 0.34527915398142317), (1, 1, 0.6321205588285577), (2.5, 3, 0.6937810815867212),
        (10, 4, 0.008132242796933871), (7.5, 20, 0.9995465018648978), (100, 90, 0.15822098918643007),
    ])
    func regularizedGammaP(a: Double, x: Double, expected: Double) {
        #expect(Self.close(SpecialFunctions.regularizedGammaP(a, x), expected))
    }

    @Test(arguments: [
        (0.5, 20, 2.5396285894708634e-10), (1, 1, 0.36787944117144245), (3, 0.5, 0.9856123220330293),
        (50, 80, 0.0001307839765914092), (7.5, 20, 0.00045349813510223386),
    ])
    func regularizedGammaQ(a: Double, x: Double, expected: Double) {
        #expect(Self.close(SpecialFunctions.regularizedGammaQ(a, x), expected))
    }

    @Test(arguments: [
        (40.0, 1, 2.5396285894708634e-10), (1.4, 2, 0.4965853037914095), (3.84, 1, 0.05004352124870519),
        (10, 5, 0.07523524614651217), (100, 15, 1.3047043436251422e-14), (0.5, 3, 0.9188914116546758),
    ])
    func chiSquareTail(statistic: Double, df: Int, expected: Double) {
        #expect(Self.close(SpecialFunctions.chiSquareUpperTail(statistic, degreesOfFreedom: df), expected))
    }

    @Test(arguments: [
        (0.001, 1, 10.827566170662733), (0.001, 2, 13.815510557964274),
        (0.001, 15, 37.69729821835383), (0.05, 3, 7.814727903251178),
    ])
    func chiSquareCritical(alpha: Double, df: Int, expected: Double) {
        #expect(Self.close(SpecialFunctions.chiSquareCriticalValue(alpha: alpha, degreesOfFreedom: df), expected, relative: 1e-9))
    }

    @Test(arguments: [
        (0.975, 1.959963984540054), (0.9, 1.2815515655446004), (0.9995, 3.2905267314919255),
        (0.001, -3.090232306167813), (0.5, 0), (1e-10, -6.361340902404056),
    ])
    func normalQuantile(p: Double, expected: Double) {
        #expect(Self.close(SpecialFunctions.normalQuantile(p), expected, relative: 1e-12, absolute: 1e-14))
    }

    @Test(arguments: [
        (UInt64(10), UInt64(20), 0.95, 0.2992980081982123, 0.7007019918017877),
        (520, 1000, 0.95, 0.4890177246575191, 0.5508292050030589),
        (0, 20, 0.95, 0, 0.16112515805281938),
        (20, 20, 0.95, 0.8388748419471806, 1),
        (3, 7, 0.95, 0.15821985525146975, 0.7495416354723428),
        (30, 100, 0.99, 0.19746065620990516, 0.427427618876424),
    ])
    func wilsonInterval(k: UInt64, n: UInt64, confidence: Double, lower: Double, upper: Double) {
        let interval = ShareInterval.wilson(successes: k, trials: n, confidence: confidence)
        #expect(
            Self.close(interval.lower, lower, absolute: 1e-12) && Self.close(interval.upper, upper, absolute: 1e-12),
            "\(interval)")
        #expect(interval.share == Double(k) / Double(n))
    }

    /// statistics.md: 10/20 → 0.29930–0.70070, 520/1000 → 0.48902–0.55083, 0/20 → 0–0.16113.
    @Test func wilsonTableOfTheReference() {
        let table: [(UInt64, UInt64, Double, Double)] = [(10, 20, 0.29930, 0.70070), (520, 1000, 0.48902, 0.55083), (0, 20, 0, 0.16113)]
        for (k, n, lower, upper) in table {
            let interval = ShareInterval.wilson(successes: k, trials: n)
            #expect(abs(interval.lower - lower) < 5e-6 && abs(interval.upper - upper) < 5e-6)
        }
        #expect(ShareInterval.wilson(successes: 0, trials: 0) == ShareInterval(share: 0, lower: 0, upper: 1))
    }

    @Test(arguments: [
        (UInt64(14), UInt64(20), 0.5, 0.11531829833984375), (15, 20, 0.5, 0.04138946533203125), (3, 10, 0.3, 1.0),
        (0, 8, 0.25, 0.21392822265625003), (9, 10, 0.75, 0.46815013885498047), (2, 30, 0.2, 0.06979524048732366),
    ])
    func exactBinomial(k: UInt64, n: UInt64, p: Double, expected: Double) {
        #expect(Self.close(BalanceTests.binomialTwoSidedPValue(successes: k, trials: n, share: p), expected, relative: 1e-10))
    }

    @Test func goodnessOfFitTableOfTheReference() {
        let skewed = GoodnessOfFit.test(observed: [600, 400], expectedShares: [0.5, 0.5])
        #expect(skewed.method == .chiSquare && skewed.statistic == 40 && skewed.degreesOfFreedom == 1)
        #expect(Self.close(skewed.pValue, 2.5396285894708634e-10))
        let even = GoodnessOfFit.test(observed: [350, 330, 320], expectedShares: [1, 1, 1])
        #expect(even.method == .chiSquare && Self.close(even.statistic, 1.4) && even.degreesOfFreedom == 2)
        #expect(Self.close(even.pValue, 0.4965853037914095))
        // 14 of 20 at 0.5 has expected counts of 10: chi-square applies; the exact test is direct.
        #expect(Self.close(BalanceTests.binomialTwoSidedPValue(successes: 14, trials: 20, share: 0.5), 0.11532, relative: 1e-4))
        #expect(Self.close(BalanceTests.binomialTwoSidedPValue(successes: 15, trials: 20, share: 0.5), 0.04139, relative: 1e-4))
    }

    @Test func smallCountsSwitchToExactTests() {
        let two = GoodnessOfFit.test(observed: [2, 18], expectedShares: [0.2, 0.8]) // expected 4 and 16
        #expect(two.method == .exactBinomial && Self.close(two.pValue, 0.40187693348892484)) // binomtest(2, 20, 0.2)
        let three = GoodnessOfFit.test(observed: [5, 1, 0], expectedShares: [1, 1, 1])
        #expect(three.method == .exactMultinomial && Self.close(three.pValue, 0.053497942386831254, relative: 1e-9))
        let weighted = GoodnessOfFit.test(observed: [2, 3, 7], expectedShares: [0.5, 0.25, 0.25])
        #expect(weighted.method == .exactMultinomial && Self.close(weighted.pValue, 0.017950057983398427, relative: 1e-9))
        let perfect = GoodnessOfFit.test(observed: [4, 4, 4], expectedShares: [1, 1, 1])
        #expect(Self.close(perfect.pValue, 1, relative: 1e-9))
        let impossible = GoodnessOfFit.test(observed: [5, 5, 1], expectedShares: [1, 1, 0])
        #expect(impossible.pValue == 0)
        let big = GoodnessOfFit.test(observed: [100, 98, 1, 1], expectedShares: [0.49, 0.49, 0.01, 0.01], monteCarloSamples: 200)
        #expect(big.method == .monteCarlo && big.pValue > 0.5)
        // 10 000 requests: the sample count drops to 1000 (10⁷ draws), which still resolves a
        // clearly impossible split.
        let skewed = GoodnessOfFit.test(observed: [5_000, 4_990, 0, 10], expectedShares: [0.5, 0.4998, 0.0001, 0.0001])
        #expect(skewed.method == .monteCarlo && skewed.pValue < 0.002)
    }

    /// P(X² ≥ X²obs) for [10, 0, 30] against [0.2, 0.1, 0.7] is 0.09581570460849366 by enumeration;
    /// the seeded Monte-Carlo estimate with 20 000 draws lies within 4 standard errors of it.
    @Test func monteCarloAgreesWithEnumeration() {
        let estimate = GoodnessOfFit.monteCarloPValue([10, 0, 30], [0.2, 0.1, 0.7], samples: 20_000, seed: 11)
        let standardError = (0.0958 * 0.9042 / 20_000).squareRoot()
        #expect(abs(estimate - 0.09581570460849366) < 4 * standardError)
        #expect(estimate == GoodnessOfFit.monteCarloPValue([10, 0, 30], [0.2, 0.1, 0.7], samples: 20_000, seed: 11))
    }

    @Test(arguments: [
        (0.5, 0.6, 0.05, 0.9, 259), (0.5, 0.55, 0.05, 0.9, 1047), (0.5, 0.6, 0.001, 0.9, 517),
        (0.25, 0.35, 0.01, 0.8, 231),
    ])
    func sampleSize(p0: Double, p1: Double, alpha: Double, power: Double, expected: Int) {
        #expect(BalanceTests.requiredSampleSize(p0: p0, p1: p1, alpha: alpha, power: power) == expected)
    }

    @Test func powerForGivenRequests() {
        #expect(Self.close(BalanceTests.power(requests: 200, p0: 0.5, p1: 0.6, alpha: 0.05), 0.8122913090115956, relative: 1e-9))
        #expect(Self.close(BalanceTests.power(requests: 200, p0: 0.5, p1: 0.6, alpha: 0.001), 0.31859601294693485, relative: 1e-9))
        #expect(Self.close(BalanceTests.power(requests: 259, p0: 0.5, p1: 0.6, alpha: 0.05), 0.9005492212944938, relative: 1e-9))
    }

    /// statistics.md: two equal endpoints, all of n requests on one cluster: 20 → 1.9e-6,
    /// 10 → 2.0e-3, 5 → 0.0625.
    @Test func everyClusterReached() {
        #expect(Self.close(BalanceTests.probabilityAnyClusterMissed(shares: [0.5, 0.5], requests: 20), 2 * 0.5.power(20)))
        #expect(abs(BalanceTests.probabilityAnyClusterMissed(shares: [0.5, 0.5], requests: 20) - 1.9e-6) < 0.05e-6)
        #expect(abs(BalanceTests.probabilityAnyClusterMissed(shares: [0.5, 0.5], requests: 10) - 2.0e-3) < 0.05e-3)
        #expect(BalanceTests.probabilityAnyClusterMissed(shares: [0.5, 0.5], requests: 5) == 0.0625)
        #expect(Self.close(BalanceTests.probabilityOfMissing(share: 0.25, requests: 3), 0.421875))
        // Three equal clusters, 3 requests: 1 − P(each hit once) = 1 − 3!/27.
        #expect(Self.close(BalanceTests.probabilityAnyClusterMissed(shares: [1.0 / 3, 1.0 / 3, 1.0 / 3], requests: 3), 1 - 6.0 / 27, relative: 1e-12))
    }

    @Test func sequentialTestStopsAtWaldBounds() {
        var test = SequentialShareTest(p0: 0.5, p1: 0.6, alpha: 0.01, beta: 0.01)
        #expect(Self.close(test.lowerBound, -4.59511985013459) && Self.close(test.upperBound, 4.59511985013459))
        // Each hit adds ln 1.2, each miss ln 0.8: 26 straight hits pass 4.595 (26 · 0.1823 = 4.74).
        for _ in 0..<25 { #expect(test.observe(hits: 1, misses: 0) == .undecided) }
        #expect(test.observe(hits: 1, misses: 0) == .acceptAlternative)
        var balanced = SequentialShareTest(p0: 0.5, p1: 0.6, alpha: 0.01, beta: 0.01)
        #expect(balanced.observe(hits: 500, misses: 500) == .acceptNull)
        #expect(balanced.observations == 1000)
    }
}

extension Double {
    func power(_ exponent: Int) -> Double { (0..<exponent).reduce(1) { product, _ in product * self } }
}
