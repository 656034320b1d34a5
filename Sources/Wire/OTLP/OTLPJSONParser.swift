/// The OTLP/JSON byte parser behind `OTLPJSON`. It reads `count` bytes at `input`, which must stay valid while
/// the parser is in use; call `release()` when done (it frees the scratch buffer for strings with escapes).
///
/// Strings without escapes become `String`s straight from the input; a string with escapes is unescaped into
/// one scratch buffer first (`\uXXXX` with surrogate pairs; a lone surrogate becomes U+FFFD, as in Go). Errors
/// carry the byte offset and, through `OTLPDecodeError.within`, the path of the field that failed.
struct OTLPJSONParser {
    private let input: UnsafePointer<UInt8>
    private let count: Int
    private var position = 0
    /// Unescaped bytes of the latest string that had escapes, valid until the next string is read. Allocated on
    /// first use, as large as the input: unescaping never makes a string longer.
    private var scratch: UnsafeMutablePointer<UInt8>?

    init(input: UnsafePointer<UInt8>, count: Int) {
        self.input = input
        self.count = count
    }

    mutating func release() {
        scratch?.deallocate()
        scratch = nil
    }

    // MARK: Documents

    mutating func parseRequest() throws(OTLPDecodeError) -> OTLPLogsData {
        var logs = OTLPLogsData()
        if try beginObject("an ExportLogsServiceRequest object") {
            repeat {
                let key = try readKey()
                if try skipNull() { continue }
                if Self.matches(key, "resourceLogs") || Self.matches(key, "resource_logs") {
                    if try beginArray("resourceLogs", "an array of ResourceLogs objects") {
                        repeat {
                            do throws(OTLPDecodeError) {
                                logs.resourceLogs.append(try parseResourceLogs())
                            } catch {
                                throw error.within("resourceLogs[\(logs.resourceLogs.count)]")
                            }
                        } while try nextElement()
                    }
                } else {
                    try skipValue()
                }
            } while try nextMember()
        }
        try expectEnd()
        return logs
    }

    mutating func parseResponse() throws(OTLPDecodeError) -> OTLPLogsResponse {
        var response = OTLPLogsResponse()
        if try beginObject("an ExportLogsServiceResponse object") {
            repeat {
                let key = try readKey()
                if try skipNull() { continue }
                guard Self.matches(key, "partialSuccess") || Self.matches(key, "partial_success") else {
                    try skipValue()
                    continue
                }
                do throws(OTLPDecodeError) {
                    guard try beginObject("an ExportLogsPartialSuccess object") else { continue }
                    repeat {
                        let inner = try readKey()
                        if try skipNull() { continue }
                        if Self.matches(inner, "rejectedLogRecords") || Self.matches(inner, "rejected_log_records") {
                            response.rejectedLogRecords = try readInt64("rejectedLogRecords")
                        } else if Self.matches(inner, "errorMessage") || Self.matches(inner, "error_message") {
                            response.errorMessage = try readString("errorMessage")
                        } else {
                            try skipValue()
                        }
                    } while try nextMember()
                } catch {
                    throw error.within("partialSuccess")
                }
            } while try nextMember()
        }
        try expectEnd()
        return response
    }

    private mutating func expectEnd() throws(OTLPDecodeError) {
        skipWhitespace()
        guard position == count else {
            throw failure("unexpected \(describeByte(at: position)) after the end of the top-level object")
        }
    }

    // MARK: Messages

