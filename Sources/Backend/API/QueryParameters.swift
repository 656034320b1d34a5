import Foundation

/// Request parameters of the query API, from the URL and (for POST) a form-encoded body, parsed as Loki does.
struct QueryParameters {
    private var values: [String: [String]] = [:]

    init(query: String?, formBody: [UInt8]?) {
        if let query { add(query) }
        if let formBody, let text = String(validating: formBody, as: UTF8.self) { add(text) }
    }

    private mutating func add(_ encoded: String) {
        for pair in encoded.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.decode(parts[0])
            let value = parts.count > 1 ? Self.decode(parts[1]) : ""
            values[name, default: []].append(value)
        }
    }

    private static func decode(_ part: Substring) -> String {
        let plus = part.replacingOccurrences(of: "+", with: " ")
        return plus.removingPercentEncoding ?? plus
    }

    subscript(_ name: String) -> String? {
        values[name]?.first
    }

    func all(_ name: String) -> [String] {
        values[name] ?? []
    }

    // MARK: Loki's parameter rules (pkg/loghttp/params.go)

    /// A time: RFC 3339, integer nanoseconds (or seconds if ≤ 10 digits), or float seconds.
    static func parseTime(_ value: String) -> Int64? {
        if value.contains("."), let seconds = Double(value) {
            let whole = seconds.rounded(.towardZero)
            let fraction = ((seconds - whole) * 1000).rounded() / 1000
            return Int64(whole) * 1_000_000_000 + Int64(fraction * 1e9)
        }
        if let integer = Int64(value) {
            return value.count <= 10 ? integer * 1_000_000_000 : integer
        }
        return parseRFC3339(value)
    }

    static func parseRFC3339(_ value: String) -> Int64? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let fractional = value.firstIndex(of: ".")
        guard let date = formatter.date(from: value) ?? {
            formatter.formatOptions = [.withInternetDateTime]
            return formatter.date(from: value)
        }() else { return nil }
        // Keep nanosecond precision the formatter drops.
        var nanos = Int64((date.timeIntervalSince1970).rounded(.down)) * 1_000_000_000
        if let fractional {
            let digits = value[value.index(after: fractional)...].prefix { $0.isNumber }
            let padded = (String(digits) + "000000000").prefix(9)
            nanos += Int64(padded) ?? 0
        }
        return nanos
    }

    /// A duration: Prometheus syntax (`1h30m`, `7d`) or float seconds.
    static func parseDuration(_ value: String) -> Int64? {
        if let seconds = Double(value) { return Int64(seconds * 1e9) }
        var total: Int64 = 0
        var number: Int64 = 0
        var sawDigit = false
        var index = value.startIndex
        let units: [(String, Int64)] = [
            ("ms", 1_000_000), ("us", 1000), ("µs", 1000), ("ns", 1), ("y", 365 * 86_400 * 1_000_000_000),
            ("w", 7 * 86_400 * 1_000_000_000), ("d", 86_400 * 1_000_000_000), ("h", 3_600_000_000_000),
            ("m", 60_000_000_000), ("s", 1_000_000_000),
        ]
        while index < value.endIndex {
            let c = value[index]
            if let digit = c.wholeNumberValue, c.isASCII {
                number = number * 10 + Int64(digit)
                sawDigit = true
                index = value.index(after: index)
                continue
            }
            guard sawDigit, let unit = units.first(where: { value[index...].hasPrefix($0.0) }) else { return nil }
            total += number * unit.1
            number = 0
            sawDigit = false
            index = value.index(index, offsetBy: unit.0.count)
        }
        return sawDigit ? nil : (value.isEmpty ? nil : total)
    }
}
