import Foundation
import Logging
import Synchronization
import Wire

// The ingester's write-ahead log: replay at start-up, checkpoints, and the disk-full guard. Pushes log their
// records in `Ingester.push`.
extension Ingester {
    /// What replay has learnt so far.
    private struct Replay {
        /// Entries already in the store, by stream: from the `flushed` records of every segment, read first.
        var flushed: [StreamKey: [ClosedRange<Int64>]] = [:]
        /// The newest counter of each stream the checkpoint held: segment entries up to it are in the checkpoint.
        var checkpointed: [StreamKey: Int64] = [:]
        /// Every stream's labels, to bring back a stream that a flush during replay removed from memory.
        var labels: [StreamKey: LabelSet] = [:]
        var maxCounter: Int64 = 0
        var entries = 0
        var skipped = 0
        /// Records that name a stream no series record introduced, or whose labels or entries cannot be read.
        var unusable = 0

        func isFlushed(_ counter: Int64, in ranges: [ClosedRange<Int64>]) -> Bool {
            ranges.contains { $0.contains(counter) }
        }
    }

    /// Replays the checkpoint and the segments after it, then opens the log for writing; until this returns
    /// pushes are refused with 503 and `/ready` says not ready. Damaged bytes are cut off, counted and logged;
    /// start-up goes on. Throws only when the WAL directory cannot be used at all.
    public func start() async throws {
        guard settings.wal.enabled else { return }
        let directory = settings.wal.directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw WALError(kind: .io, message: "cannot create the WAL directory \(directory) (ingester.wal.dir): \(error.localizedDescription)")
        }
        metrics.wal.replayActive.set(Int64(1))
        defer { metrics.wal.replayActive.set(Int64(0)) }
        let clock = ContinuousClock()
        let began = clock.now
        let latest = WALCheckpoint.numbers(in: directory).last
        let firstSegment = (latest ?? -1) + 1
        // Segments the checkpoint covers are left over when a crash came between the checkpoint and their removal.
        for number in WALSegments.segmentNumbers(in: directory) where number < firstSegment {
            unlink(WALSegments.path(directory, number))
        }
        if let latest { WALCheckpoint.removeOlder(than: latest, in: directory) }

        var replay = Replay()
        try WALSegments.scan(directory, from: firstSegment) { record in
            guard case .flushed(let tenant, let fingerprint, let counters) = record else { return }
            replay.flushed[StreamKey(tenant: tenant, fingerprint: fingerprint), default: []].append(counters)
            replay.maxCounter = max(replay.maxCounter, counters.upperBound)
        }
        var bytes = 0
        if let latest {
            let path = WALCheckpoint.path(directory, latest)
            bytes += (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            if let damage = try WALCheckpoint.read(path, { apply($0, checkpoint: true, &replay) }) {
                metrics.wal.corruptions.increment()
                logger.error("WAL checkpoint is damaged: replaying what precedes the damage", metadata: [
                    "checkpoint": "\(path)", "offset": "\(damage.offset)", "reason": "\(damage.reason)",
                ])
            }
        }
        let outcome = try await WALSegments.replay(directory, from: firstSegment, { record in
            apply(record, checkpoint: false, &replay)
        }, afterSegment: {
            guard memoryBytes.load(ordering: .relaxed) > settings.wal.replayMemoryCeiling else { return }
            logger.info("WAL replay is past ingester.wal.replay_memory_ceiling: flushing to the store")
            metrics.wal.replayFlushing.set(Int64(1))
            await flushCycle(force: true)
            metrics.wal.replayFlushing.set(Int64(0))
        })
        bytes += outcome.bytes
        if let (segment, damage) = outcome.damage {
            metrics.wal.corruptions.increment()
            logger.error("WAL segment is damaged: cut at the last whole record, later segments removed", metadata: [
                "segment": "\(WALSegments.path(directory, segment))", "offset": "\(damage.offset)",
                "reason": "\(damage.reason)",
            ])
        }
        if replay.unusable > 0 {
            metrics.wal.corruptions.increment()
            logger.error("WAL records that could not be replayed were skipped", metadata: ["records": "\(replay.unusable)"])
        }
        counter.store(replay.maxCounter + 1, ordering: .relaxed)
        let walMetrics = metrics.wal
        let wal = try WALSegments(directory: directory, segmentSize: settings.wal.segmentSize,
                                  sync: settings.wal.syncPolicy) { records, bytes in
            walMetrics.recordsLogged.increment(by: Int64(records))
            walMetrics.loggedBytes.increment(by: Int64(bytes))
        }
        walState.withLock { $0 = .open(wal) }
        let elapsed = clock.now - began
        metrics.wal.replayDuration.set(Double(elapsed.nanoseconds) / 1e9)
        logger.info("WAL replayed", metadata: [
            "dir": "\(directory)", "checkpoint": "\(latest.map(String.init) ?? "none")",
            "segments": "\(outcome.segments)", "bytes": "\(bytes)", "entries": "\(replay.entries)",
            "skipped_entries": "\(replay.skipped)", "duration": "\(elapsed)",
        ])
        // A checkpoint now makes the next start replay only what comes after this one.
        if bytes > 0 { await checkpoint() }
    }

