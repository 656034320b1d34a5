import GoCompat
import Wire

/// A logfmt line built as the translator's `EncodeLogfmt` builds its key/value list and as `go-logfmt`'s
/// `MarshalKeyvals` (v0.6) writes it: `key=value` pairs joined by single spaces; a value with a space, `=`, `"`, a
/// control character, DEL or U+FFFD is quoted with `\"`, `\\`, `\n`, `\r`, `\t`, `\u00XX` and `\ufffd` escapes,
/// the string `null` is written `"null"`. Keys lose white space, controls, `=`, `"` and U+FFFD; a key left empty
/// fails the whole line (`invalid key`), as in Go.
struct LogfmtEncoder {
    enum Key {
        /// A key the translator made (`attribute_host.name`), which later fields can replace.
        case text(String)
        /// A key read from a logfmt body, which Go keeps as `[]byte` and never matches when replacing.
        case parsed(ArraySlice<UInt8>)
    }

    enum Value {
        case string(String)
        /// Bytes, written as they are (no `null` special case), as Go writes `[]byte`.
        case bytes([UInt8])
        /// Bytes of a parsed body, written like `bytes`.
        case slice(ArraySlice<UInt8>)
        case int(Int64)
        case unsigned(UInt32)
        case bool(Bool)
        case double(Double)
    }

    struct InvalidKey: Error {
        var key: String
    }

    private(set) var pairs: [(key: Key, value: Value)] = []

    init() {
        pairs.reserveCapacity(16)
    }

    mutating func append(_ key: String, _ value: Value) {
        pairs.append((.text(key), value))
    }

    /// `keyvalsReplaceOrAppend`: replaces the value of the first pair whose key is the translator-made `key`.
    mutating func replaceOrAppend(_ key: String, _ value: Value) {
        for index in pairs.indices {
            if case .text(let existing) = pairs[index].key, GoString.equal(existing, key) {
                pairs[index].value = value
                return
            }
        }
        append(key, value)
    }

    /// `valueToKeyvals`: a scalar as one pair, a map's entries under `key_`, a list's items under `key_<index>`;
    /// empty values add nothing.
    mutating func appendFlattened(_ key: String, _ value: OTLPAnyValue?) {
        guard let value else { return }
        switch value {
        case .string(let text): append(key, .string(text))
        case .bool(let flag): append(key, .bool(flag))
        case .int(let number): append(key, .int(number))
        case .double(let number): append(key, .double(number))
        case .bytes(let bytes): append(key, .bytes(bytes))
        case .kvlist(let entries):
            let prefix = key.isEmpty ? "" : key + "_"
            for entry in entries { appendFlattened(prefix + entry.key, entry.value) }
        case .array(let items):
            let prefix = key.isEmpty ? "" : key + "_"
            for (index, item) in items.enumerated() { appendFlattened(prefix + String(index), item) }
        }
    }

    /// `bodyToKeyvals`: a string body read as logfmt (else `msg=<body>`), a map's entries at the top level, a list
    /// under `body_<index>`, any other scalar as `msg`.
    mutating func appendBody(_ body: OTLPAnyValue?) {
        guard let body else { return }
        switch body {
        case .string(let text):
            let bytes = Array(text.utf8)
            do {
                for pair in try LogfmtDecoder.decodeFirstLine(bytes) {
                    pairs.append((.parsed(pair.key), .slice(pair.value)))
                }
            } catch {
                append("msg", .string(text))
            }
        case .kvlist:
            appendFlattened("", body)
        case .array:
            appendFlattened("body", body)
        case .bool(let flag): append("msg", .bool(flag))
        case .int(let number): append("msg", .int(number))
        case .double(let number): append("msg", .double(number))
        case .bytes(let bytes): append("msg", .bytes(bytes))
        }
    }

    /// The line; throws when a key is empty once its invalid characters are dropped.
    func encode(into out: inout [UInt8]) throws(InvalidKey) {
        for (index, pair) in pairs.enumerated() {
            if index > 0 { out.append(UInt8(ascii: " ")) }
            let keyStart = out.count
            switch pair.key {
            case .text(var key): key.withUTF8 { Self.appendKey($0, to: &out) }
            case .parsed(let key): key.withUnsafeBufferPointer { Self.appendKey($0, to: &out) }
            }
            if out.count == keyStart {
                switch pair.key {
                case .text(let key): throw InvalidKey(key: key)
                case .parsed(let key): throw InvalidKey(key: String(decoding: key, as: UTF8.self))
                }
            }
            out.append(UInt8(ascii: "="))
            switch pair.value {
            case .string(var text):
                if text == "null" {
                    out.append(contentsOf: "\"null\"".utf8)
                } else {
                    text.withUTF8 { Self.appendValue($0, to: &out) }
                }
            case .bytes(let bytes):
                bytes.withUnsafeBufferPointer { Self.appendValue($0, to: &out) }
            case .slice(let bytes):
                bytes.withUnsafeBufferPointer { Self.appendValue($0, to: &out) }
            case .int(let number):
                GoJSON.appendInteger(number, to: &out)
            case .unsigned(let number):
                GoJSON.appendUnsigned(UInt64(number), to: &out)
            case .bool(let flag):
                out.append(contentsOf: (flag ? "true" : "false").utf8)
            case .double(let number):
                GoFloatFormat.appendPrint(number, to: &out)
            }
        }
    }

