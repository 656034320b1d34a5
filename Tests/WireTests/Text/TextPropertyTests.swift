import Testing
import TestSupport
import Wire

/// The configuration's duration and size parsers and printers over the whole range of their numbers: they never
/// trap, what they accept is exactly the value written (checked against 128-bit arithmetic), and what they print
/// reads back to the same value.
@Suite struct TextPropertyTests {
    /// Integers at the edges of the ranges, and one either side.
    static let edgeIntegers: [String] = {
        var values: [String] = []
        for base in [Int64.max, Int64.min, Int64(Int32.max), Int64(Int32.min), 0, 1, -1] {
            for delta: Int64 in [-1, 0, 1] {
                let (value, overflow) = base.addingReportingOverflow(delta)
                if !overflow { values.append(String(value)) }
            }
        }
        values += [String(UInt64.max), String(UInt64.max - 1), "18446744073709551616", "9223372036854775808",
                   String(repeating: "9", count: 40)]
        return values
    }()

    /// Doubles as Swift prints them: NaN, ±Inf, ±0, subnormals, extremes and their neighbours.
    static let edgeDoubles: [String] = {
        let values: [Double] = [
            .nan, .infinity, -.infinity, 0, -0.0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
            .leastNormalMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1.5, 9.223372036854775807e18,
            Double(Int64.max).nextUp, Double(Int64.max).nextDown, 0.1, 1e-9, 1e-10,
        ]
        return values.map { "\($0)" }
    }()

    static let durationUnits = ["ns", "us", "µs", "ms", "s", "m", "h", "d", "w", "y", "", "x"]
    static let durationSize: [String: Int128] = [
        "ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000,
        "h": 3_600_000_000_000, "d": 86_400_000_000_000, "w": 604_800_000_000_000, "y": 31_536_000_000_000_000,
    ]

    /// What `1.5h` means, computed in 128 bits; only the first 18 fraction digits count, as in the parser. A
    /// whole part past 128 bits is `Int128.max` (too large either way).
    static func exactDuration(whole: String, fraction: String, unit: String) -> Int128? {
        guard let size = durationSize[unit] else { return nil }
        guard let wholeValue = Int128(whole) else { return Int128.max }
        let digits = String(fraction.prefix(18))
        let fractionValue = Int128(digits) ?? 0
        var scale: Int128 = 1
        for _ in 0..<digits.count { scale *= 10 }
        return wholeValue * size + size * fractionValue / scale
    }

    @Test func durationsNeverTrapAndMeanExactlyWhatIsWritten() {
        var rng = SeededRandom(seed: 2026)
        var inputs: [(String, String, String)] = []
        for whole in Self.edgeIntegers where !whole.hasPrefix("-") {
            for unit in Self.durationUnits {
                inputs.append((whole, "", unit))
                inputs.append((whole, "999999999999999999999", unit))
                inputs.append((whole, "5", unit))
            }
        }
        for _ in 0..<2_000 {
            let whole = String(rng.next() >> UInt64(rng.int(0...63)))
            let fraction = String(repeating: "9", count: rng.int(0...3)) + String(rng.next() % 1_000_000_000_000)
            inputs.append((whole, rng.chance(30) ? "" : fraction, Self.durationUnits[rng.int(0...Self.durationUnits.count - 1)]))
        }
        for (whole, fraction, unit) in inputs {
            let text = whole + (fraction.isEmpty ? "" : "." + fraction) + unit
            let parsed = DurationText.parse(text)
            guard unit != "", unit != "x" else {
                #expect(parsed != .success(0) || whole == "0", "\(text)")
                continue
            }
            guard let exact = Self.exactDuration(whole: whole, fraction: fraction, unit: unit) else {
                Issue.record("no reference for \(text)")
                continue
            }
            if exact <= Int128(Int64.max) {
                #expect(parsed == .success(Int64(exact)), "\(text)")
            } else {
                #expect(parsed == .failure(.tooLarge), "\(text)")
            }
        }
        for text in Self.edgeIntegers + Self.edgeDoubles {
            for unit in Self.durationUnits {
                switch DurationText.parse(text + unit) {
                case .success(let nanoseconds): #expect(nanoseconds >= 0, "\(text + unit)")
                case .failure: break
                }
            }
        }
    }

