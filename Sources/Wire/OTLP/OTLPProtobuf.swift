/// The OTLP protobuf codec for logs: `ExportLogsServiceRequest` and `ExportLogsServiceResponse`
/// (`opentelemetry/proto/collector/logs/v1/logs_service.proto`), as OTLP/HTTP sends them with
/// `Content-Type: application/x-protobuf` (uncompressed: gzip is the HTTP layer's job).
///
/// Hand-written for the receiver's hot path; the generated SwiftProtobuf code in `Generated/OTLP/` is only the
/// tests' reference. Decoding is one pass over the bytes with no intermediate messages: the only allocations are
/// the model's own strings and arrays. It follows proto3's rules: unknown fields of every wire type are skipped,
/// the last value of a repeated scalar field wins, a repeated message field merges (`resource`, `scope`, `body`,
/// `value`; for `AnyValue` the last `oneof` member wins, and two `arrayValue`s or `kvlistValue`s concatenate).
/// None of these messages has a repeated scalar field, so packed encoding does not arise. The profiles-only
/// `AnyValue.string_value_strindex` (an index into a string table logs do not have) empties the value.
///
/// Malformed input throws an `OTLPDecodeError` saying which field of which message failed, at which byte, and
/// where in the request: truncation, a known field with the wrong wire type (as the OpenTelemetry Collector's
/// gogo-generated code, stricter than SwiftProtobuf, which keeps such a field as unknown), strings that are not
/// UTF-8, a `trace_id` that is not 16 bytes or a `span_id` that is not 8 (empty means absent; the Collector
/// rejects other lengths too), and `AnyValue`s nested deeper than `maxValueDepth`.
public enum OTLPProtobuf {
    /// How deeply `arrayValue` / `kvlistValue` may nest (the outermost value counts as 1). Deeper input is an
    /// error rather than a stack overflow.
    public static let maxValueDepth = 64

    public static func decodeLogsRequest(_ bytes: UnsafeRawBufferPointer) throws(OTLPDecodeError) -> OTLPLogsData {
        try decode(bytes, empty: OTLPLogsData()) { reader, range throws(OTLPDecodeError) in
            try reader.decodeRequest(range)
        }
    }

    public static func decodeLogsRequest(_ bytes: [UInt8]) throws(OTLPDecodeError) -> OTLPLogsData {
        try bytes.withUnsafeBufferPointer { (buffer) throws(OTLPDecodeError) in
            try decodeLogsRequest(UnsafeRawBufferPointer(buffer))
        }
    }

    public static func decodeLogsResponse(_ bytes: UnsafeRawBufferPointer) throws(OTLPDecodeError)
        -> OTLPLogsResponse
    {
        try decode(bytes, empty: OTLPLogsResponse()) { reader, range throws(OTLPDecodeError) in
            try reader.decodeResponse(range)
        }
    }

    public static func decodeLogsResponse(_ bytes: [UInt8]) throws(OTLPDecodeError) -> OTLPLogsResponse {
        try bytes.withUnsafeBufferPointer { (buffer) throws(OTLPDecodeError) in
            try decodeLogsResponse(UnsafeRawBufferPointer(buffer))
        }
    }

    /// Reads a whole body with `message`; an empty body is the message with every field at its default.
    @inline(__always)
    private static func decode<Message>(
        _ bytes: UnsafeRawBufferPointer, empty: @autoclosure () -> Message,
        _ message: (OTLPProtobufReader, Range<Int>) throws(OTLPDecodeError) -> Message
    ) throws(OTLPDecodeError) -> Message {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return empty() }
        return try message(OTLPProtobufReader(base: base.assumingMemoryBound(to: UInt8.self)), 0..<bytes.count)
    }

    /// Encodes `logs` as an `ExportLogsServiceRequest`: fields in number order, zero numbers and empty strings,
    /// ids and lists left out as proto3 does, and also an empty `resource` or `scope` (which reads the same as
    /// an absent one). Every set `AnyValue` member is written, even `""`, `0` or `false` (a oneof has presence).
    /// These are the bytes the generated SwiftProtobuf code writes for the same message. Sizes are computed once,
    /// so the output is allocated once and written front to back.
    public static func encodeLogsRequest(_ logs: OTLPLogsData) -> [UInt8] {
        var sizer = OTLPProtobufSizer()
        let total = sizer.requestSize(logs)
        return sizer.sizes.withUnsafeBufferPointer { sizes in
            ProtobufWriter.bytes(count: total) { writer in
                var logsWriter = OTLPProtobufWriter(writer, sizes: sizes)
                logsWriter.writeRequest(logs)
                writer = logsWriter.writer   // hands the cursor back, for the check of the length written
                precondition(logsWriter.nextSize == sizes.count,
                             "OTLPProtobuf wrote a different number of messages than it sized")
            }
        }
    }

    /// Encodes an `ExportLogsServiceResponse`. With nothing rejected and no message it is empty (zero bytes):
    /// an empty `partial_success` means full success and is left out, as the OTLP specification asks.
    public static func encodeLogsResponse(rejectedLogRecords: Int64, errorMessage: String) -> [UInt8] {
        let rejected = UInt64(bitPattern: rejectedLogRecords)
        var size = ProtobufWriter.stringFieldSize(errorMessage.utf8.count)
        if rejected != 0 { size += ProtobufWriter.varintFieldSize(rejected) }
        if size == 0 { return [] }
        return ProtobufWriter.bytes(count: ProtobufWriter.lengthDelimitedFieldSize(size)) { writer in
            writer.writeMessageHeader(1, size: size)
            if rejected != 0 { writer.writeVarintField(1, rejected) }
            writer.writeStringField(2, errorMessage)
        }
    }
}
