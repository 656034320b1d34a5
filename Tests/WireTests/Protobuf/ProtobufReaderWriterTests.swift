import TestSupport
import Testing
@testable import Wire

/// The shared protobuf kit: what `ProtobufWriter` writes `ProtobufReader` reads back, field for field, and
/// malformed bytes fail with the failure and offset the decoders turn into their errors.
@Suite("Protobuf reader and writer")
struct ProtobufReaderWriterTests {
    // MARK: Writer

    static let varints: [(UInt64, [UInt8])] = [
        (0, [0x00]), (1, [0x01]), (127, [0x7F]), (128, [0x80, 0x01]), (300, [0xAC, 0x02]),
        (16_383, [0xFF, 0x7F]), (16_384, [0x80, 0x80, 0x01]),
        (UInt64(UInt32.max), [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
        (UInt64.max, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
    ]

    @Test(arguments: varints)
    func varintsAreWrittenAndSizedAsProtobufSpecifies(_ value: UInt64, _ expected: [UInt8]) {
        #expect(ProtobufWriter.varintSize(value) == expected.count)
        #expect(ProtobufWriter.bytes(count: expected.count) { $0.writeVarint(value) } == expected)
    }

    @Test func fieldsAreWrittenWithTheirTags() {
        let bytes = ProtobufWriter.bytes(count: 33) { writer in
            writer.writeVarintField(1, 150)                         // 08 96 01
            writer.writeStringField(2, "hi")                        // 12 02 68 69
            writer.writeStringField(3, "")                          // left out
            writer.writeStringField(4, "", evenIfEmpty: true)       // 22 00
            writer.writeFixed64Field(5, 0x0102_0304_0506_0708)      // 29 + 8 bytes, little-endian
            writer.writeFixed32Field(6, 0x0A0B_0C0D)                // 35 + 4 bytes
            writer.writeBytesField(16, [0xFF])                      // 82 01 01 FF: a two-byte tag
            writer.writeMessageHeader(7, size: 3)                   // 3A 03
            writer.writeVarintField(1, 1)                           // 08 01 (inside the message)
            writer.writeTag(8, .startGroup)                         // 43
            writer.writeTag(8, .endGroup)                           // 44
        }
        #expect(bytes == [0x08, 0x96, 0x01, 0x12, 0x02, 0x68, 0x69, 0x22, 0x00,
                          0x29, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x35, 0x0D, 0x0C, 0x0B, 0x0A,
                          0x82, 0x01, 0x01, 0xFF, 0x3A, 0x03, 0x08, 0x01, 0x43, 0x44])
    }

    @Test func sizesCountTagLengthAndBytes() {
        #expect(ProtobufWriter.stringFieldSize(0) == 0)
        #expect(ProtobufWriter.stringFieldSize(3) == 5)
        #expect(ProtobufWriter.lengthDelimitedFieldSize(0) == 2)
        #expect(ProtobufWriter.lengthDelimitedFieldSize(200) == 203)
        #expect(ProtobufWriter.varintFieldSize(UInt64(bitPattern: -1)) == 11)
    }

    // MARK: Reader

    @Test func readsTypedFieldsAndSkipsTheRest() throws {
        var message: [UInt8] = []
        message += [0x08, 0x96, 0x01]                                   // 1: varint 150
        message += [0x12, 0x03] + Array("hé".utf8)                      // 2: "hé"
        message += [0x19, 1, 0, 0, 0, 0, 0, 0, 0x80]                    // 3: fixed64
        message += [0x25, 0xEF, 0xBE, 0xAD, 0xDE]                       // 4: fixed32
        message += [0x2B, 0x08, 0x01, 0x13, 0x14, 0x2C]                 // 5: a group holding a group
        message += [0x32, 0x00]                                         // 6: empty bytes
        try TestMessage.read(message) { reader in
            var seen: [Int] = []
            while !reader.isAtEnd {
                let tag = try reader.readTag()
                seen.append(tag.field)
                switch tag.field {
                case 1:
                    let number = try reader.varint(tag, "number")
                    #expect(number == 150)
                case 2:
                    let text = try reader.string(tag, "text")
                    #expect(text == "hé")
                case 3:
                    let wide = try reader.fixed64(tag, "wide")
                    #expect(wide == 0x8000_0000_0000_0001)
                case 4:
                    let narrow = try reader.fixed32(tag, "narrow")
                    #expect(narrow == 0xDEAD_BEEF)
                case 6:
                    let blob = try reader.lengthDelimited(tag, "blob")
                    #expect(blob.isEmpty)
                default:
                    try reader.skipField(tag)
                }
            }
            #expect(seen == [1, 2, 3, 4, 5, 6])
        }
    }

    @Test func countsFieldsWithATagFromAnOffset() throws {
        let message: [UInt8] = [0x12, 0x00, 0x08, 0x01, 0x12, 0x01, 0x12, 0x1A, 0x00, 0x12, 0x00]
        try TestMessage.read(message) { reader in
            #expect(reader.countFields(tagged: 0x12, from: 0) == 3)
            #expect(reader.countFields(tagged: 0x12, from: 2) == 2)
            #expect(reader.countFields(tagged: 0x1A, from: 0) == 1)   // the 0x12 inside field 2's bytes is no field
        }
        // Best effort: counting stops at the first malformed byte.
        try TestMessage.read([0x12, 0x00, 0x0F, 0x12, 0x00]) { #expect($0.countFields(tagged: 0x12, from: 0) == 1) }
    }

    struct Malformed: Sendable, CustomStringConvertible {
        var name: String
        var bytes: [UInt8]
        var failure: String
        var offset: Int
        var description: String { name }
    }

    static let malformed: [Malformed] = [
        Malformed(name: "truncated tag", bytes: [0x08, 0x01, 0x80], failure: "truncatedTag", offset: 2),
        Malformed(name: "field number 0", bytes: [0x02, 0x00], failure: "invalidFieldNumber(tag: 2)", offset: 0),
        Malformed(name: "tag beyond 32 bits", bytes: [0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
                  failure: "invalidFieldNumber(tag: 34359738368)", offset: 0),
        Malformed(name: "wire type 6", bytes: [0x0E], failure: "invalidWireType(tag: 14)", offset: 0),
        Malformed(name: "wire type 7", bytes: [0x7F], failure: "invalidWireType(tag: 127)", offset: 0),
        Malformed(name: "truncated varint", bytes: [0x50, 0x80], failure: "truncatedVarint(field: 10)", offset: 1),
        Malformed(name: "varint longer than 10 bytes", bytes: [0x50] + Array(repeating: 0xFF, count: 10) + [0x01],
                  failure: "varintTooLong(field: 10)", offset: 1),
        Malformed(name: "truncated length", bytes: [0x0A, 0xFF], failure: "truncatedVarint(field: 1)", offset: 1),
        Malformed(name: "length beyond the message", bytes: [0x0A, 0x05, 0x01],
                  failure: "lengthExceedsMessage(field: 1, length: 5, left: 1)", offset: 1),
        Malformed(name: "truncated fixed64", bytes: [0x11, 1, 2, 3],
                  failure: "truncatedFixed(field: 2, needed: 8, left: 3)", offset: 0),
        Malformed(name: "truncated fixed32", bytes: [0x08, 0x00, 0x7D, 1],
                  failure: "truncatedFixed(field: 15, needed: 4, left: 1)", offset: 2),
        Malformed(name: "unterminated group", bytes: [0x7B, 0x08, 0x01], failure: "unterminatedGroup(field: 15)",
                  offset: 0),
        Malformed(name: "mismatched end group", bytes: [0x7B, 0x84, 0x01],
                  failure: "mismatchedEndGroup(field: 15, closing: 16)", offset: 1),
        Malformed(name: "stray end group", bytes: [0x7C], failure: "unexpectedEndGroup(field: 15)", offset: 0),
        Malformed(name: "groups nested too deep",
                  bytes: Array(repeating: 0x7B, count: 65) + Array(repeating: 0x7C, count: 65),
                  failure: "groupTooDeep(field: 15, limit: 64)", offset: 64),
    ]

    @Test(arguments: malformed)
    func malformedBytesFailAtTheirOffset(_ input: Malformed) {
        #expect(throws: TestMessage.Failure(failure: input.failure, offset: input.offset)) {
            try TestMessage.read(input.bytes) { try TestMessage.skipAll(&$0) }
        }
    }

    @Test func groupsNestUpToTheLimit() throws {
        let depth = ProtobufReader<TestMessage>.maxGroupDepth
        let bytes = [UInt8](repeating: 0x7B, count: depth) + [UInt8](repeating: 0x7C, count: depth)
        try TestMessage.read(bytes) { try TestMessage.skipAll(&$0) }
    }

    @Test func knownFieldsCheckTheirWireTypeAndUTF8() {
        let wrongWireType = "wrongWireType(field: 1, found: Wire.ProtobufWireType.lengthDelimited, "
            + #"expected: Wire.ProtobufWireType.varint, name: "number")"#
        #expect(throws: TestMessage.Failure(failure: wrongWireType, offset: 0)) {
            try TestMessage.read([0x0A, 0x00]) { reader in _ = try reader.varint(try reader.readTag(), "number") }
        }
        #expect(throws: TestMessage.Failure(failure: #"invalidUTF8(field: 2, name: "text")"#, offset: 2)) {
            try TestMessage.read([0x12, 0x02, 0xC3, 0x28]) { reader in
                _ = try reader.string(try reader.readTag(), "text")
            }
        }
        #expect(throws: TestMessage.Failure(failure: "truncatedFixed(field: 1, needed: 8, left: 7)", offset: 0)) {
            try TestMessage.read([0x09, 1, 2, 3, 4, 5, 6, 7]) { reader in
                _ = try reader.fixed64(try reader.readTag(), "wide")
            }
        }
    }

    // MARK: Properties

    /// Random messages of every wire type, groups nested, round-trip through the writer and the reader; every
    /// prefix either ends on a field boundary and reads, or fails inside the bytes.
    @Test func randomMessagesRoundTrip() throws {
        var random = SeededRandom(seed: FuzzBudget.seed(0x9B0F_0001))
        for _ in 0..<FuzzBudget.scaled(1_500) {
            let fields = random.protobufFields(depth: 0)
            let bytes = ProtobufWriter.bytes(count: TestField.size(fields)) { TestField.write(fields, into: &$0) }
            try TestMessage.read(bytes) { reader in
                let read = try TestField.read(&reader, group: nil)
                #expect(read == fields)
                #expect(reader.isAtEnd)
            }
            try TestMessage.read(bytes) { try TestMessage.skipAll(&$0) }
            try TestMessage.read(bytes) { reader in
                // Counting is best effort and stops at the first group.
                let beforeGroups = fields.prefix { if case .group = $0 { false } else { true } }
                let counted = beforeGroups.count { if case .bytes(2, _) = $0 { true } else { false } }
                #expect(reader.countFields(tagged: 0x12, from: 0) == counted)
            }
            var boundaries: Set<Int> = [0]
            var offset = 0
            for field in fields {
                offset += TestField.size([field])
                boundaries.insert(offset)
            }
            let cut = random.int(0...bytes.count)
            do {
                try TestMessage.read(Array(bytes[..<cut])) { try TestMessage.skipAll(&$0) }
                #expect(boundaries.contains(cut), "a prefix of \(cut) bytes read without a failure")
            } catch let error as TestMessage.Failure {
                #expect(!boundaries.contains(cut) && error.offset <= cut, "\(error)")
            }
        }
    }

    /// Random and mutated bytes only ever read or fail, at an offset within them (at their end when a value is
    /// missing): no trap, no read past the end.
    @Test func randomBytesFailInsideTheirBounds() {
        var random = SeededRandom(seed: FuzzBudget.seed(0x9B0F_0002))
        var failed = 0
        for iteration in 0..<FuzzBudget.scaled(4_000) {
            var bytes: [UInt8]
            if iteration % 2 == 0 {
                bytes = random.bytes(random.int(0...64))
            } else {
                let fields = random.protobufFields(depth: 0)
                bytes = ProtobufWriter.bytes(count: TestField.size(fields)) { TestField.write(fields, into: &$0) }
                bytes = PushFuzzTests.mutate(bytes, random: &random)
            }
            do {
                try TestMessage.read(bytes) { reader in
                    try TestMessage.skipAll(&reader)
                    #expect(reader.position == bytes.count)
                }
                try TestMessage.read(bytes) { reader in _ = try TestField.read(&reader, group: nil) }
            } catch let error as TestMessage.Failure {
                failed += 1
                #expect(error.offset >= 0 && error.offset <= bytes.count, "\(error) in \(bytes)")
            } catch {
                Issue.record(error)
            }
        }
        #expect(failed > 0)
    }
}

