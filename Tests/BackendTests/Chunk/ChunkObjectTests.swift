import TestSupport
import Foundation
import Testing
import Wire
@testable import Backend

@Suite struct ChunkObjectTests {
    struct Entry: Equatable {
        var timestamp: Int64
        var line: String
        var metadata: [LabelPair]
    }

    static let labels = LabelSet([LabelPair(name: "job", value: "api"), LabelPair(name: "env", value: "prod")])

    static func entries(_ count: Int, seed: UInt64, shuffled: Bool = false) -> [Entry] {
        var rng = SeededRandom(seed: seed)
        var result = (0..<count).map { i -> Entry in
            let metadata = i % 7 == 0 ? [LabelPair(name: "trace_id", value: "t\(i % 13)")] : []
            let filler = String(repeating: "x", count: Int(rng.next() % 200))
            return Entry(timestamp: 1_700_000_000_000_000_000 + Int64(i) * 1_000_003, line: "level=info i=\(i) ü \(filler)",
                         metadata: metadata)
        }
        if shuffled { result.shuffle(using: &rng) }
        return result
    }

    static func read(_ chunk: MemChunk, from: Int64 = .min, through: Int64 = .max, direction: Direction = .forward) throws -> [Entry] {
        var out: [Entry] = []
        try chunk.forEachEntry(from: from, through: through, direction: direction) { ts, line, metadata in
            out.append(Entry(timestamp: ts, line: String(decoding: line, as: UTF8.self), metadata: try metadata.resolve()))
            return true
        }
        return out
    }

    static func fill(_ encoding: ChunkEncoding, _ entries: [Entry], blockSize: Int = 4096) throws -> MemChunk {
        let chunk = MemChunk(encoding: encoding, blockSize: blockSize, targetSize: 0)
        for entry in entries {
            try chunk.append(timestamp: entry.timestamp, line: Array(entry.line.utf8)[...], structuredMetadata: entry.metadata)
        }
        return chunk
    }

    @Test(arguments: ChunkEncoding.allCases)
    func encodeDecodeRoundTripKeepsEveryEntryAndItsMetadata(encoding: ChunkEncoding) throws {
        let entries = Self.entries(800, seed: 1)
        let chunk = try Self.fill(encoding, entries)
        #expect(chunk.blocks.count > 3)
        let (ref, bytes) = try ChunkObject.encode(tenant: "team-a", labels: Self.labels, chunk: chunk)
        #expect(ref.checksum == CRC32C.checksum(bytes))
        #expect(ref.size == bytes.count)
        #expect(ref.entries == entries.count)
        #expect(ref.fingerprint == Self.labels.fingerprint)
        #expect(ref.from == entries[0].timestamp / 1_000_000)
        #expect(ref.through == (entries[entries.count - 1].timestamp + 999_999) / 1_000_000)

        let decoded = try ChunkObject.decode(bytes)
        #expect(decoded.tenant == "team-a")
        #expect(decoded.labels == Self.labels)
        #expect(decoded.fingerprint == ref.fingerprint)
        #expect(decoded.from == ref.from && decoded.through == ref.through)
        #expect(try Self.read(decoded.chunk) == entries)
        #expect(try Self.read(decoded.chunk, direction: .backward) == entries.reversed())
    }

    @Test func outOfOrderEntriesComeBackSortedAndTimeRangeIsHalfOpen() throws {
        let entries = Self.entries(500, seed: 2, shuffled: true)
        let chunk = try Self.fill(.snappy, entries, blockSize: 2048)
        let sorted = entries.sorted { $0.timestamp < $1.timestamp }
        #expect(try Self.read(chunk) == sorted)   // before close: blocks overlap, merged on read
        let decoded = try ChunkObject.decode(ChunkObject.encode(tenant: "t", labels: Self.labels, chunk: chunk).bytes).chunk
        #expect(try Self.read(decoded) == sorted)
        let from = sorted[100].timestamp
        let through = sorted[200].timestamp
        #expect(try Self.read(decoded, from: from, through: through) == Array(sorted[100..<200]))
        #expect(try Self.read(decoded, from: from, through: through, direction: .backward) == sorted[100..<200].reversed())
    }

