#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading JSON the way Loki's parsers do, through `github.com/buger/jsonparser`: lenient about what it skips
/// (numbers are not validated, text after the closing brace is ignored), with that library's error texts, which
/// Loki puts in `__error_details__`.
enum JSONFields {
    enum Kind: Sendable {
        case string, number, object, array, boolean, null
    }

    struct Failure: Error, Sendable {
        let message: String

        static let malformedObject = Failure(message: "Value looks like object, but can't find closing '}' symbol")
        static let malformedJSON = Failure(message: "Malformed JSON error")
        static let malformedArray = Failure(message: "Value is array, but can't find closing ']' symbol")
        static let malformedString = Failure(message: "Value is string, but can't find closing '\"' symbol")
        static let malformedValue = Failure(message: "Value looks like Number/Boolean/None, but can't find its end: ',' or '}' symbol")
        static let unknownValueType = Failure(message: "Unknown value type")
        static let malformedEscape = Failure(message: "Encountered an invalid escape sequence in a string")
    }

    /// The position of the next non-space byte at or after `from`, or nil.
    @inline(__always)
    static func nextToken(_ data: UnsafeRawBufferPointer, _ from: Int) -> Int? {
        var index = from
        while index < data.count {
            switch data[index] {
            case 32, 10, 13, 9: index += 1
            default: return index
            }
        }
        return nil
    }

    /// After an opening quote at `from - 1`: the offset just past the closing quote, and whether the string has a
    /// backslash. jsonparser's `stringEnd`.
    @inline(__always)
    static func stringEnd(_ data: UnsafeRawBufferPointer, _ from: Int) -> (end: Int, escaped: Bool)? {
        // Fast path: the next quote, with no backslash before it.
        guard from < data.count, let base = data.baseAddress else { return nil }
        guard let quote = memchr(base + from, 34, data.count - from) else { return nil }
        let quoteOffset = UnsafeRawPointer(quote) - base
        if memchr(base + from, 92, quoteOffset - from) == nil { return (quoteOffset + 1, false) }
        var escaped = false
        var index = from
        while index < data.count {
            let byte = data[index]
            if byte == 34 {
                if !escaped { return (index + 1, false) }
                var backslashes = 0
                var back = index - 1
                while back >= from, data[back] == 92 {
                    backslashes += 1
                    back -= 1
                }
                if backslashes % 2 == 0 { return (index + 1, true) }
            } else if byte == 92 {
                escaped = true
            }
            index += 1
        }
        return nil
    }

    /// The offset just past the block (object or array) that starts at `from`, or nil.
    static func blockEnd(_ data: UnsafeRawBufferPointer, _ from: Int, open: UInt8, close: UInt8) -> Int? {
        var level = 0
        var index = from
        while index < data.count {
            let byte = data[index]
            if byte == 34 {
                guard let (end, _) = stringEnd(data, index + 1) else { return nil }
                index = end
                continue
            } else if byte == open {
                level += 1
            } else if byte == close {
                level -= 1
                if level == 0 { return index + 1 }
            }
            index += 1
        }
        return nil
    }

    /// The value at `from` (a token start): its bytes' range (strings without quotes), its kind, and the offset
    /// past it. jsonparser's `getType`.
    static func value(_ data: UnsafeRawBufferPointer, _ from: Int) -> Result<(Range<Int>, Kind, Int), Failure> {
        let byte = data[from]
        if byte == 34 {
            guard let (end, _) = stringEnd(data, from + 1) else { return .failure(.malformedString) }
            return .success(((from + 1)..<(end - 1), .string, end))
        }
        if byte == 91 {
            guard let end = blockEnd(data, from, open: 91, close: 93) else { return .failure(.malformedArray) }
            return .success((from..<end, .array, end))
        }
        if byte == 123 {
            guard let end = blockEnd(data, from, open: 123, close: 125) else { return .failure(.malformedObject) }
            return .success((from..<end, .object, end))
        }
        var end = from
        scan: while end < data.count {
            switch data[end] {
            case 32, 10, 13, 9, 44, 125, 93: break scan
            default: end += 1
            }
        }
        let token = UnsafeRawBufferPointer(rebasing: data[from..<end])
        switch byte {
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            guard token.elementsEqual("true".utf8) || token.elementsEqual("false".utf8) else {
                return .failure(.unknownValueType)
            }
            return .success((from..<end, .boolean, end))
        case UInt8(ascii: "u"), UInt8(ascii: "n"):
            guard token.elementsEqual("null".utf8) else { return .failure(.unknownValueType) }
            return .success((from..<end, .null, end))
        case 48...57, UInt8(ascii: "-"):
            return .success((from..<end, .number, end))
        default:
            return .failure(.unknownValueType)
        }
    }

