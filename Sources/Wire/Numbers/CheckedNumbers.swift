/// Conversions and arithmetic for numbers that came from outside (requests, bodies, config files, stored bytes).
///
/// Swift traps on an overflowing `+ - *` and on converting a NaN, infinite or out-of-range `Double` to an
/// integer. A number a client, a file or a disk chose must never reach those operations unchecked: these helpers
/// either report the value as out of range (nil) or saturate at the type's bounds where a bound is the right answer
/// (a time window that reaches "forever", a rate limit "unlimited").

extension Int64 {
    /// `value` rounded toward zero, or nil for NaN, ±infinity and anything outside `Int64`'s range.
    @inlinable
    public init?(checkedTruncating value: Double) {
        // 2^63 is exactly representable as a Double; Int64.max is not (it rounds up to 2^63), so compare with <.
        guard value.isFinite, value >= -9_223_372_036_854_775_808.0, value < 9_223_372_036_854_775_808.0 else {
            return nil
        }
        self.init(value)
    }

    /// `value` rounded toward zero and clamped to `Int64`'s range; NaN becomes 0.
    @inlinable
    public init(clampingTruncating value: Double) {
        if value.isNaN {
            self = 0
        } else if let exact = Int64(checkedTruncating: value) {
            self = exact
        } else {
            self = value < 0 ? .min : .max
        }
    }
}

extension Int {
    /// `value` rounded toward zero and clamped to `Int`'s range; NaN becomes 0.
    @inlinable
    public init(clampingTruncating value: Double) {
        self = Int(truncatingIfNeeded: Int64(clampingTruncating: value))
    }
}

extension FixedWidthInteger {
    /// `self + other`, held at `.min`/`.max` instead of overflowing.
    @inlinable
    public func saturatingAdding(_ other: Self) -> Self {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other > 0 ? .max : .min
    }

    /// `self - other`, held at `.min`/`.max` instead of overflowing.
    @inlinable
    public func saturatingSubtracting(_ other: Self) -> Self {
        let (difference, overflow) = subtractingReportingOverflow(other)
        guard overflow else { return difference }
        return other > 0 ? .min : .max
    }

    /// `self * other`, held at `.min`/`.max` instead of overflowing.
    @inlinable
    public func saturatingMultiplied(by other: Self) -> Self {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        guard overflow else { return product }
        return (self < 0) != (other < 0) ? .min : .max
    }

    /// `self * other`, or nil when it overflows.
    @inlinable
    public func checkedMultiplied(by other: Self) -> Self? {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? nil : product
    }

    /// `self + other`, or nil when it overflows.
    @inlinable
    public func checkedAdding(_ other: Self) -> Self? {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? nil : sum
    }
}
