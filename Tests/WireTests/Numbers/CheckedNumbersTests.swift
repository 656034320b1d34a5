import Testing
import TestSupport
import Wire

/// The checked conversions and saturating arithmetic every parser of outside numbers relies on, over the whole
/// range of both types: NaN, ±infinity, ±0, subnormals and the extremes ± 1 never trap.
@Suite struct CheckedNumbersTests {
    static let specialDoubles: [Double] = [
        .nan, -.nan, .signalingNaN, .infinity, -.infinity, 0, -0.0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
        .leastNormalMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, Double("1.8e308") ?? .infinity, Double("-1.8e308") ?? -.infinity,
        9_223_372_036_854_775_807.0, 9_223_372_036_854_775_808.0, -9_223_372_036_854_775_808.0,
        -9_223_372_036_854_776_832.0, 9_223_372_036_854_774_784.0, 0.5, -0.5, 1e19, -1e19, 10_000_000_000.5,
    ]

    @Test(arguments: specialDoubles)
    func checkedTruncatingIsNilExactlyOutsideTheRange(value: Double) {
        let converted = Int64(checkedTruncating: value)
        if value.isFinite && value >= -9_223_372_036_854_775_808.0 && value < 9_223_372_036_854_775_808.0 {
            #expect(converted == Int64(value))
        } else {
            #expect(converted == nil)
        }
        let clamped = Int64(clampingTruncating: value)
        if value.isNaN { #expect(clamped == 0) }
        else if converted == nil { #expect(clamped == (value < 0 ? .min : .max)) }
        else { #expect(clamped == converted) }
    }

    @Test func randomBitPatternsNeverTrap() {
        var random = SeededRandom(seed: 12)
        for _ in 0..<100_000 {
            let value = Double(bitPattern: random.next())
            let converted = Int64(checkedTruncating: value)
            if let converted { #expect(Double(converted) == value.rounded(.towardZero) || abs(value) >= 9.2e18) }
            _ = Int(clampingTruncating: value)
        }
    }

    static let extremes: [Int64] = [.min, .min + 1, -1_000_000_000, -1, 0, 1, 1_000_000_000, .max - 1, .max]

    @Test func saturatingArithmeticMatchesWideArithmetic() {
        var random = SeededRandom(seed: 7)
        var values = Self.extremes
        for _ in 0..<200 { values.append(Int64(bitPattern: random.next()) >> Int64(random.int(0...62))) }
        for a in values {
            for b in values {
                let wide = (sum: Int128(a) + Int128(b), difference: Int128(a) - Int128(b), product: Int128(a) * Int128(b))
                #expect(a.saturatingAdding(b) == Int64(clamping: wide.sum))
                #expect(a.saturatingSubtracting(b) == Int64(clamping: wide.difference))
                #expect(a.saturatingMultiplied(by: b) == Int64(clamping: wide.product))
                #expect(a.checkedAdding(b) == Int64(exactly: wide.sum))
                #expect(a.checkedMultiplied(by: b) == Int64(exactly: wide.product))
            }
        }
        #expect(UInt64(3).saturatingSubtracting(5) == 0)
        #expect(UInt64.max.saturatingAdding(1) == .max)
    }
}
