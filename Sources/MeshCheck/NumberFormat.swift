// Number formatting for messages and reports, without Foundation (stable across platforms, so
// golden files do not depend on locale).

package enum NumberFormat {
    /// Fixed decimals: `fixed(2.345, 2)` → `2.35`.
    package static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let negative = value < 0
        let scaled = (abs(value) * scale).rounded()
        let whole = Int64(scaled / scale)
        var text = String(whole)
        if decimals > 0 {
            var fraction = String(Int64(scaled - Double(whole) * scale))
            fraction = String(repeating: "0", count: max(0, decimals - fraction.count)) + fraction
            text += "." + fraction
        }
        return negative && scaled != 0 ? "-" + text : text
    }

    /// `12.5 %`, `0 %`, `100 %`.
    package static func percent(_ value: Double) -> String {
        "\(fixed(value * 100, value * 100 == (value * 100).rounded() ? 0 : 1)) %"
    }

    /// A share as a whole percentage number for splits (`25`, `75`).
    package static func percentNumber(_ value: Double) -> String { String(Int((value * 100).rounded())) }

    /// `0.65`, `0.041`, `2.5e-10`: readable p-values and probabilities.
    package static func scientific(_ value: Double) -> String {
        if value == 0 { return "0" }
        if value >= 0.001 {
            return fixed(value, value >= 0.1 ? 2 : (value >= 0.01 ? 3 : 4))
        }
        var exponent = 0
        var mantissa = value
        while mantissa < 1 {
            mantissa *= 10
            exponent -= 1
        }
        let rounded = (mantissa * 10).rounded() / 10
        if rounded >= 10 { return "\(fixed(rounded / 10, 1))e\(exponent + 1)" }
        return "\(fixed(rounded, 1))e\(exponent)"
    }

    /// Shortest decimal form (`0.001`, `5`, `2.5`).
    package static func shortest(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// Milliseconds: two decimals below 10 ms, one above.
    package static func milliseconds(_ value: Double) -> String { fixed(value, value < 10 ? 2 : 1) }
}
