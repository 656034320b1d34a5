import GoCompat
import Wire

/// The three line formats: `Encode` (JSON), `EncodeLogfmt` and the raw body.
extension LokiTranslator {
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Lower-case hex, or nil for an absent or all-zero id (pdata's `IsEmpty`).
    static func hexID(_ id: [UInt8]) -> String? {
        guard id.contains(where: { $0 != 0 }) else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(id.count * 2)
        for byte in id {
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `Encode`: the record as the translator's JSON object. `resources` is the resource attributes' object
    /// (nil when there are none), written once per resource.
    static func jsonLine(_ record: OTLPLogRecord, attributes: [OTLPKeyValue],
                         resources: Result<[UInt8], GoJSON.UnsupportedValue>?, scope: ScopePart)
        throws(LokiTranslationError) -> [UInt8]
    {
        var out: [UInt8] = []
        out.reserveCapacity(160 + (record.body.map(approximateSize) ?? 0) + attributes.count * 40)
        out.append(UInt8(ascii: "{"))
        do {
            if let body = record.body {
                out.append(contentsOf: #""body":"#.utf8)
                try GoJSON.appendValue(body, to: &out)
            }
            if record.traceID.contains(where: { $0 != 0 }) {
                appendSeparator(&out)
                out.append(contentsOf: #""traceid":""#.utf8)
                appendHex(record.traceID, to: &out)
                out.append(UInt8(ascii: "\""))
            }
            if record.spanID.contains(where: { $0 != 0 }) {
                appendSeparator(&out)
                out.append(contentsOf: #""spanid":""#.utf8)
                appendHex(record.spanID, to: &out)
                out.append(UInt8(ascii: "\""))
            }
            if !record.severityText.isEmpty {
                appendSeparator(&out)
                out.append(contentsOf: #""severity":"#.utf8)
                GoJSON.appendString(record.severityText, to: &out)
            }
            if record.flags != 0 {
                appendSeparator(&out)
                out.append(contentsOf: #""flags":"#.utf8)
                GoJSON.appendUnsigned(UInt64(record.flags), to: &out)
            }
            if !attributes.isEmpty {
                appendSeparator(&out)
                out.append(contentsOf: #""attributes":"#.utf8)
                try GoJSON.appendObject(attributes, to: &out)
            }
            if let resources {
                appendSeparator(&out)
                out.append(contentsOf: #""resources":"#.utf8)
                out.append(contentsOf: try resources.get())
            }
            if let scopeJSON = scope.json {
                appendSeparator(&out)
                out.append(contentsOf: #""instrumentation_scope":"#.utf8)
                out.append(contentsOf: try scopeJSON.get())
            }
        } catch {
            throw .unsupportedJSONValue(error.message)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// A comma unless the object was just opened.
    private static func appendSeparator(_ out: inout [UInt8]) {
        if out.last != UInt8(ascii: "{") { out.append(UInt8(ascii: ",")) }
    }

    private static func appendHex(_ bytes: [UInt8], to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bytes.count * 2) { hex in
            var position = 0
            for byte in bytes {
                hex[position] = hexDigits[Int(byte >> 4)]
                hex[position + 1] = hexDigits[Int(byte & 0xF)]
                position += 2
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: hex[0..<position]))
        }
    }

    private static func approximateSize(_ value: OTLPAnyValue) -> Int {
        if case .string(let text) = value { return text.utf8.count }
        return 64
    }

    /// `EncodeLogfmt`: the record as a logfmt line.
    static func logfmtLine(_ record: OTLPLogRecord, attributes: [OTLPKeyValue], resourceAttributes: [OTLPKeyValue],
                           scope: OTLPInstrumentationScope) throws(LokiTranslationError) -> [UInt8]
    {
        var encoder = LogfmtEncoder()
        encoder.appendBody(record.body)
        if let traceID = hexID(record.traceID) { encoder.replaceOrAppend("traceID", .string(traceID)) }
        if let spanID = hexID(record.spanID) { encoder.replaceOrAppend("spanID", .string(spanID)) }
        if !record.severityText.isEmpty { encoder.replaceOrAppend("severity", .string(record.severityText)) }
        if record.flags != 0 { encoder.replaceOrAppend("flags", .unsigned(record.flags)) }
        for attribute in attributes { encoder.appendFlattened("attribute_" + attribute.key, attribute.value) }
        for attribute in resourceAttributes { encoder.appendFlattened("resource_" + attribute.key, attribute.value) }
        if !scope.name.isEmpty {
            encoder.append("instrumentation_scope_name", .string(scope.name))
            if !scope.version.isEmpty { encoder.append("instrumentation_scope_version", .string(scope.version)) }
            for attribute in scope.attributes {
                encoder.appendFlattened("instrumentation_scope_attribute_" + attribute.key, attribute.value)
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(256)
        do {
            try encoder.encode(into: &out)
        } catch {
            throw .invalidLogfmtKey(error.key)
        }
        return out
    }
}
