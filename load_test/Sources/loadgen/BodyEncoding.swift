import ArgumentParser
import Wire

/// How a push body is encoded on the wire.
enum BodyEncoding: String, ExpressibleByArgument, Sendable, CaseIterable {
    /// `logproto.PushRequest` protobuf, snappy block-compressed (what Promtail and Alloy send).
    case protobuf
    /// Loki's JSON push format, uncompressed.
    case json

    var contentType: String {
        switch self {
        case .protobuf: return "application/x-protobuf"
        case .json: return "application/json"
        }
    }

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
}
