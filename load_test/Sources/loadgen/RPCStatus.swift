/// The error body of an OTLP/HTTP server answering with protobuf: a `google.rpc.Status` (field 1 `code`, a varint;
/// field 2 `message`, a string; field 3 `details`, skipped). Read so that a report shows the server's words rather
/// than raw bytes.
struct RPCStatus: Sendable, Equatable {
    var code: Int64
    var message: String

    init(code: Int64, message: String) {
        self.code = code
        self.message = message
    }

    /// Reads a `google.rpc.Status`; nil when `bytes` are not one (truncated, a bad wire type, a varint past 10
    /// bytes). Unknown fields are skipped, as protobuf readers do.
    init?(protobuf bytes: [UInt8]) {
        var code: Int64 = 0
        var message = ""
        var position = 0

        func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while position < bytes.count, shift < 64 {
                let byte = bytes[position]
                position += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
            return nil
        }

        while position < bytes.count {
            guard let tag = varint(), tag >> 3 > 0 else { return nil }
            switch tag & 7 {
            case 0:
                guard let value = varint() else { return nil }
                if tag >> 3 == 1 { code = Int64(bitPattern: value) }
            case 1, 5:
                let width = tag & 7 == 1 ? 8 : 4
                guard bytes.count - position >= width else { return nil }
                position += width
            case 2:
                guard let length = varint(), length <= UInt64(bytes.count - position) else { return nil }
                let end = position + Int(length)
                if tag >> 3 == 2 { message = String(decoding: bytes[position..<end], as: UTF8.self) }
                position = end
            default:
                return nil
            }
        }
        self.code = code
        self.message = message
    }
}
