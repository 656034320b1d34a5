/// The few S3 XML answers the object store reads: `ListObjectsV2` results and error bodies.
///
/// S3 answers are flat and regular, so this reads elements by name instead of parsing XML in general: the text of
/// `<Name>…</Name>` with its five predefined entities and character references decoded. It never traps on any input;
/// what it cannot read is an error that says where.
enum S3XML {
    struct Malformed: Error, Equatable, CustomStringConvertible {
        let detail: String
        var description: String { "malformed S3 XML answer: \(detail)" }
    }

    /// One page of a `ListObjectsV2` answer.
    struct ListPage: Equatable {
        var objects: [ObjectInfo]
        /// The token for the next page; nil on the last page.
        var nextToken: String?
    }

    static func listPage(_ body: [UInt8]) throws(Malformed) -> ListPage {
        let text = String(decoding: body, as: UTF8.self)
        guard text.contains("<ListBucketResult") else { throw Malformed(detail: "no ListBucketResult element") }
        var objects: [ObjectInfo] = []
        for contents in elements("Contents", in: text) {
            guard let key = try first("Key", in: contents) else { throw Malformed(detail: "an object without a Key") }
            let sizeText = try first("Size", in: contents) ?? "0"
            guard let size = Int(sizeText), size >= 0 else { throw Malformed(detail: "size \"\(sizeText)\" of \(key)") }
            objects.append(ObjectInfo(key: key, size: size))
        }
        // Elements outside Contents: read them from the text with the Contents blocks taken out, so that an object
        // key spelled "<IsTruncated>" (escaped, so it cannot be) or a nested element cannot be mistaken for them.
        let outside = without("Contents", in: text)
        let truncated = try first("IsTruncated", in: outside) == "true"
        let token = try first("NextContinuationToken", in: outside)
        if truncated && (token ?? "").isEmpty { throw Malformed(detail: "IsTruncated without a NextContinuationToken") }
        return ListPage(objects: objects, nextToken: truncated ? token : nil)
    }

    /// `Code` and `Message` of an S3 error body, when it is one.
    static func error(_ body: [UInt8]) -> (code: String, message: String)? {
        let text = String(decoding: body.prefix(64 << 10), as: UTF8.self)
        guard text.contains("<Error"), let code = try? first("Code", in: text) else { return nil }
        return (code, ((try? first("Message", in: text)) ?? nil) ?? "")
    }

    /// The decoded text of the first `<name>…</name>` in `text` (nil when there is none).
    static func first(_ name: String, in text: Substring) throws(Malformed) -> String? {
        guard let raw = elements(name, in: text).first else { return nil }
        return try decode(raw)
    }

    static func first(_ name: String, in text: String) throws(Malformed) -> String? {
        try first(name, in: text[...])
    }

    /// The raw contents of every `<name>…</name>` (or `<name attr…>…</name>`) in `text`, in order.
    static func elements(_ name: String, in text: some StringProtocol) -> [Substring] {
        let text = Substring(text)
        var found: [Substring] = []
        var rest = text[...]
        let close = "</\(name)>"
        while let open = rest.range(of: "<\(name)") {
            let after = rest[open.upperBound...]
            guard let next = after.first, next == ">" || next == " " || next == "/" else {
                rest = after
                continue
            }
            if next == "/" {   // <Name/>: empty
                found.append(after[after.startIndex..<after.startIndex])
                rest = after.dropFirst()
                continue
            }
            guard let end = after.firstIndex(of: ">"), let closing = after[end...].range(of: close) else { break }
            found.append(after[after.index(after: end)..<closing.lowerBound])
            rest = after[closing.upperBound...]
        }
        return found
    }

    /// `text` with every `<name>…</name>` block removed.
    static func without(_ name: String, in text: String) -> Substring {
        var kept = ""
        var rest = text[...]
        while let open = rest.range(of: "<\(name)>"), let close = rest[open.upperBound...].range(of: "</\(name)>") {
            kept += rest[..<open.lowerBound]
            rest = rest[close.upperBound...]
        }
        kept += rest
        return kept[...]
    }

    /// Decodes `&amp; &lt; &gt; &quot; &apos;` and `&#N;` / `&#xH;`.
    static func decode(_ raw: Substring) throws(Malformed) -> String {
        guard raw.contains("&") else { return String(raw) }
        var out = ""
        var rest = raw[...]
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semicolon = rest[amp...].firstIndex(of: ";"),
                  rest.distance(from: amp, to: semicolon) <= 12
            else { throw Malformed(detail: "an unterminated entity in \"\(raw.prefix(80))\"") }
            let entity = rest[rest.index(after: amp)..<semicolon]
            switch entity {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                let value: UInt32?
                if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                    value = UInt32(entity.dropFirst(2), radix: 16)
                } else if entity.hasPrefix("#") {
                    value = UInt32(entity.dropFirst(), radix: 10)
                } else {
                    value = nil
                }
                guard let value, let scalar = Unicode.Scalar(value) else {
                    throw Malformed(detail: "unknown entity &\(entity.prefix(12));")
                }
                out.unicodeScalars.append(scalar)
            }
            rest = rest[rest.index(after: semicolon)...]
        }
        out += rest
        return out
    }

    /// `text` escaped for XML text content (for requests: `DeleteObjects` keys, and tests).
    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }
}