    private func apply(_ record: WALRecord, checkpoint: Bool, _ replay: inout Replay) {
        let wallNow = now()
        switch record {
        case .series(let tenant, let fingerprint, let labelsText, let last):
            let key = StreamKey(tenant: tenant, fingerprint: fingerprint)
            guard let pairs = try? LabelParser.parse(labelsText) else {
                replay.unusable += 1
                return
            }
            let labels = LabelSet(pairs)
            replay.labels[key] = labels
            replay.maxCounter = max(replay.maxCounter, last)
            shards[shard(key)].withLock { shard in
                let stream = replayedStream(key, &shard, replay) ?? makeReplayed(key, labels, &shard, now: wallNow)
                if checkpoint {
                    replay.checkpointed[key] = last
                    stream.lastCounter = max(stream.lastCounter, last)
                }
            }
        case .chunk(let ref, let counters, let reason, let bytes):
            let key = StreamKey(tenant: ref.tenant, fingerprint: ref.fingerprint)
            replay.maxCounter = max(replay.maxCounter, counters.upperBound)
            guard !replay.isFlushed(counters.lowerBound, in: replay.flushed[key] ?? []) else { return }
            shards[shard(key)].withLock { shard in
                guard let stream = replayedStream(key, &shard, replay) else {
                    replay.unusable += 1
                    return
                }
                stream.closed.append(ClosedChunk(ref: ref, bytes: bytes, reason: reason, counters: counters,
                                                 flushedAt: nil))
                metrics.memoryChunks.increment()
                memoryBytes.wrappingAdd(bytes.count, ordering: .relaxed)
                stream.newest = max(stream.newest, ref.through.saturatingMultiplied(by: 1_000_000))
                stream.lastAppend = wallNow
                replay.entries += ref.entries
            }
        case .entries(let tenant, let fingerprint, let first, let entries):
            let key = StreamKey(tenant: tenant, fingerprint: fingerprint)
            let flushed = replay.flushed[key] ?? []
            let floor = checkpoint ? Int64.min : replay.checkpointed[key] ?? .min
            let restoredLast = replay.checkpointed[key] ?? 0
            shards[shard(key)].withLock { shard in
                guard let stream = replayedStream(key, &shard, replay) else {
                    replay.unusable += 1
                    return
                }
                for (index, entry) in entries.enumerated() {
                    // A checkpoint's head chunk shares one range of counters, starting at `first`.
                    let counter = checkpoint ? first : first &+ Int64(index)
                    if counter <= floor || replay.isFlushed(counter, in: flushed) {
                        replay.skipped += 1
                        continue
                    }
                    do {
                        _ = try place(entry, counter: counter, in: stream, now: wallNow, compressLater: false)
                        replay.entries += 1
                    } catch {
                        replay.unusable += 1
                    }
                    replay.maxCounter = max(replay.maxCounter, counter)
                }
                if checkpoint { stream.lastCounter = max(stream.lastCounter, restoredLast) }
                stream.lastAppend = wallNow
            }
        case .flushed(_, _, let counters):
            replay.maxCounter = max(replay.maxCounter, counters.upperBound)
        }
    }

    /// The stream in memory, or made again from the labels replay saw (a flush during replay may have removed it).
    private func replayedStream(_ key: StreamKey, _ shard: inout Shard, _ replay: Replay) -> MemoryStream? {
        if let stream = shard.streams[key] { return stream }
        guard let labels = replay.labels[key] else { return nil }
        return makeReplayed(key, labels, &shard, now: now())
    }

    private func makeReplayed(_ key: StreamKey, _ labels: LabelSet, _ shard: inout Shard, now: Int64) -> MemoryStream {
        admitReplayed(key)
        let stream = makeStream(key, labels: labels, in: &shard, limits: Limits(), now: now)
        // The segment or checkpoint it came from stays until a checkpoint that holds the stream replaces it.
        stream.seriesLogged = true
        stream.lastAppend = now
        return stream
    }

    // MARK: Checkpoints

    /// One stream as a checkpoint holds it, copied under its shard's lock.
    private struct StreamImage {
        let key: StreamKey
        let labels: String
        let labelSet: LabelSet
        let last: Int64
        let headFirst: Int64
        let head: MemChunk?
        /// Sealed chunks, copied: encoded while the checkpoint is written.
        let sealed: [(chunk: MemChunk, seal: SealedChunk)]
        let closed: [ClosedChunk]
    }

