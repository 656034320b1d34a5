#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The operand of `ip("…")` in line and label filters: one address (`192.168.0.1`, `::1`), a CIDR range
/// (`10.0.0.0/8`) or an inclusive range (`192.168.0.1-192.168.0.10`), IPv4 or IPv6, as Loki's `ip.go`.
struct IPMatcher: Sendable, Equatable {
    private enum Pattern: Sendable, Equatable {
        case single([UInt8])
        case prefix([UInt8], bits: Int)
        case range([UInt8], [UInt8])
    }

    private let pattern: Pattern

    init(_ text: String) throws(LogQLError) {
        let fail = LogQLError(line: 0, column: 0, message: "invalid ip(\"\(text)\")")
        if let slash = text.firstIndex(of: "/") {
            guard let address = Self.parse(String(text[..<slash])), let bits = Int(text[text.index(after: slash)...]),
                  bits >= 0, bits <= address.count * 8 else { throw fail }
            pattern = .prefix(address, bits: bits)
        } else if let dash = text.firstIndex(of: "-") {
            guard let low = Self.parse(String(text[..<dash])), let high = Self.parse(String(text[text.index(after: dash)...])),
                  low.count == high.count, !high.lexicographicallyPrecedes(low) else { throw fail }
            pattern = .range(low, high)
        } else {
            guard let address = Self.parse(text) else { throw fail }
            pattern = .single(address)
        }
    }

    /// Whether `text` is an address the pattern covers.
    func matches(_ text: String) -> Bool {
        guard let address = Self.parse(text) else { return false }
        return matches(address: address)
    }

    func matches(address: [UInt8]) -> Bool {
        switch pattern {
        case .single(let expected):
            return address == expected
        case .prefix(let network, let bits):
            guard address.count == network.count else { return false }
            var remaining = bits
            for index in 0..<address.count where remaining > 0 {
                let take = min(8, remaining)
                let mask: UInt8 = take == 8 ? 0xFF : ~(UInt8(0xFF) >> UInt8(take))
                if address[index] & mask != network[index] & mask { return false }
                remaining -= take
            }
            return true
        case .range(let low, let high):
            guard address.count == low.count else { return false }
            return !address.lexicographicallyPrecedes(low) && !high.lexicographicallyPrecedes(address)
        }
    }

    /// Whether some address written in `text` is covered: Loki's `ipFilter.filter`, used by both the line filter
    /// and the label filter. Candidates start where a digit is followed by a `.` within three bytes (IPv4) or where
    /// up to four hex digits or `::` precede a `:` (IPv6), and extend over the address characters; a candidate that
    /// does not parse is skipped whole (so `10.0.0.1.` at the end of a sentence is not an address, as in Loki).
    func matchesAnywhere(_ text: UnsafeRawBufferPointer) -> Bool {
        let count = text.count
        var index = 0
        while index < count {
            var charset: ((UInt8) -> Bool)?
            if index + 3 < count, Self.isDigit(text[index]),
               text[index + 1] == 46 || text[index + 2] == 46 || text[index + 3] == 46 {
                charset = { Self.isDigit($0) || $0 == 46 }
            } else if index + 4 < count, Self.ipv6Hint(text, index) {
                charset = { Self.isHex($0) || $0 == 58 || $0 == 46 }
            }
            if let charset {
                var end = index
                while end < count, charset(text[end]) { end += 1 }
                let candidate = String(decoding: UnsafeRawBufferPointer(rebasing: text[index..<end]), as: UTF8.self)
                if matches(candidate) { return true }
                index = end
            }
            index += 1
        }
        return false
    }

    func matchesAnywhere(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { matchesAnywhere(UnsafeRawBufferPointer($0)) }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }

    private static func isHex(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte >= 97 && byte <= 102) || (byte >= 65 && byte <= 70)
    }

    private static func ipv6Hint(_ text: UnsafeRawBufferPointer, _ at: Int) -> Bool {
        if text[at] == 58 && text[at + 1] == 58 && isHex(text[at + 2]) { return true }
        var hexCount = 0
        while hexCount < 4, isHex(text[at + hexCount]) {
            hexCount += 1
            if text[at + hexCount] == 58 { return true }
        }
        return false
    }

    /// 4 bytes for IPv4, 16 for IPv6; nil when `text` is not an address.
    static func parse(_ text: String) -> [UInt8]? {
        guard !text.isEmpty, text.utf8.count <= 45 else { return nil }
        if text.contains(":") {
            var storage = in6_addr()
            guard inet_pton(AF_INET6, text, &storage) == 1 else { return nil }
            return withUnsafeBytes(of: &storage) { Array($0) }
        }
        // Go's netip rejects leading zeros in IPv4; inet_pton accepts only dotted quads, as wanted.
        for part in text.split(separator: ".", omittingEmptySubsequences: false) where part.count > 1 && part.first == "0" {
            return nil
        }
        var storage = in_addr()
        guard inet_pton(AF_INET, text, &storage) == 1 else { return nil }
        return withUnsafeBytes(of: &storage) { Array($0) }
    }
}