/// The kit's failures as they are, with their offsets, for the tests to compare.
enum TestMessage: ProtobufDecoderMessage {
    case test

    struct Failure: Error, Equatable {
        var failure: String
        var offset: Int
    }

    func error(_ failure: ProtobufReadFailure, at offset: Int) -> Failure {
        Failure(failure: "\(failure)", offset: offset)
    }

    /// Runs `body` with a reader over `bytes` (not at all when there are none).
    static func read(_ bytes: [UInt8], _ body: (inout ProtobufReader<TestMessage>) throws -> Void) throws {
        try bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }   // no bytes: nothing to read
            var reader = ProtobufReader(base: base, range: 0..<buffer.count, message: TestMessage.test)
            try body(&reader)
        }
    }

    static func skipAll(_ reader: inout ProtobufReader<TestMessage>) throws(Failure) {
        while !reader.isAtEnd { try reader.skipField(try reader.readTag()) }
    }
}

/// A field of a test message, of any wire type.
indirect enum TestField: Equatable {
    case varint(Int, UInt64)
    case fixed64(Int, UInt64)
    case fixed32(Int, UInt32)
    case bytes(Int, [UInt8])
    case group(Int, [TestField])

    static func tagSize(_ field: Int) -> Int {
        ProtobufWriter.varintSize(UInt64(field) << 3)
    }

    static func size(_ fields: [TestField]) -> Int {
        fields.reduce(0) { size, field in
            switch field {
            case .varint(let number, let value): size + tagSize(number) + ProtobufWriter.varintSize(value)
            case .fixed64(let number, _): size + tagSize(number) + 8
            case .fixed32(let number, _): size + tagSize(number) + 4
            case .bytes(let number, let bytes):
                size + tagSize(number) + ProtobufWriter.varintSize(UInt64(bytes.count)) + bytes.count
            case .group(let number, let inner): size + 2 * tagSize(number) + Self.size(inner)
            }
        }
    }

    static func write(_ fields: [TestField], into writer: inout ProtobufWriter) {
        for field in fields {
            switch field {
            case .varint(let number, let value): writer.writeVarintField(number, value)
            case .fixed64(let number, let value): writer.writeFixed64Field(number, value)
            case .fixed32(let number, let value): writer.writeFixed32Field(number, value)
            case .bytes(let number, let bytes): writer.writeBytesField(number, bytes, evenIfEmpty: true)
            case .group(let number, let inner):
                writer.writeTag(number, .startGroup)
                write(inner, into: &writer)
                writer.writeTag(number, .endGroup)
            }
        }
    }

    /// Reads fields to the end of the message, or to the end-group tag of `group`.
    static func read(_ reader: inout ProtobufReader<TestMessage>, group: ProtobufTag?) throws(TestMessage.Failure)
        -> [TestField]
    {
        var fields: [TestField] = []
        while !reader.isAtEnd {
            let tag = try reader.readTag()
            switch tag.wire {
            case .varint: fields.append(.varint(tag.field, try reader.varint(tag, "varint")))
            case .fixed64: fields.append(.fixed64(tag.field, try reader.fixed64(tag, "fixed64")))
            case .fixed32: fields.append(.fixed32(tag.field, try reader.fixed32(tag, "fixed32")))
            case .lengthDelimited:
                fields.append(.bytes(tag.field, Array(reader.buffer(try reader.lengthDelimited(tag, "bytes")))))
            case .startGroup: fields.append(.group(tag.field, try read(&reader, group: tag)))
            case .endGroup:
                guard tag.field == group?.field else {
                    throw TestMessage.Failure(failure: "stray end group \(tag.field)", offset: tag.offset)
                }
                return fields
            }
        }
        if let group { throw TestMessage.Failure(failure: "unterminated group \(group.field)", offset: group.offset) }
        return fields
    }
}

extension SeededRandom {
    /// Up to 8 fields of random wire types and numbers (small ones mostly, some with multi-byte tags).
    mutating func protobufFields(depth: Int) -> [TestField] {
        (0..<int(0...8)).map { _ in
            let number = chance(80) ? int(1...15) : int(16...(1 << 29) - 1)
            switch int(0...(depth < 3 ? 4 : 3)) {
            case 0:
                let bits = int(0...64)
                return .varint(number, bits == 64 ? next() : next() & ((1 << UInt64(bits)) &- 1))
            case 1: return .fixed64(number, next())
            case 2: return .fixed32(number, UInt32(truncatingIfNeeded: next()))
            case 3: return .bytes(number, bytes(chance(10) ? int(128...400) : int(0...12)))
            default: return .group(number, protobufFields(depth: depth + 1))
            }
        }
    }
}
