import Foundation
import Testing
import TestSupport
import Wire
@testable import Backend

/// The ingester with its write-ahead log: what was acknowledged comes back after a crash (an ingester dropped
/// without stopping), once, whether it sat in the segments, a checkpoint or the store.
@Suite struct IngesterWALTests {
    static func settings(_ directory: String) -> IngesterSettings {
        var settings = IngesterSettings()
        settings.wal.directory = directory
        settings.wal.segmentSize = 4096
        settings.blockSize = 1024
        settings.targetSize = 4096
        return settings
    }

    /// A started engine over `store` with its WAL in `directory`.
    static func engine(_ directory: String, store: InMemoryObjectStore, clock: EngineTests.TestClock = .init(),
                       configure: (inout IngesterSettings) -> Void = { _ in }) async throws -> EngineTests.Engine {
        var settings = settings(directory)
        configure(&settings)
        let engine = EngineTests.Engine(store: store, settings: settings, clock: clock)
        try await engine.ingester.start()
        return engine
    }

    /// A WAL directory (removed by `remove()`), a store and a clock that engines restarted on them share.
    struct Fixture {
        let dir = WALSegmentsTests.directory()
        let store = InMemoryObjectStore()
        let clock = EngineTests.TestClock()
        func remove() { try? FileManager.default.removeItem(atPath: dir) }
    }

