import ArgumentParser

/// A byte count given on the command line: `1GB`, `512MB`, `1.5GiB`, `100kB`, `4096`. Decimal units (`kB`, `MB`,
/// `GB`, `TB`) are powers of 1000, binary units (`KiB`, `MiB`, `GiB`, `TiB`) powers of 1024; a bare number is bytes.
struct ByteCountArgument: ExpressibleByArgument, Sendable, CustomStringConvertible {
    var bytes: Int

    init(bytes: Int) {
        self.bytes = bytes
    }

    init?(argument: String) {
        guard let parsed = try? Self.parse(argument) else { return nil }
        self.bytes = parsed
    }

    var description: String { Self.format(bytes) }

    static func parse(_ text: String) throws -> Int {
        let trimmed = text.trimmingSpaces()
        let number = trimmed.prefix { $0.isNumber || $0 == "." }
        let unit = trimmed.dropFirst(number.count).lowercased()
        guard let value = Double(number), value >= 0 else {
            throw LoadGenError.badArgument("size '\(text)': expected a number followed by a unit such as MB or GiB")
        }
        let multipliers: [String: Double] = [
            "": 1, "b": 1,
            "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
            "kib": 1024, "mib": 1_048_576, "gib": 1_073_741_824, "tib": 1_099_511_627_776,
        ]
        guard let multiplier = multipliers[unit] else {
            throw LoadGenError.badArgument("size '\(text)': unknown unit '\(unit)'; use B, kB, MB, GB, TB, KiB, MiB, GiB")
        }
        let bytes = value * multiplier
        guard bytes < 9e18 else {
            throw LoadGenError.badArgument("size '\(text)': too large (at most about 9 EB)")
        }
        return Int(bytes)
    }

    /// Formats with a decimal unit: `1.00 GB`, `215 B`.
    static func format(_ bytes: Int) -> String {
        let value = Double(bytes)
        if value >= 1e9 { return String(format2: value / 1e9) + " GB" }
        if value >= 1e6 { return String(format2: value / 1e6) + " MB" }
        if value >= 1e3 { return String(format2: value / 1e3) + " kB" }
        return "\(bytes) B"
    }
}
