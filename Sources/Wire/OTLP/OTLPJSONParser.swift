/// The OTLP/JSON parser behind `OTLPJSON`, on the shared `JSONScanner`; call `release()` when done.
///
/// Strings without escapes become `String`s straight from the input. Errors carry the byte offset and, through
/// `OTLPDecodeError.within`, the path of the field that failed.
struct OTLPJSONParser {
    private typealias Scanner = JSONScanner<OTLPDecodeError>
    private var scanner: Scanner

    init(input: UnsafeBufferPointer<UInt8>) {
        scanner = Scanner(input: input)
    }

    mutating func release() {
        scanner.release()
    }

    // MARK: Documents

    mutating func parseRequest() throws(OTLPDecodeError) -> OTLPLogsData {
        var logs = OTLPLogsData()
        if try beginObject("an ExportLogsServiceRequest object") {
            repeat {
                let key = try scanner.key()
                if try scanner.skipNull() { continue }
                if Self.matches(key, "resourceLogs") || Self.matches(key, "resource_logs") {
                    if try beginArray("resourceLogs", "an array of ResourceLogs objects") {
                        repeat {
                            do throws(OTLPDecodeError) {
                                logs.resourceLogs.append(try parseResourceLogs())
                            } catch {
                                throw error.within("resourceLogs[\(logs.resourceLogs.count)]")
                            }
                        } while try scanner.nextElement()
                    }
                } else {
                    try scanner.skipValue()
                }
            } while try scanner.nextMember()
        }
        try expectEnd()
        return logs
    }

    mutating func parseResponse() throws(OTLPDecodeError) -> OTLPLogsResponse {
        var response = OTLPLogsResponse()
        if try beginObject("an ExportLogsServiceResponse object") {
            repeat {
                let key = try scanner.key()
                if try scanner.skipNull() { continue }
                guard Self.matches(key, "partialSuccess") || Self.matches(key, "partial_success") else {
                    try scanner.skipValue()
                    continue
                }
                do throws(OTLPDecodeError) {
                    guard try beginObject("an ExportLogsPartialSuccess object") else { continue }
                    repeat {
                        let inner = try scanner.key()
                        if try scanner.skipNull() { continue }
                        if Self.matches(inner, "rejectedLogRecords") || Self.matches(inner, "rejected_log_records") {
                            response.rejectedLogRecords = try readInt64("rejectedLogRecords")
                        } else if Self.matches(inner, "errorMessage") || Self.matches(inner, "error_message") {
                            response.errorMessage = try readString("errorMessage")
                        } else {
                            try scanner.skipValue()
                        }
                    } while try scanner.nextMember()
                } catch {
                    throw error.within("partialSuccess")
                }
            } while try scanner.nextMember()
        }
        try expectEnd()
        return response
    }

    private mutating func expectEnd() throws(OTLPDecodeError) {
        guard scanner.isAtEnd() else {
            throw scanner.failure("unexpected \(scanner.describeByte(at: scanner.position)) after the end of the "
                + "top-level object")
        }
    }

    // MARK: Messages

    private mutating func parseResourceLogs() throws(OTLPDecodeError) -> OTLPResourceLogs {
        var result = OTLPResourceLogs()
        guard try beginObject("a ResourceLogs object") else { return result }
        repeat {
            let key = try scanner.key()
            if try scanner.skipNull() { continue }
            if Self.matches(key, "resource") {
                do throws(OTLPDecodeError) {
                    try parseResource(into: &result.resource)
                } catch {
                    throw error.within("resource")
                }
            } else if Self.matches(key, "scopeLogs") || Self.matches(key, "scope_logs") {
                if try beginArray("scopeLogs", "an array of ScopeLogs objects") {
                    repeat {
                        do throws(OTLPDecodeError) {
                            result.scopeLogs.append(try parseScopeLogs())
                        } catch {
                            throw error.within("scopeLogs[\(result.scopeLogs.count)]")
                        }
                    } while try scanner.nextElement()
                }
            } else if Self.matches(key, "schemaUrl") || Self.matches(key, "schema_url") {
                result.schemaURL = try readString("schemaUrl")
            } else {
                try scanner.skipValue()
            }
        } while try scanner.nextMember()
        return result
    }

    private mutating func parseResource(into resource: inout OTLPResource) throws(OTLPDecodeError) {
        guard try beginObject("a Resource object") else { return }
        repeat {
            let key = try scanner.key()
            if try scanner.skipNull() { continue }
            if Self.matches(key, "attributes") {
                try parseAttributes(into: &resource.attributes, field: "attributes", depth: 0)
            } else if Self.matches(key, "droppedAttributesCount") || Self.matches(key, "dropped_attributes_count") {
                resource.droppedAttributesCount = try readUInt32("droppedAttributesCount")
            } else {
                try scanner.skipValue()
            }
        } while try scanner.nextMember()
    }

