import GoCompat
import Wire

/// pdata's `pcommon.Map` operations on an attribute list, as the translator uses them: `Get` finds the first pair
/// with the key (bytewise), `PutStr` replaces the first one's value or appends, `RemoveIf` drops every match.
/// Lists keep the sender's order and any repeated keys, as pdata does.
enum LokiAttributes {
    /// The first pair called `key`: `nil` when there is none; `.some(nil)` for a key whose value is empty.
    static func get(_ attributes: [OTLPKeyValue], _ key: String) -> OTLPAnyValue?? {
        for pair in attributes where GoString.equal(pair.key, key) {
            return .some(pair.value)
        }
        return nil
    }

    static func index(_ attributes: [OTLPKeyValue], _ key: String) -> Int? {
        attributes.firstIndex { GoString.equal($0.key, key) }
    }

    static func putString(_ attributes: inout [OTLPKeyValue], _ key: String, _ value: String) {
        if let index = index(attributes, key) {
            attributes[index].value = .string(value)
        } else {
            attributes.append(OTLPKeyValue(key: key, value: .string(value)))
        }
    }

    /// The attribute `name`, else a nested one: `a.b.c` is looked up as `a.b` → `c`, then `a` → `b.c`, taking the
    /// first prefix that names a map (as the translator's `getAttribute`). Every prefix is resolved once, so a
    /// name with many dots costs a polynomial, not exponential, number of look-ups.
    static func lookup(_ name: String, in attributes: [OTLPKeyValue]) -> OTLPAnyValue?? {
        if let direct = get(attributes, name) { return direct }
        guard name.utf8.contains(UInt8(ascii: ".")) else { return nil }
        let utf8 = Array(name.utf8)
        var dots: [Int] = []
        for (offset, byte) in utf8.enumerated() where byte == UInt8(ascii: ".") { dots.append(offset) }
        return lookup(utf8[...], dots: dots[...], in: attributes)
    }

    /// `segments` is a name whose dots are at `dots` (offsets into the same base array).
    private static func lookup(_ name: ArraySlice<UInt8>, dots: ArraySlice<Int>, in attributes: [OTLPKeyValue])
        -> OTLPAnyValue??
    {
        // memo[k]: the result for the prefix made of the first k+1 segments (k dots), computed once.
        var memo: [OTLPAnyValue???] = Array(repeating: nil, count: dots.count + 1)

        func resolve(_ segmentCount: Int) -> OTLPAnyValue?? {
            if let known = memo[segmentCount - 1] { return known }
            let end = segmentCount - 1 < dots.count ? dots[dots.startIndex + segmentCount - 1] : name.endIndex
            let prefix = name[name.startIndex..<end]
            var result: OTLPAnyValue?? = nil
            if let direct = first(prefix, in: attributes) {
                result = direct
            } else {
                // Split after `left` segments, the longest left part first.
                var left = segmentCount - 1
                while left >= 1 {
                    if case .some(.some(.kvlist(let nested))) = resolve(left) {
                        let restStart = dots[dots.startIndex + left - 1] + 1
                        let rest = name[restStart..<end]
                        let restDots = dots[(dots.startIndex + left)..<(dots.startIndex + segmentCount - 1)]
                        result = lookup(rest, dots: restDots, in: nested)
                        break
                    }
                    left -= 1
                }
            }
            memo[segmentCount - 1] = .some(result)
            return result
        }
        return resolve(dots.count + 1)
    }

    private static func first(_ key: ArraySlice<UInt8>, in attributes: [OTLPKeyValue]) -> OTLPAnyValue?? {
        for pair in attributes where pair.key.utf8.count == key.count && pair.key.utf8.elementsEqual(key) {
            return .some(pair.value)
        }
        return nil
    }

    /// pdata's `Value.AsString()` (`GoJSON.asString`).
    static func asString(_ value: OTLPAnyValue?) -> String {
        GoJSON.asString(value)
    }

    /// `fmt.Sprintf("%v", value.AsRaw())` for an element of a hint given as a list.
    static func printed(_ value: OTLPAnyValue?) -> String {
        var out: [UInt8] = []
        appendPrinted(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static func appendPrinted(_ value: OTLPAnyValue?, to out: inout [UInt8]) {
        guard let value else {
            out.append(contentsOf: "<nil>".utf8)
            return
        }
        switch value {
        case .string(let text): out.append(contentsOf: text.utf8)
        case .bool(let flag): out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .int(let number): GoJSON.appendInteger(number, to: &out)
        case .double(let number): GoFloatFormat.appendPrint(number, to: &out)
        case .bytes(let bytes):
            out.append(UInt8(ascii: "["))
            for (index, byte) in bytes.enumerated() {
                if index > 0 { out.append(UInt8(ascii: " ")) }
                GoJSON.appendUnsigned(UInt64(byte), to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: " ")) }
                appendPrinted(item, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .kvlist(let pairs):
            // fmt prints maps with their keys sorted.
            out.append(contentsOf: "map[".utf8)
            for (position, index) in GoJSON.uniqueSortedIndices(pairs).enumerated() {
                if position > 0 { out.append(UInt8(ascii: " ")) }
                out.append(contentsOf: pairs[index].key.utf8)
                out.append(UInt8(ascii: ":"))
                appendPrinted(pairs[index].value, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
    }

    /// The attribute names a hint lists: a comma-separated string, a list of values, or any other value's text.
    static func hintNames(_ hint: OTLPAnyValue?) -> [String] {
        switch hint {
        case .string(let text):
            guard text.utf8.contains(UInt8(ascii: ",")) else { return [text] }
            return text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        case .array(let items):
            return items.map { printed($0) }
        default:
            return [asString(hint)]
        }
    }

    /// Go's `strings.TrimSpace`: Unicode white space at both ends.
    static func trimSpace(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isGoSpace($0) }) else { return "" }
        guard let last = scalars.lastIndex(where: { !isGoSpace($0) }) else { return "" }
        if first == scalars.startIndex && scalars.index(after: last) == scalars.endIndex { return text }
        return String(scalars[first...last])
    }

    /// `unicode.IsSpace`.
    private static func isGoSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }
}
