/// A cursor over the bytes of one protobuf message, for the hand-written decoders of Loki push, OTLP and
/// `google.rpc.Status`: tags, varints, fixed-width numbers, length-delimited fields, and skipping unknown fields of
/// every wire type (groups included, nested up to `maxGroupDepth`).
///
/// Reads memory at `base` between `position` and `end`, which must stay valid and unmodified while the reader is in
/// use (the decoders read inside `withUnsafeBufferPointer`). Every read is checked against `end`, the end of the
/// message; positions and offsets count from `base`, so errors report offsets in the whole body. A nested message
/// gets its own reader over the range `lengthDelimited` returns. Failures throw `Message.Failure`, worded by
/// `message`.
struct ProtobufReader<Message: ProtobufDecoderMessage> {
    /// Deeper group nesting than this in unknown fields is rejected rather than recursed into.
    static var maxGroupDepth: Int { 64 }

    let base: UnsafePointer<UInt8>
    private(set) var position: Int
    let end: Int
    /// The message being read, which names it in errors.
    let message: Message

    init(base: UnsafePointer<UInt8>, range: Range<Int>, message: Message) {
        self.base = base
        self.position = range.lowerBound
        self.end = range.upperBound
        self.message = message
    }

    var isAtEnd: Bool { position >= end }

    // MARK: Fields

    /// The next field's tag. Only while `!isAtEnd`: every decoder loop checks that first, so the one-byte fast path
    /// does not check it again.
    @inline(__always)
    mutating func readTag() throws(Message.Failure) -> ProtobufTag {
        assert(position < end, "readTag() at the end of the message")
        let offset = position
        let raw: UInt64
        if base[position] < 0x80 {
            raw = UInt64(base[position])
            position += 1
        } else {
            guard let value = peekVarint() else { throw failure(.truncatedTag, at: offset) }
            raw = value
        }
        let field = raw >> 3
        guard field > 0, raw <= UInt64(UInt32.max) else { throw failure(.invalidFieldNumber(tag: raw), at: offset) }
        guard let wire = ProtobufWireType(rawValue: UInt8(raw & 7)) else {
            throw failure(.invalidWireType(tag: raw), at: offset)
        }
        return ProtobufTag(field: Int(field), wire: wire, offset: offset)
    }

    /// Throws unless the field has the wire type its declaration gives it; `name` is the field's name in the .proto.
    @inline(__always)
    func expect(_ tag: ProtobufTag, _ expected: ProtobufWireType, _ name: StaticString) throws(Message.Failure) {
        guard tag.wire == expected else {
            throw failure(.wrongWireType(field: tag.field, found: tag.wire, expected: expected, name: name),
                          at: tag.offset)
        }
    }

    /// A length-delimited field (string, bytes, message): the byte range of its value, which lies within `end`.
    @inline(__always)
    mutating func lengthDelimited(_ tag: ProtobufTag, _ name: StaticString) throws(Message.Failure) -> Range<Int> {
        try expect(tag, .lengthDelimited, name)
        return try readLength(field: tag.field)
    }

    /// A string field, which must be UTF-8.
    @inline(__always)
    mutating func string(_ tag: ProtobufTag, _ name: StaticString) throws(Message.Failure) -> String {
        let range = try lengthDelimited(tag, name)
        if range.isEmpty { return "" }
        guard let string = OTLPUTF8.makeString(buffer(range)) else {
            throw failure(.invalidUTF8(field: tag.field, name: name), at: range.lowerBound)
        }
        return string
    }

    @inline(__always)
    mutating func varint(_ tag: ProtobufTag, _ name: StaticString) throws(Message.Failure) -> UInt64 {
        try expect(tag, .varint, name)
        return try readVarint(field: tag.field)
    }

    @inline(__always)
    mutating func fixed64(_ tag: ProtobufTag, _ name: StaticString) throws(Message.Failure) -> UInt64 {
        try fixed(tag, .fixed64, name)
    }

    @inline(__always)
    mutating func fixed32(_ tag: ProtobufTag, _ name: StaticString) throws(Message.Failure) -> UInt32 {
        try fixed(tag, .fixed32, name)
    }

    /// A little-endian fixed-width field, `Value` being `UInt64` or `UInt32`.
    @inline(__always)
    private mutating func fixed<Value: FixedWidthInteger>(_ tag: ProtobufTag, _ wire: ProtobufWireType,
                                                          _ name: StaticString) throws(Message.Failure) -> Value
    {
        try expect(tag, wire, name)
        try need(MemoryLayout<Value>.size, for: tag)
        let value = UnsafeRawPointer(base + position).loadUnaligned(as: Value.self)
        position += MemoryLayout<Value>.size
        return Value(littleEndian: value)
    }

