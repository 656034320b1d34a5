#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Wire

/// JSON exactly as Go's `encoding/json` `Marshal` writes pdata's `AsRaw()` values, which is what the Loki
/// translator puts in a line: objects with their keys sorted bytewise and a repeated key keeping its last value,
/// HTML-safe strings (`<` is `\u003c`), bytes as padded base64, integers in decimal, doubles in Go's layout, an
/// empty value as `null`. NaN and infinities cannot be written and fail the record, as in Go.
package enum GoJSON {
    package struct UnsupportedValue: Error {
        /// Go's message: `json: unsupported value: NaN`.
        package var message: String
    }

    /// A string as `json.Marshal` writes it: HTML-safe, invalid UTF-8 replaced.
    package static func appendString(_ string: String, to out: inout [UInt8]) {
        JSONString.append(string, to: &out, options: .htmlSafe)
    }

    /// A value as `json.Marshal(value.AsRaw())` writes it.
    package static func appendValue(_ value: OTLPAnyValue?, to out: inout [UInt8]) throws(UnsupportedValue) {
        guard let value else {
            out.append(contentsOf: "null".utf8)
            return
        }
        switch value {
        case .string(let text):
            appendString(text, to: &out)
        case .bool(let flag):
            out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .int(let number):
            appendInteger(number, to: &out)
        case .double(let number):
            guard number.isFinite else { throw UnsupportedValue(message: unsupportedMessage(number)) }
            GoFloatFormat.appendJSON(number, to: &out)
        case .bytes(let bytes):
            out.append(UInt8(ascii: "\""))
            Base64Codec.encode(bytes, to: &out)
            out.append(UInt8(ascii: "\""))
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                try appendValue(item, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .kvlist(let pairs):
            try appendObject(pairs, to: &out)
        }
    }

    /// `json.Marshal(map.AsRaw())`: keys sorted bytewise, the last of repeated keys wins.
    package static func appendObject(_ pairs: [OTLPKeyValue], to out: inout [UInt8]) throws(UnsupportedValue) {
        out.append(UInt8(ascii: "{"))
        if isStrictlyAscending(pairs) {
            for (index, pair) in pairs.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                appendString(pair.key, to: &out)
                out.append(UInt8(ascii: ":"))
                try appendValue(pair.value, to: &out)
            }
            out.append(UInt8(ascii: "}"))
            return
        }
        var failure: UnsupportedValue?
        withSortedIndices(pairs) { order in
            for (position, index) in order.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                appendString(pairs[index].key, to: &out)
                out.append(UInt8(ascii: ":"))
                do throws(UnsupportedValue) {
                    try appendValue(pairs[index].value, to: &out)
                } catch {
                    failure = error
                    return
                }
            }
        }
        if let failure { throw failure }
        out.append(UInt8(ascii: "}"))
    }

    /// Calls `body` with ``uniqueSortedIndices(_:)``, worked out on the stack for objects of up to 16 keys (the
    /// usual record's attributes), so that writing a line allocates nothing for its order.
    static func withSortedIndices(_ pairs: [OTLPKeyValue], _ body: (UnsafeBufferPointer<Int>) -> Void) {
        guard pairs.count <= 16 else {
            uniqueSortedIndices(pairs).withUnsafeBufferPointer(body)
            return
        }
        withUnsafeTemporaryAllocation(of: Int.self, capacity: pairs.count) { order in
            let count = sortUnique(pairs, into: order)
            body(UnsafeBufferPointer(rebasing: order[..<count]))
        }
    }

    /// Insertion sort of the indices of `pairs` by key into `order` (room for every pair), stable, then the last
    /// pair of each key kept; returns how many indices are left.
    private static func sortUnique(_ pairs: [OTLPKeyValue], into order: UnsafeMutableBufferPointer<Int>) -> Int {
        pairs.withUnsafeBufferPointer { pairs in sortUnique(pairs, into: order) }
    }

    private static func sortUnique(_ pairs: UnsafeBufferPointer<OTLPKeyValue>, into order: UnsafeMutableBufferPointer<Int>) -> Int {
        for next in 0..<pairs.count {
            var slot = next
            while slot > 0, GoString.compare(pairs[order[slot - 1]].key, pairs[next].key) > 0 {
                order[slot] = order[slot - 1]
                slot -= 1
            }
            order[slot] = next
        }
        var kept = 0
        for position in 0..<pairs.count {
            let index = order[position]
            if kept > 0, GoString.equal(pairs[order[kept - 1]].key, pairs[index].key) {
                order[kept - 1] = index
            } else {
                order[kept] = index
                kept += 1
            }
        }
        return kept
    }

    /// Whether the keys already are in Go's order with none repeated (then no sorting is needed).
    static func isStrictlyAscending(_ pairs: [OTLPKeyValue]) -> Bool {
        var index = 1
        while index < pairs.count {
            if GoString.compare(pairs[index - 1].key, pairs[index].key) >= 0 { return false }
            index += 1
        }
        return true
    }

    /// Indices of `pairs` in bytewise key order, keeping the last pair of each key.
    package static func uniqueSortedIndices(_ pairs: [OTLPKeyValue]) -> [Int] {
        if pairs.count < 2 || isStrictlyAscending(pairs) { return Array(pairs.indices) }
        if pairs.count <= 16 {
            return [Int](unsafeUninitializedCapacity: pairs.count) { order, count in
                count = sortUnique(pairs, into: order)
            }
        }
        // Stable by index: among equal keys the later pair sorts later, and the loop below keeps it.
        let sorted = pairs.indices.sorted { lhs, rhs in
            let order = GoString.compare(pairs[lhs].key, pairs[rhs].key)
            return order != 0 ? order < 0 : lhs < rhs
        }
        var result: [Int] = []
        result.reserveCapacity(sorted.count)
        for index in sorted {
            if let last = result.last, GoString.equal(pairs[last].key, pairs[index].key) {
                result[result.count - 1] = index
            } else {
                result.append(index)
            }
        }
        return result
    }

    package static func appendInteger(_ number: Int64, to out: inout [UInt8]) {
        if number < 0 { out.append(UInt8(ascii: "-")) }
        appendUnsigned(number.magnitude, to: &out)
    }

    package static func appendUnsigned(_ number: UInt64, to out: inout [UInt8]) {
        // Digits go in least significant first, then the run is reversed in place.
        let start = out.count
        var rest = number
        repeat {
            out.append(UInt8(ascii: "0") + UInt8(rest % 10))
            rest /= 10
        } while rest > 0
        out[start...].reverse()
    }

    package static func unsupportedMessage(_ number: Double) -> String {
        var text: [UInt8] = []
        GoFloatFormat.appendPrint(number, to: &text)
        return "json: unsupported value: " + String(decoding: text, as: UTF8.self)
    }
}

