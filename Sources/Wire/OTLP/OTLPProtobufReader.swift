/// The protobuf decoder behind `OTLPProtobuf`: reads OTLP logs messages out of memory at `base`, which must stay
/// valid and unmodified while the reader is in use (the public entry points read inside `withUnsafeBufferPointer`
/// or from a raw buffer their caller keeps alive). Every read is checked against the end of the enclosing message.
struct OTLPProtobufReader {
    let base: UnsafePointer<UInt8>

    /// Message names for error texts, as in the .proto files; `error(_:at:)` below words the reader's failures.
    enum Message: String, ProtobufDecoderMessage {
        case request = "ExportLogsServiceRequest"
        case response = "ExportLogsServiceResponse"
        case partialSuccess = "ExportLogsPartialSuccess"
        case resourceLogs = "ResourceLogs"
        case resource = "Resource"
        case scopeLogs = "ScopeLogs"
        case scope = "InstrumentationScope"
        case logRecord = "LogRecord"
        case keyValue = "KeyValue"
        case anyValue = "AnyValue"
        case arrayValue = "ArrayValue"
        case keyValueList = "KeyValueList"
    }

    private func makeReader(_ range: Range<Int>, _ message: Message) -> ProtobufReader<Message> {
        ProtobufReader(base: base, range: range, message: message)
    }

    // MARK: Request

    func decodeRequest(_ range: Range<Int>) throws(OTLPDecodeError) -> OTLPLogsData {
        var resourceLogs: [OTLPResourceLogs] = []
        var reader = makeReader(range, .request)
        while !reader.isAtEnd {
            let tag = try reader.readTag()
            if tag.field == 1 {
                let body = try reader.lengthDelimited(tag, "resource_logs")
                let logs = try within("resourceLogs[\(resourceLogs.count)]") { () throws(OTLPDecodeError) in
                    try decodeResourceLogs(body)
                }
                resourceLogs.append(logs)
            } else {
                try reader.skipField(tag)
            }
        }
        return OTLPLogsData(resourceLogs: resourceLogs)
    }

    private func decodeResourceLogs(_ range: Range<Int>) throws(OTLPDecodeError) -> OTLPResourceLogs {
        var result = OTLPResourceLogs()
        var reader = makeReader(range, .resourceLogs)
        while !reader.isAtEnd {
            let tag = try reader.readTag()
            switch tag.field {
            case 1:
                let body = try reader.lengthDelimited(tag, "resource")
                try within("resource") { () throws(OTLPDecodeError) in
                    try decodeResource(body, into: &result.resource)
                }
            case 2:
                let body = try reader.lengthDelimited(tag, "scope_logs")
                let logs = try within("scopeLogs[\(result.scopeLogs.count)]") { () throws(OTLPDecodeError) in
                    try decodeScopeLogs(body)
                }
                result.scopeLogs.append(logs)
            case 3:
                result.schemaURL = try reader.string(tag, "schema_url")
            default:
                try reader.skipField(tag)
            }
        }
        return result
    }

    private func decodeResource(_ range: Range<Int>, into resource: inout OTLPResource) throws(OTLPDecodeError) {
        var reader = makeReader(range, .resource)
        while !reader.isAtEnd {
            let tag = try reader.readTag()
            if try !decodeAttributeField(
                tag, &reader, numbered: 1, into: &resource.attributes, dropped: &resource.droppedAttributesCount)
            {
                try reader.skipField(tag)
            }
        }
    }

    /// The `attributes` field (numbered `field`) or the `dropped_attributes_count` after it, of a Resource or an
    /// InstrumentationScope; false for another field.
    private func decodeAttributeField(
        _ tag: ProtobufTag, _ reader: inout ProtobufReader<Message>, numbered field: Int,
        into attributes: inout [OTLPKeyValue], dropped: inout UInt32
    ) throws(OTLPDecodeError) -> Bool {
        switch tag.field {
        case field:
            let body = try reader.lengthDelimited(tag, "attributes")
            let pair = try within("attributes[\(attributes.count)]") { () throws(OTLPDecodeError) in
                try decodeKeyValue(body, depth: 0)
            }
            attributes.append(pair)
        case field + 1:
            dropped = UInt32(truncatingIfNeeded: try reader.varint(tag, "dropped_attributes_count"))
        default:
            return false
        }
        return true
    }

    private func decodeScopeLogs(_ range: Range<Int>) throws(OTLPDecodeError) -> OTLPScopeLogs {
        var result = OTLPScopeLogs()
        var reader = makeReader(range, .scopeLogs)
        while !reader.isAtEnd {
            let tag = try reader.readTag()
            switch tag.field {
            case 1:
                let body = try reader.lengthDelimited(tag, "scope")
                try within("scope") { () throws(OTLPDecodeError) in
                    try decodeScope(body, into: &result.scope)
                }
            case 2:
                if result.logRecords.isEmpty {
                    result.logRecords.reserveCapacity(reader.countFields(tagged: 0x12, from: tag.offset))
                }
                let body = try reader.lengthDelimited(tag, "log_records")
                let record = try within("logRecords[\(result.logRecords.count)]") { () throws(OTLPDecodeError) in
                    try decodeLogRecord(body)
                }
                result.logRecords.append(record)
            case 3:
                result.schemaURL = try reader.string(tag, "schema_url")
            default:
                try reader.skipField(tag)
            }
        }
        return result
    }