    private mutating func parseResourceLogs() throws(OTLPDecodeError) -> OTLPResourceLogs {
        var result = OTLPResourceLogs()
        guard try beginObject("a ResourceLogs object") else { return result }
        repeat {
            let key = try readKey()
            if try skipNull() { continue }
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
                    } while try nextElement()
                }
            } else if Self.matches(key, "schemaUrl") || Self.matches(key, "schema_url") {
                result.schemaURL = try readString("schemaUrl")
            } else {
                try skipValue()
            }
        } while try nextMember()
        return result
    }

    private mutating func parseResource(into resource: inout OTLPResource) throws(OTLPDecodeError) {
        guard try beginObject("a Resource object") else { return }
        repeat {
            let key = try readKey()
            if try skipNull() { continue }
            if Self.matches(key, "attributes") {
                try parseAttributes(into: &resource.attributes, field: "attributes", depth: 0)
            } else if Self.matches(key, "droppedAttributesCount") || Self.matches(key, "dropped_attributes_count") {
                resource.droppedAttributesCount = try readUInt32("droppedAttributesCount")
            } else {
                try skipValue()
            }
        } while try nextMember()
    }

    private mutating func parseScopeLogs() throws(OTLPDecodeError) -> OTLPScopeLogs {
        var result = OTLPScopeLogs()
        guard try beginObject("a ScopeLogs object") else { return result }
        repeat {
            let key = try readKey()
            if try skipNull() { continue }
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
                    } while try nextElement()
                }
            } else if Self.matches(key, "schemaUrl") || Self.matches(key, "schema_url") {
                result.schemaURL = try readString("schemaUrl")
            } else {
                try skipValue()
            }
        } while try nextMember()
        return result
    }

    private mutating func parseScope(into scope: inout OTLPInstrumentationScope) throws(OTLPDecodeError) {
        guard try beginObject("an InstrumentationScope object") else { return }
        repeat {
            let key = try readKey()
            if try skipNull() { continue }
            if Self.matches(key, "name") {
                scope.name = try readString("name")
            } else if Self.matches(key, "version") {
                scope.version = try readString("version")
            } else if Self.matches(key, "attributes") {
                try parseAttributes(into: &scope.attributes, field: "attributes", depth: 0)
            } else if Self.matches(key, "droppedAttributesCount") || Self.matches(key, "dropped_attributes_count") {
                scope.droppedAttributesCount = try readUInt32("droppedAttributesCount")
            } else {
                try skipValue()
            }
        } while try nextMember()
    }

    private mutating func parseLogRecord() throws(OTLPDecodeError) -> OTLPLogRecord {
        var record = OTLPLogRecord()
        guard try beginObject("a LogRecord object") else { return record }
        repeat {
            let key = try readKey()
            if try skipNull() { continue }
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
                try skipValue()
            }
        } while try nextMember()
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
        } while try nextElement()
    }

    private mutating func parseKeyValue(depth: Int) throws(OTLPDecodeError) -> OTLPKeyValue {
        var result = OTLPKeyValue(key: "", value: nil)
        guard try beginObject("a KeyValue object") else { return result }
        repeat {
            let key = try readKey()
            if try skipNull() { continue }
            if Self.matches(key, "key") {
                result.key = try readString("key")
            } else if Self.matches(key, "value") {
                do throws(OTLPDecodeError) {
                    try parseAnyValue(into: &result.value, depth: depth + 1)
                } catch {
                    throw error.within("value")
                }
            } else {
                try skipValue()
            }
        } while try nextMember()
        return result
    }

    /// Merges an `AnyValue` object into `value`, as the protobuf decoder does: the last member wins, and a
    /// second `arrayValue` or `kvlistValue` appends to the first. `{}` leaves `value` as it was.
    private mutating func parseAnyValue(into value: inout OTLPAnyValue?, depth: Int) throws(OTLPDecodeError) {
        guard depth <= OTLPJSON.maxValueDepth else {
            throw failure("AnyValue nested deeper than \(OTLPJSON.maxValueDepth) levels")
        }
        guard try beginObject("an AnyValue object") else { return }
        repeat {
            let key = try readKey()
            if try skipNull() { continue }
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
                try skipValue()
            }
        } while try nextMember()
    }

    /// `{"values":[AnyValue, ...]}`; empty `AnyValue`s (`{}`) have no model and are left out.
    private mutating func parseArrayValue(into items: inout [OTLPAnyValue], depth: Int) throws(OTLPDecodeError) {
        guard try beginObject("an ArrayValue object") else { return }
        repeat {
            let key = try readKey()
            if try skipNull() { continue }
            guard Self.matches(key, "values") else {
                try skipValue()
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
            } while try nextElement()
        } while try nextMember()
    }

    /// `{"values":[KeyValue, ...]}`.
    private mutating func parseKeyValueList(into pairs: inout [OTLPKeyValue], depth: Int) throws(OTLPDecodeError) {
        guard try beginObject("a KeyValueList object") else { return }
        repeat {
            let key = try readKey()
            if try skipNull() { continue }
            if Self.matches(key, "values") {
                try parseAttributes(into: &pairs, field: "values", depth: depth)
            } else {
                try skipValue()
            }
        } while try nextMember()
    }

    // MARK: Typed scalars

    private mutating func readString(_ field: String) throws(OTLPDecodeError) -> String {
        guard try peek() == UInt8(ascii: "\"") else {
            throw failure("expected a string for \(field), found \(describeValue(at: position))").within(field)
        }
        let start = position
        let bytes = try scanString()
        if bytes.isEmpty { return "" }
        guard let string = OTLPUTF8.makeString(bytes) else {
            throw failure("invalid UTF-8 in the string for \(field)", at: start).within(field)
        }
        return string
    }

    private mutating func readBool(_ field: String) throws(OTLPDecodeError) -> Bool {
        switch try peek() {
        case UInt8(ascii: "t"):
            try skipLiteral("true")
            return true
        case UInt8(ascii: "f"):
            try skipLiteral("false")
            return false
        default:
            throw failure("expected true or false for \(field), found \(describeValue(at: position))").within(field)
        }
    }

    /// The text of an integer: a JSON number, or a string holding one (64-bit values are strings in OTLP/JSON).
    private mutating func readIntegerText(_ field: String, _ expected: String) throws(OTLPDecodeError)
        -> UnsafeBufferPointer<UInt8>
    {
        let byte = try peek()
        if byte == UInt8(ascii: "\"") { return try scanString() }
        guard byte == UInt8(ascii: "-") || Self.isDigit(byte) else {
            throw failure("expected \(expected) for \(field), found \(describeValue(at: position))").within(field)
        }
        let start = position
        try skipNumber()
        return UnsafeBufferPointer(start: input + start, count: position - start)
    }

    private mutating func readUInt64(_ field: String) throws(OTLPDecodeError) -> UInt64 {
        let start = position
        let text = try readIntegerText(field, "an unsigned 64-bit integer (number or string)")
        guard let (negative, magnitude) = Self.integerValue(text), !negative || magnitude == 0 else {
            throw failure("\(Self.quote(text)) is not an unsigned 64-bit integer for \(field)", at: start)
                .within(field)
        }
        return magnitude
    }

    private mutating func readInt64(_ field: String) throws(OTLPDecodeError) -> Int64 {
        let start = position
        let text = try readIntegerText(field, "a 64-bit integer (number or string)")
        guard let (negative, magnitude) = Self.integerValue(text),
              magnitude <= (negative ? UInt64(Int64.max) + 1 : UInt64(Int64.max))
        else {
            throw failure("\(Self.quote(text)) is not a 64-bit integer for \(field)", at: start).within(field)
        }
        return negative ? Int64(truncatingIfNeeded: 0 &- magnitude) : Int64(magnitude)
    }

    private mutating func readUInt32(_ field: String) throws(OTLPDecodeError) -> UInt32 {
        let start = position
        let text = try readIntegerText(field, "an unsigned 32-bit integer")
        guard let (negative, magnitude) = Self.integerValue(text), !negative || magnitude == 0,
              magnitude <= UInt64(UInt32.max)
        else {
            throw failure("\(Self.quote(text)) is not an unsigned 32-bit integer for \(field)", at: start)
                .within(field)
        }
        return UInt32(magnitude)
    }

    /// An enum: its number, or its name (`"SEVERITY_NUMBER_INFO"`).
    private mutating func readSeverityNumber() throws(OTLPDecodeError) -> Int32 {
        let field = "severityNumber"
        let start = position
        let quoted = try peek() == UInt8(ascii: "\"")
        let text = try readIntegerText(field, "a SeverityNumber (a number or a name like \"SEVERITY_NUMBER_INFO\")")
        if quoted, let number = OTLPSeverity.number(named: text) { return number }
        guard let (negative, magnitude) = Self.integerValue(text),
              magnitude <= (negative ? UInt64(Int32.max) + 1 : UInt64(Int32.max))
        else {
            throw failure("\(Self.quote(text)) is not a SeverityNumber (SEVERITY_NUMBER_UNSPECIFIED ... "
                + "SEVERITY_NUMBER_FATAL4, or a 32-bit integer)", at: start).within(field)
        }
        return negative ? Int32(truncatingIfNeeded: 0 &- magnitude) : Int32(magnitude)
    }

    /// A JSON number, or a string: a number, `"NaN"`, `"Infinity"` or `"-Infinity"` (protobuf's JSON mapping).
    private mutating func readDouble(_ field: String) throws(OTLPDecodeError) -> Double {
        let start = position
        let text: UnsafeBufferPointer<UInt8>
        if try peek() == UInt8(ascii: "\"") {
            text = try scanString()
            if text.elementsEqual("NaN".utf8) { return .nan }
            if text.elementsEqual("Infinity".utf8) { return .infinity }
            if text.elementsEqual("-Infinity".utf8) { return -.infinity }
            guard Self.isJSONNumber(text) else {
                throw failure("\(Self.quote(text)) is not a number for \(field)", at: start).within(field)
            }
        } else {
            text = try readIntegerText(field, "a number")
        }
        guard let value = Double(String(decoding: text, as: UTF8.self)) else {
            throw failure("\(Self.quote(text)) is not a number for \(field)", at: start).within(field)
        }
        return value
    }

    /// A hex id (`"5b8efff798038103d269b633813fc60c"`, either case); `""` means absent.
    private mutating func readID(_ field: String, byteCount: Int) throws(OTLPDecodeError) -> [UInt8] {
        guard try peek() == UInt8(ascii: "\"") else {
            throw failure("expected a hex string for \(field), found \(describeValue(at: position))").within(field)
        }
        let start = position
        let text = try scanString()
        if text.isEmpty { return [] }
        guard text.count == 2 * byteCount else {
            throw failure("\(field) \(Self.quote(text)) has \(text.count) characters, expected \(2 * byteCount) hex "
                + "digits (\(byteCount) bytes) or an empty string", at: start).within(field)
        }
        var id = [UInt8](repeating: 0, count: byteCount)
        for index in 0..<byteCount {
            guard let high = Self.hexDigit(text[2 * index]), let low = Self.hexDigit(text[2 * index + 1]) else {
                let bad = Self.hexDigit(text[2 * index]) == nil ? 2 * index : 2 * index + 1
                throw failure("\(field) \(Self.quote(text)) is not hex: \(Self.describeRawByte(text[bad])) at "
                    + "character \(bad)", at: start).within(field)
            }
            id[index] = high << 4 | low
        }
        return id
    }

    /// Base64, standard or URL-safe alphabet, padded or not (as protobuf's JSON mapping accepts).
    private mutating func readBase64(_ field: String) throws(OTLPDecodeError) -> [UInt8] {
        guard try peek() == UInt8(ascii: "\"") else {
            throw failure("expected a base64 string for \(field), found \(describeValue(at: position))")
                .within(field)
        }
        let start = position
        let text = try scanString()
        switch Base64Codec.decode(text) {
        case .success(let bytes):
            return bytes
        case .failure(let problem):
            throw failure("invalid base64 for \(field): \(problem.reason)", at: start).within(field)
        }
    }

    // MARK: Containers

    /// Consumes `{` and whitespace; false (with `}` consumed) for an empty object.
    private mutating func beginObject(_ what: String) throws(OTLPDecodeError) -> Bool {
        skipWhitespace()
        guard try peek() == UInt8(ascii: "{") else {
            throw failure("expected \(what), found \(describeValue(at: position))")
        }
        position += 1
        skipWhitespace()
        if try peek() == UInt8(ascii: "}") {
            position += 1
            return false
        }
        return true
    }

    /// Consumes `[` and whitespace; false (with `]` consumed) for an empty array.
    private mutating func beginArray(_ field: String, _ what: String) throws(OTLPDecodeError) -> Bool {
        guard try peek() == UInt8(ascii: "[") else {
            throw failure("expected \(what) for \(field), found \(describeValue(at: position))").within(field)
        }
        position += 1
        skipWhitespace()
        if try peek() == UInt8(ascii: "]") {
            position += 1
            return false
        }
        return true
    }

    /// Reads a member name and its colon, leaving the position at the value. The bytes are valid until the next
    /// string is read.
    private mutating func readKey() throws(OTLPDecodeError) -> UnsafeBufferPointer<UInt8> {
        guard try peek() == UInt8(ascii: "\"") else {
            throw failure("expected a string object key, found \(describeByte(at: position))")
        }
        let key = try scanString()
        skipWhitespace()
        guard try peek() == UInt8(ascii: ":") else {
            throw failure("expected ':' after an object key, found \(describeByte(at: position))")
        }
        position += 1
        skipWhitespace()
        return key
    }

    /// After a member's value: true after `,` (another member follows), false after `}`.
    private mutating func nextMember() throws(OTLPDecodeError) -> Bool {
        try next(close: UInt8(ascii: "}"), after: "an object member")
    }

    private mutating func nextElement() throws(OTLPDecodeError) -> Bool {
        try next(close: UInt8(ascii: "]"), after: "an array element")
    }

    @inline(__always)
    private mutating func next(close: UInt8, after: StaticString) throws(OTLPDecodeError) -> Bool {
        skipWhitespace()
        let byte = try peek()
        if byte == UInt8(ascii: ",") {
            position += 1
            skipWhitespace()
            return true
        }
        guard byte == close else {
            throw failure("expected ',' or '\(Character(Unicode.Scalar(close)))' after \(after), found "
                + describeByte(at: position))
        }
        position += 1
        return false
    }

    /// Consumes a `null` value: a member set to null is treated as absent, as protobuf's JSON mapping says.
    private mutating func skipNull() throws(OTLPDecodeError) -> Bool {
        guard try peek() == UInt8(ascii: "n") else { return false }
        try skipLiteral("null")
        return true
    }

    /// Skips any JSON value, validating it. Iterative, so deeply nested unknown fields cannot exhaust the stack.
    private mutating func skipValue() throws(OTLPDecodeError) {
        var containers: [UInt8] = []   // the closing byte of each open container
        while true {
            skipWhitespace()
            var opened = false
            switch try peek() {
            case UInt8(ascii: "{"):
                position += 1
                skipWhitespace()
                if try peek() == UInt8(ascii: "}") {
                    position += 1
                } else {
                    containers.append(UInt8(ascii: "}"))
                    _ = try readKey()
                    opened = true
                }
            case UInt8(ascii: "["):
                position += 1
                skipWhitespace()
                if try peek() == UInt8(ascii: "]") {
                    position += 1
                } else {
                    containers.append(UInt8(ascii: "]"))
                    opened = true
                }
            case UInt8(ascii: "\""):
                _ = try scanString()
            case UInt8(ascii: "t"):
                try skipLiteral("true")
            case UInt8(ascii: "f"):
                try skipLiteral("false")
            case UInt8(ascii: "n"):
                try skipLiteral("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                try skipNumber()
            default:
                throw failure("expected a JSON value, found \(describeByte(at: position))")
            }
            if opened { continue }
            // After a complete value: close containers until one continues with ','.
            var continues = false
            while let closing = containers.last {
                skipWhitespace()
                let next = try peek()
                if next == UInt8(ascii: ",") {
                    position += 1
                    skipWhitespace()
                    if closing == UInt8(ascii: "}") { _ = try readKey() }
                    continues = true
                    break
                }
                guard next == closing else {
                    throw failure("expected ',' or '\(Character(Unicode.Scalar(closing)))', found "
                        + describeByte(at: position))
                }
                position += 1
                containers.removeLast()
            }
            if !continues { return }
        }
    }

    // MARK: Tokens

    /// Reads the string at the position (which is `"`) and returns its unescaped bytes: a view of the input when
    /// it has no escapes, else of the scratch buffer (valid until the next string is read).
    private mutating func scanString() throws(OTLPDecodeError) -> UnsafeBufferPointer<UInt8> {
        let start = position
        position += 1
        let contentStart = position
        // Eight bytes at a time while none is a quote, a backslash or a control character.
        while count - position >= 8 {
            let word = UnsafeRawPointer(input + position).loadUnaligned(as: UInt64.self)
            let quote = word ^ 0x2222_2222_2222_2222
            let backslash = word ^ 0x5C5C_5C5C_5C5C_5C5C
            let special = ((quote &- 0x0101_0101_0101_0101) & ~quote)
                | ((backslash &- 0x0101_0101_0101_0101) & ~backslash)
                | ((word &- 0x2020_2020_2020_2020) & ~word)
            if special & 0x8080_8080_8080_8080 != 0 { break }
            position += 8
        }
        while position < count {
            let byte = input[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                return UnsafeBufferPointer(start: input + contentStart, count: position - 1 - contentStart)
            }
            if byte == UInt8(ascii: "\\") { return try scanEscapedString(start: start, contentStart: contentStart) }
            if byte < 0x20 {
                throw failure("control character \(describeByte(at: position)) in a string (escape it as \\u00XX)")
            }
            position += 1
        }
        throw failure("unexpected end of input in the string starting", at: start)
    }

    /// The slow path of `scanString`, from the first backslash: copies the string into the scratch buffer,
    /// unescaping as it goes.
    private mutating func scanEscapedString(start: Int, contentStart: Int) throws(OTLPDecodeError)
        -> UnsafeBufferPointer<UInt8>
    {
        let buffer: UnsafeMutablePointer<UInt8>
        if let scratch {
            buffer = scratch
        } else {
            buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: count)
            scratch = buffer
        }
        var length = position - contentStart
        buffer.update(from: input + contentStart, count: length)
        while position < count {
            let byte = input[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                return UnsafeBufferPointer(start: buffer, count: length)
            }
            if byte < 0x20 {
                throw failure("control character \(describeByte(at: position)) in a string (escape it as \\u00XX)")
            }
            if byte != UInt8(ascii: "\\") {
                buffer[length] = byte
                length += 1
                position += 1
                continue
            }
            let escapeStart = position
            position += 1
            guard position < count else {
                throw failure("unexpected end of input in an escape sequence", at: escapeStart)
            }
            let letter = input[position]
            position += 1
            let decoded: UInt8
            switch letter {
            case UInt8(ascii: "\""): decoded = UInt8(ascii: "\"")
            case UInt8(ascii: "\\"): decoded = UInt8(ascii: "\\")
            case UInt8(ascii: "/"): decoded = UInt8(ascii: "/")
            case UInt8(ascii: "b"): decoded = 0x08
            case UInt8(ascii: "f"): decoded = 0x0C
            case UInt8(ascii: "n"): decoded = 0x0A
            case UInt8(ascii: "r"): decoded = 0x0D
            case UInt8(ascii: "t"): decoded = 0x09
            case UInt8(ascii: "u"):
                var scalar = try readHex4(escapeStart: escapeStart)
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    // A high surrogate: combined with a following \uDC00-\uDFFF, else it stands alone (U+FFFD).
                    if position + 6 <= count && input[position] == UInt8(ascii: "\\")
                        && input[position + 1] == UInt8(ascii: "u")
                    {
                        let saved = position
                        position += 2
                        let low = try readHex4(escapeStart: saved)
                        if low >= 0xDC00 && low <= 0xDFFF {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            position = saved
                            scalar = 0xFFFD
                        }
                    } else {
                        scalar = 0xFFFD
                    }
                } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                    scalar = 0xFFFD
                }
                length += Self.writeUTF8(scalar, to: buffer + length)
                continue
            default:
                throw failure("invalid escape sequence: backslash followed by \(Self.describeRawByte(letter))",
                              at: escapeStart)
            }
            buffer[length] = decoded
            length += 1
        }
        throw failure("unexpected end of input in the string starting", at: start)
    }

    private mutating func readHex4(escapeStart: Int) throws(OTLPDecodeError) -> UInt32 {
        guard position + 4 <= count else { throw failure("unexpected end of input in a \\u escape", at: escapeStart) }
        var value: UInt32 = 0
        for offset in 0..<4 {
            guard let digit = Self.hexDigit(input[position + offset]) else {
                throw failure("invalid \\u escape: \(describeByte(at: position + offset)) is not a hex digit",
                              at: escapeStart)
            }
            value = value << 4 | UInt32(digit)
        }
        position += 4
        return value
    }

    /// Writes a scalar's UTF-8 (at most 4 bytes; a `\uXXXX` escape is 6 or 12 input bytes, so the scratch
    /// buffer never overflows) and returns its length.
    private static func writeUTF8(_ scalar: UInt32, to out: UnsafeMutablePointer<UInt8>) -> Int {
        if scalar < 0x80 {
            out[0] = UInt8(scalar)
            return 1
        } else if scalar < 0x800 {
            out[0] = UInt8(0xC0 | scalar >> 6)
            out[1] = UInt8(0x80 | scalar & 0x3F)
            return 2
        } else if scalar < 0x10000 {
            out[0] = UInt8(0xE0 | scalar >> 12)
            out[1] = UInt8(0x80 | scalar >> 6 & 0x3F)
            out[2] = UInt8(0x80 | scalar & 0x3F)
            return 3
        }
        out[0] = UInt8(0xF0 | scalar >> 18)
        out[1] = UInt8(0x80 | scalar >> 12 & 0x3F)
        out[2] = UInt8(0x80 | scalar >> 6 & 0x3F)
        out[3] = UInt8(0x80 | scalar & 0x3F)
        return 4
    }

    /// Validates a JSON number (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`) and moves past it.
    private mutating func skipNumber() throws(OTLPDecodeError) {
        let start = position
        let length = Self.jsonNumberLength(UnsafeBufferPointer(start: input + position, count: count - position))
        guard length > 0 else {
            throw failure("invalid number starting with \(describeByte(at: start))", at: start)
        }
        position += length
    }

    private mutating func skipLiteral(_ literal: StaticString) throws(OTLPDecodeError) {
        let start = position
        let length = literal.utf8CodeUnitCount
        guard count - start >= length else {
            throw failure("unexpected end of input in the literal '\(literal)'", at: start)
        }
        for offset in 0..<length where input[start + offset] != literal.utf8Start[offset] {
            throw failure("invalid literal, expected '\(literal)'", at: start)
        }
        position += length
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while position < count {
            switch input[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    @inline(__always)
    private func peek() throws(OTLPDecodeError) -> UInt8 {
        guard position < count else { throw failure("unexpected end of input") }
        return input[position]
    }

    // MARK: Number and text helpers

    @inline(__always)
    static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// The length of the JSON number at the start of `text`, or 0 when there is none.
    static func jsonNumberLength(_ text: UnsafeBufferPointer<UInt8>) -> Int {
        var index = 0
        let count = text.count
        func digits(_ index: inout Int) -> Int {
            let start = index
            while index < count && isDigit(text[index]) { index += 1 }
            return index - start
        }
        if index < count && text[index] == UInt8(ascii: "-") { index += 1 }
        guard index < count else { return 0 }
        if text[index] == UInt8(ascii: "0") {
            index += 1
        } else if digits(&index) == 0 {
            return 0
        }
        if index < count && text[index] == UInt8(ascii: ".") {
            index += 1
            guard digits(&index) > 0 else { return 0 }
        }
        if index < count && (text[index] == UInt8(ascii: "e") || text[index] == UInt8(ascii: "E")) {
            index += 1
            if index < count && (text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-")) { index += 1 }
            guard digits(&index) > 0 else { return 0 }
        }
        return index
    }

    static func isJSONNumber(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        !text.isEmpty && jsonNumberLength(text) == text.count
    }

    /// The exact integer a decimal text stands for, as protobuf's JSON mapping reads integers: an optional sign,
    /// digits, an optional fraction and exponent (`"1e3"` and `"10.0"` are 1000 and 10; `"1.5"` is no integer).
    /// Nil when it is not an integer or its magnitude does not fit in 64 bits.
    static func integerValue(_ text: UnsafeBufferPointer<UInt8>) -> (negative: Bool, magnitude: UInt64)? {
        let count = text.count
        var index = 0
        var negative = false
        if index < count && (text[index] == UInt8(ascii: "-") || text[index] == UInt8(ascii: "+")) {
            negative = text[index] == UInt8(ascii: "-")
            index += 1
        }
        let integerStart = index
        while index < count && isDigit(text[index]) { index += 1 }
        let integerCount = index - integerStart
        // Fast path: plain digits, as senders write nearly all integers.
        if index == count && integerCount > 0 && integerCount < 20 {
            var value: UInt64 = 0
            for position in integerStart..<count { value = value &* 10 &+ UInt64(text[position] &- 0x30) }
            return (negative, value)
        }
        var fractionStart = index
        var fractionCount = 0
        if index < count && text[index] == UInt8(ascii: ".") {
            index += 1
            fractionStart = index
            while index < count && isDigit(text[index]) { index += 1 }
            fractionCount = index - fractionStart
            guard fractionCount > 0 else { return nil }
        }
        guard integerCount + fractionCount > 0 else { return nil }
        var exponent = 0
        if index < count && (text[index] == UInt8(ascii: "e") || text[index] == UInt8(ascii: "E")) {
            index += 1
            var exponentNegative = false
            if index < count && (text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-")) {
                exponentNegative = text[index] == UInt8(ascii: "-")
                index += 1
            }
            let exponentStart = index
            while index < count && isDigit(text[index]) {
                if exponent < 100_000 { exponent = exponent * 10 + Int(text[index] - 0x30) }
                index += 1
            }
            guard index > exponentStart else { return nil }
            if exponentNegative { exponent = -exponent }
        }
        guard index == count else { return nil }

        // The digits, integer part then fraction, as one sequence; trailing zeros only scale.
        let total = integerCount + fractionCount
        func digit(_ k: Int) -> UInt64 {
            UInt64(text[k < integerCount ? integerStart + k : fractionStart + k - integerCount] - 0x30)
        }
        var last = total - 1
        while last >= 0 && digit(last) == 0 { last -= 1 }
        if last < 0 { return (negative, 0) }
        var scale = exponent - fractionCount + (total - 1 - last)
        guard scale >= 0 else { return nil }   // a nonzero fraction remains
        var magnitude: UInt64 = 0
        for k in 0...last {
            let (times10, overflow) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, carry) = times10.addingReportingOverflow(digit(k))
            guard !overflow && !carry else { return nil }
            magnitude = sum
        }
        while scale > 0 {
            let (times10, overflow) = magnitude.multipliedReportingOverflow(by: 10)
            guard !overflow else { return nil }
            magnitude = times10
            scale -= 1
        }
        return (negative, magnitude)
    }

    /// `text` for an error message: quoted, cut at 64 bytes, invalid UTF-8 replaced.
    static func quote(_ text: UnsafeBufferPointer<UInt8>) -> String {
        let shown = text.count > 64 ? UnsafeBufferPointer(rebasing: text[0..<64]) : text
        return "\"" + String(decoding: shown, as: UTF8.self) + (text.count > 64 ? "...\"" : "\"")
    }

    static func matches(_ key: UnsafeBufferPointer<UInt8>, _ name: StaticString) -> Bool {
        let length = name.utf8CodeUnitCount
        guard key.count == length else { return false }
        let bytes = name.utf8Start
        for index in 0..<length where key[index] != bytes[index] { return false }
        return true
    }

    // MARK: Errors

    private func failure(_ reason: String, at offset: Int? = nil) -> OTLPDecodeError {
        OTLPDecodeError(format: .json, reason: reason, offset: offset ?? position)
    }

    private func describeByte(at offset: Int) -> String {
        guard offset < count else { return "end of input" }
        return Self.describeRawByte(input[offset])
    }

    /// What kind of JSON value starts at `offset`, for "expected X, found Y".
    private func describeValue(at offset: Int) -> String {
        guard offset < count else { return "end of input" }
        switch input[offset] {
        case UInt8(ascii: "{"): return "an object"
        case UInt8(ascii: "["): return "an array"
        case UInt8(ascii: "\""): return "a string"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return "a boolean"
        case UInt8(ascii: "n"): return "null"
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return "a number"
        default: return Self.describeRawByte(input[offset])
        }
    }

    static func describeRawByte(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        let hex = String(byte, radix: 16)
        return "byte 0x\(hex.count == 1 ? "0" + hex : hex)"
    }
}
