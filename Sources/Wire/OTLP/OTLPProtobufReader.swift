/// The protobuf decoder behind `OTLPProtobuf`: reads OTLP logs messages out of memory at `base`, which must stay
/// valid and unmodified while the reader is in use (the public entry points read inside `withUnsafeBytes`).
/// Every read is checked against the end of the enclosing message.
struct OTLPProtobufReader {
    let base: UnsafePointer<UInt8>

    /// Deeper group nesting than this in unknown fields is rejected rather than recursed into.
    static let maxGroupDepth = 64

    /// Message names for error texts, as in the .proto files.
    enum Message: String {
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

    enum WireType: UInt8 {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4, fixed32 = 5
    }

    /// A field's tag and where it started.
    struct Tag {
        var field: Int
        var wire: WireType
        var offset: Int
    }

    // MARK: Request

    func decodeRequest(_ range: Range<Int>) throws(OTLPDecodeError) -> OTLPLogsData {
        var resourceLogs: [OTLPResourceLogs] = []
        var position = range.lowerBound
        let end = range.upperBound
        while position < end {
            let tag = try readTag(&position, end: end, in: .request)
            if tag.field == 1 {
                let body = try lengthDelimited(tag, "resource_logs", in: .request, &position, end: end)
                do throws(OTLPDecodeError) {
                    resourceLogs.append(try decodeResourceLogs(body))
                } catch {
                    throw error.within("resourceLogs[\(resourceLogs.count)]")
                }
            } else {
                try skipField(tag, in: .request, &position, end: end)
            }
        }
        return OTLPLogsData(resourceLogs: resourceLogs)
    }

    private func decodeResourceLogs(_ range: Range<Int>) throws(OTLPDecodeError) -> OTLPResourceLogs {
        var result = OTLPResourceLogs()
        var position = range.lowerBound
        let end = range.upperBound
        while position < end {
            let tag = try readTag(&position, end: end, in: .resourceLogs)
            switch tag.field {
            case 1:
                let body = try lengthDelimited(tag, "resource", in: .resourceLogs, &position, end: end)
                do throws(OTLPDecodeError) {
                    try decodeResource(body, into: &result.resource)
                } catch {
                    throw error.within("resource")
                }
            case 2:
                let body = try lengthDelimited(tag, "scope_logs", in: .resourceLogs, &position, end: end)
                do throws(OTLPDecodeError) {
                    result.scopeLogs.append(try decodeScopeLogs(body))
                } catch {
                    throw error.within("scopeLogs[\(result.scopeLogs.count)]")
                }
            case 3:
                result.schemaURL = try stringField(tag, "schema_url", in: .resourceLogs, &position, end: end)
            default:
                try skipField(tag, in: .resourceLogs, &position, end: end)
            }
        }
        return result
    }

    private func decodeResource(_ range: Range<Int>, into resource: inout OTLPResource) throws(OTLPDecodeError) {
        var position = range.lowerBound
        let end = range.upperBound
        while position < end {
            let tag = try readTag(&position, end: end, in: .resource)
            switch tag.field {
            case 1:
                let body = try lengthDelimited(tag, "attributes", in: .resource, &position, end: end)
                do throws(OTLPDecodeError) {
                    resource.attributes.append(try decodeKeyValue(body, depth: 0))
                } catch {
                    throw error.within("attributes[\(resource.attributes.count)]")
                }
            case 2:
                let value = try varintField(tag, "dropped_attributes_count", in: .resource, &position, end: end)
                resource.droppedAttributesCount = UInt32(truncatingIfNeeded: value)
            default:
                try skipField(tag, in: .resource, &position, end: end)
            }
        }
    }