    private mutating func parseScopeLogs() throws(OTLPDecodeError) -> OTLPScopeLogs {
        var result = OTLPScopeLogs()
        guard try beginObject("a ScopeLogs object") else { return result }
        repeat {
            let key = try scanner.key()
            if try scanner.skipNull() { continue }
            if Self.matches(key, "scope") {
                do throws(OTLPDecodeError) {
                    try parseScope(into: &result.scope)
                } catch {
                    throw error.within("scope")
                }
            } else if Self.matches(key, "logRecords") || Self.matches(key, "log_records") {
                if try beginArray("logRecords", "an array of LogRecord objects") {
                    repeat {
                        do throws(OTLPDecodeError) {
                            result.logRecords.append(try parseLogRecord())
                        } catch {
                            throw error.within("logRecords[\(result.logRecords.count)]")
                        }
                    } while try scanner.nextElement()
                }
            } else if Self.matches(key, "schemaUrl") || Self.matches(key, "schema_url") {
                result.schemaURL = try readString("schemaUrl")
            } else {
                try scanner.skipValue()
            }
        } while try scanner.nextMember()
        return result
    }

    private mutating func parseScope(into scope: inout OTLPInstrumentationScope) throws(OTLPDecodeError) {
        guard try beginObject("an InstrumentationScope object") else { return }
        repeat {
            let key = try scanner.key()
            if try scanner.skipNull() { continue }
            if Self.matches(key, "name") {
                scope.name = try readString("name")
            } else if Self.matches(key, "version") {
                scope.version = try readString("version")
            } else if Self.matches(key, "attributes") {
                try parseAttributes(into: &scope.attributes, field: "attributes", depth: 0)
            } else if Self.matches(key, "droppedAttributesCount") || Self.matches(key, "dropped_attributes_count") {
                scope.droppedAttributesCount = try readUInt32("droppedAttributesCount")
            } else {
                try scanner.skipValue()
            }
        } while try scanner.nextMember()
    }

    private mutating func parseLogRecord() throws(OTLPDecodeError) -> OTLPLogRecord {
        var record = OTLPLogRecord()
        guard try beginObject("a LogRecord object") else { return record }
        repeat {
            let key = try scanner.key()
            if try scanner.skipNull() { continue }
            if Self.matches(key, "timeUnixNano") || Self.matches(key, "time_unix_nano") {
                record.timeUnixNano = try readUInt64("timeUnixNano")
            } else if Self.matches(key, "observedTimeUnixNano") || Self.matches(key, "observed_time_unix_nano") {
                record.observedTimeUnixNano = try readUInt64("observedTimeUnixNano")
            } else if Self.matches(key, "severityNumber") || Self.matches(key, "severity_number") {
                record.severityNumber = try readSeverityNumber()
            } else if Self.matches(key, "severityText") || Self.matches(key, "severity_text") {
                record.severityText = try readString("severityText")
            } else if Self.matches(key, "body") {
                do throws(OTLPDecodeError) {
                    try parseAnyValue(into: &record.body, depth: 1)
                } catch {
                    throw error.within("body")
                }
            } else if Self.matches(key, "attributes") {
                try parseAttributes(into: &record.attributes, field: "attributes", depth: 0)
            } else if Self.matches(key, "droppedAttributesCount") || Self.matches(key, "dropped_attributes_count") {
                record.droppedAttributesCount = try readUInt32("droppedAttributesCount")
            } else if Self.matches(key, "flags") {
                record.flags = try readUInt32("flags")
            } else if Self.matches(key, "traceId") || Self.matches(key, "trace_id") {
                record.traceID = try readID("traceId", byteCount: 16)
            } else if Self.matches(key, "spanId") || Self.matches(key, "span_id") {
                record.spanID = try readID("spanId", byteCount: 8)
            } else if Self.matches(key, "eventName") || Self.matches(key, "event_name") {
                record.eventName = try readString("eventName")
            } else {
                try scanner.skipValue()
            }
        } while try scanner.nextMember()
        return record
    }

    // MARK: Attributes and values

