/// RFC 4648 base64, as OTLP/JSON's `bytesValue` (protobuf's JSON mapping of `bytes`), HTTP basic auth and Loki's
/// filesystem keys use it.
public enum Base64Codec {
    public struct Problem: Error, Sendable {
        public var reason: String
    }

    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// 0...63 for both alphabets' digits (`+/` and `-_`), 0xFF otherwise.
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        table[Int(UInt8(ascii: "-"))] = 62
        table[Int(UInt8(ascii: "_"))] = 63
        return table
    }()

    /// The standard, padded encoding as text.
    public static func encoded(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        encode(bytes, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the standard, padded encoding (what protobuf's JSON encoders write).
    public static func encode(_ bytes: [UInt8], to out: inout [UInt8]) {
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
}