    private func decodeScopeLogs(_ range: Range<Int>) throws(OTLPDecodeError) -> OTLPScopeLogs {
        var result = OTLPScopeLogs()
        var position = range.lowerBound
        let end = range.upperBound
        while position < end {
            let tag = try readTag(&position, end: end, in: .scopeLogs)
            switch tag.field {
            case 1:
                let body = try lengthDelimited(tag, "scope", in: .scopeLogs, &position, end: end)
                do throws(OTLPDecodeError) {
                    try decodeScope(body, into: &result.scope)
                } catch {
                    throw error.within("scope")
                }
            case 2:
                if result.logRecords.isEmpty {
                    result.logRecords.reserveCapacity(countFields(tag.offset..<end, tag: 0x12))
                }
                let body = try lengthDelimited(tag, "log_records", in: .scopeLogs, &position, end: end)
                do throws(OTLPDecodeError) {
                    result.logRecords.append(try decodeLogRecord(body))
                } catch {
                    throw error.within("logRecords[\(result.logRecords.count)]")
                }
            case 3:
                result.schemaURL = try stringField(tag, "schema_url", in: .scopeLogs, &position, end: end)
            default:
                try skipField(tag, in: .scopeLogs, &position, end: end)
            }
        }
        return result
    }

    private func decodeScope(_ range: Range<Int>, into scope: inout OTLPInstrumentationScope)
        throws(OTLPDecodeError)
    {
        var position = range.lowerBound
        let end = range.upperBound
        while position < end {
            let tag = try readTag(&position, end: end, in: .scope)
            switch tag.field {
            case 1:
                scope.name = try stringField(tag, "name", in: .scope, &position, end: end)
            case 2:
                scope.version = try stringField(tag, "version", in: .scope, &position, end: end)
            case 3:
                let body = try lengthDelimited(tag, "attributes", in: .scope, &position, end: end)
                do throws(OTLPDecodeError) {
                    scope.attributes.append(try decodeKeyValue(body, depth: 0))
                } catch {
                    throw error.within("attributes[\(scope.attributes.count)]")
                }
            case 4:
                let value = try varintField(tag, "dropped_attributes_count", in: .scope, &position, end: end)
                scope.droppedAttributesCount = UInt32(truncatingIfNeeded: value)
            default:
                try skipField(tag, in: .scope, &position, end: end)
            }
        }
    }

    private func decodeLogRecord(_ range: Range<Int>) throws(OTLPDecodeError) -> OTLPLogRecord {
        var record = OTLPLogRecord()
        var position = range.lowerBound
        let end = range.upperBound
        while position < end {
            let tag = try readTag(&position, end: end, in: .logRecord)
            switch tag.field {
            case 1:
                record.timeUnixNano = try fixed64Field(tag, "time_unix_nano", in: .logRecord, &position, end: end)
            case 2:
                let value = try varintField(tag, "severity_number", in: .logRecord, &position, end: end)
                record.severityNumber = Int32(truncatingIfNeeded: value)
            case 3:
                record.severityText = try stringField(tag, "severity_text", in: .logRecord, &position, end: end)
            case 5:
                let body = try lengthDelimited(tag, "body", in: .logRecord, &position, end: end)
                do throws(OTLPDecodeError) {
                    try decodeAnyValue(body, into: &record.body, depth: 1)
                } catch {
                    throw error.within("body")
                }
            case 6:
                if record.attributes.isEmpty {
                    record.attributes.reserveCapacity(countFields(tag.offset..<end, tag: 0x32))
                }
                let body = try lengthDelimited(tag, "attributes", in: .logRecord, &position, end: end)
                do throws(OTLPDecodeError) {
                    record.attributes.append(try decodeKeyValue(body, depth: 0))
                } catch {
                    throw error.within("attributes[\(record.attributes.count)]")
                }
            case 7:
                let value = try varintField(tag, "dropped_attributes_count", in: .logRecord, &position, end: end)
                record.droppedAttributesCount = UInt32(truncatingIfNeeded: value)
            case 8:
                record.flags = try fixed32Field(tag, "flags", in: .logRecord, &position, end: end)
            case 9:
                record.traceID = try idField(tag, "trace_id", json: "traceId", length: 16, &position, end: end)
            case 10:
                record.spanID = try idField(tag, "span_id", json: "spanId", length: 8, &position, end: end)
            case 11:
                record.observedTimeUnixNano = try fixed64Field(tag, "observed_time_unix_nano", in: .logRecord,
                                                               &position, end: end)
            case 12:
                record.eventName = try stringField(tag, "event_name", in: .logRecord, &position, end: end)
            default:
                try skipField(tag, in: .logRecord, &position, end: end)
            }
        }
        return record
    }

