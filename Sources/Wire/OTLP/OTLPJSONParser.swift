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
        try members("an ExportLogsServiceRequest object") { parser, key throws(OTLPDecodeError) in
            guard Self.matches(key, "resourceLogs", "resource_logs") else { return false }
            try parser.elements("resourceLogs", "an array of ResourceLogs objects", into: &logs.resourceLogs) {
                parser throws(OTLPDecodeError) in try parser.parseResourceLogs()
            }
            return true
        }
        try expectEnd()
        return logs
    }

    mutating func parseResponse() throws(OTLPDecodeError) -> OTLPLogsResponse {
        var response = OTLPLogsResponse()
        try members("an ExportLogsServiceResponse object") { parser, key throws(OTLPDecodeError) in
            guard Self.matches(key, "partialSuccess", "partial_success") else { return false }
            try parser.within("partialSuccess") { parser throws(OTLPDecodeError) in
                try parser.members("an ExportLogsPartialSuccess object") { parser, key throws(OTLPDecodeError) in
                    if Self.matches(key, "rejectedLogRecords", "rejected_log_records") {
                        response.rejectedLogRecords = try parser.readInt64("rejectedLogRecords")
                    } else if Self.matches(key, "errorMessage", "error_message") {
                        response.errorMessage = try parser.readString("errorMessage")
                    } else {
                        return false
                    }
                    return true
                }
            }
            return true
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
        (result.scopeLogs, result.schemaURL) = try level(
            "a ResourceLogs object", header: ("resource", "a Resource object"),
            list: ("scopeLogs", "scope_logs", "an array of ScopeLogs objects"),
            headerMember: { parser, key throws(OTLPDecodeError) in
                try parser.commonMember(key, attributes: &result.resource.attributes,
                                        dropped: &result.resource.droppedAttributesCount)
            },
            element: { parser throws(OTLPDecodeError) in try parser.parseScopeLogs() })
        return result
    }

    private mutating func parseScopeLogs() throws(OTLPDecodeError) -> OTLPScopeLogs {
        var result = OTLPScopeLogs()
        (result.logRecords, result.schemaURL) = try level(
            "a ScopeLogs object", header: ("scope", "an InstrumentationScope object"),
            list: ("logRecords", "log_records", "an array of LogRecord objects"),
            headerMember: { parser, key throws(OTLPDecodeError) in
                if Self.matches(key, "name") {
                    result.scope.name = try parser.readString("name")
                } else if Self.matches(key, "version") {
                    result.scope.version = try parser.readString("version")
                } else {
                    return try parser.commonMember(key, attributes: &result.scope.attributes,
                                                   dropped: &result.scope.droppedAttributesCount)
                }
                return true
            },
            element: { parser throws(OTLPDecodeError) in try parser.parseLogRecord() })
        return result
    }

    /// ResourceLogs and ScopeLogs have one shape: a header object (`resource`, `scope`) read by `headerMember`, a
    /// list of the next level down read by `element`, and `schemaUrl`: the list and the URL.
    private mutating func level<Element>(
        _ what: String, header: (name: StaticString, what: String),
        list: (name: StaticString, alternative: StaticString, what: String),
        headerMember: (inout OTLPJSONParser, UnsafeBufferPointer<UInt8>) throws(OTLPDecodeError) -> Bool,
        element: (inout OTLPJSONParser) throws(OTLPDecodeError) -> Element
    ) throws(OTLPDecodeError) -> ([Element], String) {
        var found: [Element] = []
        var url = ""
        try members(what) { parser, key throws(OTLPDecodeError) in
            if Self.matches(key, header.name) {
                try parser.within("\(header.name)") { parser throws(OTLPDecodeError) in
                    try parser.members(header.what, headerMember)
                }
            } else if Self.matches(key, list.name, list.alternative) {
                try parser.elements("\(list.name)", list.what, into: &found, element)
            } else if Self.matches(key, "schemaUrl", "schema_url") {
                url = try parser.readString("schemaUrl")
            } else {
                return false
            }
            return true
        }
        return (found, url)
    }

    private mutating func parseLogRecord() throws(OTLPDecodeError) -> OTLPLogRecord {
        var record = OTLPLogRecord()
        try members("a LogRecord object") { parser, key throws(OTLPDecodeError) in
            if Self.matches(key, "timeUnixNano", "time_unix_nano") {
                record.timeUnixNano = try parser.readUInt64("timeUnixNano")
            } else if Self.matches(key, "observedTimeUnixNano", "observed_time_unix_nano") {
                record.observedTimeUnixNano = try parser.readUInt64("observedTimeUnixNano")
            } else if Self.matches(key, "severityNumber", "severity_number") {
                record.severityNumber = try parser.readSeverityNumber()
            } else if Self.matches(key, "severityText", "severity_text") {
                record.severityText = try parser.readString("severityText")
            } else if Self.matches(key, "body") {
                try parser.within("body") { parser throws(OTLPDecodeError) in
                    try parser.parseAnyValue(into: &record.body, depth: 1)
                }
            } else if Self.matches(key, "flags") {
                record.flags = try parser.readUInt32("flags")
            } else if Self.matches(key, "traceId", "trace_id") {
                record.traceID = try parser.readID("traceId", byteCount: 16)
            } else if Self.matches(key, "spanId", "span_id") {
                record.spanID = try parser.readID("spanId", byteCount: 8)
            } else if Self.matches(key, "eventName", "event_name") {
                record.eventName = try parser.readString("eventName")
            } else {
                return try parser.commonMember(key, attributes: &record.attributes,
                                               dropped: &record.droppedAttributesCount)
            }
            return true
        }
        return record
    }

    /// `attributes` and `droppedAttributesCount`, which resources, scopes and log records all have.
    private mutating func commonMember(_ key: UnsafeBufferPointer<UInt8>, attributes: inout [OTLPKeyValue],
                                       dropped: inout UInt32) throws(OTLPDecodeError) -> Bool {
        if Self.matches(key, "attributes") {
            try parseAttributes(into: &attributes, field: "attributes", depth: 0)
        } else if Self.matches(key, "droppedAttributesCount", "dropped_attributes_count") {
            dropped = try readUInt32("droppedAttributesCount")
        } else {
            return false
        }
        return true
    }

    // MARK: Attributes and values

    /// Appends a JSON array of `KeyValue` objects. `depth` is the nesting depth of the enclosing `AnyValue`.
    private mutating func parseAttributes(into pairs: inout [OTLPKeyValue], field: String, depth: Int)
        throws(OTLPDecodeError)
    {
        try elements(field, "an array of KeyValue objects", into: &pairs) { parser throws(OTLPDecodeError) in
            var result = OTLPKeyValue(key: "", value: nil)
            try parser.members("a KeyValue object") { parser, key throws(OTLPDecodeError) in
                if Self.matches(key, "key") {
                    result.key = try parser.readString("key")
                } else if Self.matches(key, "value") {
                    try parser.within("value") { parser throws(OTLPDecodeError) in
                        try parser.parseAnyValue(into: &result.value, depth: depth + 1)
                    }
                } else {
                    return false
                }
                return true
            }
            return result
        }
    }

    /// Merges an `AnyValue` object into `value`, as the protobuf decoder does: the last member wins, and a
    /// second `arrayValue` or `kvlistValue` appends to the first. `{}` leaves `value` as it was.
    private mutating func parseAnyValue(into value: inout OTLPAnyValue?, depth: Int) throws(OTLPDecodeError) {
        guard depth <= OTLPJSON.maxValueDepth else {
            throw scanner.failure("AnyValue nested deeper than \(OTLPJSON.maxValueDepth) levels")
        }
        try members("an AnyValue object") { parser, key throws(OTLPDecodeError) in
            if Self.matches(key, "stringValue", "string_value") {
                value = .string(try parser.readString("stringValue"))
            } else if Self.matches(key, "intValue", "int_value") {
                value = .int(try parser.readInt64("intValue"))
            } else if Self.matches(key, "boolValue", "bool_value") {
                value = .bool(try parser.readBool("boolValue"))
            } else if Self.matches(key, "doubleValue", "double_value") {
                value = .double(try parser.readDouble("doubleValue"))
            } else if Self.matches(key, "arrayValue", "array_value") {
                var items: [OTLPAnyValue] = []
                if case .array(let existing) = value {
                    value = nil   // leaves `existing` the only reference, so appending does not copy
                    items = existing
                }
                try parser.within("arrayValue") { parser throws(OTLPDecodeError) in
                    try parser.parseArrayValue(into: &items, depth: depth)
                }
                value = .array(items)
            } else if Self.matches(key, "kvlistValue", "kvlist_value") {
                var pairs: [OTLPKeyValue] = []
                if case .kvlist(let existing) = value {
                    value = nil
                    pairs = existing
                }
                try parser.within("kvlistValue") { parser throws(OTLPDecodeError) in
                    try parser.members("a KeyValueList object") { parser, key throws(OTLPDecodeError) in
                        guard Self.matches(key, "values") else { return false }
                        try parser.parseAttributes(into: &pairs, field: "values", depth: depth)
                        return true
                    }
                }
                value = .kvlist(pairs)
            } else if Self.matches(key, "bytesValue", "bytes_value") {
                value = .bytes(try parser.readBase64("bytesValue"))
            } else if Self.matches(key, "stringValueStrindex", "string_value_strindex") {
                // An index into a profile's string table: as in the protobuf decoder, the value reads as empty.
                _ = try parser.readInt64("stringValueStrindex")
                value = nil
            } else {
                return false
            }
            return true
        }
    }

    /// `{"values":[AnyValue, ...]}`; empty `AnyValue`s (`{}`) have no model and are left out.
    private mutating func parseArrayValue(into items: inout [OTLPAnyValue], depth: Int) throws(OTLPDecodeError) {
        try members("an ArrayValue object") { parser, key throws(OTLPDecodeError) in
            guard Self.matches(key, "values") else { return false }
            guard try parser.beginArray("values", "an array of AnyValue objects") else { return true }
            var index = 0
            repeat {
                var element: OTLPAnyValue?
                try parser.within("values[\(index)]") { parser throws(OTLPDecodeError) in
                    try parser.parseAnyValue(into: &element, depth: depth + 1)
                }
                if let element { items.append(element) }
                index += 1
            } while try parser.scanner.nextElement()
            return true
        }
    }

    // MARK: Typed scalars

    private mutating func readString(_ field: String) throws(OTLPDecodeError) -> String {
        guard try scanner.peek() == UInt8(ascii: "\"") else {
            throw scanner.failure("expected a string for \(field), found \(scanner.describeValue(at: scanner.position))").within(field)
        }
        let start = scanner.position
        let bytes = try scanner.stringAfterQuote()
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
        if byte == UInt8(ascii: "\"") { return try scanner.stringAfterQuote() }
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
            text = try scanner.stringAfterQuote()
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
        let text = try scanner.stringAfterQuote()
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
        let text = try scanner.stringAfterQuote()
        switch Base64Codec.decode(text) {
        case .success(let bytes):
            return bytes
        case .failure(let problem):
            throw scanner.failure("invalid base64 for \(field): \(problem.reason)", at: start).within(field)
        }
    }

    // MARK: Containers

    /// Reads an object's members: `member` is called at the value of each one that is not `null` (which counts as
    /// absent), with its name, and returns false for a member it does not know, which is then skipped.
    @inline(__always)
    private mutating func members(
        _ what: String, _ member: (inout OTLPJSONParser, UnsafeBufferPointer<UInt8>) throws(OTLPDecodeError) -> Bool
    ) throws(OTLPDecodeError) {
        guard try beginObject(what) else { return }
        repeat {
            let key = try scanner.key()
            if try scanner.skipNull() { continue }
            if try !member(&self, key) { try scanner.skipValue() }
        } while try scanner.nextMember()
    }

    /// Appends the elements of the array for `field`, each read by `element`; an error names the element.
    @inline(__always)
    private mutating func elements<Element>(
        _ field: String, _ what: String, into elements: inout [Element],
        _ element: (inout OTLPJSONParser) throws(OTLPDecodeError) -> Element
    ) throws(OTLPDecodeError) {
        guard try beginArray(field, what) else { return }
        repeat {
            do throws(OTLPDecodeError) {
                elements.append(try element(&self))
            } catch {
                throw error.within("\(field)[\(elements.count)]")
            }
        } while try scanner.nextElement()
    }

    /// Runs `body`; an error it throws is seen from the enclosing field `component`.
    @inline(__always)
    private mutating func within(_ component: @autoclosure () -> String,
                                 _ body: (inout OTLPJSONParser) throws(OTLPDecodeError) -> Void) throws(OTLPDecodeError) {
        do throws(OTLPDecodeError) {
            try body(&self)
        } catch {
            throw error.within(component())
        }
    }

    /// Consumes `{` and whitespace; false (with `}` consumed) for an empty object.
    private mutating func beginObject(_ what: String) throws(OTLPDecodeError) -> Bool {
        scanner.skipWhitespace()
        guard try scanner.peek() == UInt8(ascii: "{") else {
            throw scanner.failure("expected \(what), found \(scanner.describeValue(at: scanner.position))")
        }
        return try scanner.beginObject()
    }

    /// Consumes `[` and whitespace; false (with `]` consumed) for an empty array.
    private mutating func beginArray(_ field: String, _ what: String) throws(OTLPDecodeError) -> Bool {
        guard try scanner.peek() == UInt8(ascii: "[") else {
            throw scanner.failure("expected \(what) for \(field), found \(scanner.describeValue(at: scanner.position))")
                .within(field)
        }
        return try scanner.beginArray()
    }

    /// Whether `key` is `name` or, when given, `alternative` (the .proto spelling).
    @inline(__always)
    static func matches(_ key: UnsafeBufferPointer<UInt8>, _ name: StaticString, _ alternative: StaticString? = nil)
        -> Bool
    {
        if key.isKey(name) { return true }
        guard let alternative else { return false }
        return key.isKey(alternative)
    }
}
