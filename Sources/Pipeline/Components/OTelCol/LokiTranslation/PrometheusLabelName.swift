/// The OpenTelemetry translator's `NormalizeLabel`, which turns an attribute name into a Prometheus label name:
/// every character other than a letter or digit becomes `_`, a name starting with a digit gets `key_` in front,
/// and one starting with a single `_` gets `key` in front (`__name` is kept).
///
/// One deliberate difference: Go keeps non-ASCII letters and digits (`café`), which Loki's label-name check
/// refuses, failing the whole push. Here only ASCII letters and digits are kept, so every result is a valid
/// Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`) or empty.
enum PrometheusLabelName {
    static func normalize(_ name: String) -> String {
        if name.isEmpty { return name }
        if isValidUnchanged(name) { return name }
        var out: [UInt8] = []
        out.reserveCapacity(name.utf8.count + 4)
        for scalar in name.unicodeScalars {
            if scalar.isASCII, isAlphanumeric(UInt8(scalar.value)) {
                out.append(UInt8(scalar.value))
            } else {
                out.append(UInt8(ascii: "_"))
            }
        }
        if let first = out.first, first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9") {
            out.insert(contentsOf: "key_".utf8, at: 0)
        } else if out.first == UInt8(ascii: "_") && (out.count < 2 || out[1] != UInt8(ascii: "_")) {
            out.insert(contentsOf: "key".utf8, at: 0)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `name` is a valid Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
    static func isValid(_ name: String) -> Bool {
        guard let first = name.utf8.first else { return false }
        guard first == UInt8(ascii: "_") || isLetter(first) else { return false }
        return name.utf8.allSatisfy { $0 == UInt8(ascii: "_") || isAlphanumeric($0) }
    }

    /// The common case, a name normalization leaves as it is: ASCII letters, digits and underscores, starting
    /// with a letter or with `__`.
    private static func isValidUnchanged(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard let first = utf8.first else { return false }
        if first == UInt8(ascii: "_") {
            guard utf8.count >= 2, utf8[utf8.index(after: utf8.startIndex)] == UInt8(ascii: "_") else { return false }
        } else if !isLetter(first) {
            return false
        }
        return utf8.allSatisfy { $0 == UInt8(ascii: "_") || isAlphanumeric($0) }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        isLetter(byte) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }
}
