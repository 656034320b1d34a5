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