    /// A querier passes one scratch buffer from chunk to chunk: stale bytes of a larger chunk read before must never
    /// show through, in order or merged, in either direction.
    @Test(arguments: ChunkEncoding.allCases)
    func oneScratchBufferServesChunkAfterChunk(encoding: ChunkEncoding) throws {
        let large = try Self.fill(encoding, Self.entries(900, seed: 5), blockSize: 8192)
        let shuffled = try Self.fill(encoding, Self.entries(300, seed: 6, shuffled: true), blockSize: 2048)
        let small = try Self.fill(encoding, Self.entries(40, seed: 7), blockSize: 1024)
        var scratch: [UInt8] = []
        for direction in [Direction.forward, .backward] {
            for chunk in [large, small, shuffled, small, large] {
                var read: [Entry] = []
                try chunk.forEachEntry(from: .min, through: .max, direction: direction, scratch: &scratch) {
                    ts, line, metadata in
                    read.append(Entry(timestamp: ts, line: String(decoding: line, as: UTF8.self),
                                      metadata: try metadata.resolve()))
                    return true
                }
                #expect(read == (try Self.read(chunk, direction: direction)))
                #expect(read.count == chunk.entryCount)
            }
        }
    }

    @Test func readingStopsWhenAsked() throws {
        let chunk = try Self.fill(.gzip, Self.entries(300, seed: 3))
        var seen = 0
        try chunk.forEachEntry(from: .min, through: .max, direction: .backward) { _, _, _ in
            seen += 1
            return seen < 5
        }
        #expect(seen == 5)
    }

    @Test func targetSizeDecidesWhenTheChunkIsFull() throws {
        let chunk = MemChunk(encoding: .none, blockSize: 1000, targetSize: 5000)
        var appended = 0
        while chunk.spaceFor(lineBytes: 100) {
            try chunk.append(timestamp: Int64(appended), line: Array(repeating: 65, count: 100)[...], structuredMetadata: [])
            appended += 1
        }
        // Blocks count at their stored size (entries plus framing), the head at its line bytes: 4 blocks and a
        // partial head fit under 5000 bytes, never 50 lines of 100 bytes.
        #expect((40..<50).contains(appended))
        #expect(chunk.entryCount == appended)
    }

    @Test func objectKeysFollowSchemaV13AndLokisFilesystemStore() {
        let ref = ChunkRef(tenant: "fake", fingerprint: 0xabc, from: 0x18f, through: 0x1a0, checksum: 0xdeadbeef,
                           size: 1, entries: 1, uncompressedSize: 1)
        #expect(ChunkKey.external(ref) == "fake/abc/18f:1a0:deadbeef")
        #expect(ChunkKey.filesystem(ref) == "fake/abc/" + Data("18f:1a0:deadbeef".utf8).base64EncodedString())
    }

    @Test func headerTimesAreModelTimeJSON() {
        #expect(ChunkObject.modelTime(1_700_000_000_123) == "1700000000.123")
        #expect(ChunkObject.modelTime(1_700_000_000_100) == "1700000000.1")
        #expect(ChunkObject.modelTime(1_700_000_000_000) == "1700000000")
        #expect(ChunkObject.modelTime(5) == "0.005")
    }

    /// Stored objects are untrusted input: damaged chunks must give errors, never crashes.
    @Test(arguments: [ChunkEncoding.snappy, .gzip, .none])
    func damagedObjectsFailCleanly(encoding: ChunkEncoding) throws {
        let chunk = try Self.fill(encoding, Self.entries(200, seed: 4))
        let (_, good) = try ChunkObject.encode(tenant: "t", labels: Self.labels, chunk: chunk)
        var rng = SeededRandom(seed: FuzzBudget.seed(5))
        var failures = 0
        for round in 0..<FuzzBudget.scaled(1500) {
            var bytes = good
            switch round % 4 {
            case 0:
                for _ in 0...(rng.next() % 4) { bytes[Int(rng.next() % UInt64(bytes.count))] ^= UInt8(1 << (rng.next() % 8)) }
            case 1:
                bytes.removeLast(Int(rng.next() % UInt64(bytes.count)))
            case 2:
                bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: Int(rng.next() % UInt64(bytes.count)))
            default:
                bytes = (0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            }
            do {
                let decoded = try ChunkObject.decode(bytes)
                _ = try Self.read(decoded.chunk)
            } catch {
                failures += 1
            }
        }
        #expect(failures > 1000)
    }
}