    /// `strings.Map(keyRuneFilter, key)`: the key without runes at or below space, `=`, `"` and U+FFFD (or bytes
    /// that are not UTF-8).
    private static func appendKey(_ key: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        if !needsQuoting(key, quoteDelete: false) {
            out.append(contentsOf: key)
            return
        }
        var index = 0
        while index < key.count {
            let byte = key[index]
            if byte < 0x80 {
                if byte > UInt8(ascii: " ") && byte != UInt8(ascii: "=") && byte != UInt8(ascii: "\"") { out.append(byte) }
                index += 1
                continue
            }
            let length = utf8SequenceLength(key, at: index)
            if length == 0 {
                index += 1
            } else {
                if !isReplacementCharacter(key, at: index, length: length) {
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: key[index..<(index + length)]))
                }
                index += length
            }
        }
    }

    /// A byte at or below space, `=`, `"`, DEL (for values), U+FFFD, or bytes that are not UTF-8.
    private static func needsQuoting(_ bytes: UnsafeBufferPointer<UInt8>, quoteDelete: Bool = true) -> Bool {
        var hasHighByte = false
        for byte in bytes {
            if byte <= UInt8(ascii: " ") || byte == UInt8(ascii: "=") || byte == UInt8(ascii: "\"") { return true }
            if byte == 0x7F && quoteDelete { return true }
            if byte >= 0x80 { hasHighByte = true }
        }
        guard hasHighByte else { return false }
        // Multi-byte text: quote for U+FFFD or anything that is not UTF-8.
        var index = 0
        while index < bytes.count {
            if bytes[index] < 0x80 {
                index += 1
                continue
            }
            let length = utf8SequenceLength(bytes, at: index)
            if length == 0 || isReplacementCharacter(bytes, at: index, length: length) { return true }
            index += length
        }
        return false
    }

    private static func appendValue(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        if needsQuoting(bytes) {
            appendQuoted(bytes, to: &out)
        } else {
            out.append(contentsOf: bytes)
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// `go-logfmt`'s `writeQuotedString`: escapes for `\`, `"`, `\n`, `\r`, `\t`, other bytes below 0x20 and DEL
    /// as `\u00XX`, and invalid UTF-8 or U+FFFD as `\ufffd`.
    private static func appendQuoted(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte < 0x80 {
                switch byte {
                case UInt8(ascii: "\\"), UInt8(ascii: "\""):
                    out.append(UInt8(ascii: "\\"))
                    out.append(byte)
                case UInt8(ascii: "\n"):
                    out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                case UInt8(ascii: "\r"):
                    out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
                case UInt8(ascii: "\t"):
                    out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
                case 0..<0x20, 0x7F:
                    out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                            hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xF)]])
                default:
                    out.append(byte)
                }
                index += 1
                continue
            }
            let length = utf8SequenceLength(bytes, at: index)
            if length == 0 {
                out.append(contentsOf: "\\ufffd".utf8)
                index += 1
            } else if isReplacementCharacter(bytes, at: index, length: length) {
                out.append(contentsOf: "\\ufffd".utf8)
                index += 3
            } else {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<(index + length)]))
                index += length
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func isReplacementCharacter(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int, length: Int) -> Bool {
        length == 3 && bytes[index] == 0xEF && bytes[index + 1] == 0xBF && bytes[index + 2] == 0xBD
    }

    /// The length of the well-formed UTF-8 sequence at `index` (as Go's `utf8.DecodeRune` accepts it), or 0.
    private static func utf8SequenceLength(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int {
        let lead = bytes[index]
        func continuation(_ offset: Int, _ range: ClosedRange<UInt8> = 0x80...0xBF) -> Bool {
            index + offset < bytes.count && range.contains(bytes[index + offset])
        }
        switch lead {
        case 0xC2...0xDF:
            return continuation(1) ? 2 : 0
        case 0xE0:
            return continuation(1, 0xA0...0xBF) && continuation(2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF:
            return continuation(1) && continuation(2) ? 3 : 0
        case 0xED:
            return continuation(1, 0x80...0x9F) && continuation(2) ? 3 : 0
        case 0xF0:
            return continuation(1, 0x90...0xBF) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF1...0xF3:
            return continuation(1) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF4:
            return continuation(1, 0x80...0x8F) && continuation(2) && continuation(3) ? 4 : 0
        default:
            return 0
        }
    }
}
