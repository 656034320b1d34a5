import Foundation
import Wire

/// Generates the hostile requests of `loadgen hostile`, deterministically: request `index` of a family depends only
/// on the seed, the family, the index and the fixed context (tenant, selector, clock reading), never on other
/// requests or on timing, so `--seed S --families F --first-index I --requests-per-family 1` sends it again.
struct HostileGenerator: Sendable {
    var seed: UInt64
    /// The tenant that owns the known good entries; hostile queries read it, some hostile pushes write to it.
    var goodTenant: String
    /// The selector of the known good entries (`{job="hostile-good"}`).
    var goodSelector: String
    /// The wall clock in Unix ns when the run started: query ranges are drawn around it.
    var nowNanos: Int64

    init(seed: UInt64, goodTenant: String = "hostile-good", goodSelector: String = #"{job="hostile-good"}"#,
         nowNanos: Int64) {
        self.seed = seed
        self.goodTenant = goodTenant
        self.goodSelector = goodSelector
        self.nowNanos = nowNanos
    }

    /// The random source of one request.
    func random(_ family: HostileFamily, _ index: Int) -> SplitMix64 {
        var mixer = SplitMix64(seed: seed ^ family.salt ^ (UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15))
        return SplitMix64(seed: mixer.next())
    }

    /// Request `index` of `family`.
    func request(_ family: HostileFamily, index: Int) -> HostileRequest {
        var random = random(family, index)
        switch family {
        case .pushProtobuf: return pushProtobuf(&random, target: .backend)
        case .pushJSON: return pushJSON(&random, target: .backend)
        case .queryParameters: return queryParameters(&random)
        case .logQL: return logQL(&random)
        case .otlp: return otlp(&random)
        case .sourceAPI:
            return random.next(below: 2) == 0 ? pushProtobuf(&random, target: .sourceAPI)
                : pushJSON(&random, target: .sourceAPI)
        case .headers: return headers(&random)
        }
    }

    /// A tenant for a hostile push: mostly throwaway ones, sometimes the owner of the good entries.
    func pushTenant(_ random: inout SplitMix64) -> String {
        [goodTenant, "hostile", "hostile-b", "hostile-c"][random.next(below: 4)]
    }

    // MARK: Push, protobuf

