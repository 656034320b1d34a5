import Foundation
import Testing
import TestSupport
import Wire
@testable import Backend

/// The write-ahead log's segment files: records logged by concurrent pushes come back whole and in order, segments
/// roll over at their size, and a torn or damaged tail is cut at the last whole frame without losing what precedes it.
@Suite struct WALSegmentsTests {
    static func directory() -> String {
        NSTemporaryDirectory() + "estuary-wal-\(UUID().uuidString)"
    }

    static func entries(_ lines: [String], from timestamp: Int64 = 1) -> [PushEntry] {
        lines.enumerated().map { index, line in
            PushEntry(timestamp: timestamp + Int64(index), line: ArraySlice(line.utf8),
                      structuredMetadata: index % 2 == 0 ? [] : [LabelPair(name: "trace_id", value: "t\(index)")])
        }
    }

    /// A comparable form of a record: kind, tenant, fingerprint, and labels or the entries' fields.
    static func describe(_ record: WALRecord) -> String {
        switch record {
        case .series(let tenant, let fingerprint, let labels, let last):
            return "series \(tenant) \(fingerprint) \(labels)" + (last == 0 ? "" : " last \(last)")
        case .entries(let tenant, let fingerprint, let counter, let entries):
            let text = entries.map { entry in
                "\(entry.timestamp):\(String(decoding: entry.line, as: UTF8.self))"
                    + entry.structuredMetadata.map { "[\($0.name)=\($0.value)]" }.joined()
            }
            return "entries \(tenant) \(fingerprint) " + (counter == 1 ? "" : "#\(counter) ") + text.joined(separator: ",")
        case .flushed(let tenant, let fingerprint, let counters):
            return "flushed \(tenant) \(fingerprint) \(counters)"
        case .chunk(let ref, let counters, let reason, let bytes):
            return "chunk \(ref) \(counters) \(reason) \(bytes)"
        }
    }

    static func replayed(_ directory: String) async throws -> (records: [String], outcome: WALSegments.ReplayOutcome) {
        var records: [String] = []
        let outcome = try await WALSegments.replay(directory, { records.append(describe($0)) })
        return (records, outcome)
    }

