/// Encodes a `PushRequest` as Loki's JSON push body:
/// `{"streams":[{"stream":{"job":"x"},"values":[["<unix ns>","line"],["<unix ns>","line",{"meta":"v"}]]}]}`.
///
/// Timestamps are written as strings of nanoseconds, as Loki's clients do; the third element of an entry appears
/// only when it has structured metadata. The label object comes from parsing `PushStream.labels` with
/// `LabelParser`, so pairs with empty values are left out (Loki treats an empty value as an absent label); labels
/// that do not parse are written as `{}`. Bytes of a line that are not valid UTF-8 become U+FFFD, as Go's `encoding/json` does.
public enum PushJSONEncoder {
    public static func encode(_ request: PushRequest) -> [UInt8] {
        var out: [UInt8] = []
        var estimate = 16
        for stream in request.streams {
            estimate += 64 + stream.labels.utf8.count
            for entry in stream.entries { estimate += entry.line.count + 32 }
        }
        out.reserveCapacity(estimate)

        appendLiteral(#"{"streams":["#, to: &out)
        for (streamIndex, stream) in request.streams.enumerated() {
            if streamIndex > 0 { out.append(UInt8(ascii: ",")) }
            appendLiteral(#"{"stream":"#, to: &out)
            let pairs = (try? LabelParser.parse(stream.labels)) ?? []
            appendObject(pairs, to: &out)
            appendLiteral(#","values":["#, to: &out)
            for (entryIndex, entry) in stream.entries.enumerated() {
                if entryIndex > 0 { out.append(UInt8(ascii: ",")) }
                appendLiteral(#"[""#, to: &out)
                appendDecimal(entry.timestamp, to: &out)
                appendLiteral(#"","#, to: &out)
                entry.line.withUnsafeBufferPointer { appendJSONString($0, to: &out) }
                if !entry.structuredMetadata.isEmpty {
                    out.append(UInt8(ascii: ","))
                    appendObject(entry.structuredMetadata, to: &out)
                }
                out.append(UInt8(ascii: "]"))
            }
            appendLiteral("]}", to: &out)
        }
        appendLiteral("]}", to: &out)
        return out
    }

    private static func appendObject(_ pairs: [LabelPair], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        for (index, pair) in pairs.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            appendJSONString(pair.name, to: &out)
            out.append(UInt8(ascii: ":"))
            appendJSONString(pair.value, to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    private static func appendLiteral(_ literal: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    private static func appendDecimal(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { buffer in
            var index = buffer.count
            repeat {
                index -= 1
                buffer[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            out.append(contentsOf: buffer[index...])
        }
    }

    static func appendJSONString(_ string: String, to out: inout [UInt8]) {
        var string = string
        string.withUTF8 { appendJSONString($0, to: &out) }
    }

    /// Appends `bytes` as a JSON string literal: `"` `\` and control characters escaped, invalid UTF-8 replaced.
    static func appendJSONString(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var index = 0
        var runStart = 0
        let count = bytes.count
        func flush(_ out: inout [UInt8], upTo end: Int) {
            if end > runStart { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<end])) }
        }
        while index < count {
            let byte = bytes[index]
            if byte >= 0x20 && byte < 0x80 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
                index += 1
                continue
            }
            if byte >= 0x80 {
                if let (_, width) = GoQuote.decodeScalar(bytes, at: index) {
                    index += width
                    continue
                }
                flush(&out, upTo: index)
                appendLiteral(#"\ufffd"#, to: &out)
                index += 1
                runStart = index
                continue
            }
            flush(&out, upTo: index)
            out.append(UInt8(ascii: "\\"))
            switch byte {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
            case 0x0A: out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "t"))
            case 0x08: out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(UInt8(ascii: "f"))
            default:
                let hex: StaticString = "0123456789abcdef"
                appendLiteral("u00", to: &out)
                out.append(hex.utf8Start[Int(byte >> 4)])
                out.append(hex.utf8Start[Int(byte & 0xF)])
            }
            index += 1
            runStart = index
        }
        flush(&out, upTo: count)
        out.append(UInt8(ascii: "\""))
    }
}
