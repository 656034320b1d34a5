import TestSupport
import Wire

/// Generators of push-request parts for property and fuzz tests.
extension SeededRandom {
    /// A string mixing ASCII, escapes-worthy characters, and multi-byte scalars (2, 3 and 4 bytes).
    mutating func unicodeString(maxScalars: Int) -> String {
        let pool: [Unicode.Scalar] = [
            "a", "z", "Q", "0", "9", " ", "_", "=", "{", "}", ",", "\"", "\\", "/", "'", "`",
            "\n", "\r", "\t", "\u{0}", "\u{7}", "\u{1B}", "\u{7F}", "\u{85}", "\u{A0}", "é", "ß",
            "\u{2028}", "\u{200B}", "\u{FEFF}", "\u{FFFD}", "日", "本", "語", "😀", "🚀", "\u{1F1FA}", "\u{10FFFF}",
            "\u{E000}",
        ]
        var scalars = String.UnicodeScalarView()
        for _ in 0..<int(0...maxScalars) {
            if chance(60) {
                scalars.append(Unicode.Scalar(UInt8(int(0x20...0x7E))))
            } else {
                scalars.append(pool[int(0...pool.count - 1)])
            }
        }
        return String(scalars)
    }

    mutating func labelName() -> String {
        let first = Array("abcxyz_ABCZ")
        let rest = Array("abcxyz_ABCZ0189")
        var name = String(first[int(0...first.count - 1)])
        for _ in 0..<int(0...8) { name.append(rest[int(0...rest.count - 1)]) }
        return name
    }

    mutating func timestamp() -> Int64 {
        switch int(0...9) {
        case 0: return 0
        case 1: return Int64.max
        case 2: return Int64.min
        case 3: return -Int64(int(1...2_000_000_000_000))
        case 4: return Int64(int(0...999_999_999))
        default: return 1_700_000_000_000_000_000 + Int64(int(0...1_000_000_000_000_000))
        }
    }

    /// A random request. Lines are valid UTF-8 unless `binaryLines` (protobuf-only round trips); labels are in
    /// Loki's canonical form (sorted unique names, Go-quoted values) so the JSON decoder reproduces them exactly.
    mutating func request(binaryLines: Bool = false, maxStreams: Int = 4, maxEntries: Int = 12) -> PushRequest {
        var streams: [PushStream] = []
        for _ in 0..<int(0...maxStreams) {
            var entries: [PushEntry] = []
            for _ in 0..<int(0...maxEntries) {
                let line: [UInt8] = binaryLines && chance(30)
                    ? bytes(int(0...40))
                    : Array(unicodeString(maxScalars: 60).utf8)
                var metadata: [LabelPair] = []
                if chance(30) {
                    for _ in 0..<int(1...3) {
                        metadata.append(LabelPair(name: chance(80) ? labelName() : unicodeString(maxScalars: 5),
                                                  value: unicodeString(maxScalars: 10)))
                    }
                }
                entries.append(PushEntry(timestamp: timestamp(), line: line[...], structuredMetadata: metadata))
            }
            streams.append(PushStream(labels: canonicalLabels(count: int(0...4)), entries: entries))
        }
        return PushRequest(streams: streams)
    }

    mutating func canonicalLabels(count: Int) -> String {
        var pairs: [String: String] = [:]
        // Non-empty values: LabelParser drops empty ones, as Loki does (an empty value is an absent label).
        for _ in 0..<count { pairs[labelName()] = "v" + unicodeString(maxScalars: 12) }
        return PushTestLabels.text(pairs)
    }
}

enum PushTestLabels {
    /// Loki's `labels.FromMap(m).String()` for legacy names: sorted bytewise, values Go-quoted.
    static func text(_ pairs: [String: String]) -> String {
        let sorted = pairs.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
        return "{" + sorted.map { "\($0.key)=\(GoQuote.quote($0.value))" }.joined(separator: ", ") + "}"
    }
}

/// `PushRequest` is not `Equatable` (its lines are slices of a shared buffer); tests compare these instead.
struct PushSnapshot: Equatable, CustomStringConvertible {
    struct Entry: Equatable {
        var timestamp: Int64
        var line: [UInt8]
        var metadata: [LabelPair]
    }

    struct Stream: Equatable {
        var labels: String
        var entries: [Entry]
    }

    var streams: [Stream]

