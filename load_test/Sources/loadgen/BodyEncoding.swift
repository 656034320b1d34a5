import ArgumentParser
import Wire

/// How a request body is encoded on the wire (`Content-Type`), for Loki push and OTLP/HTTP alike.
enum BodyEncoding: String, ExpressibleByArgument, Sendable, CaseIterable {
    /// Protobuf: `logproto.PushRequest`, snappy block-compressed (what Promtail and Alloy send), or
    /// `ExportLogsServiceRequest` (what the OpenTelemetry SDKs and Collector send by default).
    case protobuf
    /// Loki's JSON push format, or OTLP/JSON; uncompressed.
    case json

    var contentType: String {
        switch self {
        case .protobuf: return "application/x-protobuf"
        case .json: return "application/json"
        }
    }

    // MARK: Loki push

    /// Encodes `request` into a request body.
    func encode(_ request: PushRequest) -> [UInt8] {
        compress(serialize(request))
    }

    /// The request before compression, where the lines' bytes appear verbatim (so markers can be stamped).
    func serialize(_ request: PushRequest) -> [UInt8] {
        switch self {
        case .protobuf: return PushProtobufEncoder.encode(request)
        case .json: return PushJSONEncoder.encode(request)
        }
    }

    /// A ``serialize(_:)`` output made into the body sent: snappy block compression for protobuf.
    func compress(_ serialized: [UInt8]) -> [UInt8] {
        switch self {
        case .protobuf: return Snappy.compress(serialized)
        case .json: return serialized
        }
    }

    // MARK: OTLP

    /// Encodes `logs` into an uncompressed OTLP request body (gzip is applied on top when asked).
    func encode(_ logs: OTLPLogsData) -> [UInt8] {
        switch self {
        case .protobuf: return OTLPProtobuf.encodeLogsRequest(logs)
        case .json: return OTLPJSON.encodeLogsRequest(logs)
        }
    }

    /// Reads an `ExportLogsServiceResponse` in this encoding. An empty body is full success (a protobuf response
    /// with nothing rejected is zero bytes).
    func decodeResponse(_ bytes: [UInt8]) throws(OTLPDecodeError) -> OTLPLogsResponse {
        if bytes.isEmpty { return OTLPLogsResponse() }
        switch self {
        case .protobuf: return try OTLPProtobuf.decodeLogsResponse(bytes)
        case .json: return try OTLPJSON.decodeLogsResponse(bytes)
        }
    }
}
