import AlloyLanguage
import Wire

/// The part of JMESPath that `stage.json` expressions use in practice, evaluated over a decoded JSON document:
///
/// - identifiers `level`, quoted identifiers `"request_User-Agent"` (JSON escapes allowed), the current node `@`;
/// - sub-expressions `a.b.c`, indexes `a[0]`, `a[-1]`;
/// - projections: list `a[*].b`, flatten `a[].b`, object `a.*.b` (null results are left out, as JMESPath does);
/// - pipes `a[*].b | [0]`, which end a projection.
///
/// Anything else (functions, filters `[?...]`, slices, multi-selects, literals) is refused when the configuration
/// is read, naming the position. As in Go's library, an unquoted name with a `-` is an error.
struct JMESPath: Sendable, Equatable {
    enum Segment: Sendable, Equatable {
        case field(String)
        case index(Int)
        case listProjection
        case flatten
        case objectProjection
    }

    struct CompileError: Error, Sendable, Equatable, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// Pipe-separated chains of segments.
    let chains: [[Segment]]

    init(_ expression: String) throws(CompileError) {
        var parser = Parser(bytes: Array(expression.utf8))
        chains = try parser.parse()
    }

    func search(_ document: Value) -> Value {
        var value = document
        for chain in chains {
            value = Self.apply(chain[...], to: value)
        }
        return value
    }

    private static func apply(_ segments: ArraySlice<Segment>, to value: Value) -> Value {
        var current = value
        var index = segments.startIndex
        while index < segments.endIndex {
            let segment = segments[index]
            index += 1
            switch segment {
            case .field(let name):
                guard case .object(let object) = current else { return .null }
                current = object[name] ?? .null
            case .index(let position):
                guard case .array(let items) = current else { return .null }
                let resolved = position < 0 ? items.count + position : position
                current = resolved >= 0 && resolved < items.count ? items[resolved] : .null
            case .listProjection, .flatten, .objectProjection:
                var elements: [Value]
                switch (segment, current) {
                case (.listProjection, .array(let items)):
                    elements = items
                case (.flatten, .array(let items)):
                    elements = []
                    for item in items {
                        if case .array(let inner) = item { elements.append(contentsOf: inner) } else { elements.append(item) }
                    }
                case (.objectProjection, .object(let object)):
                    elements = object.keys.compactMap { object[$0] }
                default:
                    return .null
                }
                let rest = segments[index...]
                var results: [Value] = []
                for element in elements {
                    let result = apply(rest, to: element)
                    if case .null = result { continue }
                    results.append(result)
                }
                return .array(results)
            }
        }
        return current
    }

    private struct Parser {
        let bytes: [UInt8]
        var position = 0

        mutating func parse() throws(CompileError) -> [[Segment]] {
            var chains: [[Segment]] = [try chain()]
            while true {
                skipSpace()
                guard position < bytes.count else { return chains }
                guard bytes[position] == UInt8(ascii: "|") else {
                    throw error("Unexpected token at the end of the expression: \(describe())")
                }
                position += 1
                chains.append(try chain())
            }
        }

        mutating func chain() throws(CompileError) -> [Segment] {
            skipSpace()
            guard position < bytes.count else { throw error("Incomplete expression") }
            var segments: [Segment] = []
            switch bytes[position] {
            case UInt8(ascii: "@"):
                position += 1
            case UInt8(ascii: "["):
                break
            case UInt8(ascii: "*"):
                position += 1
                segments.append(.objectProjection)
            default:
                segments.append(.field(try name()))
            }
            while true {
                skipSpace()
                guard position < bytes.count else { return segments }
                switch bytes[position] {
                case UInt8(ascii: "."):
                    position += 1
                    skipSpace()
                    if position < bytes.count, bytes[position] == UInt8(ascii: "*") {
                        position += 1
                        segments.append(.objectProjection)
                    } else {
                        segments.append(.field(try name()))
                    }
                case UInt8(ascii: "["):
                    position += 1
                    skipSpace()
                    segments.append(try bracket())
                default:
                    return segments
                }
            }
        }

        /// After `[`: `*]`, `]`, or a whole number and `]`.
        mutating func bracket() throws(CompileError) -> Segment {
            guard position < bytes.count else { throw error("Incomplete expression") }
            let segment: Segment
            switch bytes[position] {
            case UInt8(ascii: "*"):
                position += 1
                segment = .listProjection
            case UInt8(ascii: "]"):
                segment = .flatten
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let start = position
                position += 1
                while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) { position += 1 }
                guard let number = Int(String(decoding: bytes[start..<position], as: UTF8.self)) else {
                    throw error("Invalid index at position \(start)")
                }
                segment = .index(number)
            default:
                throw error("unsupported expression at position \(position): \(describe()) (stage.json supports names, \"quoted names\", a.b, a[0], a[*], a[], a.*, @ and |)")
            }
            skipSpace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "]") else {
                throw error("Expected ']' at position \(position)")
            }
            position += 1
            return segment
        }

        /// An identifier or a quoted identifier.
        mutating func name() throws(CompileError) -> String {
            guard position < bytes.count else { throw error("Incomplete expression") }
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") { return try quoted() }
            guard Self.isNameStart(byte) else {
                if byte == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                    throw error("Unexpected token at the end of the expression: tNumber (quote names with a '-' or starting with a digit: \"\\\"name-with-dash\\\"\")")
                }
                throw error("unsupported expression at position \(position): \(describe()) (stage.json supports names, \"quoted names\", a.b, a[0], a[*], a[], a.*, @ and |)")
            }
            let start = position
            while position < bytes.count, Self.isNameStart(bytes[position]) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
                position += 1
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: "-") {
                throw error("Unexpected token at the end of the expression: tNumber (quote names with a '-': \"\\\"\(String(decoding: bytes[start..<position], as: UTF8.self))-...\\\"\")")
            }
            return String(decoding: bytes[start..<position], as: UTF8.self)
        }

        /// A JSON string (the quoted identifier's text).
        mutating func quoted() throws(CompileError) -> String {
            let start = position
            position += 1
            var escaped = false
            while position < bytes.count {
                let byte = bytes[position]
                position += 1
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    let literal = String(decoding: bytes[start..<position], as: UTF8.self)
                    do throws(JSONCoding.DecodeError) {
                        guard case .string(let text) = try JSONCoding.decode(literal) else { break }
                        return text
                    } catch {
                        throw self.error("invalid quoted identifier \(literal): \(error.message)")
                    }
                }
            }
            throw error("unclosed quoted identifier starting at position \(start)")
        }

        static func isNameStart(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || byte == UInt8(ascii: "_")
        }

        mutating func skipSpace() {
            while position < bytes.count, bytes[position] == 0x20 || bytes[position] == 0x09 || bytes[position] == 0x0A || bytes[position] == 0x0D {
                position += 1
            }
        }

        func describe() -> String {
            position < bytes.count ? GoQuote.quote(String(decoding: bytes[position...], as: UTF8.self)) : "end of expression"
        }

        func error(_ message: String) -> CompileError {
            CompileError(message: message)
        }
    }
}