    /// jsonparser's `ObjectEach` over the object in `data[range]`: calls `body` with each member's raw key (escapes
    /// resolved into `keyBuffer` when needed), value range and kind. `body` returns false to stop early.
    static func eachMember(
        _ data: UnsafeRawBufferPointer, _ range: Range<Int>, keyBuffer: inout [UInt8],
        _ body: (UnsafeRawBufferPointer, Range<Int>, Kind) -> Result<Bool, Failure>
    ) -> Failure? {
        let object = UnsafeRawBufferPointer(rebasing: data[range])
        guard var offset = nextToken(object, 0), object[offset] == 123 else { return .malformedObject }
        offset += 1
        guard let first = nextToken(object, offset) else { return .malformedJSON }
        offset = first
        if object[offset] == 125 { return nil }
        while offset < object.count {
            switch object[offset] {
            case 34: offset += 1
            case 125: return nil
            default: return .malformedObject
            }
            guard let (end, escaped) = stringEnd(object, offset) else { return .malformedJSON }
            let keyRange = offset..<(end - 1)
            offset = end
            guard let colon = nextToken(object, offset), object[colon] == 58 else { return .malformedJSON }
            offset = colon + 1
            guard let valueStart = nextToken(object, offset) else { return .malformedJSON }
            let found: (Range<Int>, Kind, Int)
            switch value(object, valueStart) {
            case .success(let value): found = value
            case .failure(let failure): return failure
            }
            let valueRange = (found.0.lowerBound + range.lowerBound)..<(found.0.upperBound + range.lowerBound)
            let outcome: Result<Bool, Failure>
            if escaped {
                keyBuffer.removeAll(keepingCapacity: true)
                guard unescape(UnsafeRawBufferPointer(rebasing: object[keyRange]), into: &keyBuffer) else {
                    return .malformedEscape
                }
                outcome = keyBuffer.withUnsafeBytes { body($0, valueRange, found.1) }
            } else {
                outcome = body(UnsafeRawBufferPointer(rebasing: object[keyRange]), valueRange, found.1)
            }
            switch outcome {
            case .success(let goOn): if !goOn { return nil }
            case .failure(let failure): return failure
            }
            offset = found.2
            guard let next = nextToken(object, offset) else { return .malformedArray }
            offset = next
            switch object[offset] {
            case 125: return nil
            case 44: offset += 1
            default: return .malformedObject
            }
            guard let following = nextToken(object, offset) else { return .malformedArray }
            offset = following
        }
        return .malformedObject
    }

    /// jsonparser's `Unescape`: JSON escapes resolved, appended to `out`; false for an invalid escape.
    static func unescape(_ input: UnsafeRawBufferPointer, into out: inout [UInt8]) -> Bool {
        var index = 0
        while index < input.count {
            let byte = input[index]
            guard byte == 92 else {
                out.append(byte)
                index += 1
                continue
            }
            guard index + 1 < input.count else { return false }
            let letter = input[index + 1]
            switch letter {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(letter)
            case UInt8(ascii: "b"): out.append(8)
            case UInt8(ascii: "f"): out.append(12)
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "u"):
                guard let high = hex4(input, index + 2) else { return false }
                var scalarValue = high
                var consumed = 6
                if high >= 0xD800 && high < 0xE000 {
                    guard high < 0xDC00, index + 12 <= input.count, input[index + 6] == 92, input[index + 7] == UInt8(ascii: "u"),
                          let low = hex4(input, index + 8), low >= 0xDC00, low < 0xE000 else { return false }
                    scalarValue = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                    consumed = 12
                }
                guard let scalar = Unicode.Scalar(scalarValue) else { return false }
                out.append(contentsOf: UTF8.encode(scalar).map { Array($0) } ?? [])
                index += consumed
                continue
            default:
                return false
            }
            index += 2
        }
        return true
    }

    private static func hex4(_ input: UnsafeRawBufferPointer, _ from: Int) -> UInt32? {
        guard from + 4 <= input.count else { return nil }
        var value: UInt32 = 0
        for offset in 0..<4 {
            let byte = input[from + offset]
            let digit: UInt32
            switch byte {
            case 48...57: digit = UInt32(byte - 48)
            case 97...102: digit = UInt32(byte - 87)
            case 65...70: digit = UInt32(byte - 55)
            default: return nil
            }
            value = value << 4 | digit
        }
        return value
    }

    /// Loki's `readValue` / `unescapeJSONString`: a string unescaped (or "" when its escapes are invalid), a number
    /// as written, `true`/`false`; invalid UTF-8 and U+FFFD become spaces.
    static func labelValue(_ data: UnsafeRawBufferPointer, _ range: Range<Int>, _ kind: Kind, scratch: inout [UInt8]) -> String {
        let raw = UnsafeRawBufferPointer(rebasing: data[range])
        switch kind {
        case .string, .array, .object:
            var hasEscape = false
            for byte in raw where byte == 92 {
                hasEscape = true
                break
            }
            guard hasEscape else { return LabelKeys.value(raw) }
            scratch.removeAll(keepingCapacity: true)
            guard unescape(raw, into: &scratch) else { return "" }
            return scratch.withUnsafeBytes { LabelKeys.value($0) }
        case .number:
            return LabelKeys.value(raw)
        case .boolean:
            return raw.first == UInt8(ascii: "t") ? "true" : "false"
        case .null:
            return ""
        }
    }
}