    /// Appends a JSON array of `KeyValue` objects. `depth` is the nesting depth of the enclosing `AnyValue`.
    private mutating func parseAttributes(into pairs: inout [OTLPKeyValue], field: String, depth: Int)
        throws(OTLPDecodeError)
    {
        guard try beginArray(field, "an array of KeyValue objects") else { return }
        repeat {
            do throws(OTLPDecodeError) {
                pairs.append(try parseKeyValue(depth: depth))
            } catch {
                throw error.within("\(field)[\(pairs.count)]")
            }
        } while try scanner.nextElement()
    }

    private mutating func parseKeyValue(depth: Int) throws(OTLPDecodeError) -> OTLPKeyValue {
        var result = OTLPKeyValue(key: "", value: nil)
        guard try beginObject("a KeyValue object") else { return result }
        repeat {
            let key = try scanner.key()
            if try scanner.skipNull() { continue }
            if Self.matches(key, "key") {
                result.key = try readString("key")
            } else if Self.matches(key, "value") {
                do throws(OTLPDecodeError) {
                    try parseAnyValue(into: &result.value, depth: depth + 1)
                } catch {
                    throw error.within("value")
                }
            } else {
                try scanner.skipValue()
            }
        } while try scanner.nextMember()
        return result
    }

    /// Merges an `AnyValue` object into `value`, as the protobuf decoder does: the last member wins, and a
    /// second `arrayValue` or `kvlistValue` appends to the first. `{}` leaves `value` as it was.
    private mutating func parseAnyValue(into value: inout OTLPAnyValue?, depth: Int) throws(OTLPDecodeError) {
        guard depth <= OTLPJSON.maxValueDepth else {
            throw scanner.failure("AnyValue nested deeper than \(OTLPJSON.maxValueDepth) levels")
        }
        guard try beginObject("an AnyValue object") else { return }
        repeat {
            let key = try scanner.key()
            if try scanner.skipNull() { continue }
            if Self.matches(key, "stringValue") || Self.matches(key, "string_value") {
                value = .string(try readString("stringValue"))
            } else if Self.matches(key, "intValue") || Self.matches(key, "int_value") {
                value = .int(try readInt64("intValue"))
            } else if Self.matches(key, "boolValue") || Self.matches(key, "bool_value") {
                value = .bool(try readBool("boolValue"))
            } else if Self.matches(key, "doubleValue") || Self.matches(key, "double_value") {
                value = .double(try readDouble("doubleValue"))
            } else if Self.matches(key, "arrayValue") || Self.matches(key, "array_value") {
                var items: [OTLPAnyValue] = []
                if case .array(let existing) = value {
                    value = nil   // leaves `existing` the only reference, so appending does not copy
                    items = existing
                }
                do throws(OTLPDecodeError) {
                    try parseArrayValue(into: &items, depth: depth)
                } catch {
                    throw error.within("arrayValue")
                }
                value = .array(items)
            } else if Self.matches(key, "kvlistValue") || Self.matches(key, "kvlist_value") {
                var pairs: [OTLPKeyValue] = []
                if case .kvlist(let existing) = value {
                    value = nil
                    pairs = existing
                }
                do throws(OTLPDecodeError) {
                    try parseKeyValueList(into: &pairs, depth: depth)
                } catch {
                    throw error.within("kvlistValue")
                }
                value = .kvlist(pairs)
            } else if Self.matches(key, "bytesValue") || Self.matches(key, "bytes_value") {
                value = .bytes(try readBase64("bytesValue"))
            } else if Self.matches(key, "stringValueStrindex") || Self.matches(key, "string_value_strindex") {
                // An index into a profile's string table: as in the protobuf decoder, the value reads as empty.
                _ = try readInt64("stringValueStrindex")
                value = nil
            } else {
                try scanner.skipValue()
            }
        } while try scanner.nextMember()
    }

    /// `{"values":[AnyValue, ...]}`; empty `AnyValue`s (`{}`) have no model and are left out.
    private mutating func parseArrayValue(into items: inout [OTLPAnyValue], depth: Int) throws(OTLPDecodeError) {
        guard try beginObject("an ArrayValue object") else { return }
        repeat {
            let key = try scanner.key()
            if try scanner.skipNull() { continue }
            guard Self.matches(key, "values") else {
                try scanner.skipValue()
                continue
            }
            guard try beginArray("values", "an array of AnyValue objects") else { continue }
            var index = 0
            repeat {
                var element: OTLPAnyValue?
                do throws(OTLPDecodeError) {
                    try parseAnyValue(into: &element, depth: depth + 1)
                } catch {
                    throw error.within("values[\(index)]")
                }
                if let element { items.append(element) }
                index += 1
            } while try scanner.nextElement()
        } while try scanner.nextMember()
    }