    /// The bytes of `range` (one that `lengthDelimited` returned), valid as long as the reader's memory is.
    @inline(__always)
    func buffer(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: base + range.lowerBound, count: range.count)
    }

    /// Skips a field the decoder does not know, of any wire type (groups included, nested up to `maxGroupDepth`).
    mutating func skipField(_ tag: ProtobufTag, depth: Int = 0) throws(Message.Failure) {
        switch tag.wire {
        case .varint:
            _ = try readVarint(field: tag.field)
        case .fixed64:
            try need(8, for: tag)
            position += 8
        case .fixed32:
            try need(4, for: tag)
            position += 4
        case .lengthDelimited:
            _ = try readLength(field: tag.field)
        case .startGroup:
            guard depth < Self.maxGroupDepth else {
                throw failure(.groupTooDeep(field: tag.field, limit: Self.maxGroupDepth), at: tag.offset)
            }
            while true {
                guard position < end else { throw failure(.unterminatedGroup(field: tag.field), at: tag.offset) }
                let inner = try readTag()
                if inner.wire == .endGroup {
                    guard inner.field == tag.field else {
                        throw failure(.mismatchedEndGroup(field: tag.field, closing: inner.field), at: inner.offset)
                    }
                    return
                }
                try skipField(inner, depth: depth + 1)
            }
        case .endGroup:
            throw failure(.unexpectedEndGroup(field: tag.field), at: tag.offset)
        }
    }

    /// Counts the fields with the one-byte tag `wanted` from `start` to the end of the message, so that a decoder
    /// can allocate an array once. Best effort: it stops at the first malformed byte and leaves reporting it to
    /// the decoding pass.
    func countFields(tagged wanted: UInt8, from start: Int) -> Int {
        var scan = self
        scan.position = start
        var count = 0
        while scan.position < end {
            guard let tag = scan.peekVarint() else { return count }
            switch tag & 7 {
            case 0:
                guard scan.peekVarint() != nil else { return count }
            case 1:
                scan.position += 8
            case 2:
                guard let length = scan.peekVarint(), length <= UInt64(end - scan.position) else { return count }
                scan.position += Int(length)
                if tag == UInt64(wanted) { count += 1 }
            case 5:
                scan.position += 4
            default:
                return count
            }
        }
        return count
    }

    // MARK: Wire primitives

    /// Reads a varint that belongs to `field` (its value, or a length prefix).
    @inline(__always)
    mutating func readVarint(field: Int) throws(Message.Failure) -> UInt64 {
        if position < end && base[position] < 0x80 {
            defer { position += 1 }
            return UInt64(base[position])
        }
        let offset = position
        guard let value = peekVarint() else {
            var current = offset
            while current < end && current - offset < 10 && base[current] >= 0x80 { current += 1 }
            let problem: ProtobufReadFailure = current - offset >= 10
                ? .varintTooLong(field: field) : .truncatedVarint(field: field)
            throw failure(problem, at: offset)
        }
        return value
    }

    /// Reads a length prefix of `field` and returns the byte range it covers, which must lie within `end`.
    @inline(__always)
    mutating func readLength(field: Int) throws(Message.Failure) -> Range<Int> {
        let offset = position
        let length = try readVarint(field: field)
        guard length <= UInt64(end - position) else {
            throw failure(.lengthExceedsMessage(field: field, length: length, left: end - position), at: offset)
        }
        let start = position
        position += Int(length)
        return start..<position
    }

    /// Reads a varint; nil, leaving `position` alone, when it is truncated or longer than 10 bytes. Like Go's
    /// protobuf code (and SwiftProtobuf), bits beyond 64 in the tenth byte are dropped rather than rejected.
    @inline(__always)
    private mutating func peekVarint() -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var current = position
        while current < end {
            let byte = base[current]
            current += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 {
                position = current
                return result
            }
            shift += 7
            if shift >= 70 { return nil }
        }
        return nil
    }

    @inline(__always)
    private func need(_ count: Int, for tag: ProtobufTag) throws(Message.Failure) {
        guard end - position >= count else {
            throw failure(.truncatedFixed(field: tag.field, needed: count, left: end - position), at: tag.offset)
        }
    }

    /// Kept out of line: errors are the cold path, and their wording is the decoder's.
    @inline(never)
    private func failure(_ failure: ProtobufReadFailure, at offset: Int) -> Message.Failure {
        message.error(failure, at: offset)
    }
}
