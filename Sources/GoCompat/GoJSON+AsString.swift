import Wire

extension GoJSON {
    /// pdata's `Value.AsString()`: strings as they are, numbers and booleans as Go prints them (doubles as JSON
    /// does), maps and slices as JSON (empty when they hold NaN or an infinity), bytes as base64, empty as "".
    /// Both the agent's Loki translator and the backend's OTLP endpoint turn attribute values and bodies into text
    /// with it, as Alloy's and Loki's Go code both call `AsString`.
    package static func asString(_ value: OTLPAnyValue?) -> String {
        guard let value else { return "" }
        switch value {
        case .string(let text):
            return text
        case .bool(let flag):
            return flag ? "true" : "false"
        case .int(let number):
            return String(number)
        case .double(let number):
            guard number.isFinite else { return unsupportedMessage(number) }
            var out: [UInt8] = []
            GoFloatFormat.appendJSON(number, to: &out)
            return String(decoding: out, as: UTF8.self)
        case .bytes(let bytes):
            return Base64Codec.encoded(bytes)
        case .array, .kvlist:
            var out: [UInt8] = []
            do {
                try appendValue(value, to: &out)
            } catch {
                return ""
            }
            return String(decoding: out, as: UTF8.self)
        }
    }
}