/// Blocks cut raw (compression deferred off the shard lock) read the same before and after they are compressed, in
/// order and out of order, and encode to the same object as blocks compressed at once.
@Suite struct DeferredCompressionTests {
    @Test(arguments: [false, true])
    func rawBlocksReadAndEncodeLikeCompressedOnes(shuffled: Bool) throws {
        let entries = ChunkObjectTests.entries(400, seed: 7, shuffled: shuffled)
        let eager = try ChunkObjectTests.fill(.snappy, entries)
        let deferred = MemChunk(encoding: .snappy, blockSize: 4096, targetSize: 0)
        deferred.defersCompression = true
        for entry in entries {
            try deferred.append(timestamp: entry.timestamp, line: Array(entry.line.utf8)[...],
                                structuredMetadata: entry.metadata)
        }
        let raw = deferred.rawBlocks()
        #expect(raw.count > 3)
        let expected = try ChunkObjectTests.read(eager)
        #expect(try ChunkObjectTests.read(deferred) == expected)
        #expect(try ChunkObjectTests.read(deferred, direction: .backward) == expected.reversed())
        // Compress half of them, as a pusher that raced another one might have.
        for block in raw.prefix(raw.count / 2) {
            deferred.install(deferred.seal(block.data), at: block.index, rawSize: block.data.count)
        }
        #expect(try ChunkObjectTests.read(deferred) == expected)
        let a = try ChunkObject.encode(tenant: "t", labels: ChunkObjectTests.labels, chunk: eager)
        let b = try ChunkObject.encode(tenant: "t", labels: ChunkObjectTests.labels, chunk: deferred)
        #expect(deferred.rawBlocks().isEmpty)
        #expect(a.bytes == b.bytes)
    }
}

/// What a head chunk is counted for in the ingester's memory ceiling: its buffers as allocated.
@Suite struct HeldBytesTests {
    @Test func theHeadBufferStopsAtAFullBlockAndHeldBytesFollowsWhatIsAllocated() throws {
        let blockSize = 256 << 10
        let chunk = MemChunk(encoding: .snappy, blockSize: blockSize, targetSize: 0)
        chunk.defersCompression = true
        let line = Array(String(repeating: "l", count: 180).utf8)[...]
        var peakBeforeCut = 0
        var t: Int64 = 1
        while true {
            let cut = try chunk.append(timestamp: t, line: line, structuredMetadata: [])
            t += 1
            if cut { break }
            peakBeforeCut = max(peakBeforeCut, chunk.heldBytes)
        }
        // A block of 180-byte lines takes a little more than the block size with its framing: the buffer holding it
        // is at most a quarter bigger (and the allocator's rounding), not doubled to 512 KiB.
        #expect(peakBeforeCut > blockSize)
        #expect(peakBeforeCut <= blockSize + blockSize / 4 + 64)
        // The cut block is counted raw until its compressed form is installed, then compressed.
        let raw = try #require(chunk.rawBlocks().first)
        let rawHeld = chunk.heldBytes
        #expect(rawHeld >= raw.data.count)
        let sealed = chunk.seal(raw.data)
        chunk.install(sealed, at: raw.index, rawSize: raw.data.count)
        #expect(chunk.heldBytes == rawHeld - raw.data.count + sealed.data.count + (sealed.sketch?.byteCount ?? 0))
    }

    @Test func tinyLinesStillGrowTheBufferGeometrically() throws {
        // Lines far smaller than their framing overrun the quarter's headroom; the buffer must keep doubling past
        // it, not grow by one entry at a time.
        let chunk = MemChunk(encoding: .none, blockSize: 4096, targetSize: 0)
        var capacities: Set<Int> = []
        for t in 0..<2000 {
            try chunk.append(timestamp: Int64(t), line: [0x61][...], structuredMetadata: [])
            capacities.insert(chunk.heldBytes)
        }
        #expect(capacities.count < 40)
    }
}
