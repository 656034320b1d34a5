import ArgumentParser

/// A duration given on the command line the way Go and Prometheus write them: `30s`, `2m`, `1h30m`, `500ms`, `1.5s`.
/// A bare number is seconds.
struct DurationArgument: ExpressibleByArgument, Sendable, CustomStringConvertible {
    var duration: Duration

    init(_ duration: Duration) {
        self.duration = duration
    }

    init?(argument: String) {
        guard let parsed = try? Self.parse(argument) else { return nil }
        self.duration = parsed
    }

    var description: String { Self.format(duration) }

    /// Seconds as a floating-point number.
    var seconds: Double { duration.seconds }

    /// Parses a duration; throws ``LoadGenError/badArgument(_:)`` naming the offending text.
    static func parse(_ text: String) throws -> Duration {
        let units: [(suffix: String, nanos: Double)] = [
            ("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9), ("d", 86400e9),
        ]
        var rest = Substring(text.trimmingSpaces())
        guard !rest.isEmpty else { throw LoadGenError.badArgument("empty duration; expected e.g. 30s, 2m, 1h30m") }
        if let seconds = Double(rest), seconds >= 0 { return .nanoseconds(Int64(seconds * 1e9)) }
        var totalNanos = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard let value = Double(number) else {
                throw LoadGenError.badArgument("duration '\(text)': expected a number at '\(rest)'")
            }
            rest = rest.dropFirst(number.count)
            let unitText = rest.prefix { !($0.isNumber || $0 == ".") }
            // Longest match first so that "ms" is not read as "m" followed by garbage.
            guard let unit = units.first(where: { $0.suffix == unitText }) else {
                throw LoadGenError.badArgument(
                    "duration '\(text)': unknown unit '\(unitText)'; use ns, us, ms, s, m, h or d")
            }
            rest = rest.dropFirst(unitText.count)
            totalNanos += value * unit.nanos
        }
        return .nanoseconds(Int64(totalNanos))
    }

    static func format(_ duration: Duration) -> String {
        let seconds = duration.seconds
        if seconds >= 1 { return String(format2: seconds) + "s" }
        return String(format2: seconds * 1000) + "ms"
    }
}
