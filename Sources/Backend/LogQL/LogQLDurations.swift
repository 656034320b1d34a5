import Foundation

/// The duration and byte-size spellings Loki's lexer recognises after a number.
enum LogQLDurations {
    /// Prometheus' `model.ParseDuration`: `1y2w3d4h5m6s7ms` (each unit at most once, in this order).
    static func isPrometheusDuration(_ text: String) -> Bool {
        let units = ["y", "w", "d", "h", "m", "s", "ms"]
        var rest = Substring(text)
        guard !rest.isEmpty else { return false }
        if rest == "0" { return true }
        var nextUnit = 0
        while !rest.isEmpty {
            let digits = rest.prefix { ("0"..."9").contains($0) }
            guard !digits.isEmpty else { return false }
            rest = rest.dropFirst(digits.count)
            let letters = rest.prefix { $0.isLetter }
            guard let unit = units[nextUnit...].firstIndex(of: String(letters)) else { return false }
            nextUnit = unit + 1
            rest = rest.dropFirst(letters.count)
        }
        return true
    }

    /// Go's `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?unit)+`, units ns us µs ms s m h.
    static func isGoDuration(_ text: String) -> Bool {
        var rest = Substring(text)
        if let sign = rest.first, sign == "-" || sign == "+" { rest = rest.dropFirst() }
        if rest == "0" { return true }
        guard !rest.isEmpty else { return false }
        while !rest.isEmpty {
            let whole = rest.prefix { ("0"..."9").contains($0) }
            rest = rest.dropFirst(whole.count)
            var fraction = Substring()
            if rest.first == "." {
                rest = rest.dropFirst()
                fraction = rest.prefix { ("0"..."9").contains($0) }
                rest = rest.dropFirst(fraction.count)
            }
            guard !whole.isEmpty || !fraction.isEmpty else { return false }
            let unit = rest.prefix { !("0"..."9").contains($0) && $0 != "." }
            guard ["ns", "us", "µs", "μs", "ms", "s", "m", "h"].contains(String(unit)) else { return false }
            rest = rest.dropFirst(unit.count)
        }
        return true
    }

    /// Either spelling, as Loki's `parseDuration`.
    static func isDuration(_ text: String) -> Bool {
        isPrometheusDuration(text) || isGoDuration(text)
    }

    /// go-humanize's `ParseBytes`: a number and a unit such as `B`, `KB`, `KiB`, `MB`, `Mi`, `G`.
    static func isBytes(_ text: String) -> Bool {
        let number = text.prefix { ("0"..."9").contains($0) || $0 == "." }
        guard !number.isEmpty, Double(number) != nil else { return false }
        let unit = text.dropFirst(number.count).lowercased()
        return ["", "b", "kib", "kb", "mib", "mb", "gib", "gb", "tib", "tb", "pib", "pb", "eib", "eb",
                "ki", "k", "mi", "m", "gi", "g", "ti", "t", "pi", "p", "ei", "e"].contains(unit)
    }
}

extension LogQLDurations {
    /// The nanoseconds of a Go or Prometheus duration, or nil when `text` is neither (or overflows).
    static func nanoseconds(_ text: String) -> Int64? {
        goNanoseconds(text) ?? prometheusNanoseconds(text)
    }

    /// Prometheus' `model.ParseDuration`, as range selectors use it: `1h30m`, `2d`, `1y`.
    static func prometheusNanoseconds(_ text: String) -> Int64? {
        guard isPrometheusDuration(text) else { return nil }
        let units: [String: Int64] = [
            "y": 365 * 86_400_000_000_000, "w": 7 * 86_400_000_000_000, "d": 86_400_000_000_000,
            "h": 3_600_000_000_000, "m": 60_000_000_000, "s": 1_000_000_000, "ms": 1_000_000,
        ]
        var total: Int64 = 0
        var rest = Substring(text)
        while !rest.isEmpty {
            let digits = rest.prefix { ("0"..."9").contains($0) }
            rest = rest.dropFirst(digits.count)
            let letters = rest.prefix { $0.isLetter }
            rest = rest.dropFirst(letters.count)
            guard let value = Int64(digits) else { return nil }
            if letters.isEmpty { continue }  // "0"
            guard let unit = units[String(letters)] else { return nil }
            let (product, overflow) = value.multipliedReportingOverflow(by: unit)
            guard !overflow else { return nil }
            let (sum, overflow2) = total.addingReportingOverflow(product)
            guard !overflow2 else { return nil }
            total = sum
        }
        return total
    }

    /// Go's `time.ParseDuration`: `1.5h`, `-300ms`, `2h45m`.
    static func goNanoseconds(_ text: String) -> Int64? {
        guard isGoDuration(text) else { return nil }
        let units: [String: Double] = [
            "ns": 1, "us": 1e3, "µs": 1e3, "μs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9,
        ]
        var rest = Substring(text)
        var sign = 1.0
        if let first = rest.first, first == "-" || first == "+" {
            sign = first == "-" ? -1 : 1
            rest = rest.dropFirst()
        }
        if rest == "0" { return 0 }
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { ("0"..."9").contains($0) || $0 == "." }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { !("0"..."9").contains($0) && $0 != "." }
            rest = rest.dropFirst(unit.count)
            guard let value = Double(number.hasPrefix(".") ? "0" + number : String(number)),
                  let scale = units[String(unit)] else { return nil }
            total += value * scale
        }
        total *= sign
        guard total.isFinite, abs(total) < 9.2e18 else { return nil }
        return Int64(total)
    }

    /// go-humanize's `ParseBytes`: `10MB` = 10 000 000, `10MiB` = 10 485 760, `1.5K` = 1 500.
    static func bytes(_ text: String) -> UInt64? {
        guard isBytes(text) else { return nil }
        let number = text.prefix { ("0"..."9").contains($0) || $0 == "." }
        guard let value = Double(number) else { return nil }
        let unit = text.dropFirst(number.count).lowercased()
        let powers: [Character: Double] = ["k": 1, "m": 2, "g": 3, "t": 4, "p": 5, "e": 6]
        var scale = 1.0
        if let first = unit.first, let power = powers[first] {
            let binary = unit.hasSuffix("i") || unit.hasSuffix("ib")
            scale = Foundation.pow(binary ? 1024 : 1000, power)
        }
        let result = value * scale
        guard result.isFinite, result < 1.8e19 else { return nil }
        return UInt64(result)
    }
}