    private func decodeScope(_ range: Range<Int>, into scope: inout OTLPInstrumentationScope)
        throws(OTLPDecodeError)
    {
        var reader = makeReader(range, .scope)
        while !reader.isAtEnd {
            let tag = try reader.readTag()
            switch tag.field {
            case 1:
                scope.name = try reader.string(tag, "name")
            case 2:
                scope.version = try reader.string(tag, "version")
            default:
                if try !decodeAttributeField(
                    tag, &reader, numbered: 3, into: &scope.attributes, dropped: &scope.droppedAttributesCount)
                {
                    try reader.skipField(tag)
                }
            }
        }
    }

    private func decodeLogRecord(_ range: Range<Int>) throws(OTLPDecodeError) -> OTLPLogRecord {
        var record = OTLPLogRecord()
        var reader = makeReader(range, .logRecord)
        while !reader.isAtEnd {
            let tag = try reader.readTag()
            switch tag.field {
            case 1:
                record.timeUnixNano = try reader.fixed64(tag, "time_unix_nano")
            case 2:
                let value = try reader.varint(tag, "severity_number")
                record.severityNumber = Int32(truncatingIfNeeded: value)
            case 3:
                record.severityText = try reader.string(tag, "severity_text")
            case 5:
                let body = try reader.lengthDelimited(tag, "body")
                try within("body") { () throws(OTLPDecodeError) in
                    try decodeAnyValue(body, into: &record.body, depth: 1)
                }
            case 6:
                if record.attributes.isEmpty {
                    record.attributes.reserveCapacity(reader.countFields(tagged: 0x32, from: tag.offset))
                }
                let body = try reader.lengthDelimited(tag, "attributes")
                let pair = try within("attributes[\(record.attributes.count)]") { () throws(OTLPDecodeError) in
                    try decodeKeyValue(body, depth: 0)
                }
                record.attributes.append(pair)
            case 7:
                let value = try reader.varint(tag, "dropped_attributes_count")
                record.droppedAttributesCount = UInt32(truncatingIfNeeded: value)
            case 8:
                record.flags = try reader.fixed32(tag, "flags")
            case 9:
                record.traceID = try idField(tag, "trace_id", json: "traceId", length: 16, &reader)
            case 10:
                record.spanID = try idField(tag, "span_id", json: "spanId", length: 8, &reader)
            case 11:
                record.observedTimeUnixNano = try reader.fixed64(tag, "observed_time_unix_nano")
            case 12:
                record.eventName = try reader.string(tag, "event_name")
            default:
                try reader.skipField(tag)
            }
        }
        return record
    }

    private func idField(_ tag: ProtobufTag, _ name: StaticString, json: String, length: Int,
                         _ reader: inout ProtobufReader<Message>) throws(OTLPDecodeError) -> [UInt8]
    {
        let bytes = try reader.lengthDelimited(tag, name)
        if bytes.isEmpty { return [] }
        guard bytes.count == length else {
            throw failure("\(name) is \(bytes.count) bytes, expected \(length) (or none)", at: tag.offset)
                .within(json)
        }
        return Array(reader.buffer(bytes))
    }

    // MARK: Attributes and values

    /// `depth` is the nesting depth of the `AnyValue` that holds this pair (0 for a top-level attribute).
    private func decodeKeyValue(_ range: Range<Int>, depth: Int) throws(OTLPDecodeError) -> OTLPKeyValue {
        var result = OTLPKeyValue(key: "", value: nil)
        var reader = makeReader(range, .keyValue)
        while !reader.isAtEnd {
            let tag = try reader.readTag()
            switch tag.field {
            case 1:
                result.key = try reader.string(tag, "key")
            case 2:
                let body = try reader.lengthDelimited(tag, "value")
                try within("value") { () throws(OTLPDecodeError) in
                    try decodeAnyValue(body, into: &result.value, depth: depth + 1)
                }
            default:
                try reader.skipField(tag)
            }
        }
        return result
    }

