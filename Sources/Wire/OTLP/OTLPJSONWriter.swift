/// Writes OTLP/JSON for `OTLPJSON`'s encoders into one growing byte array.
struct OTLPJSONWriter {
    private(set) var out: [UInt8] = []

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    mutating func writeRequest(_ logs: OTLPLogsData) {
        out.reserveCapacity(Self.estimate(logs))
        literal("{")
        if !logs.resourceLogs.isEmpty {
            literal(#""resourceLogs":["#)
            for (index, resourceLogs) in logs.resourceLogs.enumerated() {
                if index > 0 { literal(",") }
                writeResourceLogs(resourceLogs)
            }
            literal("]")
        }
        literal("}")
    }

    mutating func writeResponse(rejectedLogRecords: Int64, errorMessage: String) {
        literal("{")
        if rejectedLogRecords != 0 || !errorMessage.isEmpty {
            literal(#""partialSuccess":{"#)
            var first = true
            if rejectedLogRecords != 0 {
                literal(#""rejectedLogRecords":""#)
                decimal(rejectedLogRecords)
                literal(#"""#)
                first = false
            }
            if !errorMessage.isEmpty {
                if !first { literal(",") }
                literal(#""errorMessage":"#)
                string(errorMessage)
            }
            literal("}")
        }
        literal("}")
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
        if !members.first { literal(",") }
        members.first = false
        literal("\"")
        literal(name)
        literal("\":")
    }

    private mutating func writeResourceLogs(_ resourceLogs: OTLPResourceLogs) {
        literal("{")
        var members = Members()
        if !resourceLogs.resource.isEmpty {
            member(&members, "resource")
            literal("{")
            var inner = Members()
            writeAttributes(&inner, resourceLogs.resource.attributes)
            writeCount(&inner, "droppedAttributesCount", resourceLogs.resource.droppedAttributesCount)
            literal("}")
        }
        if !resourceLogs.scopeLogs.isEmpty {
            member(&members, "scopeLogs")
            literal("[")
            for (index, scopeLogs) in resourceLogs.scopeLogs.enumerated() {
                if index > 0 { literal(",") }
                writeScopeLogs(scopeLogs)
            }
            literal("]")
        }
        writeString(&members, "schemaUrl", resourceLogs.schemaURL)
        literal("}")
    }

    private mutating func writeScopeLogs(_ scopeLogs: OTLPScopeLogs) {
        literal("{")
        var members = Members()
        let scope = scopeLogs.scope
        if !scope.isEmpty {
            member(&members, "scope")
            literal("{")
            var inner = Members()
            writeString(&inner, "name", scope.name)
            writeString(&inner, "version", scope.version)
            writeAttributes(&inner, scope.attributes)
            writeCount(&inner, "droppedAttributesCount", scope.droppedAttributesCount)
            literal("}")
        }
        if !scopeLogs.logRecords.isEmpty {
            member(&members, "logRecords")
            literal("[")
            for (index, record) in scopeLogs.logRecords.enumerated() {
                if index > 0 { literal(",") }
                writeLogRecord(record)
            }
            literal("]")
        }
        writeString(&members, "schemaUrl", scopeLogs.schemaURL)
        literal("}")
    }

    private mutating func writeLogRecord(_ record: OTLPLogRecord) {
        literal("{")
        var members = Members()
        if record.timeUnixNano != 0 {
            member(&members, "timeUnixNano")
            quotedDecimal(record.timeUnixNano)
        }
        if record.severityNumber != 0 {
            member(&members, "severityNumber")
            decimal(Int64(record.severityNumber))
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
        literal("}")
    }

    private mutating func writeAttributes(_ members: inout Members, _ attributes: [OTLPKeyValue],
                                          name: StaticString = "attributes") {
        guard !attributes.isEmpty else { return }
        member(&members, name)
        literal("[")
        for (index, pair) in attributes.enumerated() {
            if index > 0 { literal(",") }
            literal(#"{"key":"#)
            string(pair.key)
            if let value = pair.value {
                literal(#","value":"#)
                writeAnyValue(value)
            }
            literal("}")
        }
        literal("]")
    }

    private mutating func writeAnyValue(_ value: OTLPAnyValue) {
        switch value {
        case .string(let text):
            literal(#"{"stringValue":"#)
            string(text)
        case .bool(let bool):
            literal(bool ? #"{"boolValue":true"# : #"{"boolValue":false"#)
        case .int(let int):
            literal(#"{"intValue":""#)
            decimal(int)
            literal("\"")
        case .double(let double):
            literal(#"{"doubleValue":"#)
            if double.isNaN {
                literal(#""NaN""#)
            } else if double.isInfinite {
                literal(double < 0 ? #""-Infinity""# : #""Infinity""#)
            } else {
                out.append(contentsOf: double.description.utf8)
            }
        case .bytes(let bytes):
            literal(#"{"bytesValue":""#)
            Base64Codec.encode(bytes, to: &out)
            literal("\"")
        case .array(let items):
            literal(#"{"arrayValue":{"#)
            if !items.isEmpty {
                literal(#""values":["#)
                for (index, item) in items.enumerated() {
                    if index > 0 { literal(",") }
                    writeAnyValue(item)
                }
                literal("]")
            }
            literal("}")
        case .kvlist(let pairs):
            literal(#"{"kvlistValue":{"#)
            var members = Members()
            writeAttributes(&members, pairs, name: "values")
            literal("}")
        }
        literal("}")
    }

    // MARK: Scalars

    private mutating func writeString(_ members: inout Members, _ name: StaticString, _ value: String) {
        guard !value.isEmpty else { return }
        member(&members, name)
        string(value)
    }

    private mutating func writeCount(_ members: inout Members, _ name: StaticString, _ value: UInt32) {
        guard value != 0 else { return }
        member(&members, name)
        unsignedDecimal(UInt64(value))
    }

    private mutating func writeHex(_ members: inout Members, _ name: StaticString, _ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        member(&members, name)
        literal("\"")
        for byte in bytes {
            out.append(Self.hexDigits[Int(byte >> 4)])
            out.append(Self.hexDigits[Int(byte & 0xF)])
        }
        literal("\"")
    }

    @inline(__always)
    private mutating func literal(_ text: StaticString) {
        out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    private mutating func quotedDecimal(_ value: UInt64) {
        literal("\"")
        unsignedDecimal(value)
        literal("\"")
    }

    private mutating func decimal(_ value: Int64) {
        if value < 0 { literal("-") }
        unsignedDecimal(value.magnitude)
    }

    private mutating func unsignedDecimal(_ value: UInt64) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)   // 24 bytes: room for UInt64.max's 20 digits
        withUnsafeMutableBytes(of: &digits) { buffer in
            var magnitude = value
            var index = buffer.count
            repeat {
                index -= 1
                buffer[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            out.append(contentsOf: buffer[index...])
        }
    }

    /// A JSON string literal: `"`, `\` and control characters escaped. A Swift `String` is valid UTF-8, so
    /// everything else is copied as is.
    private mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { bytes in
            literal("\"")
            var runStart = 0
            for index in 0..<bytes.count {
                let byte = bytes[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                if index > runStart { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index])) }
                runStart = index + 1
                switch byte {
                case UInt8(ascii: "\""): literal(#"\""#)
                case UInt8(ascii: "\\"): literal(#"\\"#)
                case 0x0A: literal(#"\n"#)
                case 0x0D: literal(#"\r"#)
                case 0x09: literal(#"\t"#)
                case 0x08: literal(#"\b"#)
                case 0x0C: literal(#"\f"#)
                default:
                    literal(#"\u00"#)
                    out.append(Self.hexDigits[Int(byte >> 4)])
                    out.append(Self.hexDigits[Int(byte & 0xF)])
                }
            }
            if bytes.count > runStart {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count]))
            }
            literal("\"")
        }
    }
}
