/// The labels of one stream, sorted by name: Prometheus' `labels.Labels`.
///
/// Two label sets are equal when they hold the same pairs; `fingerprint` is the Prometheus hash Loki uses to key
/// streams, so it is stable across processes and versions.
public struct LabelSet: Sendable, Hashable, CustomStringConvertible {
    /// The pairs, sorted by name. The sort is stable: pairs with equal names keep the order they were given in.
    public let pairs: [LabelPair]

    /// Sorts `pairs` by name (stable). Duplicates are kept: validating them is the caller's business.
    public init(_ pairs: [LabelPair]) {
        if Self.isSortedByName(pairs) {
            self.pairs = pairs
        } else {
            // `sorted(by:)` is stable.
            self.pairs = pairs.sorted { $0.name < $1.name }
        }
    }

    private static func isSortedByName(_ pairs: [LabelPair]) -> Bool {
        var index = 1
        while index < pairs.count {
            if pairs[index].name < pairs[index - 1].name { return false }
            index += 1
        }
        return true
    }

    /// The value of the first label called `name`, or nil when there is none.
    public subscript(name: String) -> String? {
        var low = 0
        var high = pairs.count
        while low < high {
            let middle = (low + high) / 2
            if pairs[middle].name < name { low = middle + 1 } else { high = middle }
        }
        return low < pairs.count && pairs[low].name == name ? pairs[low].value : nil
    }

    /// Prometheus' `labels.Labels.Hash()`: XXH64 (seed 0) of name, 0xff, value, 0xff for every pair in order.
    public var fingerprint: UInt64 {
        var size = 0
        for pair in pairs { size += pair.name.utf8.count + pair.value.utf8.count + 2 }
        // Lay the bytes out once (on the stack when small) and hash them in one pass, as Prometheus does.
        return withUnsafeTemporaryAllocation(byteCount: size, alignment: 8) { buffer -> UInt64 in
            var offset = 0
            for pair in pairs {
                offset = Self.copy(pair.name, into: buffer, at: offset)
                buffer[offset] = 0xFF
                offset = Self.copy(pair.value, into: buffer, at: offset + 1)
                buffer[offset] = 0xFF
                offset += 1
            }
            return XXHash64.hash(UnsafeRawBufferPointer(buffer))
        }
    }

    private static func copy(_ string: String, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        var string = string
        return string.withUTF8 { utf8 in
            if let source = utf8.baseAddress, let target = buffer.baseAddress {
                (target + offset).copyMemory(from: source, byteCount: utf8.count)
            }
            return offset + utf8.count
        }
    }

    /// `{a="b", c="d"}`: names as they are, values quoted as Go's `strconv.Quote` does (Prometheus' format).
    public var description: String {
        var text = "{"
        for (index, pair) in pairs.enumerated() {
            if index > 0 { text += ", " }
            text += pair.name
            text += "="
            text += GoQuote.quote(pair.value)
        }
        text += "}"
        return text
    }
}
