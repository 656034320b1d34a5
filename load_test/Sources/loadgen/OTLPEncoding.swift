import ArgumentParser
import Wire

/// How an OTLP/HTTP export request body is encoded (`Content-Type`); gzip is applied on top when asked.
enum OTLPEncoding: String, ExpressibleByArgument, Sendable, CaseIterable {
    /// `ExportLogsServiceRequest` protobuf (what the OpenTelemetry SDKs and Collector send by default).
    case protobuf
    /// OTLP/JSON.
    case json

    var contentType: String {
        switch self {
        case .protobuf: return "application/x-protobuf"
        case .json: return "application/json"
        }
    }

    /// Encodes `logs` into an uncompressed request body.
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
