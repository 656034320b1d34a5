import Wire

/// A token of an OTTL statement, with the byte offset where it starts (for error positions).
struct OTTLToken: Equatable {
    enum Kind: Equatable {
        case identifier(String)
        case string(String)
        case int(Int64)
        case float(Double)
        /// `(` `)` `[` `]` `{` `}` `,` `.` `:` `=` `+` `-` `*` `/`
        case punct(Character)
        /// `==` `!=` `<` `<=` `>` `>=`
        case comparison(OTTLComparison)
        case end
    }

    var kind: Kind
    var offset: Int
}

/// An error in an OTTL statement: what was wrong and the byte offset in the statement where it was found.
public struct OTTLSyntaxError: Error, Equatable, Sendable {
    public var message: String
    /// The byte offset in the statement; its column is `offset + 1`.
    public var offset: Int
}

/// Splits an OTTL statement into tokens. Strings are double-quoted with Go's escapes (`\"`, `\\`, `\n`, `\t`,
/// `\r`), as OTTL unquotes them; numbers are decimal (`1`, `1.5`, `1e3`); everything else is an identifier or a
/// punctuation mark.
enum OTTLLexer {
    static func tokens(_ text: String) throws(OTTLSyntaxError) -> [OTTLToken] {
        let bytes = Array(text.utf8)
        var tokens: [OTTLToken] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            let start = index
            switch byte {
            case 0x20, 0x09, 0x0A, 0x0D:
                index += 1
            case UInt8(ascii: "\""):
                tokens.append(OTTLToken(kind: .string(try string(bytes, &index)), offset: start))
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                tokens.append(OTTLToken(kind: try number(bytes, &index), offset: start))
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"):
                while index < bytes.count, isIdentifierByte(bytes[index]) { index += 1 }
                tokens.append(OTTLToken(kind: .identifier(String(decoding: bytes[start..<index], as: UTF8.self)),
                                        offset: start))
            case UInt8(ascii: "="), UInt8(ascii: "!"), UInt8(ascii: "<"), UInt8(ascii: ">"):
                let next: UInt8? = index + 1 < bytes.count ? bytes[index + 1] : nil
                let kind: OTTLToken.Kind
                switch (byte, next) {
                case (UInt8(ascii: "="), UInt8(ascii: "=")): kind = .comparison(.equal); index += 2
                case (UInt8(ascii: "!"), UInt8(ascii: "=")): kind = .comparison(.notEqual); index += 2
                case (UInt8(ascii: "<"), UInt8(ascii: "=")): kind = .comparison(.lessOrEqual); index += 2
                case (UInt8(ascii: ">"), UInt8(ascii: "=")): kind = .comparison(.greaterOrEqual); index += 2
                case (UInt8(ascii: "<"), _): kind = .comparison(.less); index += 1
                case (UInt8(ascii: ">"), _): kind = .comparison(.greater); index += 1
                case (UInt8(ascii: "="), _): kind = .punct("="); index += 1
                default: throw OTTLSyntaxError(message: "unexpected \"!\" (write != or not)", offset: start)
                }
                tokens.append(OTTLToken(kind: kind, offset: start))
            case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "{"),
                 UInt8(ascii: "}"), UInt8(ascii: ","), UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "+"),
                 UInt8(ascii: "-"), UInt8(ascii: "*"), UInt8(ascii: "/"):
                tokens.append(OTTLToken(kind: .punct(Character(Unicode.Scalar(byte))), offset: start))
                index += 1
            default:
                let scalar = String(decoding: bytes[start...].prefix(4), as: UTF8.self).unicodeScalars.first
                let shown = scalar.map { String($0) } ?? "byte \(byte)"
                throw OTTLSyntaxError(message: "unexpected character \(GoQuote.quote(shown))", offset: start)
            }
        }
        tokens.append(OTTLToken(kind: .end, offset: bytes.count))
        return tokens
    }

    private static func isIdentifierByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
            true
        default: false
        }
    }

    private static func string(_ bytes: [UInt8], _ index: inout Int) throws(OTTLSyntaxError) -> String {
        let start = index
        index += 1
        var out: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return String(decoding: out, as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") {
                guard index + 1 < bytes.count else { break }
                let escaped = bytes[index + 1]
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escaped)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                default:
                    throw OTTLSyntaxError(
                        message: "invalid escape \\\(Character(Unicode.Scalar(escaped))) in a string (write \\\\ for a backslash)",
                        offset: index)
                }
                index += 2
                continue
            }
            out.append(byte)
            index += 1
        }
        throw OTTLSyntaxError(message: "unterminated string", offset: start)
    }

    private static func number(_ bytes: [UInt8], _ index: inout Int) throws(OTTLSyntaxError) -> OTTLToken.Kind {
        let start = index
        func digits() { while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 } }
        digits()
        var isFloat = false
        if index + 1 < bytes.count, bytes[index] == UInt8(ascii: "."),
           (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index + 1]) {
            isFloat = true
            index += 1
            digits()
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            var probe = index + 1
            if probe < bytes.count, bytes[probe] == UInt8(ascii: "+") || bytes[probe] == UInt8(ascii: "-") { probe += 1 }
            if probe < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[probe]) {
                isFloat = true
                index = probe
                digits()
            }
        }
        if index < bytes.count, isIdentifierByte(bytes[index]) {
            throw OTTLSyntaxError(message: "invalid number", offset: start)
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if isFloat {
            guard let value = Double(text), value.isFinite else {
                throw OTTLSyntaxError(message: "invalid number \(text)", offset: start)
            }
            return .float(value)
        }
        guard let value = Int64(text) else {
            throw OTTLSyntaxError(message: "integer \(text) does not fit in 64 bits", offset: start)
        }
        return .int(value)
    }
}
