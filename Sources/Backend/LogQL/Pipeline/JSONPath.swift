/// Loki's JSON expressions for `| json label="expression"` (`pkg/logql/log/jsonexpr`): `a.b.c`, `a[0]`,
/// `a["b.c"]`, `["a"].b[1]`.
enum JSONPath {
    enum Element: Sendable, Equatable {
        case key(String)
        case index(Int)
    }

    struct ParseError: Error {
        var message: String
    }

    static func parse(_ source: String) throws(ParseError) -> [Element] {
        let bytes = Array(source.utf8)
        var elements: [Element] = []
        var index = 0
        var expectingField = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: ".") {
                guard !elements.isEmpty, !expectingField else { throw ParseError(message: "syntax error: unexpected .") }
                expectingField = true
                index += 1
            } else if byte == UInt8(ascii: "[") {
                index += 1
                guard index < bytes.count else { throw ParseError(message: "syntax error: unexpected $end") }
                if bytes[index] == UInt8(ascii: "\"") {
                    var end = index + 1
                    var text: [UInt8] = []
                    while end < bytes.count, bytes[end] != UInt8(ascii: "\"") {
                        if bytes[end] == UInt8(ascii: "\\"), end + 1 < bytes.count {
                            end += 1
                        }
                        text.append(bytes[end])
                        end += 1
                    }
                    guard end + 1 < bytes.count, bytes[end + 1] == UInt8(ascii: "]") else {
                        throw ParseError(message: "syntax error: unexpected $end, expecting ]")
                    }
                    elements.append(.key(String(decoding: text, as: UTF8.self)))
                    index = end + 2
                } else {
                    var end = index
                    while end < bytes.count, bytes[end] >= 48, bytes[end] <= 57 { end += 1 }
                    guard end > index, end < bytes.count, bytes[end] == UInt8(ascii: "]"),
                          let number = Int(String(decoding: bytes[index..<end], as: UTF8.self)) else {
                        throw ParseError(message: "syntax error: unexpected character, expecting INDEX or STRING")
                    }
                    elements.append(.index(number))
                    index = end + 1
                }
                expectingField = false
            } else {
                guard expectingField else { throw ParseError(message: "syntax error: unexpected FIELD") }
                var end = index
                while end < bytes.count, bytes[end] != UInt8(ascii: "."), bytes[end] != UInt8(ascii: "[") {
                    guard bytes[end] != 32, bytes[end] != UInt8(ascii: "]"), bytes[end] != UInt8(ascii: "\"") else {
                        throw ParseError(message: "syntax error: unexpected character")
                    }
                    end += 1
                }
                elements.append(.key(String(decoding: bytes[index..<end], as: UTF8.self)))
                index = end
                expectingField = false
            }
        }
        guard !elements.isEmpty, !expectingField || elements.isEmpty else {
            throw ParseError(message: "syntax error: unexpected $end")
        }
        return elements
    }

    /// The value at `path` in the JSON `data`: its range (strings without quotes) and kind; nil when absent or
    /// when the text on the way is malformed.
    static func find(_ path: [Element], in data: UnsafeRawBufferPointer, scratch: inout [UInt8]) -> (Range<Int>, JSONFields.Kind)? {
        guard let start = JSONFields.nextToken(data, 0) else { return nil }
        var current: (Range<Int>, JSONFields.Kind)
        switch JSONFields.value(data, start) {
        case .success(let (range, kind, _)): current = (range, kind)
        case .failure: return nil
        }
        for element in path {
            switch element {
            case .key(let wanted):
                guard current.1 == .object else { return nil }
                var found: (Range<Int>, JSONFields.Kind)?
                var keyBuffer: [UInt8] = []
                _ = JSONFields.eachMember(data, current.0, keyBuffer: &keyBuffer) { key, range, kind in
                    if key.elementsEqual(wanted.utf8) {
                        found = (range, kind)
                        return .success(false)
                    }
                    return .success(true)
                }
                guard let found else { return nil }
                current = found
            case .index(let wanted):
                guard current.1 == .array else { return nil }
                guard let found = arrayElement(wanted, of: data, current.0) else { return nil }
                current = found
            }
        }
        return current
    }

    private static func arrayElement(_ wanted: Int, of data: UnsafeRawBufferPointer, _ range: Range<Int>) -> (Range<Int>, JSONFields.Kind)? {
        var offset = range.lowerBound + 1
        var index = 0
        while true {
            guard let start = JSONFields.nextToken(data, offset), start < range.upperBound else { return nil }
            if data[start] == UInt8(ascii: "]") { return nil }
            guard case .success(let (valueRange, kind, end)) = JSONFields.value(data, start) else { return nil }
            if index == wanted { return (valueRange, kind) }
            index += 1
            guard let next = JSONFields.nextToken(data, end), next < range.upperBound, data[next] == UInt8(ascii: ",") else {
                return nil
            }
            offset = next + 1
        }
    }
}