/// Go compares and matches strings as bytes; Swift's `==` and `<` follow Unicode canonical equivalence, which
/// would merge keys Go keeps apart (`é` precomposed and decomposed).
package enum GoString {
    package static func equal(_ lhs: String, _ rhs: String) -> Bool {
        guard lhs.utf8.count == rhs.utf8.count else { return false }
        return withBytes(lhs, rhs) { equal($0, $1) }
    }

    package static func equal(_ left: UnsafeBufferPointer<UInt8>, _ right: UnsafeBufferPointer<UInt8>) -> Bool {
        guard left.count == right.count else { return false }
        guard let a = left.baseAddress, let b = right.baseAddress else { return true }
        return memcmp(a, b, left.count) == 0
    }

    /// -1, 0 or 1, comparing the UTF-8 bytes.
    package static func compare(_ lhs: String, _ rhs: String) -> Int {
        withBytes(lhs, rhs) { compare($0, $1) }
    }

    static func compare(_ left: UnsafeBufferPointer<UInt8>, _ right: UnsafeBufferPointer<UInt8>) -> Int {
        let common = min(left.count, right.count)
        if common > 0, let a = left.baseAddress, let b = right.baseAddress {
            let order = memcmp(a, b, common)
            if order != 0 { return order < 0 ? -1 : 1 }
        }
        return left.count == right.count ? 0 : (left.count < right.count ? -1 : 1)
    }

    /// Calls `body` with the UTF-8 bytes of both strings. Reading them in place (not through a mutable copy,
    /// as `withUTF8` needs) costs no reference counting: this runs for every attribute key of every record.
    @inline(__always)
    static func withBytes<T>(
        _ lhs: String, _ rhs: String, _ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>) -> T
    ) -> T {
        if let result = lhs.utf8.withContiguousStorageIfAvailable({ a in
            rhs.utf8.withContiguousStorageIfAvailable { b in body(a, b) }
        }), let result {
            return result
        }
        return Array(lhs.utf8).withUnsafeBufferPointer { a in Array(rhs.utf8).withUnsafeBufferPointer { b in body(a, b) } }
    }
}
