import Foundation
import Wire

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

    /// A time: RFC 3339, integer nanoseconds (or seconds if ≤ 10 characters), or float seconds. Nil when it does
    /// not parse or names an instant that nanoseconds since 1970 cannot hold in 64 bits (Go would wrap around).
    static func parseTime(_ value: String) -> Int64? {
        if value.contains("."), let seconds = Double(value) {
            // Go's math.Modf, then the fraction rounded to milliseconds.
            let whole = seconds.rounded(.towardZero)
            let fraction = ((seconds - whole) * 1000).rounded() / 1000
            guard let wholeSeconds = Int64(checkedTruncating: whole), let nanos = Int64(checkedTruncating: fraction * 1e9)
            else { return nil }
            return wholeSeconds.checkedMultiplied(by: 1_000_000_000)?.checkedAdding(nanos)
        }
        if let integer = Int64(value) {
            return value.utf8.count <= 10 ? integer.checkedMultiplied(by: 1_000_000_000) : integer
        }
        return RFC3339Time.parse(value)
    }

    /// A duration: Prometheus syntax (`1h30m`, `7d`) or float seconds. Nil when it does not parse or does not fit
    /// 64 bits of nanoseconds (Loki: "It overflows int64").
    static func parseDuration(_ value: String) -> Int64? {
        if let seconds = Double(value) { return Int64(checkedTruncating: seconds * 1e9) }
        var total: Int64 = 0
        var number: Int64 = 0
        var sawDigit = false
        var index = value.startIndex
        while index < value.endIndex {
            let c = value[index]
            if let digit = c.wholeNumberValue, c.isASCII {
                guard let scaled = number.checkedMultiplied(by: 10)?.checkedAdding(Int64(digit)) else { return nil }
                number = scaled
                sawDigit = true
                index = value.index(after: index)
                continue
            }
            guard sawDigit, let unit = durationUnits.first(where: { value[index...].hasPrefix($0.0) }),
                  let sum = number.checkedMultiplied(by: unit.1).flatMap({ total.checkedAdding($0) })
            else { return nil }
            total = sum
            number = 0
            sawDigit = false
            index = value.index(index, offsetBy: unit.0.count)
        }
        return sawDigit ? nil : (value.isEmpty ? nil : total)
    }

    private static let durationUnits: [(String, Int64)] = [
        ("ms", 1_000_000), ("us", 1000), ("µs", 1000), ("ns", 1), ("y", 365 * 86_400 * 1_000_000_000),
        ("w", 7 * 86_400 * 1_000_000_000), ("d", 86_400 * 1_000_000_000), ("h", 3_600_000_000_000),
        ("m", 60_000_000_000), ("s", 1_000_000_000),
    ]
}
