/// What `ProtobufReader` found wrong with the bytes, before a decoder puts it in its own words.
///
/// Carries the numbers a message needs but not the byte offset, which comes beside it, nor the message being read,
/// which is the `ProtobufDecoderMessage` that words it.
enum ProtobufReadFailure: Error {
    /// The bytes end inside a field tag.
    case truncatedTag
    /// A tag whose field number is 0 or does not fit 29 bits (`tag` above `UInt32.max`).
    case invalidFieldNumber(tag: UInt64)
    /// A tag with wire type 6 or 7.
    case invalidWireType(tag: UInt64)
    /// A known field arrived with another wire type than its declaration's.
    case wrongWireType(field: Int, found: ProtobufWireType, expected: ProtobufWireType, name: StaticString)
    /// The bytes end inside a varint.
    case truncatedVarint(field: Int)
    /// A varint runs on past 10 bytes.
    case varintTooLong(field: Int)
    /// A length prefix claims more bytes than the enclosing message has left.
    case lengthExceedsMessage(field: Int, length: UInt64, left: Int)
    /// A fixed32 or fixed64 field has fewer than `needed` bytes left.
    case truncatedFixed(field: Int, needed: Int, left: Int)
    /// A string field whose bytes are not UTF-8.
    case invalidUTF8(field: Int, name: StaticString)
    /// Unknown groups nested deeper than `limit`.
    case groupTooDeep(field: Int, limit: Int)
    /// A group the bytes end inside, before its end-group tag.
    case unterminatedGroup(field: Int)
    /// An end-group tag for `closing` inside the group of `field`.
    case mismatchedEndGroup(field: Int, closing: Int)
    /// An end-group tag outside any group.
    case unexpectedEndGroup(field: Int)
}

extension ProtobufReadFailure {
    /// What went wrong while reading `message`, worded like Go's protobuf errors, without the byte offset (each
    /// decoder places it in its own error).
    func reason(in message: String) -> String {
        switch self {
        case .truncatedTag:
            "unexpected EOF in a field tag of \(message)"
        case .invalidFieldNumber(let tag):
            "illegal tag \(tag) (field number \(tag >> 3)) in \(message)"
        case .invalidWireType(let tag):
            "illegal wire type \(tag & 7) for field \(tag >> 3) of \(message)"
        case .wrongWireType(let field, let found, let expected, let name):
            "wrong wire type \(found.rawValue) for field \(field) (\(name)) of \(message), expected \(expected.rawValue)"
        case .truncatedVarint(let field):
            "unexpected EOF in field \(field) of \(message)"
        case .truncatedFixed(let field, let needed, let left):
            "unexpected EOF in field \(field) of \(message): needs \(needed) bytes, \(left) left"
        case .varintTooLong(let field):
            "varint overflows 64 bits (longer than 10 bytes) in field \(field) of \(message)"
        case .lengthExceedsMessage(let field, let length, let left):
            "unexpected EOF in field \(field) of \(message): length \(length) exceeds the \(left) bytes left"
        case .invalidUTF8(let field, let name):
            "invalid UTF-8 in field \(field) (\(name)) of \(message)"
        case .groupTooDeep(let field, let limit):
            "groups nested deeper than \(limit) in field \(field) of \(message)"
        case .unterminatedGroup(let field):
            "unexpected EOF in group (field \(field)) of \(message): no end-group tag"
        case .mismatchedEndGroup(let field, let closing):
            "end-group tag for field \(closing) does not match the group of field \(field) in \(message)"
        case .unexpectedEndGroup(let field):
            "unexpected end-group tag for field \(field) in \(message)"
        }
    }
}

/// A message a decoder reads with `ProtobufReader` (usually a case of the decoder's enum of message names): it
/// turns the reader's failures into the decoder's own error type and words, which name the message.
protocol ProtobufDecoderMessage {
    associatedtype Failure: Error

    /// The decoder's error for `failure`, found at byte `offset` of the body while reading this message. Called
    /// only on the way out of a failed decode.
    func error(_ failure: ProtobufReadFailure, at offset: Int) -> Failure
}
