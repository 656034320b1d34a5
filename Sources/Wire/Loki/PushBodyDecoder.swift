/// Turns an HTTP push body into a `PushRequest`, following Loki's rules (`pkg/loghttp/push`):
///
/// 1. `Content-Encoding` (case-insensitive) is undone first: `gzip`, `deflate` (raw or zlib-wrapped), absent or
///    `identity` (nothing to do). `snappy` is accepted for protobuf bodies and ignored, as Loki does, because those
///    bodies are snappy-compressed anyway. Anything else is rejected.
/// 2. `Content-Type` `application/json` (parameters such as `charset` ignored) is JSON; anything else, including
///    no content type, is a snappy-block-compressed protobuf `PushRequest`.
///
/// Every decompression is bounded by `maxDecompressedSize`; exceeding it sets `isBodyTooLarge`. Error messages
/// name the layer that failed: `gzip`, `deflate`, `snappy`, `proto`, or `json`.
public enum PushBodyDecoder {
    public static func decode(body: [UInt8], contentType: String?, contentEncoding: String?,
                              maxDecompressedSize: Int) throws(PushDecodeError) -> PushRequest
    {
        let isJSON = mediaType(contentType) == "application/json"
        let encoding = (contentEncoding ?? "").trimmingASCIIWhitespace().lowercased()

        let payload: [UInt8]
        switch encoding {
        case "", "identity":
            payload = body
        case "gzip", "x-gzip":
            payload = try undo(codec: "gzip", maxDecompressedSize: maxDecompressedSize) { () throws(CodecError) in
                try Gzip.decompress(body, maxLength: maxDecompressedSize)
            }
        case "deflate":
            payload = try undo(codec: "deflate", maxDecompressedSize: maxDecompressedSize) { () throws(CodecError) in
                try Deflate.decompress(body, maxLength: maxDecompressedSize)
            }
        case "snappy" where !isJSON:
            payload = body
        default:
            let shown = GoQuote.quote(contentEncoding ?? "")
            throw PushDecodeError(message: "Content-Encoding \(shown) not supported"
                + (encoding == "snappy" ? " for JSON bodies (snappy is only used with protobuf)" : "")
                + "; use gzip, deflate or none")
        }

        if isJSON {
            return try PushJSONDecoder.decode(payload)
        }
        let message = try undo(codec: "snappy", maxDecompressedSize: maxDecompressedSize) { () throws(CodecError) in
            try Snappy.decompress(payload, maxLength: maxDecompressedSize)
        }
        return try PushProtobufDecoder.decode(message)
    }

    /// The media type of a `Content-Type` value, lowercased, without parameters.
    static func mediaType(_ contentType: String?) -> String {
        guard let contentType else { return "" }
        let type = contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return String(type).trimmingASCIIWhitespace().lowercased()
    }

    private static func undo(codec: String, maxDecompressedSize: Int,
                             _ decompress: () throws(CodecError) -> [UInt8]) throws(PushDecodeError) -> [UInt8]
    {
        do {
            return try decompress()
        } catch {
            var message = error.description
            if !message.lowercased().hasPrefix(codec) { message = "\(codec): \(message)" }
            if error.kind == .tooLarge && !message.contains(String(maxDecompressedSize)) {
                message += " (limit \(maxDecompressedSize) bytes)"
            }
            throw PushDecodeError(message: message, isBodyTooLarge: error.kind == .tooLarge)
        }
    }
}

extension String {
    fileprivate func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
