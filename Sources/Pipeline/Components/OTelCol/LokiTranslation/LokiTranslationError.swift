/// Why one OTLP log record could not become a Loki entry. The record is dropped and counted; the rest of the
/// batch goes on, as in Alloy.
public enum LokiTranslationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The `loki.format` hint named a format that does not exist.
    case invalidFormat(String)
    /// A double in the body or the attributes is NaN or infinite, which JSON cannot hold (Go's
    /// `json: unsupported value: NaN`).
    case unsupportedJSONValue(String)
    /// A logfmt key was empty once its spaces, `=`, `"` and control characters were dropped (a body map key `""`).
    case invalidLogfmtKey(String)

    public var description: String {
        switch self {
        case .invalidFormat(let format):
            "invalid format \(format). Expected one of: json, logfmt, raw (set by the loki.format attribute)"
        case .unsupportedJSONValue(let message):
            "\(message): the record's body or attributes hold a number JSON cannot represent"
        case .invalidLogfmtKey(let key):
            "logfmt: invalid key \(key.debugDescription): a key must keep at least one character other than white space, '=' and '\"'"
        }
    }
}
