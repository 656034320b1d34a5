/// A `google.rpc.Status` in its protobuf form (`google/rpc/status.proto`): the error body of an OTLP/HTTP (and
/// gRPC) response. `code` is field 1 (int32) and `message` field 2 (string); `details` (field 3) is neither read
/// nor written.
public struct RPCStatus: Sendable, Equatable {
    /// The gRPC status code (3 `INVALID_ARGUMENT`, 14 `UNAVAILABLE`, ...).
    public var code: Int32
    /// For the developer who reads the response, in English.
    public var message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    /// The protobuf bytes, as proto3 writes them: a zero `code` and an empty `message` are left out.
    public func encode() -> [UInt8] {
        let wireCode = UInt64(bitPattern: Int64(code))   // a negative int32 is sign-extended: 10 bytes
        var size = ProtobufWriter.stringFieldSize(message.utf8.count)
        if wireCode != 0 { size += ProtobufWriter.varintFieldSize(wireCode) }
        return ProtobufWriter.bytes(count: size) { writer in
            if wireCode != 0 { writer.writeVarintField(1, wireCode) }
            writer.writeStringField(2, message)
        }
    }

    /// Reads a status from untrusted bytes; nil when they are not a well-formed protobuf message. Leniently, for
    /// showing a peer's error: a `message` that is not UTF-8 is repaired (U+FFFD), and a `code` or `message` with
    /// another wire type than its own is skipped like an unknown field.
    public init?(protobuf bytes: [UInt8]) {
        let status = bytes.withUnsafeBufferPointer { buffer -> RPCStatus? in
            var status = RPCStatus(code: 0, message: "")
            guard let base = buffer.baseAddress else { return status }
            var reader = ProtobufReader(base: base, range: 0..<buffer.count, message: StatusMessage.status)
            do throws(ProtobufReadFailure) {
                while !reader.isAtEnd {
                    let tag = try reader.readTag()
                    switch (tag.field, tag.wire) {
                    case (1, .varint):
                        status.code = Int32(truncatingIfNeeded: try reader.readVarint(field: 1))
                    case (2, .lengthDelimited):
                        let text = reader.buffer(try reader.readLength(field: 2))
                        status.message = String(decoding: text, as: UTF8.self)
                    default:
                        try reader.skipField(tag)
                    }
                }
            } catch {
                return nil
            }
            return status
        }
        guard let status else { return nil }
        self = status
    }
}

/// The only message `RPCStatus(protobuf:)` reads; it reports no detail, since a malformed status just reads as none.
private enum StatusMessage: ProtobufDecoderMessage {
    case status

    func error(_ failure: ProtobufReadFailure, at offset: Int) -> ProtobufReadFailure {
        failure
    }
}