    init(_ request: PushRequest) {
        streams = request.streams.map { stream in
            Stream(labels: stream.labels, entries: stream.entries.map {
                Entry(timestamp: $0.timestamp, line: Array($0.line), metadata: $0.structuredMetadata)
            })
        }
    }

    init(_ message: Logproto_PushRequest) {
        streams = message.streams.map { stream in
            Stream(labels: stream.labels, entries: stream.entries.map { entry in
                let seconds = entry.timestamp.seconds
                let nanos = Int64(entry.timestamp.nanos)
                // Same arithmetic as the decoder, spelled differently: split so Int64.min stays representable.
                let timestamp = seconds < 0 && nanos > 0
                    ? (seconds + 1) * 1_000_000_000 + (nanos - 1_000_000_000)
                    : seconds * 1_000_000_000 + nanos
                return Entry(timestamp: timestamp, line: Array(entry.line.utf8),
                             metadata: entry.structuredMetadata.map { LabelPair(name: $0.name, value: $0.value) })
            })
        }
    }

    var description: String {
        streams.map { stream in
            "\(stream.labels): " + stream.entries.map { "(\($0.timestamp), \(String(decoding: $0.line, as: UTF8.self).debugDescription), \($0.metadata))" }.joined(separator: ", ")
        }.joined(separator: "\n")
    }
}

enum PushGenerated {
    /// The generated SwiftProtobuf message for a request: the independent reference encoding.
    static func message(_ request: PushRequest) -> Logproto_PushRequest {
        var message = Logproto_PushRequest()
        message.streams = request.streams.map { stream in
            var adapter = Logproto_StreamAdapter()
            adapter.labels = stream.labels
            adapter.entries = stream.entries.map { entry in
                var generated = Logproto_EntryAdapter()
                var seconds = entry.timestamp / 1_000_000_000
                var nanos = entry.timestamp % 1_000_000_000
                if nanos < 0 {
                    seconds -= 1
                    nanos += 1_000_000_000
                }
                generated.timestamp = .init(seconds: seconds, nanos: Int32(nanos))
                generated.line = String(decoding: entry.line, as: UTF8.self)
                generated.structuredMetadata = entry.structuredMetadata.map { pair in
                    var adapter = Logproto_LabelPairAdapter()
                    adapter.name = pair.name
                    adapter.value = pair.value
                    return adapter
                }
                return generated
            }
            return adapter
        }
        return message
    }
}

/// Writes protobuf by hand, for inputs no encoder produces: unknown fields, groups, odd orders, bad data.
struct PushProtoBuilder {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func tag(_ field: UInt64, _ wire: UInt64) {
        varint(field << 3 | wire)
    }

    mutating func varintField(_ field: UInt64, _ value: UInt64) {
        tag(field, 0)
        varint(value)
    }

    mutating func bytesField(_ field: UInt64, _ value: [UInt8]) {
        tag(field, 2)
        varint(UInt64(value.count))
        bytes += value
    }

    mutating func stringField(_ field: UInt64, _ value: String) {
        bytesField(field, Array(value.utf8))
    }

    mutating func messageField(_ field: UInt64, _ build: (inout PushProtoBuilder) -> Void) {
        var inner = PushProtoBuilder()
        build(&inner)
        bytesField(field, inner.bytes)
    }

    mutating func fixed64Field(_ field: UInt64, _ value: UInt64) {
        tag(field, 1)
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    mutating func fixed32Field(_ field: UInt64, _ value: UInt32) {
        tag(field, 5)
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    mutating func group(_ field: UInt64, _ build: (inout PushProtoBuilder) -> Void) {
        tag(field, 3)
        build(&self)
        tag(field, 4)
    }

    /// Unknown fields of every wire type, groups nested inside groups included.
    mutating func unknownFields(base: UInt64 = 90) {
        varintField(base, 150)
        varintField(base + 1, UInt64.max)
        fixed64Field(base + 2, 0x0123_4567_89AB_CDEF)
        fixed32Field(base + 3, 0xDEAD_BEEF)
        bytesField(base + 4, [1, 2, 3, 0xFF])
        group(base + 5) { group in
            group.varintField(1, 7)
            group.group(2) { inner in inner.stringField(3, "nested") }
            group.fixed32Field(4, 1)
        }
    }
}

extension PushDecodeError {
    /// Whether the message names one of the layers the contract lists.
    var namesALayer: Bool {
        ["snappy", "gzip", "deflate", "proto", "json", "Content-Encoding"].contains { message.contains($0) }
    }
}
