/// RFC 4648 base64, as OTLP/JSON's `bytesValue` (protobuf's JSON mapping of `bytes`), HTTP basic auth, Loki's
/// filesystem keys and Alloy's `encoding.from_base64` / `to_base64` use it: the standard or the URL-safe alphabet,
/// padded; decoding either leniently (``decode(_:)``, as protobuf's JSON mapping) or as Go's `encoding/base64`
/// does (``decodeGo(_:alphabet:)``).
public enum Base64Codec {
    public struct Problem: Error, Sendable {
        public var reason: String
    }

    public enum Alphabet: Sendable {
        /// `A–Z a–z 0–9 + /` (Go's `StdEncoding`).
        case standard
        /// `A–Z a–z 0–9 - _` (Go's `URLEncoding`).
        case url

        var digits: [UInt8] { self == .standard ? Base64Codec.standardDigits : Base64Codec.urlDigits }

        /// Each byte's value in this alphabet alone, -1 for bytes outside it (Go's strict decoding).
        var strictValues: [Int8] { self == .standard ? Base64Codec.standardValues : Base64Codec.urlValues }
    }

    private static let standardDigits = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let urlDigits = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    private static let standardValues = strictTable(standardDigits)
    private static let urlValues = strictTable(urlDigits)

    private static func strictTable(_ digits: [UInt8]) -> [Int8] {
        var table = [Int8](repeating: -1, count: 256)
        for (index, byte) in digits.enumerated() { table[Int(byte)] = Int8(index) }
        return table
    }

    /// 0...63 for both alphabets' digits (`+/` and `-_`), 0xFF otherwise.
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in standardDigits.enumerated() { table[Int(byte)] = UInt8(index) }
        table[Int(UInt8(ascii: "-"))] = 62
        table[Int(UInt8(ascii: "_"))] = 63
        return table
    }()

    /// The padded encoding as text.
    public static func encoded(_ bytes: [UInt8], alphabet: Alphabet = .standard) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        encode(bytes, alphabet: alphabet, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the padded encoding (the standard alphabet is what protobuf's JSON encoders write).
    public static func encode(_ bytes: [UInt8], alphabet: Alphabet = .standard, to out: inout [UInt8]) {
        let alphabet = alphabet.digits
        var index = 0
        let count = bytes.count
        while index + 3 <= count {
            let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            out.append(alphabet[Int(chunk >> 18)])
            out.append(alphabet[Int(chunk >> 12 & 0x3F)])
            out.append(alphabet[Int(chunk >> 6 & 0x3F)])
            out.append(alphabet[Int(chunk & 0x3F)])
            index += 3
        }
        let left = count - index
        if left == 1 {
            let chunk = UInt32(bytes[index]) << 16
            out.append(alphabet[Int(chunk >> 18)])
            out.append(alphabet[Int(chunk >> 12 & 0x3F)])
            out.append(UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        } else if left == 2 {
            let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
            out.append(alphabet[Int(chunk >> 18)])
            out.append(alphabet[Int(chunk >> 12 & 0x3F)])
            out.append(alphabet[Int(chunk >> 6 & 0x3F)])
            out.append(UInt8(ascii: "="))
        }
    }

    /// Decodes the standard or URL-safe alphabet, with or without `=` padding (Go's protojson accepts all four).
    public static func decode(_ text: UnsafeBufferPointer<UInt8>) -> Result<[UInt8], Problem> {
        var length = text.count
        var padding = 0
        while length > 0 && text[length - 1] == UInt8(ascii: "=") && padding < 2 {
            length -= 1
            padding += 1
        }
        if padding > 0 && text.count % 4 != 0 {
            return .failure(Problem(reason: "padded input of \(text.count) characters (not a multiple of 4)"))
        }
        if length % 4 == 1 {
            return .failure(Problem(reason: "\(length) base64 digits cannot end a byte sequence"))
        }
        var out: [UInt8] = []
        out.reserveCapacity(length * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for index in 0..<length {
            let value = values[Int(text[index])]
            guard value != 0xFF else {
                let byte = text[index]
                let shown = byte >= 0x21 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte \(byte)"
                return .failure(Problem(reason: "\(shown) at character \(index) is not a base64 digit"))
            }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return .success(out)
    }

    /// Go's `encoding/base64` `DecodeString` of `StdEncoding` or `URLEncoding`: one alphabet, padding required,
    /// carriage returns and newlines ignored; the error names the input byte where decoding failed, as Go's does.
    public static func decodeGo(_ text: String, alphabet: Alphabet) throws(Problem) -> [UInt8] {
        let lookup = alphabet.strictValues
        var input: [(byte: UInt8, offset: Int)] = []
        for (offset, byte) in text.utf8.enumerated() where byte != UInt8(ascii: "\r") && byte != UInt8(ascii: "\n") {
            input.append((byte, offset))
        }
        func illegal(_ offset: Int) -> Problem { Problem(reason: "illegal base64 data at input byte \(offset)") }
        var out: [UInt8] = []
        out.reserveCapacity(input.count / 4 * 3)
        var i = 0
        while i < input.count {
            guard i + 4 <= input.count else { throw illegal(input[i].offset) }
            var quantum: UInt32 = 0
            var padding = 0
            for j in i..<(i + 4) {
                let (byte, offset) = input[j]
                if byte == UInt8(ascii: "=") {
                    // Padding only in the last one or two places of the final quantum.
                    guard j >= i + 2, i + 4 == input.count,
                          input[j..<(i + 4)].allSatisfy({ $0.byte == UInt8(ascii: "=") })
                    else { throw illegal(offset) }
                    padding = i + 4 - j
                    quantum <<= UInt32(6 * padding)
                    break
                }
                let value = lookup[Int(byte)]
                guard value >= 0 else { throw illegal(offset) }
                quantum = quantum << 6 | UInt32(value)
            }
            out.append(UInt8(quantum >> 16 & 0xFF))
            if padding < 2 { out.append(UInt8(quantum >> 8 & 0xFF)) }
            if padding < 1 { out.append(UInt8(quantum & 0xFF)) }
            i += 4
        }
        return out
    }
}