    /// Writes every stream in memory to a new checkpoint, then deletes the segments and checkpoint it replaces.
    /// A failure is logged and counted; the segments stay, so nothing is lost.
    func checkpoint() async {
        guard case .open(let wal) = walState.withLock({ $0 }) else { return }
        let clock = ContinuousClock()
        let began = clock.now
        metrics.wal.checkpointCreations.increment()
        do {
            // Everything appended so far is in the segments up to `last`, or queued for the next: the images
            // below are taken after the cut, so they hold all of it, and replay skips what they hold by counter.
            let last = try wal.cut()
            var writer = try WALCheckpointWriter(directory: wal.directory, number: last)
            for index in shards.indices {
                let images = shards[index].withLock { shard in
                    shard.streams.map { key, stream in
                        StreamImage(key: key, labels: stream.labelsText, labelSet: stream.labels, last: stream.lastCounter,
                                    headFirst: stream.headFirstCounter,
                                    head: stream.head.flatMap { $0.entryCount > 0 ? $0.readCopy() : nil },
                                    sealed: stream.sealed.map { ($0.chunk.readCopy(), $0) },
                                    closed: stream.closed.filter { $0.flushedAt == nil })
                    }
                }
                for image in images { try write(image, to: &writer) }
                await Task.yield()
            }
            let bytes = try writer.finish()
            metrics.wal.checkpointLoggedBytes.increment(by: Int64(bytes))
            WALCheckpoint.removeOlder(than: last, in: wal.directory)
            wal.removeSegments(through: last)
            metrics.wal.checkpointDeletions.increment()
        } catch {
            metrics.wal.checkpointCreationFailures.increment()
            logger.error("WAL checkpoint failed; the segments are kept", metadata: ["error": "\(error)"])
        }
        metrics.wal.checkpointDuration.record(clock.now - began)
    }

    private func write(_ image: StreamImage, to writer: inout WALCheckpointWriter) throws {
        let key = image.key
        try writer.append(.series(tenant: key.tenant, fingerprint: key.fingerprint, labels: image.labels,
                                  last: image.last))
        for chunk in image.closed {
            try writer.append(.chunk(ref: chunk.ref, counters: chunk.counters, reason: chunk.reason, bytes: chunk.bytes))
        }
        for (copy, seal) in image.sealed {
            let (ref, bytes) = try ChunkObject.encode(tenant: key.tenant, labels: image.labelSet, chunk: copy)
            try writer.append(.chunk(ref: ref, counters: seal.counters, reason: seal.reason, bytes: bytes))
        }
        guard let head = image.head else { return }
        var entries: [PushEntry] = []
        entries.reserveCapacity(head.entryCount)
        try head.forEachEntry(from: .min, through: .max, direction: .forward) { timestamp, line, metadata in
            entries.append(PushEntry(timestamp: timestamp, line: ArraySlice(line), structuredMetadata: try metadata.resolve()))
            return true
        }
        try writer.append(.entries(tenant: key.tenant, fingerprint: key.fingerprint, counter: image.headFirst,
                                   entries: entries))
    }
}

/// Refuses pushes while the WAL's filesystem is fuller than `disk_full_threshold` or a write failed for lack of
/// space; checks the filesystem at most once a second, so writing resumes by itself once space returns.
final class WALDiskGuard: Sendable {
    let directory: String
    /// A fraction of the filesystem; 0 turns the check of use off (a write that fails for lack of space still
    /// refuses pushes).
    let threshold: Double
    private let state = Mutex<(checkedAt: Int64, refusal: String?)>((0, nil))
    private static let interval: Int64 = 1_000_000_000

    init(directory: String, threshold: Double) {
        self.directory = directory
        self.threshold = threshold
    }

    /// Why pushes are refused now, or nil.
    func refusal(now: Int64) -> String? {
        state.withLock { state in
            if now &- state.checkedAt < Self.interval { return state.refusal }
            state.checkedAt = now
            state.refusal = usageRefusal()
            return state.refusal
        }
    }

    /// A write failed for lack of space: refuse pushes until the next check finds room.
    func markFull(_ message: String, now: Int64) {
        state.withLock { $0 = (now, message) }
    }

    private func usageRefusal() -> String? {
        guard threshold > 0 else { return nil }
        var fs = statvfs()
        guard statvfs(directory, &fs) == 0 else { return nil }
        // As df computes use: of the blocks an unprivileged writer could have, the share taken.
        let used = Double(fs.f_blocks) - Double(fs.f_bfree)
        let total = used + Double(fs.f_bavail)
        guard total > 0 else { return nil }
        let fraction = used / total
        guard fraction >= threshold else { return nil }
        return "Error writing to WAL, disk full: the WAL directory \(directory) is \(Int(fraction * 100))% full, "
            + "at or above ingester.wal.disk_full_threshold (\(threshold)); try again once space is freed"
    }
}