    @Test func recordsLoggedConcurrentlyAllComeBackWhole() async throws {
        let dir = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let wal = try WALSegments(directory: dir, sync: .always)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for push in 0..<64 {
                group.addTask {
                    try await wal.log([
                        .series(tenant: "t\(push % 3)", fingerprint: UInt64(push), labels: "{job=\"j\(push)\"}", last: 0),
                        .entries(tenant: "t\(push % 3)", fingerprint: UInt64(push),
                                 counter: 1, entries: Self.entries(["a\(push)", "b\(push)", "ünïcode \(push)"])),
                    ])
                }
            }
            try await group.waitForAll()
        }
        let (records, outcome) = try await Self.replayed(dir)
        #expect(outcome.damage == nil)
        #expect(records.count == 128)
        for push in 0..<64 {
            // Each push's records stay together, series first.
            let series = try #require(records.firstIndex(of: "series t\(push % 3) \(push) {job=\"j\(push)\"}"))
            #expect(records[series + 1] == "entries t\(push % 3) \(push) 1:a\(push),2:b\(push)[trace_id=t1],3:ünïcode \(push)")
        }
    }

    @Test func segmentsRollOverAtTheirSizeAndReplayInOrder() async throws {
        let dir = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let wal = try WALSegments(directory: dir, segmentSize: 1024)
        var expected: [String] = []
        for index in 0..<100 {
            let record = WALRecord.entries(tenant: "fake", fingerprint: 7, counter: 1, entries: Self.entries(["line \(index)"], from: Int64(index)))
            try await wal.log([record])
            expected.append(Self.describe(record))
        }
        #expect(WALSegments.segmentNumbers(in: dir).count > 3)
        let (records, outcome) = try await Self.replayed(dir)
        #expect(records == expected)
        #expect(outcome.damage == nil)
        #expect(outcome.segments == WALSegments.segmentNumbers(in: dir).count)
    }

    @Test func aReopenedLogStartsANewSegmentAfterTheLastOne() async throws {
        let dir = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try WALSegments(directory: dir)
        try await first.log([.series(tenant: "a", fingerprint: 1, labels: "{a=\"1\"}", last: 0)])
        let second = try WALSegments(directory: dir)
        #expect(second.currentSegment == first.currentSegment + 1)
        try await second.log([.series(tenant: "b", fingerprint: 2, labels: "{b=\"2\"}", last: 0)])
        #expect(try await Self.replayed(dir).records == ["series a 1 {a=\"1\"}", "series b 2 {b=\"2\"}"])
    }

    @Test func cutAndRemoveLeaveOnlyTheSegmentsAfterACheckpoint() async throws {
        let dir = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let wal = try WALSegments(directory: dir)
        try await wal.log([.series(tenant: "a", fingerprint: 1, labels: "{a=\"old\"}", last: 0)])
        let finished = try wal.cut()
        try await wal.log([.series(tenant: "a", fingerprint: 1, labels: "{a=\"new\"}", last: 0)])
        wal.removeSegments(through: finished)
        #expect(WALSegments.segmentNumbers(in: dir) == [finished + 1])
        #expect(try await Self.replayed(dir).records == ["series a 1 {a=\"new\"}"])
    }

    /// A crash mid-write leaves a segment cut anywhere: replay keeps every whole frame before the cut, reports the
    /// torn one, cuts the file back to the last whole frame, and a log reopened there continues cleanly.
    @Test func aTornTailIsCutAtTheLastWholeFrame() async throws {
        var random = SeededRandom(seed: FuzzBudget.seed(14))
        for _ in 0..<FuzzBudget.scaled(40) {
            let dir = Self.directory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var frames: [(end: Int, record: String)] = []
            var writer = ByteWriter()
            for index in 0..<random.int(1...12) {
                let record = WALRecord.entries(
                    tenant: "t", fingerprint: UInt64(index),
                    counter: 1, entries: Self.entries((0..<random.int(1...5)).map { "line \(index).\($0)" + String(repeating: "x", count: random.int(0...300)) }))
                WALFrame.append(record, to: &writer)
                frames.append((writer.count, Self.describe(record)))
            }
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let cut = random.int(0...writer.count)
            #expect(FileManager.default.createFile(atPath: WALSegments.path(dir, 0), contents: Data(writer.bytes[..<cut])))
            let whole = frames.filter { $0.end <= cut }
            let (records, outcome) = try await Self.replayed(dir)
            #expect(records == whole.map(\.record), "cut at \(cut) of \(writer.count)")
            let kept = whole.last?.end ?? 0
            #expect((outcome.damage == nil) == (kept == cut))
            if let damage = outcome.damage {
                #expect(damage.segment == 0 && damage.damage.offset == kept)
            }
            #expect((try? FileManager.default.attributesOfItem(atPath: WALSegments.path(dir, 0))[.size] as? Int) == kept)
            let reopened = try WALSegments(directory: dir)
            try await reopened.log([.series(tenant: "t", fingerprint: 99, labels: "{after=\"crash\"}", last: 0)])
            let again = try await Self.replayed(dir)
            #expect(again.records == whole.map(\.record) + ["series t 99 {after=\"crash\"}"])
            #expect(again.outcome.damage == nil)
        }
    }

    /// Damage in the middle of the log: replay stops there, keeps what precedes it, and drops the segments after
    /// it (they follow a gap, so replaying them would apply entries out of order).
    @Test func damageStopsReplayAndDropsLaterSegments() async throws {
        let dir = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let wal = try WALSegments(directory: dir, segmentSize: 256)
        for index in 0..<30 {
            try await wal.log([.series(tenant: "t", fingerprint: UInt64(index), labels: "{n=\"\(index)\"}" + String(repeating: " ", count: 40), last: 0)])
        }
        let numbers = WALSegments.segmentNumbers(in: dir)
        #expect(numbers.count > 4)
        let victim = WALSegments.path(dir, numbers[2])
        var bytes = try #require(FileManager.default.contents(atPath: victim))
        bytes[bytes.count - 3] ^= 0xFF   // inside the last frame's body: its checksum no longer matches
        try bytes.write(to: URL(fileURLWithPath: victim))
        let (records, outcome) = try await Self.replayed(dir)
        #expect(outcome.damage?.segment == numbers[2])
        #expect(outcome.damage?.damage.reason == "checksum mismatch")
        #expect(!records.isEmpty && records.allSatisfy { $0.hasPrefix("series t ") })
        #expect(WALSegments.segmentNumbers(in: dir) == Array(numbers[...2]))
        // What was kept replays again without damage.
        let again = try await Self.replayed(dir)
        #expect(again.records == records && again.outcome.damage == nil)
    }

    /// No bytes can make the reader trap or read out of bounds: random bytes, and random mutations of a valid
    /// segment. Whatever it returns from a mutated segment is a prefix of the original records.
    @Test func anyBytesAreReadSafely() throws {
        var random = SeededRandom(seed: FuzzBudget.seed(1414))
        var writer = ByteWriter()
        var original: [String] = []
        for index in 0..<20 {
            let tenant = "tenant-\(index)"
            let record: WALRecord
            switch index % 4 {
            case 0: record = .series(tenant: tenant, fingerprint: UInt64(index), labels: "{i=\"\(index)\"}", last: Int64(index))
            case 1: record = .flushed(tenant: tenant, fingerprint: UInt64(index), counters: Int64(index)...Int64(index * 3))
            case 2:
                let ref = ChunkRef(tenant: tenant, fingerprint: UInt64(index), from: 1, through: 2, checksum: 3, size: 3,
                                   entries: 2, uncompressedSize: 9)
                record = .chunk(ref: ref, counters: 5...9, reason: .idle, bytes: [1, 2, 3])
            default:
                record = .entries(tenant: tenant, fingerprint: UInt64(index), counter: Int64(index),
                                  entries: Self.entries(["l\(index)", "m\(index)"]))
            }
            WALFrame.append(record, to: &writer)
            original.append(Self.describe(record))
        }
        for round in 0..<FuzzBudget.scaled(3_000) {
            var bytes: [UInt8]
            if round % 3 == 0 {
                bytes = random.bytes(random.int(0...200))
            } else {
                bytes = writer.bytes
                for _ in 0..<random.int(1...4) {
                    let at = random.int(0...(bytes.count - 1))
                    bytes[at] = UInt8(truncatingIfNeeded: random.int(0...255))
                }
                if random.chance(30) { bytes.removeLast(random.int(0...min(40, bytes.count))) }
            }
            var read: [String] = []
            let damage = bytes.withUnsafeBytes { buffer in
                WALFrame.read(buffer) { read.append(Self.describe($0)) }
            }
            if round % 3 != 0 {
                #expect(Array(original.prefix(read.count)) == read, "seed round \(round)")
            }
            if damage == nil && round % 3 != 0 {
                #expect(read == original || bytes.count < writer.count)
            }
        }
    }
}
