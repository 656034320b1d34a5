/// A minimal protobuf writer for hand-made messages: the hostile generator needs bytes no valid encoder writes
/// (out-of-range nanos, invalid UTF-8 in strings, lengths that lie, nesting thousands deep).
struct ProtobufBytes {
    var bytes: [UInt8] = []

    static func varint(_ value: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        var value = value
        while value >= 0x80 {
            out.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        out.append(UInt8(value))
        return out
    }

    mutating func tag(_ field: Int, wire: Int) {
        bytes.append(contentsOf: Self.varint(UInt64(field << 3 | wire)))
    }

    mutating func varintField(_ field: Int, _ value: UInt64) {
        tag(field, wire: 0)
        bytes.append(contentsOf: Self.varint(value))
    }

    mutating func fixed64Field(_ field: Int, _ value: UInt64) {
        tag(field, wire: 1)
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    mutating func bytesField(_ field: Int, _ payload: [UInt8]) {
        tag(field, wire: 2)
        bytes.append(contentsOf: Self.varint(UInt64(payload.count)))
        bytes.append(contentsOf: payload)
    }

    mutating func stringField(_ field: Int, _ text: String) {
        bytesField(field, Array(text.utf8))
    }

    /// A message built by `build`.
    static func message(_ build: (inout ProtobufBytes) -> Void) -> [UInt8] {
        var writer = ProtobufBytes()
        build(&writer)
        return writer.bytes
    }

    /// `depth` levels of `wrap` around `inner`, written outside-in in one pass (no quadratic copying): each level
    /// is field `outerField` holding a message whose field `innerField` holds the level below.
    static func nested(depth: Int, outerField: Int, innerField: Int, inner: [UInt8]) -> [UInt8] {
        var headers: [[UInt8]] = []
        headers.reserveCapacity(depth)
        var length = inner.count
        for _ in 0..<depth {
            let innerHeader = varint(UInt64(innerField << 3 | 2)) + varint(UInt64(length))
            let middle = innerHeader.count + length
            let header = varint(UInt64(outerField << 3 | 2)) + varint(UInt64(middle)) + innerHeader
            headers.append(header)
            length += header.count
        }
        var out: [UInt8] = []
        out.reserveCapacity(length)
        for header in headers.reversed() { out.append(contentsOf: header) }
        out.append(contentsOf: inner)
        return out
    }
}