    /// Merges an `AnyValue` message into `value`: the last `oneof` member wins, except that an `arrayValue` or
    /// `kvlistValue` following one of the same kind appends to it (protobuf's merge of a message member).
    /// The profiles-only `string_value_strindex` empties it (and `KeyValue.key_strindex` is skipped as unknown).
    private func decodeAnyValue(_ range: Range<Int>, into value: inout OTLPAnyValue?, depth: Int)
        throws(OTLPDecodeError)
    {
        guard depth <= OTLPProtobuf.maxValueDepth else {
            throw failure("AnyValue nested deeper than \(OTLPProtobuf.maxValueDepth) levels", at: range.lowerBound)
        }
        var reader = makeReader(range, .anyValue)
        while !reader.isAtEnd {
            let tag = try reader.readTag()
            switch tag.field {
            case 1:
                value = .string(try reader.string(tag, "string_value"))
            case 2:
                value = .bool(try reader.varint(tag, "bool_value") != 0)
            case 3:
                let raw = try reader.varint(tag, "int_value")
                value = .int(Int64(bitPattern: raw))
            case 4:
                let raw = try reader.fixed64(tag, "double_value")
                value = .double(Double(bitPattern: raw))
            case 5:
                let body = try reader.lengthDelimited(tag, "array_value")
                var items: [OTLPAnyValue] = []
                if case .array(let existing) = value {
                    value = nil   // leaves `existing` the only reference, so appending does not copy
                    items = existing
                }
                try within("arrayValue") { () throws(OTLPDecodeError) in
                    try decodeArrayValue(body, into: &items, depth: depth)
                }
                value = .array(items)
            case 6:
                let body = try reader.lengthDelimited(tag, "kvlist_value")
                var pairs: [OTLPKeyValue] = []
                if case .kvlist(let existing) = value {
                    value = nil
                    pairs = existing
                }
                try within("kvlistValue") { () throws(OTLPDecodeError) in
                    try decodeKeyValueList(body, into: &pairs, depth: depth)
                }
                value = .kvlist(pairs)
            case 7:
                let bytes = try reader.lengthDelimited(tag, "bytes_value")
                value = .bytes(Array(reader.buffer(bytes)))
            case 8:
                // string_value_strindex indexes a profile's string table; logs have none, so like any later oneof
                // member it displaces the value, which then reads as empty.
                _ = try reader.varint(tag, "string_value_strindex")
                value = nil
            default:
                try reader.skipField(tag)
            }
        }
    }

    /// Appends the values of an `ArrayValue`; empty `AnyValue` elements have no model and are left out.
    private func decodeArrayValue(_ range: Range<Int>, into items: inout [OTLPAnyValue], depth: Int)
        throws(OTLPDecodeError)
    {
        var reader = makeReader(range, .arrayValue)
        var index = 0
        while !reader.isAtEnd {
            let tag = try reader.readTag()
            if tag.field == 1 {
                let body = try reader.lengthDelimited(tag, "values")
                var element: OTLPAnyValue?
                try within("values[\(index)]") { () throws(OTLPDecodeError) in
                    try decodeAnyValue(body, into: &element, depth: depth + 1)
                }
                if let element { items.append(element) }
                index += 1
            } else {
                try reader.skipField(tag)
            }
        }
    }

    private func decodeKeyValueList(_ range: Range<Int>, into pairs: inout [OTLPKeyValue], depth: Int)
        throws(OTLPDecodeError)
    {
        var reader = makeReader(range, .keyValueList)
        var index = 0
        while !reader.isAtEnd {
            let tag = try reader.readTag()
            if tag.field == 1 {
                let body = try reader.lengthDelimited(tag, "values")
                let pair = try within("values[\(index)]") { () throws(OTLPDecodeError) in
                    try decodeKeyValue(body, depth: depth)
                }
                pairs.append(pair)
                index += 1
            } else {
                try reader.skipField(tag)
            }
        }
    }

    // MARK: Response

    func decodeResponse(_ range: Range<Int>) throws(OTLPDecodeError) -> OTLPLogsResponse {
        var result = OTLPLogsResponse()
        var reader = makeReader(range, .response)
        while !reader.isAtEnd {
            let tag = try reader.readTag()
            guard tag.field == 1 else {
                try reader.skipField(tag)
                continue
            }
            let body = try reader.lengthDelimited(tag, "partial_success")
            var inner = makeReader(body, .partialSuccess)
            while !inner.isAtEnd {
                let innerTag = try inner.readTag()
                switch innerTag.field {
                case 1:
                    result.rejectedLogRecords = Int64(bitPattern: try inner.varint(innerTag, "rejected_log_records"))
                case 2:
                    result.errorMessage = try inner.string(innerTag, "error_message")
                default:
                    try inner.skipField(innerTag)
                }
            }
        }
        return result
    }

    // MARK: Errors

    /// Runs `decode` on a nested message; if it fails, the error's path gets `component` in front.
    @inline(__always)
    private func within<Value>(_ component: @autoclosure () -> String,
                               _ decode: () throws(OTLPDecodeError) -> Value) throws(OTLPDecodeError) -> Value
    {
        do throws(OTLPDecodeError) {
            return try decode()
        } catch {
            throw error.within(component())
        }
    }

    private func failure(_ reason: String, at offset: Int) -> OTLPDecodeError {
        OTLPDecodeError(format: .protobuf, reason: reason, offset: offset)
    }
}

extension OTLPProtobufReader.Message {
    func error(_ failure: ProtobufReadFailure, at offset: Int) -> OTLPDecodeError {
        OTLPDecodeError(format: .protobuf, reason: failure.reason(in: rawValue), offset: offset)
    }
}
