import AlloyLanguage
import Wire

/// What HTTP/1.1 (RFC 9110) allows in header names and values, for the `headers` argument of the agent's HTTP
/// clients (`loki.write`, `otelcol.exporter.otlphttp`).
enum HeaderText {
    private static let tokenSymbols = Set("!#$%&'*+-.^_`|~".utf8)

    /// An RFC 9110 `token`.
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || tokenSymbols.contains(byte)
        }
    }

    /// No control characters other than horizontal tab, so that a value can never split a header.
    static func isValidValue(_ value: String) -> Bool {
        value.utf8.allSatisfy { $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }
    }

    /// The block's `headers` map, every name and value checked; an error names the header.
    static func headers(_ reader: ArgumentReader) throws(Diagnostic) -> [String: String] {
        let headers = try reader.stringMap("headers")
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            if !isValidName(name) {
                throw reader.error(
                    "headers", "headers: invalid header name \(GoQuote.quote(name)); expected letters, digits and !#$%&'*+-.^_`|~")
            }
            if !isValidValue(value) {
                throw reader.error(
                    "headers", "headers.\(name): the value must not contain control characters such as line breaks")
            }
        }
        return headers
    }
}
