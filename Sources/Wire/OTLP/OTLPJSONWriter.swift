/// Writes OTLP/JSON for `OTLPJSON`'s encoders into one growing byte array.
struct OTLPJSONWriter {
    private(set) var json = JSONWriter(capacity: 0)

    mutating func writeRequest(_ logs: OTLPLogsData) {
        json = JSONWriter(capacity: Self.estimate(logs))
        json.raw("{")
        if !logs.resourceLogs.isEmpty {
            json.raw(#""resourceLogs":["#)
            for (index, resourceLogs) in logs.resourceLogs.enumerated() {
                if index > 0 { json.raw(",") }
                writeResourceLogs(resourceLogs)
            }
            json.raw("]")
        }
        json.raw("}")
    }

    mutating func writeResponse(rejectedLogRecords: Int64, errorMessage: String) {
        json.raw("{")
        if rejectedLogRecords != 0 || !errorMessage.isEmpty {
            json.raw(#""partialSuccess":{"#)
            var first = true
            if rejectedLogRecords != 0 {
                json.raw(#""rejectedLogRecords":""#)
                json.decimal(rejectedLogRecords)
                json.raw(#"""#)
                first = false
            }
            if !errorMessage.isEmpty {
                if !first { json.raw(",") }
                json.raw(#""errorMessage":"#)
                json.string(errorMessage)
            }
            json.raw("}")
        }
        json.raw("}")
    }

    /// A guess at the output size, so that the array grows rarely.
    private static func estimate(_ logs: OTLPLogsData) -> Int {
        var size = 32
        for resourceLogs in logs.resourceLogs {
            size += 64 + resourceLogs.resource.attributes.count * 64
            for scopeLogs in resourceLogs.scopeLogs {
                size += 64 + scopeLogs.scope.name.utf8.count
                for record in scopeLogs.logRecords {
                    size += 192 + record.attributes.count * 64
                    if case .string(let body) = record.body { size += body.utf8.count }
                }
            }
        }
        return size
    }

    // MARK: Messages

    /// Writes `,` before every member but the first of an object.
    private struct Members {
        var first = true
    }

    private mutating func member(_ members: inout Members, _ name: StaticString) {
        if !members.first { json.raw(",") }
        members.first = false
        json.raw("\"")
        json.raw(name)
        json.raw("\":")
    }

    private mutating func writeResourceLogs(_ resourceLogs: OTLPResourceLogs) {
        let resource = resourceLogs.resource
        writeLevel(header: resource.isEmpty ? nil : ("resource", { writer, inner in
            writer.writeAttributes(&inner, resource.attributes)
            writer.writeCount(&inner, "droppedAttributesCount", resource.droppedAttributesCount)
        }), list: "scopeLogs", resourceLogs.scopeLogs, schemaURL: resourceLogs.schemaURL) { writer, scopeLogs in
            writer.writeScopeLogs(scopeLogs)
        }
    }

    private mutating func writeScopeLogs(_ scopeLogs: OTLPScopeLogs) {
        let scope = scopeLogs.scope
        writeLevel(header: scope.isEmpty ? nil : ("scope", { writer, inner in
            writer.writeString(&inner, "name", scope.name)
            writer.writeString(&inner, "version", scope.version)
            writer.writeAttributes(&inner, scope.attributes)
            writer.writeCount(&inner, "droppedAttributesCount", scope.droppedAttributesCount)
        }), list: "logRecords", scopeLogs.logRecords, schemaURL: scopeLogs.schemaURL) { writer, record in
            writer.writeLogRecord(record)
        }
    }

    /// ResourceLogs and ScopeLogs have one shape: the resource or scope object (left out when `header` is nil),
    /// the array of the next level down, and `schemaUrl`.
    private mutating func writeLevel<Element>(
        header: (name: StaticString, write: (inout OTLPJSONWriter, inout Members) -> Void)?,
        list: StaticString, _ elements: [Element], schemaURL: String,
        _ writeElement: (inout OTLPJSONWriter, Element) -> Void
    ) {
        json.raw("{")
        var members = Members()
        if let header {
            member(&members, header.name)
            json.raw("{")
            var inner = Members()
            header.write(&self, &inner)
            json.raw("}")
        }
        writeArray(&members, list, elements, writeElement)
        writeString(&members, "schemaUrl", schemaURL)
        json.raw("}")
    }

    private mutating func writeLogRecord(_ record: OTLPLogRecord) {
        json.raw("{")
        var members = Members()
        if record.timeUnixNano != 0 {
            member(&members, "timeUnixNano")
            quotedDecimal(record.timeUnixNano)
        }
        if record.severityNumber != 0 {
            member(&members, "severityNumber")
            json.decimal(Int64(record.severityNumber))
        }
        writeString(&members, "severityText", record.severityText)
        if let body = record.body {
            member(&members, "body")
            writeAnyValue(body)
        }
        writeAttributes(&members, record.attributes)
        writeCount(&members, "droppedAttributesCount", record.droppedAttributesCount)
        writeCount(&members, "flags", record.flags)
        writeHex(&members, "traceId", record.traceID)
        writeHex(&members, "spanId", record.spanID)
        if record.observedTimeUnixNano != 0 {
            member(&members, "observedTimeUnixNano")
            quotedDecimal(record.observedTimeUnixNano)
        }
        writeString(&members, "eventName", record.eventName)
        json.raw("}")
    }

    private mutating func writeAttributes(_ members: inout Members, _ attributes: [OTLPKeyValue],
                                          name: StaticString = "attributes") {
        writeArray(&members, name, attributes) { writer, pair in
            writer.json.raw(#"{"key":"#)
            writer.json.string(pair.key)
            if let value = pair.value {
                writer.json.raw(#","value":"#)
                writer.writeAnyValue(value)
            }
            writer.json.raw("}")
        }
    }

    /// A member holding a non-empty array, each element written by `element`; nothing for an empty one.
    @inline(__always)
    private mutating func writeArray<Element>(_ members: inout Members, _ name: StaticString, _ elements: [Element],
                                              _ element: (inout OTLPJSONWriter, Element) -> Void) {
        guard !elements.isEmpty else { return }
        member(&members, name)
        json.raw("[")
        for (index, item) in elements.enumerated() {
            if index > 0 { json.raw(",") }
            element(&self, item)
        }
        json.raw("]")
    }

    private mutating func writeAnyValue(_ value: OTLPAnyValue) {
        switch value {
        case .string(let text):
            json.raw(#"{"stringValue":"#)
            json.string(text)
        case .bool(let bool):
            json.raw(bool ? #"{"boolValue":true"# : #"{"boolValue":false"#)
        case .int(let int):
            json.raw(#"{"intValue":""#)
            json.decimal(int)
            json.raw("\"")
        case .double(let double):
            json.raw(#"{"doubleValue":"#)
            if double.isNaN {
                json.raw(#""NaN""#)
            } else if double.isInfinite {
                json.raw(double < 0 ? #""-Infinity""# : #""Infinity""#)
            } else {
                json.raw(double.description)
            }
        case .bytes(let bytes):
            json.raw(#"{"bytesValue":"#)
            json.base64String(bytes)
        case .array(let items):
            json.raw(#"{"arrayValue":{"#)
            var members = Members()
            writeArray(&members, "values", items) { $0.writeAnyValue($1) }
            json.raw("}")
        case .kvlist(let pairs):
            json.raw(#"{"kvlistValue":{"#)
            var members = Members()
            writeAttributes(&members, pairs, name: "values")
            json.raw("}")
        }
        json.raw("}")
    }

    // MARK: Scalars

    private mutating func writeString(_ members: inout Members, _ name: StaticString, _ value: String) {
        guard !value.isEmpty else { return }
        member(&members, name)
        json.string(value)
    }

    private mutating func writeCount(_ members: inout Members, _ name: StaticString, _ value: UInt32) {
        guard value != 0 else { return }
        member(&members, name)
        json.unsignedDecimal(UInt64(value))
    }

    private mutating func writeHex(_ members: inout Members, _ name: StaticString, _ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        member(&members, name)
        json.hexString(bytes)
    }

    private mutating func quotedDecimal(_ value: UInt64) {
        json.raw("\"")
        json.unsignedDecimal(value)
        json.raw("\"")
    }
}
