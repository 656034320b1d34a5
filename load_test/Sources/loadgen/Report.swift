import Foundation

/// Formatting shared by the subcommands' human-readable output and their `RESULT {json}` line.
enum Report {
    /// `1234567` -> `1.23M`, `12345` -> `12.3k`.
    static func count(_ value: Double) -> String {
        if value >= 1e6 { return String(format2: value / 1e6) + "M" }
        if value >= 1e4 { return String(fixed: value / 1e3, decimals: 1) + "k" }
        return String(fixed: value, decimals: value >= 100 ? 0 : 1)
    }

    /// Microseconds as `850µs`, `3.21ms` or `1.52s`.
    static func micros(_ value: UInt64) -> String {
        if value < 1000 { return "\(value)µs" }
        if value < 1_000_000 { return String(format2: Double(value) / 1e3) + "ms" }
        return String(format2: Double(value) / 1e6) + "s"
    }

    static func megabytes(_ bytes: Int) -> String {
        String(fixed: Double(bytes) / 1e6, decimals: 1) + " MB"
    }

    /// Prints `label` padded to a column, then the value.
    static func line(_ label: String, _ value: String) {
        let padding = String(repeating: " ", count: max(1, 22 - label.count))
        say("  " + label + padding + value)
    }

    /// Prints a line to standard output and flushes it, so that it interleaves in order with progress on stderr.
    static func say(_ text: String) {
        print(text)
        fflush(nil)
    }

    /// The machine-readable last line: `RESULT {json}` with sorted keys.
    static func printResult(_ fields: [String: Any]) {
        printLine("RESULT", fields)
    }

    /// A machine-readable line: `<tag> {json}` with sorted keys.
    static func printLine(_ tag: String, _ fields: [String: Any]) {
        let cleaned = fields.mapValues { value -> Any in
            if let double = value as? Double, !double.isFinite { return NSNull() }
            return value
        }
        guard let data = try? JSONSerialization.data(withJSONObject: cleaned, options: [.sortedKeys]) else {
            printError("cannot encode \(tag) line")
            return
        }
        say(tag + " " + String(decoding: data, as: UTF8.self))
    }
}

/// Writes a line to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