    /// `{"values":[KeyValue, ...]}`.
    private mutating func parseKeyValueList(into pairs: inout [OTLPKeyValue], depth: Int) throws(OTLPDecodeError) {
        guard try beginObject("a KeyValueList object") else { return }
        repeat {
            let key = try scanner.key()
            if try scanner.skipNull() { continue }
            if Self.matches(key, "values") {
                try parseAttributes(into: &pairs, field: "values", depth: depth)
            } else {
                try scanner.skipValue()
            }
        } while try scanner.nextMember()
    }

    // MARK: Typed scalars

    private mutating func readString(_ field: String) throws(OTLPDecodeError) -> String {
        guard try scanner.peek() == UInt8(ascii: "\"") else {
            throw scanner.failure("expected a string for \(field), found \(scanner.describeValue(at: scanner.position))").within(field)
        }
        let start = scanner.position
        let bytes = try scanner.string()
        if bytes.isEmpty { return "" }
        guard let string = OTLPUTF8.makeString(bytes) else {
            throw scanner.failure("invalid UTF-8 in the string for \(field)", at: start).within(field)
        }
        return string
    }

    private mutating func readBool(_ field: String) throws(OTLPDecodeError) -> Bool {
        switch try scanner.peek() {
        case UInt8(ascii: "t"):
            try scanner.literal("true")
            return true
        case UInt8(ascii: "f"):
            try scanner.literal("false")
            return false
        default:
            throw scanner.failure("expected true or false for \(field), found \(scanner.describeValue(at: scanner.position))").within(field)
        }
    }

    /// The text of an integer: a JSON number, or a string holding one (64-bit values are strings in OTLP/JSON).
    private mutating func readIntegerText(_ field: String, _ expected: String) throws(OTLPDecodeError)
        -> UnsafeBufferPointer<UInt8>
    {
        let byte = try scanner.peek()
        if byte == UInt8(ascii: "\"") { return try scanner.string() }
        guard byte == UInt8(ascii: "-") || JSONNumberText.isDigit(byte) else {
            throw scanner.failure("expected \(expected) for \(field), found \(scanner.describeValue(at: scanner.position))").within(field)
        }
        return try scanner.number()
    }

    private mutating func readUInt64(_ field: String) throws(OTLPDecodeError) -> UInt64 {
        let start = scanner.position
        let text = try readIntegerText(field, "an unsigned 64-bit integer (number or string)")
        guard let (negative, magnitude) = JSONNumberText.integerValue(text), !negative || magnitude == 0 else {
            throw scanner.failure("\(Scanner.quote(text)) is not an unsigned 64-bit integer for \(field)", at: start)
                .within(field)
        }
        return magnitude
    }

    private mutating func readInt64(_ field: String) throws(OTLPDecodeError) -> Int64 {
        let start = scanner.position
        let text = try readIntegerText(field, "a 64-bit integer (number or string)")
        guard let (negative, magnitude) = JSONNumberText.integerValue(text),
              magnitude <= (negative ? UInt64(Int64.max) + 1 : UInt64(Int64.max))
        else {
            throw scanner.failure("\(Scanner.quote(text)) is not a 64-bit integer for \(field)", at: start).within(field)
        }
        return negative ? Int64(truncatingIfNeeded: 0 &- magnitude) : Int64(magnitude)
    }

    private mutating func readUInt32(_ field: String) throws(OTLPDecodeError) -> UInt32 {
        let start = scanner.position
        let text = try readIntegerText(field, "an unsigned 32-bit integer")
        guard let (negative, magnitude) = JSONNumberText.integerValue(text), !negative || magnitude == 0,
              magnitude <= UInt64(UInt32.max)
        else {
            throw scanner.failure("\(Scanner.quote(text)) is not an unsigned 32-bit integer for \(field)", at: start)
                .within(field)
        }
        return UInt32(magnitude)
    }

    /// An enum: its number, or its name (`"SEVERITY_NUMBER_INFO"`).
    private mutating func readSeverityNumber() throws(OTLPDecodeError) -> Int32 {
        let field = "severityNumber"
        let start = scanner.position
        let quoted = try scanner.peek() == UInt8(ascii: "\"")
        let text = try readIntegerText(field, "a SeverityNumber (a number or a name like \"SEVERITY_NUMBER_INFO\")")
        if quoted, let number = OTLPSeverity.number(named: text) { return number }
        guard let (negative, magnitude) = JSONNumberText.integerValue(text),
              magnitude <= (negative ? UInt64(Int32.max) + 1 : UInt64(Int32.max))
        else {
            throw scanner.failure("\(Scanner.quote(text)) is not a SeverityNumber (SEVERITY_NUMBER_UNSPECIFIED ... "
                + "SEVERITY_NUMBER_FATAL4, or a 32-bit integer)", at: start).within(field)
        }
        return negative ? Int32(truncatingIfNeeded: 0 &- magnitude) : Int32(magnitude)
    }

