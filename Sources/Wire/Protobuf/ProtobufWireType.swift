/// How a protobuf field's value is laid out on the wire: the low three bits of its tag.
enum ProtobufWireType: UInt8 {
    case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4, fixed32 = 5
}

/// A field's tag as `ProtobufReader` reads it: the field number, its wire type, and the byte where the tag starts
/// (the position errors about the field report).
struct ProtobufTag {
    var field: Int
    var wire: ProtobufWireType
    var offset: Int
}