    static func value(_ engine: EngineTests.Engine, _ name: String) -> Double {
        let text = String(decoding: engine.metrics.render(), as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.split(separator: " ")[1]) ?? .nan
        }
        return 0
    }

    static func lines(_ range: Range<Int>, at t: Int64) -> [(Int64, String)] {
        range.map { (t - 10_000 + Int64($0), "line \($0) " + String(repeating: "x", count: $0 % 50)) }
    }

    @Test func acknowledgedEntriesSurviveACrash() async throws {
        let fixture = Fixture()
        defer { fixture.remove() }
        let (dir, store, clock, t) = (fixture.dir, fixture.store, fixture.clock, fixture.clock.now)
        let first = try await Self.engine(dir, store: store, clock: clock)
        #expect(first.ingester.isReady)
        let lines = Self.lines(0..<300, at: t)
        for batch in stride(from: 0, to: lines.count, by: 30) {
            #expect(try await first.push(#"{job="a"}"#, Array(lines[batch..<batch + 30])).status == 204)
            #expect(try await first.push(#"{job="b", env="x"}"#, [lines[batch]]).status == 204)
        }
        #expect(Self.value(first, "loki_ingester_wal_records_logged_total") >= 21)
        #expect(Self.value(first, "loki_ingester_wal_logged_bytes_total") > 10_000)

        // A crash: the first ingester never stops, nothing was flushed.
        #expect(store.keys.isEmpty)
        let second = try await Self.engine(dir, store: store, clock: clock)
        #expect(try await second.select(#"{job="a"}"#).map(\.1) == lines.map(\.1))
        #expect(try await second.select(#"{job="b"}"#).count == 10)
        #expect(Self.value(second, "loki_ingester_wal_corruptions_total") == 0)
        #expect(Self.value(second, "loki_ingester_wal_replay_active") == 0)

        // Pushes go on after the replay, and a second crash brings back both generations, once each.
        let more = Self.lines(300..<400, at: t)
        #expect(try await second.push(#"{job="a"}"#, more).status == 204)
        let third = try await Self.engine(dir, store: store, clock: clock)
        #expect(try await third.select(#"{job="a"}"#).map(\.1) == (lines + more).map(\.1))
    }

    @Test func aCheckpointReplacesItsSegmentsAndReplayHoldsEachEntryOnce() async throws {
        let fixture = Fixture()
        defer { fixture.remove() }
        let (dir, store, clock, t) = (fixture.dir, fixture.store, fixture.clock, fixture.clock.now)
        let first = try await Self.engine(dir, store: store, clock: clock)
        let before = Self.lines(0..<200, at: t)
        for batch in stride(from: 0, to: before.count, by: 20) {
            #expect(try await first.push(#"{job="a"}"#, Array(before[batch..<batch + 20])).status == 204)
        }
        #expect(WALSegments.segmentNumbers(in: dir).count > 1)
        await first.ingester.checkpoint()
        #expect(WALCheckpoint.numbers(in: dir).count == 1)
        // Only the segment opened by the checkpoint's cut is left.
        #expect(WALSegments.segmentNumbers(in: dir).count == 1)
        #expect(Self.value(first, "loki_ingester_checkpoint_logged_bytes_total") > 0)
        let after = Self.lines(200..<260, at: t)
        #expect(try await first.push(#"{job="a"}"#, after).status == 204)
        #expect(try await first.push(#"{job="new"}"#, [(t, "after the checkpoint")]).status == 204)

        let second = try await Self.engine(dir, store: store, clock: clock)
        #expect(try await second.select(#"{job="a"}"#).map(\.1) == (before + after).map(\.1))
        #expect(try await second.select(#"{job="new"}"#).map(\.1) == ["after the checkpoint"])
        // Replay wrote a checkpoint of its own: a third start reads that one, with the same result.
        let third = try await Self.engine(dir, store: store, clock: clock)
        #expect(try await third.select(#"{job="a"}"#).map(\.1) == (before + after).map(\.1))
    }

    @Test func flushedEntriesAreNotReplayed() async throws {
        let fixture = Fixture()
        defer { fixture.remove() }
        let (dir, store, clock, t) = (fixture.dir, fixture.store, fixture.clock, fixture.clock.now)
        let first = try await Self.engine(dir, store: store, clock: clock)
        let flushed = Self.lines(0..<100, at: t)
        #expect(try await first.push(#"{job="a"}"#, flushed).status == 204)
        await first.ingester.flush()
        let kept = Self.lines(100..<120, at: t)
        #expect(try await first.push(#"{job="a"}"#, kept).status == 204)
        let stored = store.keys.count

        let second = try await Self.engine(dir, store: store, clock: clock)
        // Each entry once: the flushed ones from the store, the others from the replayed memory.
        #expect(try await second.select(#"{job="a"}"#).map(\.1) == (flushed + kept).map(\.1))
        let memory = try second.ingester.snapshot(
            tenant: "t", from: .min, through: .max, direction: .forward, limit: 1000, matches: { _ in true },
            lineFilter: { _ in true })
        #expect(memory.flatMap(\.headEntries).count == kept.count)
        #expect(memory.allSatisfy { $0.closedChunks.isEmpty })
        await second.ingester.flush()
        #expect(store.keys.count > stored)
        #expect(try await second.select(#"{job="a"}"#).map(\.1) == (flushed + kept).map(\.1))
    }

    @Test func aDamagedTailIsCutCountedAndStartUpGoesOn() async throws {
        let fixture = Fixture()
        defer { fixture.remove() }
        let (dir, store, clock, t) = (fixture.dir, fixture.store, fixture.clock, fixture.clock.now)
        let first = try await Self.engine(dir, store: store, clock: clock) { $0.wal.segmentSize = 1 << 20 }
        let lines = Self.lines(0..<50, at: t)
        #expect(try await first.push(#"{job="a"}"#, lines).status == 204)
        let segment = try #require(WALSegments.segmentNumbers(in: dir).last)
        let handle = try #require(FileHandle(forWritingAtPath: WALSegments.path(dir, segment)))
        handle.seekToEndOfFile()
        handle.write(Data([0, 0, 0, 40, 1, 2, 3, 4, 5, 6]))   // a torn frame: a header promising 40 bytes
        try handle.close()

        let second = try await Self.engine(dir, store: store, clock: clock)
        #expect(Self.value(second, "loki_ingester_wal_corruptions_total") == 1)
        #expect(try await second.select(#"{job="a"}"#).map(\.1) == lines.map(\.1))
        #expect(try await second.push(#"{job="a"}"#, [(t, "after the damage")]).status == 204)
    }

    @Test func pushesWaitForReplay() async throws {
        let dir = WALSegmentsTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let engine = EngineTests.Engine(store: InMemoryObjectStore(), settings: Self.settings(dir))
        #expect(!engine.ingester.isReady)
        await #expect(throws: Ingester.Unavailable.self) {
            _ = try await engine.push(#"{job="a"}"#, [(engine.clock.now, "too early")])
        }
        try await engine.ingester.start()
        #expect(engine.ingester.isReady)
        #expect(try await engine.push(#"{job="a"}"#, [(engine.clock.now, "in time")]).status == 204)
    }

    @Test func replayPastTheMemoryCeilingFlushesToTheStore() async throws {
        let fixture = Fixture()
        defer { fixture.remove() }
        let (dir, store, clock, t) = (fixture.dir, fixture.store, fixture.clock, fixture.clock.now)
        let first = try await Self.engine(dir, store: store, clock: clock)
        let lines = Self.lines(0..<400, at: t)
        for stream in 0..<4 {
            #expect(try await first.push("{job=\"s\(stream)\"}", lines).status == 204)
        }
        #expect(store.keys.isEmpty)
        let second = try await Self.engine(dir, store: store, clock: clock) { $0.wal.replayMemoryCeiling = 8192 }
        #expect(!store.keys.isEmpty)
        for stream in 0..<4 {
            #expect(try await second.select("{job=\"s\(stream)\"}").map(\.1) == lines.map(\.1))
        }
    }

    /// Entries refused by a limit are not logged: replay brings back exactly what was acknowledged.
    @Test func onlyAcceptedEntriesAreLogged() async throws {
        let fixture = Fixture()
        defer { fixture.remove() }
        let (dir, store, clock, t) = (fixture.dir, fixture.store, fixture.clock, fixture.clock.now)
        let first = try await Self.engine(dir, store: store, clock: clock)
        // The second entry is more than max_chunk_age / 2 behind the first: refused as too far behind.
        let outcome = try await first.push(#"{job="a"}"#, [(t - 1, "kept"), (t - 2 * 3_600_000_000_000, "behind"), (t, "also kept")])
        #expect(outcome.accepted == 2)
        let second = try await Self.engine(dir, store: store, clock: clock)
        #expect(try await second.select(#"{job="a"}"#).map(\.1) == ["kept", "also kept"])
    }
}

