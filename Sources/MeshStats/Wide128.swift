/// An unsigned 128-bit accumulator for exact sums of squared microsecond values.
///
/// A value below 2³² µs squares to less than 2⁶⁴, and 2⁶⁴ such squares fit in 128 bits, so the
/// histogram's sum of squares never wraps. The standard library's `UInt128` would do, but it needs
/// macOS 15 and the package still targets macOS 14.
@frozen
public struct Wide128: Hashable, Sendable, Comparable {
    /// The high 64 bits.
    public var high: UInt64
    /// The low 64 bits.
    public var low: UInt64

    @inlinable
    public init(high: UInt64 = 0, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Zero.
    public static let zero = Wide128(low: 0)

    /// The full 128-bit product of two 64-bit values.
    @inlinable
    public static func product(_ a: UInt64, _ b: UInt64) -> Wide128 {
        let (high, low) = a.multipliedFullWidth(by: b)
        return Wide128(high: high, low: low)
    }

    /// Adds a 64-bit value, wrapping at 2¹²⁸.
    @inlinable
    public mutating func add(_ value: UInt64) {
        let (sum, carry) = low.addingReportingOverflow(value)
        low = sum
        high &+= carry ? 1 : 0
    }

    /// Adds another 128-bit value, wrapping at 2¹²⁸.
    @inlinable
    public mutating func add(_ other: Wide128) {
        let (sum, carry) = low.addingReportingOverflow(other.low)
        low = sum
        high &+= other.high &+ (carry ? 1 : 0)
    }

    /// Subtracts another 128-bit value, wrapping at 0.
    @inlinable
    public mutating func subtract(_ other: Wide128) {
        let (difference, borrow) = low.subtractingReportingOverflow(other.low)
        low = difference
        high &-= other.high &+ (borrow ? 1 : 0)
    }

    /// The product with a 64-bit value, and whether it overflowed 128 bits.
    @inlinable
    public func multipliedReportingOverflow(by factor: UInt64) -> (partialValue: Wide128, overflow: Bool) {
        let (lowCarry, low) = self.low.multipliedFullWidth(by: factor)
        let (highOverflow, highPart) = high.multipliedFullWidth(by: factor)
        let (high, carry) = highPart.addingReportingOverflow(lowCarry)
        return (Wide128(high: high, low: low), highOverflow != 0 || carry)
    }

    /// The nearest `Double` (within one rounding of the high part).
    @inlinable
    public var doubleValue: Double {
        Double(high) * 18_446_744_073_709_551_616.0 + Double(low)
    }

    @inlinable
    public static func < (lhs: Wide128, rhs: Wide128) -> Bool {
        lhs.high != rhs.high ? lhs.high < rhs.high : lhs.low < rhs.low
    }
}
