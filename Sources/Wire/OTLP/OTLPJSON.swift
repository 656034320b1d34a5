/// The OTLP/JSON codec for logs (`Content-Type: application/json` on OTLP/HTTP), following the OTLP
/// specification's JSON mapping: protobuf's JSON mapping with lowerCamelCase names, except that `traceId` and
/// `spanId` are hex strings, not base64.
///
/// Decoding accepts what protobuf JSON parsers and the OpenTelemetry Collector accept, except where the Collector
/// silently substitutes a default (an unknown severity name, a malformed number): that is an error here.
/// - field names in lowerCamelCase or as in the .proto (`timeUnixNano`, `time_unix_nano`); unknown fields are
///   skipped whatever their value; a member set to `null` counts as absent;
/// - 64-bit integers as JSON numbers or strings (`"1700000000000000000"`), other integers too; as in Go's protojson an
///   exact integer may be written with a fraction or exponent (`1e3`), anything else is an error;
/// - `severityNumber` as a number or a name (`"SEVERITY_NUMBER_INFO"`); `doubleValue` as a number or
///   `"NaN"`/`"Infinity"`/`"-Infinity"`; `bytesValue` in base64 (standard or URL-safe, padding optional);
/// - `traceId` as 32 and `spanId` as 16 hex digits, either case, or `""` for none;
/// - repeated members as in protobuf: later scalars win, arrays append, objects merge (where protojson would
///   reject a duplicate); `stringValueStrindex` (profiles only) empties a value, as in `OTLPProtobuf`.
/// Errors are `OTLPDecodeError`s (`json: ...`) with the byte offset and the path of the field.
///
/// No Foundation: a hand-written byte parser, with strings made straight from the input bytes.
public enum OTLPJSON {
    /// How deeply `arrayValue` / `kvlistValue` may nest (the outermost value counts as 1).
    public static let maxValueDepth = OTLPProtobuf.maxValueDepth

    public static func decodeLogsRequest(_ bytes: UnsafeRawBufferPointer) throws(OTLPDecodeError) -> OTLPLogsData {
        try parse(bytes, expecting: "an ExportLogsServiceRequest object") {
            (parser: inout OTLPJSONParser) throws(OTLPDecodeError) in try parser.parseRequest()
        }
    }

    public static func decodeLogsRequest(_ bytes: [UInt8]) throws(OTLPDecodeError) -> OTLPLogsData {
        try bytes.withUnsafeBufferPointer { (buffer) throws(OTLPDecodeError) -> OTLPLogsData in
            try decodeLogsRequest(UnsafeRawBufferPointer(buffer))
        }
    }

    public static func decodeLogsResponse(_ bytes: UnsafeRawBufferPointer) throws(OTLPDecodeError)
        -> OTLPLogsResponse
    {
        try parse(bytes, expecting: "an ExportLogsServiceResponse object") {
            (parser: inout OTLPJSONParser) throws(OTLPDecodeError) in try parser.parseResponse()
        }
    }

    public static func decodeLogsResponse(_ bytes: [UInt8]) throws(OTLPDecodeError) -> OTLPLogsResponse {
        try bytes.withUnsafeBufferPointer { (buffer) throws(OTLPDecodeError) -> OTLPLogsResponse in
            try decodeLogsResponse(UnsafeRawBufferPointer(buffer))
        }
    }

    private static func parse<Message>(
        _ bytes: UnsafeRawBufferPointer, expecting what: String,
        _ parse: (inout OTLPJSONParser) throws(OTLPDecodeError) -> Message
    ) throws(OTLPDecodeError) -> Message {
        guard bytes.count > 0 else {
            throw OTLPDecodeError(format: .json, reason: "empty body, expected \(what)", offset: 0)
        }
        var parser = OTLPJSONParser(input: bytes.assumingMemoryBound(to: UInt8.self))
        defer { parser.release() }
        return try parse(&parser)
    }

    /// Encodes `logs` as OTLP/JSON, compact, as protobuf's JSON encoders write it: lowerCamelCase names in field
    /// number order, defaults (0, "", empty lists, an empty resource or scope) left out, 64-bit integers as
    /// strings, `severityNumber` as a number (the specification's rule for enums), ids in lowercase hex,
    /// `bytesValue` in padded base64, doubles as the shortest text that reads back the same (NaN and infinities as
    /// strings). `key` is always written.
    public static func encodeLogsRequest(_ logs: OTLPLogsData) -> [UInt8] {
        var writer = OTLPJSONWriter()
        writer.writeRequest(logs)
        return writer.json.bytes
    }

    /// Encodes an `ExportLogsServiceResponse`: `{}` when nothing was rejected and there is no message, else
    /// `{"partialSuccess":{"rejectedLogRecords":"3","errorMessage":"..."}}` (zero or empty members left out).
    public static func encodeLogsResponse(rejectedLogRecords: Int64, errorMessage: String) -> [UInt8] {
        var writer = OTLPJSONWriter()
        writer.writeResponse(rejectedLogRecords: rejectedLogRecords, errorMessage: errorMessage)
        return writer.json.bytes
    }
}