    private func idField(_ tag: Tag, _ name: StaticString, json: String, length: Int, _ position: inout Int,
                         end: Int) throws(OTLPDecodeError) -> [UInt8]
    {
        let bytes = try lengthDelimited(tag, name, in: .logRecord, &position, end: end)
        if bytes.isEmpty { return [] }
        guard bytes.count == length else {
            throw failure("\(name) is \(bytes.count) bytes, expected \(length) (or none)", at: tag.offset)
                .within(json)
        }
        return Array(UnsafeBufferPointer(start: base + bytes.lowerBound, count: bytes.count))
    }

    // MARK: Attributes and values

    /// `depth` is the nesting depth of the `AnyValue` that holds this pair (0 for a top-level attribute).
    private func decodeKeyValue(_ range: Range<Int>, depth: Int) throws(OTLPDecodeError) -> OTLPKeyValue {
        var result = OTLPKeyValue(key: "", value: nil)
        var position = range.lowerBound
        let end = range.upperBound
        while position < end {
            let tag = try readTag(&position, end: end, in: .keyValue)
            switch tag.field {
            case 1:
                result.key = try stringField(tag, "key", in: .keyValue, &position, end: end)
            case 2:
                let body = try lengthDelimited(tag, "value", in: .keyValue, &position, end: end)
                do throws(OTLPDecodeError) {
                    try decodeAnyValue(body, into: &result.value, depth: depth + 1)
                } catch {
                    throw error.within("value")
                }
            default:
                try skipField(tag, in: .keyValue, &position, end: end)
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
        var position = range.lowerBound
        let end = range.upperBound
        while position < end {
            let tag = try readTag(&position, end: end, in: .anyValue)
            switch tag.field {
            case 1:
                value = .string(try stringField(tag, "string_value", in: .anyValue, &position, end: end))
            case 2:
                value = .bool(try varintField(tag, "bool_value", in: .anyValue, &position, end: end) != 0)
            case 3:
                let raw = try varintField(tag, "int_value", in: .anyValue, &position, end: end)
                value = .int(Int64(bitPattern: raw))
            case 4:
                let raw = try fixed64Field(tag, "double_value", in: .anyValue, &position, end: end)
                value = .double(Double(bitPattern: raw))
            case 5:
                let body = try lengthDelimited(tag, "array_value", in: .anyValue, &position, end: end)
                var items: [OTLPAnyValue] = []
                if case .array(let existing) = value {
                    value = nil   // leaves `existing` the only reference, so appending does not copy
                    items = existing
                }
                do throws(OTLPDecodeError) {
                    try decodeArrayValue(body, into: &items, depth: depth)
                } catch {
                    throw error.within("arrayValue")
                }
                value = .array(items)
            case 6:
                let body = try lengthDelimited(tag, "kvlist_value", in: .anyValue, &position, end: end)
                var pairs: [OTLPKeyValue] = []
                if case .kvlist(let existing) = value {
                    value = nil
                    pairs = existing
                }
                do throws(OTLPDecodeError) {
                    try decodeKeyValueList(body, into: &pairs, depth: depth)
                } catch {
                    throw error.within("kvlistValue")
                }
                value = .kvlist(pairs)
            case 7:
                let bytes = try lengthDelimited(tag, "bytes_value", in: .anyValue, &position, end: end)
                value = .bytes(Array(UnsafeBufferPointer(start: base + bytes.lowerBound, count: bytes.count)))
            case 8:
                // string_value_strindex indexes a profile's string table; logs have none, so like any later oneof
                // member it displaces the value, which then reads as empty.
                _ = try varintField(tag, "string_value_strindex", in: .anyValue, &position, end: end)
                value = nil
            default:
                try skipField(tag, in: .anyValue, &position, end: end)
            }
        }
    }

    /// Appends the values of an `ArrayValue`; empty `AnyValue` elements have no model and are left out.
    private func decodeArrayValue(_ range: Range<Int>, into items: inout [OTLPAnyValue], depth: Int)
        throws(OTLPDecodeError)
    {
        var position = range.lowerBound
        let end = range.upperBound
        var index = 0
        while position < end {
            let tag = try readTag(&position, end: end, in: .arrayValue)
            if tag.field == 1 {
                let body = try lengthDelimited(tag, "values", in: .arrayValue, &position, end: end)
                var element: OTLPAnyValue?
                do throws(OTLPDecodeError) {
                    try decodeAnyValue(body, into: &element, depth: depth + 1)
                } catch {
                    throw error.within("values[\(index)]")
                }
                if let element { items.append(element) }
                index += 1
            } else {
                try skipField(tag, in: .arrayValue, &position, end: end)
            }
        }
    }

    private func decodeKeyValueList(_ range: Range<Int>, into pairs: inout [OTLPKeyValue], depth: Int)
        throws(OTLPDecodeError)
    {
        var position = range.lowerBound
        let end = range.upperBound
        var index = 0
        while position < end {
            let tag = try readTag(&position, end: end, in: .keyValueList)
            if tag.field == 1 {
                let body = try lengthDelimited(tag, "values", in: .keyValueList, &position, end: end)
                do throws(OTLPDecodeError) {
                    pairs.append(try decodeKeyValue(body, depth: depth))
                } catch {
                    throw error.within("values[\(index)]")
                }
                index += 1
            } else {
                try skipField(tag, in: .keyValueList, &position, end: end)
            }
        }
    }

    // MARK: Response

    func decodeResponse(_ range: Range<Int>) throws(OTLPDecodeError) -> OTLPLogsResponse {
        var result = OTLPLogsResponse()
        var position = range.lowerBound
        let end = range.upperBound
        while position < end {
            let tag = try readTag(&position, end: end, in: .response)
            guard tag.field == 1 else {
                try skipField(tag, in: .response, &position, end: end)
                continue
            }
            let body = try lengthDelimited(tag, "partial_success", in: .response, &position, end: end)
            var inner = body.lowerBound
            while inner < body.upperBound {
                let innerTag = try readTag(&inner, end: body.upperBound, in: .partialSuccess)
                switch innerTag.field {
                case 1:
                    let value = try varintField(innerTag, "rejected_log_records", in: .partialSuccess, &inner,
                                                end: body.upperBound)
                    result.rejectedLogRecords = Int64(bitPattern: value)
                case 2:
                    result.errorMessage = try stringField(innerTag, "error_message", in: .partialSuccess, &inner,
                                                          end: body.upperBound)
                default:
                    try skipField(innerTag, in: .partialSuccess, &inner, end: body.upperBound)
                }
            }
        }
        return result
    }

    // MARK: Fields

    @inline(__always)
    private func expect(_ tag: Tag, _ expected: WireType, _ name: StaticString, in message: Message)
        throws(OTLPDecodeError)
    {
        guard tag.wire == expected else {
            throw failure("wrong wire type \(tag.wire.rawValue) (expected \(expected.rawValue)) for field "
                + "\(tag.field) (\(name)) of \(message.rawValue)", at: tag.offset)
        }
    }

    /// Reads a length-delimited field's length and returns the byte range it covers, which lies within `end`.
    @inline(__always)
    private func lengthDelimited(_ tag: Tag, _ name: StaticString, in message: Message, _ position: inout Int,
                                 end: Int) throws(OTLPDecodeError) -> Range<Int>
    {
        try expect(tag, .lengthDelimited, name, in: message)
        return try readLength(&position, end: end, tag: tag, in: message)
    }

    @inline(__always)
    private func stringField(_ tag: Tag, _ name: StaticString, in message: Message, _ position: inout Int,
                             end: Int) throws(OTLPDecodeError) -> String
    {
        let range = try lengthDelimited(tag, name, in: message, &position, end: end)
        if range.isEmpty { return "" }
        guard let string = OTLPUTF8.makeString(UnsafeBufferPointer(start: base + range.lowerBound, count: range.count))
        else {
            throw failure("invalid UTF-8 in field \(tag.field) (\(name)) of \(message.rawValue)", at: range.lowerBound)
        }
        return string
    }

    @inline(__always)
    private func varintField(_ tag: Tag, _ name: StaticString, in message: Message, _ position: inout Int,
                             end: Int) throws(OTLPDecodeError) -> UInt64
    {
        try expect(tag, .varint, name, in: message)
        return try readVarint(&position, end: end, tag: tag, in: message)
    }

    @inline(__always)
    private func fixed64Field(_ tag: Tag, _ name: StaticString, in message: Message, _ position: inout Int,
                              end: Int) throws(OTLPDecodeError) -> UInt64
    {
        try expect(tag, .fixed64, name, in: message)
        guard end - position >= 8 else { throw truncated(tag, in: message, needed: 8, left: end - position) }
        let value = UnsafeRawPointer(base + position).loadUnaligned(as: UInt64.self)
        position += 8
        return UInt64(littleEndian: value)
    }

    @inline(__always)
    private func fixed32Field(_ tag: Tag, _ name: StaticString, in message: Message, _ position: inout Int,
                              end: Int) throws(OTLPDecodeError) -> UInt32
    {
        try expect(tag, .fixed32, name, in: message)
        guard end - position >= 4 else { throw truncated(tag, in: message, needed: 4, left: end - position) }
        let value = UnsafeRawPointer(base + position).loadUnaligned(as: UInt32.self)
        position += 4
        return UInt32(littleEndian: value)
    }

    /// Counts the fields with the one-byte `tag` from `range`'s start, so an array can be allocated once. Best
    /// effort: it stops at the first malformed byte and leaves reporting it to the decoding pass.
    private func countFields(_ range: Range<Int>, tag wanted: UInt64) -> Int {
        var count = 0
        var position = range.lowerBound
        let end = range.upperBound
        while position < end {
            guard let tag = peekVarint(&position, end: end) else { return count }
            switch tag & 7 {
            case 0:
                guard peekVarint(&position, end: end) != nil else { return count }
            case 1:
                position += 8
            case 2:
                guard let length = peekVarint(&position, end: end), length <= UInt64(end - position) else {
                    return count
                }
                position += Int(length)
                if tag == wanted { count += 1 }
            case 5:
                position += 4
            default:
                return count
            }
        }
        return count
    }

    // MARK: Wire primitives

    @inline(__always)
    private func readTag(_ position: inout Int, end: Int, in message: Message) throws(OTLPDecodeError) -> Tag {
        let offset = position
        let raw: UInt64
        if base[position] < 0x80 {   // callers check position < end
            raw = UInt64(base[position])
            position += 1
        } else {
            guard let value = peekVarint(&position, end: end) else {
                throw failure("unexpected end of \(message.rawValue) in a field tag", at: offset)
            }
            raw = value
        }
        let field = raw >> 3
        guard field > 0, raw <= UInt64(UInt32.max) else {
            throw failure("invalid field number \(field) (tag \(raw)) in \(message.rawValue)", at: offset)
        }
        guard let wire = WireType(rawValue: UInt8(raw & 7)) else {
            throw failure("invalid wire type \(raw & 7) for field \(field) of \(message.rawValue)", at: offset)
        }
        return Tag(field: Int(field), wire: wire, offset: offset)
    }

    /// Reads a varint; nil when it is truncated or longer than 10 bytes. Like Go's protobuf code (and
    /// SwiftProtobuf), bits beyond 64 in the tenth byte are dropped rather than rejected.
    @inline(__always)
    private func peekVarint(_ position: inout Int, end: Int) -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var current = position
        while current < end {
            let byte = base[current]
            current += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 {
                position = current
                return result
            }
            shift += 7
            if shift >= 70 { return nil }
        }
        return nil
    }

    @inline(__always)
    private func readVarint(_ position: inout Int, end: Int, tag: Tag, in message: Message)
        throws(OTLPDecodeError) -> UInt64
    {
        if position < end && base[position] < 0x80 {
            defer { position += 1 }
            return UInt64(base[position])
        }
        let offset = position
        guard let value = peekVarint(&position, end: end) else {
            var current = offset
            while current < end && current - offset < 10 && base[current] >= 0x80 { current += 1 }
            let problem = current - offset >= 10 ? "varint longer than 10 bytes" : "unexpected end of varint"
            throw failure("\(problem) in field \(tag.field) of \(message.rawValue)", at: offset)
        }
        return value
    }

    @inline(__always)
    private func readLength(_ position: inout Int, end: Int, tag: Tag, in message: Message)
        throws(OTLPDecodeError) -> Range<Int>
    {
        let offset = position
        let length = try readVarint(&position, end: end, tag: tag, in: message)
        guard length <= UInt64(end - position) else {
            throw failure("length \(length) of field \(tag.field) of \(message.rawValue) exceeds the "
                + "\(end - position) bytes left in it (truncated?)", at: offset)
        }
        let start = position
        position += Int(length)
        return start..<position
    }

    private func truncated(_ tag: Tag, in message: Message, needed: Int, left: Int) -> OTLPDecodeError {
        failure("unexpected end of field \(tag.field) of \(message.rawValue): needs \(needed) bytes, \(left) left",
                at: tag.offset)
    }

    /// Skips a field this decoder does not know, of any wire type (groups included, nested up to a limit).
    private func skipField(_ tag: Tag, in message: Message, _ position: inout Int, end: Int, depth: Int = 0)
        throws(OTLPDecodeError)
    {
        switch tag.wire {
        case .varint:
            _ = try readVarint(&position, end: end, tag: tag, in: message)
        case .fixed64:
            guard end - position >= 8 else { throw truncated(tag, in: message, needed: 8, left: end - position) }
            position += 8
        case .fixed32:
            guard end - position >= 4 else { throw truncated(tag, in: message, needed: 4, left: end - position) }
            position += 4
        case .lengthDelimited:
            _ = try readLength(&position, end: end, tag: tag, in: message)
        case .startGroup:
            guard depth < Self.maxGroupDepth else {
                throw failure("groups nested deeper than \(Self.maxGroupDepth) in field \(tag.field) of "
                    + message.rawValue, at: tag.offset)
            }
            while true {
                guard position < end else {
                    throw failure("unexpected end of group (field \(tag.field)) of \(message.rawValue): no end-group "
                        + "tag", at: tag.offset)
                }
                let inner = try readTag(&position, end: end, in: message)
                if inner.wire == .endGroup {
                    guard inner.field == tag.field else {
                        throw failure("end-group tag for field \(inner.field) closes the group of field "
                            + "\(tag.field) in \(message.rawValue)", at: inner.offset)
                    }
                    return
                }
                try skipField(inner, in: message, &position, end: end, depth: depth + 1)
            }
        case .endGroup:
            throw failure("unexpected end-group tag for field \(tag.field) in \(message.rawValue)", at: tag.offset)
        }
    }

    private func failure(_ reason: String, at offset: Int) -> OTLPDecodeError {
        OTLPDecodeError(format: .protobuf, reason: reason, offset: offset)
    }
}