/// A full disk refuses pushes with 503 and loses nothing acknowledged; pushes resume by themselves once space
/// returns.
@Suite(.serialized) struct WALDiskFullTests {
    /// A 1 MiB tmpfs the test mounts itself (root only), unmounted at the end.
    final class SmallFilesystem {
        let path = WALSegmentsTests.directory()
        init?() throws {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            guard Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", path]) == 0 else {
                try? FileManager.default.removeItem(atPath: path)
                return nil
            }
        }
        deinit {
            _ = Self.run("/bin/umount", [path])
            try? FileManager.default.removeItem(atPath: path)
        }
        static func run(_ tool: String, _ arguments: [String]) -> Int32 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = arguments
            process.standardError = FileHandle.nullDevice
            guard (try? process.run()) != nil else { return -1 }
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    @Test func enospcRefusesPushesUntilSpaceReturns() async throws {
        guard let disk = try SmallFilesystem() else {
            // Mounting needs root (CI runs as root); the threshold test below covers the refusal without it.
            #expect(getuid() != 0, "root could not mount a tmpfs")
            print("note: not root, so the ENOSPC test cannot mount its small filesystem")
            return
        }
        let filler = disk.path + "/filler"
        #expect(FileManager.default.createFile(atPath: filler, contents: Data(count: 700 << 10)))
        let store = InMemoryObjectStore()
        let clock = EngineTests.TestClock()
        let t = clock.now
        let wal = disk.path + "/wal"
        let engine = try await IngesterWALTests.engine(wal, store: store, clock: clock) {
            $0.wal.diskFullThreshold = 0   // only a failed write says the disk is full
            $0.wal.segmentSize = 64 << 10
        }
        var acknowledged: [(Int64, String)] = []
        var refusal: Ingester.Unavailable?
        for batch in 0..<1000 where refusal == nil {
            let lines = (0..<50).map { (t - 1_000_000 + Int64(batch * 50 + $0), "batch \(batch) line \($0) " + String(repeating: "z", count: 100)) }
            do {
                #expect(try await engine.push(#"{job="full"}"#, lines).status == 204)
                acknowledged += lines
            } catch {
                refusal = error as? Ingester.Unavailable
            }
        }
        let refused = try #require(refusal)
        #expect(refused.reason == "wal_disk_full")
        #expect(refused.message.hasPrefix("Error writing to WAL, disk full"))
        #expect(IngesterWALTests.value(engine, "loki_ingester_wal_disk_full_failures_total") >= 1)
        // Still full: refused without trying.
        await #expect(throws: Ingester.Unavailable.self) {
            _ = try await engine.push(#"{job="full"}"#, [(t, "still full")])
        }
        // Space returns; within a second the guard looks again and pushes go through.
        try FileManager.default.removeItem(atPath: filler)
        clock.advance(2_000_000_000)
        let late = [(t, "after space returned")]
        #expect(try await engine.push(#"{job="full"}"#, late).status == 204)
        acknowledged += late

        // Every acknowledged entry comes back from the WAL after a crash.
        let replayed = try await IngesterWALTests.engine(wal, store: store, clock: clock)
        let got = try await replayed.select(#"{job="full"}"#, limit: 100_000)
        let lines = Set(got.map(\.1))
        #expect(acknowledged.allSatisfy { lines.contains($0.1) })
    }

    @Test func useAboveTheThresholdRefusesPushes() async throws {
        let dir = WALSegmentsTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Any filesystem in use is fuller than this.
        let engine = try await IngesterWALTests.engine(dir, store: InMemoryObjectStore()) {
            $0.wal.diskFullThreshold = 0.000_001
        }
        do {
            _ = try await engine.push(#"{job="a"}"#, [(engine.clock.now, "refused")])
            Issue.record("expected a refusal")
        } catch let error as Ingester.Unavailable {
            #expect(error.reason == "wal_disk_full")
            #expect(error.message.contains("disk_full_threshold"))
        }
        #expect(IngesterWALTests.value(engine, "loki_ingester_wal_disk_full_failures_total") == 1)
    }
}

/// `ingester.memory_ceiling`: at the ceiling whole pushes are refused (503, nothing of them taken), and the flush
/// loop writes the largest streams out so that pushes go through again.
@Suite struct MemoryCeilingTests {
    @Test func atTheCeilingPushesAreRefusedWholeUntilTheLargestStreamsAreFlushed() async throws {
        var settings = IngesterSettings()
        settings.wal.enabled = false
        settings.memoryCeiling = 64 << 10
        let store = InMemoryObjectStore()
        let engine = EngineTests.Engine(store: store, settings: settings)
        let t = engine.clock.now
        var acknowledged: [String] = []
        var refused: Ingester.Unavailable?
        for batch in 0..<1000 where refused == nil {
            let lines = (0..<20).map { (t - 1_000_000 + Int64(batch * 20 + $0), "b\(batch) l\($0) " + String(repeating: "m", count: 200)) }
            do {
                #expect(try await engine.push(batch % 5 == 0 ? #"{job="small"}"# : #"{job="big"}"#, lines).status == 204)
                acknowledged += lines.map(\.1)
            } catch {
                refused = error as? Ingester.Unavailable
            }
        }
        let refusal = try #require(refused)
        #expect(refusal.reason == "memory_ceiling")
        #expect(refusal.message.contains("ingester.memory_ceiling"))
        let held = engine.ingester.memoryBytes.load(ordering: .relaxed)
        #expect(held >= 64 << 10)
        // The flush loop's next cycle closes and writes the largest stream first.
        await engine.ingester.flushCycle(force: false)
        #expect(engine.ingester.memoryBytes.load(ordering: .relaxed) < held / 2)
        #expect(!store.keys.isEmpty)
        #expect(try await engine.push(#"{job="big"}"#, [(t, "after the flush")]).status == 204)
        acknowledged.append("after the flush")
        // Nothing of the refused push was taken; everything acknowledged is there.
        let got = try await engine.select(#"{job=~"big|small"}"#, limit: 100_000).map(\.1)
        #expect(got.sorted() == acknowledged.sorted())
    }
}

/// Chunks closed by a push are sealed and encoded by the flush loop without the shard lock; until then queries read
/// them like the head.
@Suite struct SealedChunkTests {
    @Test func sealedChunksAreQueryableBeforeAndAfterTheyAreEncoded() async throws {
        var settings = IngesterSettings()
        settings.wal.enabled = false
        settings.blockSize = 1024
        settings.targetSize = 2048
        let store = InMemoryObjectStore()
        let engine = EngineTests.Engine(store: store, settings: settings)
        let t = engine.clock.now
        let lines = (0..<300).map { (t - 100_000 + Int64($0), "entry \($0) " + String(repeating: "s", count: $0 % 90)) }
        for batch in stride(from: 0, to: lines.count, by: 30) {
            #expect(try await engine.push(#"{job="sealed"}"#, Array(lines[batch..<batch + 30])).status == 204)
        }
        let before = try engine.ingester.snapshot(
            tenant: "t", from: .min, through: .max, direction: .forward, limit: 10_000, matches: { _ in true },
            lineFilter: { _ in true })
        #expect(before.allSatisfy { $0.closedChunks.isEmpty })
        #expect(try await engine.select(#"{job="sealed"}"#).map(\.1) == lines.map(\.1))
        #expect(try await engine.select(#"{job="sealed"}"#, limit: 7, direction: .backward).map(\.1) == lines.suffix(7).reversed().map(\.1))
        engine.ingester.encodeSealed()
        let after = try engine.ingester.snapshot(
            tenant: "t", from: .min, through: .max, direction: .forward, limit: 10_000, matches: { _ in true },
            lineFilter: { _ in true })
        #expect(after.flatMap(\.closedChunks).count > 2)
        #expect(try await engine.select(#"{job="sealed"}"#).map(\.1) == lines.map(\.1))
        await engine.ingester.flush()
        #expect(try await engine.select(#"{job="sealed"}"#).map(\.1) == lines.map(\.1))
    }
}