    /// A JSON number, or a string: a number, `"NaN"`, `"Infinity"` or `"-Infinity"` (protobuf's JSON mapping).
    private mutating func readDouble(_ field: String) throws(OTLPDecodeError) -> Double {
        let start = scanner.position
        let text: UnsafeBufferPointer<UInt8>
        if try scanner.peek() == UInt8(ascii: "\"") {
            text = try scanner.string()
            if text.elementsEqual("NaN".utf8) { return .nan }
            if text.elementsEqual("Infinity".utf8) { return .infinity }
            if text.elementsEqual("-Infinity".utf8) { return -.infinity }
            guard JSONNumberText.isNumber(text) else {
                throw scanner.failure("\(Scanner.quote(text)) is not a number for \(field)", at: start).within(field)
            }
        } else {
            text = try readIntegerText(field, "a number")
        }
        guard let value = Double(String(decoding: text, as: UTF8.self)) else {
            throw scanner.failure("\(Scanner.quote(text)) is not a number for \(field)", at: start).within(field)
        }
        return value
    }

    /// A hex id (`"5b8efff798038103d269b633813fc60c"`, either case); `""` means absent.
    private mutating func readID(_ field: String, byteCount: Int) throws(OTLPDecodeError) -> [UInt8] {
        guard try scanner.peek() == UInt8(ascii: "\"") else {
            throw scanner.failure("expected a hex string for \(field), found \(scanner.describeValue(at: scanner.position))").within(field)
        }
        let start = scanner.position
        let text = try scanner.string()
        if text.isEmpty { return [] }
        guard text.count == 2 * byteCount else {
            throw scanner.failure("\(field) \(Scanner.quote(text)) has \(text.count) characters, expected \(2 * byteCount) hex "
                + "digits (\(byteCount) bytes) or an empty string", at: start).within(field)
        }
        var id = [UInt8](repeating: 0, count: byteCount)
        for index in 0..<byteCount {
            guard let high = JSONNumberText.hexDigit(text[2 * index]), let low = JSONNumberText.hexDigit(text[2 * index + 1]) else {
                let bad = JSONNumberText.hexDigit(text[2 * index]) == nil ? 2 * index : 2 * index + 1
                throw scanner.failure("\(field) \(Scanner.quote(text)) is not hex: \(Scanner.describeRawByte(text[bad])) at "
                    + "character \(bad)", at: start).within(field)
            }
            id[index] = high << 4 | low
        }
        return id
    }

    /// Base64, standard or URL-safe alphabet, padded or not (as protobuf's JSON mapping accepts).
    private mutating func readBase64(_ field: String) throws(OTLPDecodeError) -> [UInt8] {
        guard try scanner.peek() == UInt8(ascii: "\"") else {
            throw scanner.failure("expected a base64 string for \(field), found \(scanner.describeValue(at: scanner.position))")
                .within(field)
        }
        let start = scanner.position
        let text = try scanner.string()
        switch Base64Codec.decode(text) {
        case .success(let bytes):
            return bytes
        case .failure(let problem):
            throw scanner.failure("invalid base64 for \(field): \(problem.reason)", at: start).within(field)
        }
    }

    // MARK: Containers

    /// Consumes `{` and whitespace; false (with `}` consumed) for an empty object.
    private mutating func beginObject(_ what: String) throws(OTLPDecodeError) -> Bool {
        scanner.skipWhitespace()
        guard try scanner.peek() == UInt8(ascii: "{") else {
            throw scanner.failure("expected \(what), found \(scanner.describeValue(at: scanner.position))")
        }
        return try scanner.beginContainer()
    }

    /// Consumes `[` and whitespace; false (with `]` consumed) for an empty array.
    private mutating func beginArray(_ field: String, _ what: String) throws(OTLPDecodeError) -> Bool {
        guard try scanner.peek() == UInt8(ascii: "[") else {
            throw scanner.failure("expected \(what) for \(field), found \(scanner.describeValue(at: scanner.position))")
                .within(field)
        }
        return try scanner.beginContainer()
    }

    static func matches(_ key: UnsafeBufferPointer<UInt8>, _ name: StaticString) -> Bool {
        let length = name.utf8CodeUnitCount
        guard key.count == length else { return false }
        let bytes = name.utf8Start
        for index in 0..<length where key[index] != bytes[index] { return false }
        return true
    }
}