    @Test func everyDurationPrintsAndReadsBackExactly() {
        var rng = SeededRandom(seed: 63)
        var values: [Int64] = [0, 1, 999, 1_000, 999_999, 1_000_000, 999_999_999, 1_000_000_000, Int64.max, Int64.max - 1]
        for _ in 0..<5_000 { values.append(Int64(bitPattern: rng.next() >> UInt64(rng.int(1...63)))) }
        for value in values {
            let go = DurationText.goString(value)
            #expect(DurationText.parse(go) == .success(value), "\(value) -> \(go)")
            let prometheus = DurationText.prometheusString(value)
            #expect(DurationText.parse(prometheus) == .success(value), "\(value) -> \(prometheus)")
            if value > 0 {
                #expect(LokiDurationText.format(-value) == "-" + go)
                #expect(DurationText.prometheusString(-value) == "-" + prometheus)
            }
        }
        #expect(LokiDurationText.format(Int64.min) == "-2562047h47m16.854775808s")
        #expect(LokiDurationText.format(Int64.max) == "2562047h47m16.854775807s")
        #expect(LokiDurationText.format(1_999_999_999) == "1.999999999s")
        #expect(LokiDurationText.format(59_999_999_999) == "59.999999999s")
        #expect(LokiDurationText.format(1_001) == "1.001µs")
    }

    @Test func durationValuesClampInsteadOfWrapping() {
        #expect(DurationText.nanoseconds(.seconds(Int64.max)) == Int64.max)
        #expect(DurationText.nanoseconds(.seconds(Int64.min)) == Int64.min)
        #expect(DurationText.nanoseconds(.nanoseconds(Int64.max)) == Int64.max)
        #expect(DurationText.nanoseconds(.nanoseconds(Int64.min)) == Int64.min)
        #expect(DurationText.nanoseconds(.nanoseconds(-1)) == -1)
        #expect(DurationText.nanoseconds(.seconds(9_223_372_037)) == Int64.max)
        #expect(DurationText.nanoseconds(.zero) == 0)
        var rng = SeededRandom(seed: 9)
        for _ in 0..<2_000 {
            let value = Int64(bitPattern: rng.next())
            #expect(DurationText.nanoseconds(.nanoseconds(value)) == value)
        }
    }

    static let sizeUnits: [(String, Int128)] = [
        ("", 1), ("B", 1), ("KiB", 1 << 10), ("MB", 1 << 20), ("g", 1 << 30), ("TiB", 1 << 40), ("PB", 1 << 50),
        ("EiB", 1 << 60), ("exabytes", 1 << 60),
    ]

    @Test func sizesNeverTrapAndMeanExactlyWhatIsWritten() {
        var rng = SeededRandom(seed: 1024)
        var inputs: [(String, String, String, Int128)] = []
        for whole in Self.edgeIntegers where !whole.hasPrefix("-") {
            for (unit, size) in Self.sizeUnits {
                inputs.append((whole, "", unit, size))
                inputs.append((whole, "999999999999999999999", unit, size))
            }
        }
        for _ in 0..<2_000 {
            let (unit, size) = Self.sizeUnits[rng.int(0...Self.sizeUnits.count - 1)]
            let whole = String(rng.next() >> UInt64(rng.int(0...63)))
            let fraction = rng.chance(40) ? "" : String(repeating: "9", count: rng.int(0...12)) + String(rng.next() % 1_000_000)
            inputs.append((whole, fraction, unit, size))
        }
        for (whole, fraction, unit, size) in inputs {
            let text = whole + (fraction.isEmpty ? "" : "." + fraction) + unit
            guard let wholeValue = Int128(whole) else {
                #expect(ByteSizeText.parse(text) == .failure(.tooLarge), "\(text)")
                continue
            }
            let digits = String(fraction.prefix(18))
            var scale: Int128 = 1
            for _ in 0..<digits.count { scale *= 10 }
            let exact = wholeValue * size + size * (Int128(digits) ?? 0) / scale
            if exact <= Int128(Int.max) {
                #expect(ByteSizeText.parse(text) == .success(Int(exact)), "\(text)")
            } else {
                #expect(ByteSizeText.parse(text) == .failure(.tooLarge), "\(text)")
            }
        }
        for text in Self.edgeIntegers + Self.edgeDoubles {
            for (unit, _) in Self.sizeUnits {
                if case .success(let bytes) = ByteSizeText.parse(text + unit) { #expect(bytes >= 0, "\(text + unit)") }
            }
        }
    }

    @Test func everySizePrintsAndReadsBackExactly() {
        var rng = SeededRandom(seed: 4096)
        var values: [Int] = [0, 1, 1023, 1024, 1 << 60, Int.max, Int.max - 1, Int.max & ~1023]
        for _ in 0..<5_000 { values.append(Int(bitPattern: UInt(rng.next() >> UInt64(rng.int(1...63))))) }
        for value in values {
            #expect(ByteSizeText.parse(ByteSizeText.format(value)) == .success(value), "\(value)")
        }
        // Negative sizes never come out of the parser; printing them still must not trap.
        for value in [Int.min, Int.min + 1, -1, -1024] { _ = ByteSizeText.format(value) }
    }
}
