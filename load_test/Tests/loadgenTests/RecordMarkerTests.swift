import Testing
import Wire

@testable import loadgen

/// The per-record marker: its text, its parser (fed random and mutated lines) and its stamping into bodies.
@Suite struct RecordMarkerTests {
    @Test func formatsAndParsesBack() {
        let marker = RecordMarker(runID: "7f3a19c2", worker: 1, stream: 42, sequence: 12345,
                                  sentNanos: 1_795_000_000_123_456_789)
        #expect(marker.text == " run=7f3a19c2 seq=001.000042:0000012345 sent=1795000000123456789")
        #expect(marker.text.utf8.count == RecordMarker.byteCount)
        #expect(RecordMarker.parse(Array(("ts=1 msg=x" + marker.text).utf8)) == marker)
        // Inside the JSON line otelcol.exporter.loki writes, and at the very start of a line.
        #expect(RecordMarker.parse(Array(("{\"body\":\"a=\\\"b\\\"" + marker.text + "\",\"x\":1}").utf8)) == marker)
        #expect(RecordMarker.parse(Array(marker.text.dropFirst().utf8)) == marker)
        #expect(marker.streamKey == "001.000042")
    }

    @Test func roundTripsRandomMarkers() {
        var random = SplitMix64(seed: 11)
        for _ in 0..<2000 {
            let marker = RecordMarker(
                runID: RecordMarker.newRunID(), worker: random.next(below: RecordMarker.maxWorkers),
                stream: random.next(below: RecordMarker.maxStreams), sequence: random.next(below: 1 << 33),
                sentNanos: Int64(random.next(below: Int.max)))
            #expect(RecordMarker.parse(Array(marker.text.utf8)) == marker)
        }
    }

    @Test func randomAndMutatedLinesNeverCrash() {
        var random = SplitMix64(seed: 5)
        let good = Array(("ts=x" + RecordMarker(runID: "00ff00ff", worker: 3, stream: 7, sequence: 9,
                                                 sentNanos: 42).text + " tail").utf8)
        let alphabet = Array("run= seq.:0123456789abcdefxyz\"\\\u{0}".utf8) + [0xFF, 0xC3]
        for round in 0..<20_000 {
            var line: [UInt8]
            if round % 2 == 0 {
                line = good
                for _ in 0..<(1 + random.next(below: 4)) {
                    switch random.next(below: 3) {
                    case 0 where !line.isEmpty: line[random.next(below: line.count)] = alphabet[random.next(below: alphabet.count)]
                    case 1: line.insert(alphabet[random.next(below: alphabet.count)], at: random.next(below: line.count + 1))
                    default: if !line.isEmpty { line.remove(at: random.next(below: line.count)) }
                    }
                }
            } else {
                line = (0..<random.next(below: 200)).map { _ in alphabet[random.next(below: alphabet.count)] }
            }
            if let marker = RecordMarker.parse(line) {
                // Whatever parses is well formed.
                #expect(RecordMarker.isValidRunID(marker.runID) && marker.sequence >= 0 && marker.sentNanos >= 0)
            }
        }
        // 19 nines do not fit an Int64: not a marker, no trap.
        #expect(RecordMarker.parse(Array(" run=00000000 seq=000.000000:0000000000 sent=9999999999999999999".utf8)) == nil)
    }

    @Test(arguments: BodyEncoding.allCases)
    func pushLinesCarryGaplessSequencesPerStream(encoding: BodyEncoding) throws {
        let labels = PushMode.makeStreamLabels(count: 5)
        var pool = RequestPool(mode: PushMode.forTests(streams: labels.count, encoding: encoding), worker: 2, templateCount: 3,
                               recordsPerRequest: 12, lineBytes: 150, needleEvery: 0, startMillis: 0, runID: "abcdef01")
        var seen: [String: [Int]] = [:]
        for round in 0..<6 {
            let serialized = pool.encodeNextRequest(nowNanos: Int64(1000 + round))
            let (bytes, reservation) = (serialized.bytes, serialized.reservation)
            let request = try PushBodyDecoder.decode(body: encoding.compress(bytes), contentType: encoding.contentType,
                                                     contentEncoding: nil, maxDecompressedSize: 1 << 24)
            for stream in request.streams {
                for entry in stream.entries {
                    #expect(entry.line.count == 150)
                    let marker = try #require(RecordMarker.parse(entry.line))
                    #expect(marker.runID == "abcdef01" && marker.worker == 2 && marker.sentNanos == Int64(1000 + round))
                    #expect(stream.labels.contains("stream=\"\(marker.stream)\"") && labels.count == 5)
                    seen[marker.streamKey, default: []].append(marker.sequence)
                }
            }
            if round == 2 {
                // A request that failed for good gives its numbers back: the next one reuses them.
                pool.release(reservation)
                for slot in reservation.slots { seen[RecordMarker.streamKey(worker: 2, stream: slot.stream)]?.removeLast(slot.count) }
            } else {
                pool.acknowledge(reservation)
            }
        }
        #expect(seen.count == 5)
        for (key, sequences) in seen {
            #expect(sequences == Array(0..<sequences.count), "\(key): \(sequences)")
            #expect(pool.ledger.acknowledgedByKey[key] == sequences.count)
        }
    }

    @Test(arguments: BodyEncoding.allCases)
    func otlpBodiesCarryGaplessSequencesPerService(encoding: BodyEncoding) throws {
        var pool = RequestPool(mode: OTLPMode.forTests(encoding: encoding, attributes: 2, services: 4), worker: 4,
                               templateCount: 2, recordsPerRequest: 9, lineBytes: 215, startMillis: 0, runID: "00c0ffee")
        var seen: [String: [Int]] = [:]
        for round in 0..<5 {
            let encoded = pool.encodeNextRequest(nowNanos: Int64(7 + round))
            let (bytes, reservation) = (encoded.bytes, encoded.reservation)
            let logs = try encoding == .protobuf ? OTLPProtobuf.decodeLogsRequest(bytes) : OTLPJSON.decodeLogsRequest(bytes)
            for resource in logs.resourceLogs {
                guard case .string(let service)? = resource.resource.attributes.first?.value else {
                    Issue.record("no service.name")
                    continue
                }
                for record in resource.scopeLogs.flatMap(\.logRecords) {
                    guard case .string(let body)? = record.body else { continue }
                    #expect(body.utf8.count == 215)
                    let marker = try #require(RecordMarker.parse(Array(body.utf8)))
                    #expect(service == "svc-\(marker.stream)" && marker.worker == 4 && marker.sentNanos == Int64(7 + round))
                    seen[marker.streamKey, default: []].append(marker.sequence)
                }
            }
            pool.acknowledge(reservation)
        }
        #expect(seen.count == 4 && seen.values.reduce(0) { $0 + $1.count } == 45)
        for (key, sequences) in seen { #expect(sequences == Array(0..<sequences.count), "\(key)") }
    }
}
