import Foundation // lgamma, erfc, log, exp, pow: the balance tests are not a hot path

/// Special functions behind the balance statistics, accurate to about 1e-12 relative.
public enum SpecialFunctions {
    /// ln Γ(x) for x > 0.
    public static func logGamma(_ x: Double) -> Double { lgamma(x) }

    /// The regularized lower incomplete gamma function P(a, x) = γ(a, x) / Γ(a), for a > 0, x ≥ 0.
    public static func regularizedGammaP(_ a: Double, _ x: Double) -> Double {
        precondition(a > 0 && x >= 0, "regularizedGammaP needs a > 0 and x ≥ 0")
        if x == 0 { return 0 }
        return x < a + 1 ? gammaSeries(a, x) : 1 - gammaContinuedFraction(a, x)
    }

    /// The regularized upper incomplete gamma function Q(a, x) = 1 − P(a, x), computed directly
    /// in the tail so tiny p-values keep their relative accuracy.
    public static func regularizedGammaQ(_ a: Double, _ x: Double) -> Double {
        precondition(a > 0 && x >= 0, "regularizedGammaQ needs a > 0 and x ≥ 0")
        if x == 0 { return 1 }
        return x < a + 1 ? 1 - gammaSeries(a, x) : gammaContinuedFraction(a, x)
    }

    /// P(a, x) by its power series Σ xⁿ / (a(a+1)…(a+n)), times xᵃe⁻ˣ/Γ(a); converges fast for x < a + 1.
    private static func gammaSeries(_ a: Double, _ x: Double) -> Double {
        var denominator = a
        var term = 1 / a
        var sum = term
        for _ in 0..<10_000 {
            denominator += 1
            term *= x / denominator
            sum += term
            if abs(term) < abs(sum) * 1e-16 { break }
        }
        return sum * exp(-x + a * log(x) - logGamma(a))
    }

    /// Q(a, x) by Legendre's continued fraction, evaluated with the modified Lentz method;
    /// converges fast for x ≥ a + 1.
    private static func gammaContinuedFraction(_ a: Double, _ x: Double) -> Double {
        let tiny = 1e-300
        var b = x + 1 - a
        var c = 1 / tiny
        var d = 1 / b
        var fraction = d
        for step in 1..<10_000 {
            let n = Double(step)
            let an = -n * (n - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            fraction *= delta
            if abs(delta - 1) < 1e-16 { break }
        }
        return exp(-x + a * log(x) - logGamma(a)) * fraction
    }

    /// The upper tail P(χ²(df) ≥ statistic): the p-value of a chi-square statistic.
    public static func chiSquareUpperTail(_ statistic: Double, degreesOfFreedom df: Int) -> Double {
        precondition(df > 0, "degrees of freedom must be positive")
        return statistic <= 0 ? 1 : regularizedGammaQ(Double(df) / 2, statistic / 2)
    }

    /// The value c with P(χ²(df) ≥ c) = alpha (e.g. 10.8276 for df 1, α 0.001).
    public static func chiSquareCriticalValue(alpha: Double, degreesOfFreedom df: Int) -> Double {
        precondition(alpha > 0 && alpha < 1, "alpha must be in (0, 1)")
        var low = 0.0
        var high = Double(df) + 10
        while chiSquareUpperTail(high, degreesOfFreedom: df) > alpha { high *= 2 }
        for _ in 0..<200 {
            let middle = (low + high) / 2
            if chiSquareUpperTail(middle, degreesOfFreedom: df) > alpha { low = middle } else { high = middle }
            if high - low <= 1e-13 * high { break }
        }
        return (low + high) / 2
    }

    /// The standard normal distribution function Φ(z).
    public static func normalCDF(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }

    /// The standard normal quantile Φ⁻¹(p) for 0 < p < 1: Acklam's rational approximation
    /// (1e-9) refined by one Halley step on erfc (to ~1e-15).
    public static func normalQuantile(_ p: Double) -> Double {
        precondition(p > 0 && p < 1, "normalQuantile needs 0 < p < 1")
        let a = [
            -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
            1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00,
        ]
        let b = [
            -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
            6.680131188771972e+01, -1.328068155288572e+01,
        ]
        let c = [
            -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
            -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00,
        ]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let lowTail = 0.02425
        var x: Double
        if p < lowTail {
            let q = (-2 * log(p)).squareRoot()
            x =
                (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else if p <= 1 - lowTail {
            let q = p - 0.5
            let r = q * q
            x =
                (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        } else {
            let q = (-2 * log(1 - p)).squareRoot()
            x =
                -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        let error = normalCDF(x) - p
        let u = error * (2 * Double.pi).squareRoot() * exp(x * x / 2)
        x -= u / (1 + x * u / 2)
        return x
    }

    /// ln of the binomial probability C(n, k) pᵏ (1−p)ⁿ⁻ᵏ.
    public static func logBinomialProbability(_ k: Int, _ n: Int, _ p: Double) -> Double {
        let choose = logGamma(Double(n) + 1) - logGamma(Double(k) + 1) - logGamma(Double(n - k) + 1)
        let hits = k == 0 ? 0 : Double(k) * log(p)
        let misses = k == n ? 0 : Double(n - k) * log1p(-p)
        return choose + hits + misses
    }
}
