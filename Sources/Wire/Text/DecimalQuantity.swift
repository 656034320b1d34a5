/// A decimal number with an optional fraction, `12`, `1.5` or `.25`, as the number part of a size (`1.5MB`) or
/// of one duration term (`1.5h`): the shared scanner of `ByteSizeText` and `DurationText`.
struct DecimalQuantity {
    /// The digits before the point; meaningless when `overflow` is set.
    var whole: Int64 = 0
    /// The whole part does not fit 63 bits.
    var overflow = false
    var wholeDigits = 0
    /// The first 18 fraction digits as an integer over `scale` (further digits cannot change a whole number of
    /// the smallest unit); `fractionDigits` counts all of them.
    var fraction: Int64 = 0
    var scale: Int64 = 1
    var fractionDigits = 0
    /// Whether a `.` was read.
    var hasPoint = false

    /// Reads digits, then `.` and digits, from `index`, leaving `index` at the first scalar after them.
    init(_ scalars: [Unicode.Scalar], _ index: inout Int) {
        while index < scalars.count, let digit = Self.digit(scalars[index]) {
            let (times, overflow1) = whole.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(digit)
            if overflow1 || overflow2 { overflow = true } else { whole = sum }
            wholeDigits += 1
            index += 1
        }
        guard index < scalars.count, scalars[index] == "." else { return }
        hasPoint = true
        index += 1
        while index < scalars.count, let digit = Self.digit(scalars[index]) {
            if fractionDigits < 18 {
                fraction = fraction * 10 + digit
                scale *= 10
            }
            fractionDigits += 1
            index += 1
        }
    }

    /// The quantity times `unit`, truncated to a whole number; nil when it does not fit 63 bits.
    func times(_ unit: Int64) -> Int64? {
        guard !overflow else { return nil }
        let (wholePart, overflow1) = whole.multipliedReportingOverflow(by: unit)
        // fraction < scale <= 10^18, so the product needs 128 bits; the quotient is below `unit`.
        let fractionPart = Int64(Int128(unit) * Int128(fraction) / Int128(scale))
        let (sum, overflow2) = wholePart.addingReportingOverflow(fractionPart)
        return overflow1 || overflow2 ? nil : sum
    }

    static func digit(_ scalar: Unicode.Scalar) -> Int64? {
        scalar.value >= 48 && scalar.value <= 57 ? Int64(scalar.value - 48) : nil
    }
}
