/// The scalars one instruction of a compiled regex accepts: a character class (ranges, property escapes,
/// negation) or a case-folded literal, with an ASCII bitmap so most bytes of a log line test in one load.
struct RE2RuneSet: Sendable {
    /// Sorted, non-overlapping inclusive ranges flattened as low, high pairs.
    private let ranges: [UInt32]
    private let properties: [RE2UnicodeProperty]
    private let negated: Bool
    private let foldCase: Bool
    /// Membership of the scalars 0..<128, precomputed.
    private var asciiLow: UInt64
    private var asciiHigh: UInt64

    init(ranges input: [ClosedRange<UInt32>], properties: [RE2UnicodeProperty], negated: Bool, foldCase: Bool) {
        let sorted = input.sorted { $0.lowerBound < $1.lowerBound }
        var merged: [UInt32] = []
        for range in sorted {
            if let high = merged.last, range.lowerBound <= high &+ 1 {
                merged[merged.count - 1] = max(high, range.upperBound)
            } else {
                merged.append(range.lowerBound)
                merged.append(range.upperBound)
            }
        }
        ranges = merged
        self.properties = properties
        self.negated = negated
        self.foldCase = foldCase
        asciiLow = 0
        asciiHigh = 0
        var low: UInt64 = 0
        var high: UInt64 = 0
        for value in UInt32(0)..<128 where containsSlow(value) {
            if value < 64 { low |= 1 << UInt64(value) } else { high |= 1 << UInt64(value - 64) }
        }
        asciiLow = low
        asciiHigh = high
    }

    /// A literal, case-folded or not.
    init(literal: UInt32, foldCase: Bool) {
        let values = foldCase ? Self.orbit(literal) : [literal]
        self.init(ranges: values.map { $0...$0 }, properties: [], negated: false, foldCase: false)
    }

    @inline(__always)
    func contains(_ value: UInt32) -> Bool {
        if value < 64 { return asciiLow & (1 << UInt64(value)) != 0 }
        if value < 128 { return asciiHigh & (1 << UInt64(value - 64)) != 0 }
        return containsSlow(value)
    }

    private func containsSlow(_ value: UInt32) -> Bool {
        var hit = containsUnfolded(value)
        if !hit && foldCase {
            for other in Self.orbit(value) where other != value && containsUnfolded(other) {
                hit = true
                break
            }
        }
        return hit != negated
    }

    private func containsUnfolded(_ value: UInt32) -> Bool {
        if Self.rangesContain(ranges, value) { return true }
        for property in properties where property.contains(value) { return true }
        return false
    }

    static func rangesContain(_ ranges: [UInt32], _ value: UInt32) -> Bool {
        var low = 0
        var high = ranges.count / 2
        while low < high {
            let middle = (low + high) / 2
            if value < ranges[2 * middle] {
                high = middle
            } else if value > ranges[2 * middle + 1] {
                low = middle + 1
            } else {
                return true
            }
        }
        return false
    }

    // MARK: Simple case folding

    /// Every scalar equal to `value` under simple case folding (its lower, upper and titlecase mappings when they
    /// are single scalars, closed under repetition, plus the few Go folds no mapping reaches, such as K and the
    /// Kelvin sign), `value` first.
    static func orbit(_ value: UInt32) -> [UInt32] {
        var found = [value]
        var next = 0
        while next < found.count {
            let current = found[next]
            next += 1
            for mapped in mappings(current) + (extraFolds[current] ?? []) where !found.contains(mapped) {
                found.append(mapped)
            }
        }
        return found
    }

    private static func mappings(_ value: UInt32) -> [UInt32] {
        guard let scalar = Unicode.Scalar(value) else { return [] }
        if scalar.isASCII {
            switch value {
            case 65...90: return [value + 32]
            case 97...122: return [value - 32]
            default: return []
            }
        }
        let properties = scalar.properties
        guard properties.changesWhenCaseMapped else { return [] }
        var out: [UInt32] = []
        for mapping in [properties.lowercaseMapping, properties.uppercaseMapping, properties.titlecaseMapping] {
            let scalars = mapping.unicodeScalars
            if scalars.count == 1, let only = scalars.first, only.value != value { out.append(only.value) }
        }
        return out
    }

    /// Folds of Go's `unicode.SimpleFold` that no single-scalar case mapping of the common letter reaches.
    private static let extraFolds: [UInt32: [UInt32]] = [
        0x6B: [0x212A], 0x4B: [0x212A],  // k K, Kelvin sign
        0x73: [0x17F], 0x53: [0x17F],  // s S, long s
        0xE5: [0x212B], 0xC5: [0x212B],  // å Å, Angstrom sign
        0x3BC: [0xB5], 0x39C: [0xB5],  // μ Μ, micro sign
        0x3B9: [0x345, 0x1FBE], 0x399: [0x345, 0x1FBE],  // ι Ι
        0x3C3: [0x3C2], 0x3A3: [0x3C2],  // σ Σ, final sigma
        0x3B2: [0x3D0], 0x3B8: [0x3D1, 0x3F4], 0x3C6: [0x3D5], 0x3C0: [0x3D6], 0x3BA: [0x3F0], 0x3C1: [0x3F1],
        0x3B5: [0x3F5], 0x1E61: [0x1E9B],
    ]
}