    /// A valid push request with 1-3 streams of 1-20 entries, timestamps near now, some lines of `a`s.
    func validPush(_ random: inout SplitMix64) -> PushRequest {
        var request = PushRequest()
        for stream in 0..<(1 + random.next(below: 3)) {
            var entries: [PushEntry] = []
            for entry in 0..<(1 + random.next(below: 20)) {
                let line = random.next(below: 3) == 0 ? String(repeating: "a", count: 30)
                    : "hostile line \(stream).\(entry) level=info msg=\"x\" n=\(random.next(below: 1000))"
                entries.append(PushEntry(timestamp: nowNanos - 60_000_000_000 + Int64(entry) * 1_000_000,
                                         line: Array(line.utf8)[...],
                                         structuredMetadata: random.next(below: 4) == 0
                                            ? [LabelPair(name: "trace_id", value: "t\(entry)")] : []))
            }
            request.streams.append(PushStream(labels: #"{job="hostile", stream="\#(stream)"}"#, entries: entries))
        }
        return request
    }

    /// An entry written by hand (`logproto.EntryAdapter`): any seconds and nanos, any line bytes.
    static func entryBytes(seconds: Int64, nanos: Int64, line: [UInt8], metadata: [([UInt8], [UInt8])] = [])
        -> [UInt8]
    {
        ProtobufBytes.message { entry in
            entry.bytesField(1, ProtobufBytes.message { timestamp in
                timestamp.varintField(1, UInt64(bitPattern: seconds))
                timestamp.varintField(2, UInt64(bitPattern: nanos))
            })
            entry.bytesField(2, line)
            for (name, value) in metadata {
                entry.bytesField(3, ProtobufBytes.message { pair in
                    pair.bytesField(1, name)
                    pair.bytesField(2, value)
                })
            }
        }
    }

    /// A push request written by hand: streams of (labels, entries' bytes).
    static func pushBytes(_ streams: [([UInt8], [[UInt8]])]) -> [UInt8] {
        ProtobufBytes.message { request in
            for (labels, entries) in streams {
                request.bytesField(1, ProtobufBytes.message { stream in
                    stream.bytesField(1, labels)
                    for entry in entries { stream.bytesField(2, entry) }
                })
            }
        }
    }

    func pushProtobuf(_ random: inout SplitMix64, target: HostileRequest.Target) -> HostileRequest {
        let valid = PushProtobufEncoder.encode(validPush(&random))
        let labels = Array(#"{job="hostile"}"#.utf8)
        let line = Array("hostile line".utf8)
        var compress = true
        var payload: [UInt8] = []
        var summary = ""
        switch random.next(below: 12) {
        case 0:
            let count = 1 + random.next(below: 8)
            var bytes = valid
            for _ in 0..<count where !bytes.isEmpty {
                bytes[random.next(below: bytes.count)] = UInt8(truncatingIfNeeded: random.next())
            }
            (payload, summary) = (bytes, "protobuf with \(count) random bytes overwritten, then snappy")
        case 1:
            let keep = random.next(below: max(1, valid.count))
            (payload, summary) = (Array(valid.prefix(keep)), "protobuf truncated at \(keep) of \(valid.count) bytes")
        case 2:
            let lengths: [UInt64] = [.max, 1 << 63, 1 << 32, 0xFFFF_FFFF, UInt64(Int32.max), 1 << 31 - 1, 1 << 20]
            let length = lengths[random.next(below: lengths.count)]
            var bytes = ProtobufBytes()
            bytes.tag(1, wire: 2)
            bytes.bytes.append(contentsOf: ProtobufBytes.varint(length))
            bytes.bytes.append(contentsOf: valid.prefix(32))
            (payload, summary) = (bytes.bytes, "a stream whose length varint says \(length)")
        case 3:
            // An over-long varint: 11 continuation bytes, and a length inside a valid stream that lies.
            var bytes: [UInt8] = [0x0A] + [UInt8](repeating: 0xFF, count: 11) + [0x01]
            if random.next(below: 2) == 0 {
                bytes = [0x0A, 0x10, 0x0A, 0x7F] + Array("{job=\"x\"}".utf8)
            }
            (payload, summary) = (bytes, "an over-long varint or a nested length past the end")
        case 4:
            let nanos = HostileValues.timestampNanos[random.next(below: HostileValues.timestampNanos.count)]
            var request = validPush(&random)
            for stream in request.streams.indices {
                for entry in request.streams[stream].entries.indices {
                    request.streams[stream].entries[entry].timestamp = nanos
                }
            }
            (payload, summary) = (PushProtobufEncoder.encode(request), "every entry at timestamp \(nanos) ns")
        case 5:
            let pairs: [(Int64, Int64)] = [
                (0, -1), (0, 1_000_000_000), (0, Int64(Int32.max)), (0, Int64(Int32.min)), (.max, 999_999_999),
                (.min, -999_999_999), (.max, .max), (.min, .min), (9_223_372_036, 854_775_808),
                (-9_223_372_037, 145_224_191), (253_402_300_800, 0), (-62_135_596_801, 0),
            ]
            let (seconds, nanos) = pairs[random.next(below: pairs.count)]
            (payload, summary) = (Self.pushBytes([(labels, [Self.entryBytes(seconds: seconds, nanos: nanos, line: line)])]),
                                  "a timestamp of seconds=\(seconds) nanos=\(nanos)")
        case 6:
            let odd = HostileValues.oddLabels[random.next(below: HostileValues.oddLabels.count)]
            let entry = Self.entryBytes(seconds: (nowNanos / 1_000_000_000) - 60, nanos: 0, line: line)
            (payload, summary) = (Self.pushBytes([(Array(odd.utf8), [entry])]),
                                  "labels \(Self.shown(odd))")
        case 7:
            let invalid: [[UInt8]] = [[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80],
                                      [0xE2, 0x82], [0x00]]
            let bad = invalid[random.next(below: invalid.count)]
            let entry = Self.entryBytes(seconds: (nowNanos / 1_000_000_000) - 60, nanos: 0, line: line + bad + line,
                                        metadata: [(Array("k".utf8) + bad, bad)])
            let badLabels = random.next(below: 2) == 0 ? Array("{job=\"".utf8) + bad + Array("\"}".utf8) : labels
            (payload, summary) = (Self.pushBytes([(badLabels, [entry])]),
                                  "invalid UTF-8 \(bad.map { String(format: "%02X", $0) }.joined()) in line, "
                                    + "metadata\(badLabels == labels ? "" : " and labels")")
        case 8:
            compress = false
            let junk: [[UInt8]] = [
                [], [0x00], [0xFF, 0xFF, 0xFF, 0xFF, 0x0F], ProtobufBytes.varint(UInt64(UInt32.max)) + [0x00, 0x01],
                [0x10] + [UInt8](repeating: 0xFE, count: 64), [0x05, 0xFD, 0xFF, 0xFF, 0x0F, 0x00],
                SnappyFramed.encode(valid), Gzip.compress(valid), valid,
                Array(Snappy.compress(valid).dropLast(random.next(below: 8) + 1)),
                ProtobufBytes.varint(1 << 40) + Array(Snappy.compress(valid).dropFirst(1)),
            ]
            let pick = random.next(below: junk.count)
            (payload, summary) = (junk[pick], "bad snappy block #\(pick) (\(junk[pick].count) B)")
        case 9:
            compress = false
            var bytes = Snappy.compress(valid)
            let count = 1 + random.next(below: 6)
            for _ in 0..<count where !bytes.isEmpty {
                bytes[random.next(below: bytes.count)] = UInt8(truncatingIfNeeded: random.next())
            }
            (payload, summary) = (bytes, "snappy block with \(count) random bytes overwritten")
        case 10:
            let size = [256 * 1024 + 1, 1 << 20, 4 << 20][random.next(below: 3)]
            let big = [UInt8](repeating: 0x61, count: size)
            let entry = Self.entryBytes(seconds: (nowNanos / 1_000_000_000) - 60, nanos: 0, line: big)
            (payload, summary) = (Self.pushBytes([(labels, [entry])]), "one line of \(size) bytes")
        default:
            let streams = [1_000, 10_000][random.next(below: 2)]
            let entry = Self.entryBytes(seconds: (nowNanos / 1_000_000_000) - 60, nanos: 0, line: line)
            let many = (0..<streams).map { (Array("{job=\"hostile\", n=\"\($0)\"}".utf8), [entry]) }
            (payload, summary) = (Self.pushBytes(many), "\(streams) streams in one request")
        }
        return HostileRequest(
            target: target, path: "/loki/api/v1/push",
            headers: [HeaderField("Content-Type", "application/x-protobuf"),
                      HeaderField("X-Scope-OrgID", pushTenant(&random))],
            body: compress ? Snappy.compress(payload) : payload, summary: summary)
    }

    /// A value for a report: at most 80 characters, with its length when cut.
    static func shown(_ text: String) -> String {
        text.count > 80 ? "\(text.prefix(80).debugDescription)…(\(text.utf8.count) B)" : text.debugDescription
    }
}
