import Logging
import ServiceLifecycle
import Synchronization
import Wire

/// Holds recent streams in memory, cuts them into chunks and flushes the chunks and their index entries to the
/// object store.
///
/// With the write-ahead log on (the default) a push returns only once its accepted entries are in the log, and
/// `start()` replays the log before the ingester takes pushes; see ``WALRecord`` for how entries are numbered so
/// that replay skips what a checkpoint holds and what was flushed.
///
/// Concurrency: `push` and the read methods are called from any task, many at once; streams are spread over
/// shards, each behind its own lock, so pushes to different streams rarely contend. A push's WAL records are
/// queued under the shard lock that ordered its append, so the log holds each stream's entries in append order.
/// `run()` is the flush loop, run once as a service; when it is cancelled or shut down it writes a checkpoint (or,
/// without a WAL or with `flush_on_shutdown`, flushes every chunk) before returning, so a clean stop loses nothing
/// acknowledged.
public final class Ingester: Sendable {
    struct StreamKey: Hashable {
        let tenant: String
        let fingerprint: UInt64
    }

    struct Shard {
        var streams: [StreamKey: MemoryStream] = [:]
    }

    /// One shard's lock; a class so that the shards can live in an array (a `Mutex` cannot be copied).
    final class ShardLock: Sendable {
        let mutex = Mutex(Shard())
        func withLock<R>(_ body: (inout sending Shard) throws -> sending R) rethrows -> sending R {
            try mutex.withLock(body)
        }
    }

    /// A stream the distributor validated, ready to append.
    public struct IncomingStream: Sendable {
        public var labels: LabelSet
        public var fingerprint: UInt64
        public var entries: [PushEntry]

        public init(labels: LabelSet, fingerprint: UInt64, entries: [PushEntry]) {
            self.labels = labels
            self.fingerprint = fingerprint
            self.entries = entries
        }
    }

    /// Why a push could not be taken at all (503): nothing of it was acknowledged, and the client should retry.
    public struct Unavailable: Error, CustomStringConvertible {
        public let message: String
        /// What `estuary_push_requests_refused_total` counts it under.
        public let reason: String
        public var description: String { message }
    }

    /// The write-ahead log's state: replayed by `start()`, then open for writing.
    enum WALState {
        case disabled
        case replaying
        case open(WALSegments)
    }

    public let settings: IngesterSettings
    let shards: [ShardLock]
    private let streamCounts = Mutex<[String: Int]>([:])
    private let chunks: ChunkStore
    private let index: any IndexWriter
    let metrics: BackendMetrics
    let logger: Logger
    let now: @Sendable () -> Int64
    let walState: Mutex<WALState>
    /// The next entry counter (see ``WALRecord``).
    let counter = Atomic<Int64>(1)
    /// Bytes held in memory: head chunks (raw lines, approximately) and closed chunks (encoded).
    let memoryBytes = Atomic<Int>(0)
    let disk: WALDiskGuard
    /// Live tails (`/loki/api/v1/tail`): what a push appends is offered to them.
    let tails: TailRegistry
    private let wake: AsyncStream<Void>.Continuation
    private let wakeups: AsyncStream<Void>
    /// Whether the flush loop (`run()`) is running: `flush()` hands its work to a running loop, and flushes by
    /// itself before the loop starts (an engine without a service group) or after it stopped.
    private enum LoopState { case notStarted, running, stopped }
    /// Callers of `flush()` waiting for the loop's next forced cycle, and the loop's state.
    private let flushRequests = Mutex<(waiters: [CheckedContinuation<Void, Never>], loop: LoopState)>(([], .notStarted))

    public init(
        settings: IngesterSettings, chunks: ChunkStore, index: any IndexWriter, metrics: BackendMetrics,
        logger: Logger, now: @escaping @Sendable () -> Int64 = WallClock.nanoseconds
    ) {
        self.settings = settings
        self.shards = (0..<64).map { _ in ShardLock() }
        self.chunks = chunks
        self.index = index
        self.metrics = metrics
        self.logger = logger
        self.now = now
        self.walState = Mutex(settings.wal.enabled ? .replaying : .disabled)
        self.disk = WALDiskGuard(directory: settings.wal.directory, threshold: settings.wal.diskFullThreshold)
        metrics.memoryCeiling.set(Int64(settings.memoryCeiling))
        tails = TailRegistry(metrics: TailMetrics(metrics.registry))
        (wakeups, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Whether the ingester takes pushes: its WAL, if any, is replayed.
    public var isReady: Bool {
        walState.withLock { if case .replaying = $0 { false } else { true } }
    }

    func shard(_ key: StreamKey) -> Int {
        Int(truncatingIfNeeded: (key.fingerprint ^ UInt64(truncatingIfNeeded: key.tenant.hashValue)) % 64)
    }

    // MARK: Write

    /// Appends validated streams of one tenant. Entries that cannot be stored are reported in `rejected`;
    /// everything else is in memory, and in the WAL when there is one, when this returns. Throws, with nothing
    /// acknowledged, while the WAL is replayed or cannot be written (a full disk): the client retries.
    public func push(
        tenant: String, streams: [IncomingStream], limits: Limits, rejected: inout RejectedEntries
    ) async throws(Unavailable) {
        let wal = try writableWAL()
        try checkMemory()
        let groups = append(tenant: tenant, streams: streams, limits: limits, rejected: &rejected, wal: wal)
        guard let wal else { return }
        for group in groups {
            do {
                try await wal.commit(group)
            } catch {
                throw refusal(error)
            }
        }
    }

    /// The synchronous part of `push`: appends the streams and queues their WAL records in `wal`; returns the WAL
    /// groups to wait for.
    func append(
        tenant: String, streams: [IncomingStream], limits: Limits, rejected: inout RejectedEntries,
        wal: WALSegments?
    ) -> [WALSegments.Group] {
        let wallNow = now()
        var needFlush = false
        var groups: [WALSegments.Group] = []
        var cut: [(chunk: MemChunk, key: StreamKey, shard: Int)] = []
        // What the tails get, handed over after the locks are let go. Whether a tail is open is one atomic load, done
        // under the shard lock after the append: a tail that subscribes later runs its history query later, and
        // that query reads the stream under the same lock, so it finds these entries.
        var tailed: [(labels: LabelSet, entries: [PushEntry])] = []
        for incoming in streams {
            let key = StreamKey(tenant: tenant, fingerprint: incoming.fingerprint)
            let index = shard(key)
            let result = shards[index].withLock { shard -> (RejectedEntries, Bool, WALSegments.Group?) in
                var local = RejectedEntries()
                guard let stream = stream(for: key, incoming: incoming, in: &shard, limits: limits,
                                          now: wallNow, rejected: &local)
                else { return (local, false, nil) }
                let appended = append(incoming.entries, to: stream, limits: limits, now: wallNow, rejected: &local,
                                      keepAccepted: wal != nil || !tails.isEmpty)
                if let head = stream.head, head.newestBlockIsRaw { cut.append((head, key, index)) }
                if appended.count > 0 && !tails.isEmpty {
                    if let accepted = appended.accepted {
                        tailed.append((stream.labels, accepted))
                    } else if appended.count == incoming.entries.count {
                        tailed.append((stream.labels, incoming.entries))
                    }
                    // Otherwise a tail opened during this append, which did not keep the entries it refused: the
                    // tail's history query finds what was taken.
                }
                guard let wal, appended.count > 0 else { return (local, appended.closed, nil) }
                // Sized for the whole record at once: a frame that grows by doubling copies its lines again and again.
                var frames = ByteWriter(capacity: 128 + stream.labelsText.utf8.count + appended.lineBytes
                                            + appended.count * 16)
                var records = 1
                if !stream.seriesLogged {
                    WALFrame.append(.series(tenant: tenant, fingerprint: key.fingerprint, labels: stream.labelsText,
                                            last: 0), to: &frames)
                    stream.seriesLogged = true
                    records += 1
                }
                WALFrame.append(.entries(tenant: tenant, fingerprint: key.fingerprint, counter: appended.firstCounter,
                                         entries: appended.accepted ?? incoming.entries), to: &frames)
                return (local, appended.closed, wal.enqueue(frames, records: records))
            }
            rejected.merge(result.0)
            needFlush = needFlush || result.1
            if let group = result.2, groups.last !== group { groups.append(group) }
        }
        if needFlush { wake.yield() }
        for (chunk, key, index) in cut { compressCutBlocks(chunk, of: key, shard: index) }
        if !tailed.isEmpty { feedTails(tenant: tenant, appended: tailed) }
        return groups
    }

    /// The WAL to log a push to (nil without one), or why pushes cannot be taken now.
    private func writableWAL() throws(Unavailable) -> WALSegments? {
        switch walState.withLock({ $0 }) {
        case .disabled: return nil
        case .replaying:
            throw Unavailable(message: "Ingester is starting: replaying the write-ahead log; try again shortly",
                              reason: "wal_replay")
        case .open(let wal):
            if let full = disk.refusal(now: now()) {
                metrics.wal.diskFullFailures.increment()
                throw Unavailable(message: full, reason: "wal_disk_full")
            }
            return wal
        }
    }

    /// Refuses a push while the chunks in memory are at the ceiling, and brings the flush of the largest streams
    /// forward from three quarters of it.
    private func checkMemory() throws(Unavailable) {
        let ceiling = settings.memoryCeiling
        guard ceiling > 0 else { return }
        let held = memoryBytes.load(ordering: .relaxed)
        guard held >= ceiling - ceiling / 4 else { return }
        wake.yield()
        guard held >= ceiling else { return }
        metrics.memoryBytes.set(Int64(held))
        throw Unavailable(
            message: "Ingester memory is at its ceiling: chunks in memory take \(ByteCount.format(Double(held))) of the \(ByteCount.format(Double(ceiling))) allowed by ingester.memory_ceiling; flushing the largest streams, try again shortly",
            reason: "memory_ceiling")
    }

    /// Above three quarters of the memory ceiling, closes the head chunks of the largest streams, biggest first,
    /// until what stays in head chunks is back under half of it; the flush that follows writes them out.
    private func relieveMemory() {
        let ceiling = settings.memoryCeiling
        let held = memoryBytes.load(ordering: .relaxed)
        metrics.memoryBytes.set(Int64(held))
        guard ceiling > 0, held >= ceiling - ceiling / 4 else { return }
        var heads: [(shard: Int, key: StreamKey, bytes: Int)] = []
        for index in shards.indices {
            shards[index].withLock { shard in
                for (key, stream) in shard.streams where stream.headBytes > 0 {
                    heads.append((index, key, stream.headBytes))
                }
            }
        }
        var excess = held - ceiling / 2
        for head in heads.sorted(by: { $0.bytes > $1.bytes }) where excess > 0 {
            shards[head.shard].withLock { shard in
                guard let stream = shard.streams[head.key] else { return }
                excess -= stream.headBytes
                close(stream, reason: .forced)
            }
        }
    }

    private func refusal(_ error: WALError) -> Unavailable {
        switch error.kind {
        case .diskFull:
            metrics.wal.diskFullFailures.increment()
            let message = "Error writing to WAL, disk full: \(error.message); try again once space is freed"
            disk.markFull(message, now: now())
            logger.error("WAL write failed: disk full; pushes are refused until space returns",
                         metadata: ["error": "\(error.message)"])
            return Unavailable(message: message, reason: "wal_disk_full")
        case .io:
            logger.error("WAL write failed", metadata: ["error": "\(error.message)"])
            return Unavailable(message: "Error writing to WAL: \(error.message)", reason: "wal_error")
        }
    }

    /// Finds or creates the stream; nil (and a rejection) when the tenant's stream limit forbids a new one.
    private func stream(
        for key: StreamKey, incoming: IncomingStream, in shard: inout Shard, limits: Limits, now: Int64,
        rejected: inout RejectedEntries
    ) -> MemoryStream? {
        if let existing = shard.streams[key] {
            existing.rate.setLimits(rate: limits.perStreamRateBytes, burst: limits.perStreamBurstBytes, now: now)
            return existing
        }
        let admitted = streamCounts.withLock { counts -> Bool in
            let count = counts[key.tenant, default: 0]
            if limits.maxStreamsPerUser > 0 && count >= limits.maxStreamsPerUser { return false }
            counts[key.tenant] = count + 1
            return true
        }
        guard admitted else {
            let bytes = incoming.entries.reduce(0) { $0 + $1.line.count }
            rejected.add(.streamLimit, entries: incoming.entries.count, bytes: bytes, message:
                "Maximum active stream limit exceeded when trying to create stream \(incoming.labels.description), reduce the number of active streams (reduce labels or reduce label values), or contact your Loki administrator to see if the limit can be increased, user: '\(key.tenant)'")
            metrics.discarded(tenant: key.tenant, reason: .streamLimit, entries: incoming.entries.count, bytes: bytes)
            return nil
        }
        return makeStream(key, labels: incoming.labels, in: &shard, limits: limits, now: now)
    }

    /// Creates a stream the tenant's stream count already admitted.
    func makeStream(_ key: StreamKey, labels: LabelSet, in shard: inout Shard, limits: Limits, now: Int64) -> MemoryStream {
        let stream = MemoryStream(
            tenant: key.tenant, labels: labels, fingerprint: key.fingerprint,
            rate: TokenBucket(rate: limits.perStreamRateBytes, burst: limits.perStreamBurstBytes, now: now))
        shard.streams[key] = stream
        metrics.streamCreated(tenant: key.tenant)
        return stream
    }

    /// Counts a stream made without the limit check (replay): it was admitted before the restart.
    func admitReplayed(_ key: StreamKey) {
        streamCounts.withLock { $0[key.tenant, default: 0] += 1 }
    }

    /// What `append` took: how many entries, their first counter (the rest follow one by one), and the entries
    /// themselves when some were refused (nil when all were taken, or when the caller did not ask).
    struct Appended {
        var count = 0
        /// Line bytes of the entries offered (an upper bound of what was taken).
        var lineBytes = 0
        var firstCounter: Int64 = 0
        var accepted: [PushEntry]? = nil
        /// Whether a chunk was closed (flush wanted).
        var closed = false
    }

    /// Appends entries to a stream under its shard's lock, each given the next counter.
    private func append(
        _ entries: [PushEntry], to stream: MemoryStream, limits: Limits, now: Int64, rejected: inout RejectedEntries,
        keepAccepted: Bool
    ) -> Appended {
        var appended = Appended()
        let bytes = entries.reduce(0) { $0 + $1.line.count }
        appended.lineBytes = bytes
        guard stream.rate.allow(Double(bytes), now: now) else {
            rejected.add(.perStreamRateLimit, entries: entries.count, bytes: bytes, message:
                "Per stream rate limit exceeded (limit: \(ByteCount.format(limits.perStreamRateBytes))/sec) while attempting to ingest for stream '\(stream.labelsText)' totaling \(ByteCount.format(Double(bytes))), consider splitting a stream via additional labels or contact your Loki administrator to see if the limit can be increased")
            metrics.discarded(tenant: stream.tenant, reason: .perStreamRateLimit, entries: entries.count, bytes: bytes)
            return appended
        }
        // Counters are reserved for every entry and used by the accepted ones in order; a refused entry's counter
        // is simply never used.
        appended.firstCounter = counter.wrappingAdd(Int64(entries.count), ordering: .relaxed).oldValue
        var behind = (entries: 0, bytes: 0)
        let window = settings.maxChunkAge / 2
        for (index, entry) in entries.enumerated() {
            let oldestAcceptable = stream.newest.saturatingSubtracting(window)
            var taken = true
            if stream.newest != .min && entry.timestamp < oldestAcceptable {
                behind.entries += 1
                behind.bytes += entry.line.count
                rejected.add(.tooFarBehind, entries: 1, bytes: entry.line.count, message:
                    "entry with timestamp \(GoTime.format(nanoseconds: entry.timestamp)) ignored, reason: 'entry too far behind, entry timestamp is: \(GoTime.rfc3339(nanoseconds: entry.timestamp)), oldest acceptable timestamp is: \(GoTime.rfc3339(nanoseconds: oldestAcceptable))' for stream: \(stream.labelsText)")
                taken = false
            } else {
                do {
                    appended.closed = try place(entry, counter: appended.firstCounter + Int64(appended.count),
                                                in: stream, now: now) || appended.closed
                } catch {
                    rejected.add(.invalidRequest, entries: 1, bytes: entry.line.count, message:
                        "entry with timestamp \(GoTime.format(nanoseconds: entry.timestamp)) ignored, reason: '\(error)' for stream: \(stream.labelsText)")
                    metrics.discarded(tenant: stream.tenant, reason: .invalidRequest, entries: 1, bytes: entry.line.count)
                    taken = false
                }
            }
            if taken {
                appended.count += 1
                appended.accepted?.append(entry)
            } else if keepAccepted && appended.accepted == nil {
                appended.accepted = Array(entries[..<index])
            }
        }
        if behind.entries > 0 {
            metrics.discarded(tenant: stream.tenant, reason: .tooFarBehind, entries: behind.entries, bytes: behind.bytes)
        }
        stream.lastAppend = now
        return appended
    }

    /// Appends one entry that passed the checks, with its counter, cutting the head chunk first when it is full or
    /// would span more than `max_chunk_age`. Returns whether a chunk was closed; throws when the chunk refuses the
    /// entry. Used by pushes and by replay.
    ///
    /// `compressLater`: blocks the head cuts stay raw for the pusher to compress after it let go of the shard lock.
    func place(
        _ entry: PushEntry, counter: Int64, in stream: MemoryStream, now: Int64, compressLater: Bool = true
    ) throws -> Bool {
        var closed = false
        if let head = stream.head, !head.spaceFor(lineBytes: entry.line.count) {
            close(stream, reason: .full)
            closed = true
        } else if let head = stream.head, Self.span(head.bounds, with: entry.timestamp) > settings.maxChunkAge {
            // No chunk spans more than max_chunk_age of entry time: a chunk is indexed in every day it
            // overlaps, so a stream mixing 1970 and today must not put one chunk into 20,000 index tables.
            close(stream, reason: .maxAge)
            closed = true
        }
        let head: MemChunk
        if let existing = stream.head {
            head = existing
        } else {
            head = MemChunk(encoding: settings.chunkEncoding, blockSize: settings.blockSize,
                            targetSize: settings.targetSize)
            head.defersCompression = compressLater
            stream.head = head
            stream.headCreated = now
            stream.headFirstCounter = counter
            stream.headBytes = 0
            metrics.chunksCreated.increment()
            metrics.memoryChunks.increment()
        }
        _ = try head.append(timestamp: entry.timestamp, line: entry.line, structuredMetadata: entry.structuredMetadata)
        recount(stream)
        stream.lastCounter = counter
        if entry.timestamp > stream.newest { stream.newest = entry.timestamp }
        return closed
    }

    /// Brings the memory figure up to date with what the stream's head chunk takes now (under the shard lock).
    private func recount(_ stream: MemoryStream) {
        guard let head = stream.head else { return }
        let held = head.heldBytes
        guard held != stream.headBytes else { return }
        memoryBytes.wrappingAdd(held &- stream.headBytes, ordering: .relaxed)
        stream.headBytes = held
    }

    /// The time a chunk with `bounds` would cover after taking an entry at `timestamp` (0 for an empty chunk, whose
    /// bounds are (.max, .min)). O(1): called for every entry.
    private static func span(_ bounds: (from: Int64, through: Int64), with timestamp: Int64) -> Int64 {
        max(bounds.through, timestamp).saturatingSubtracting(min(bounds.from, timestamp))
    }

    /// Closes the stream's head chunk: seals it for the flush loop, which encodes it without the shard lock.
    func close(_ stream: MemoryStream, reason: FlushReason) {
        guard let head = stream.head else { return }
        stream.head = nil
        let held = stream.headBytes
        stream.headBytes = 0
        guard head.entryCount > 0 else {
            memoryBytes.wrappingSubtract(held, ordering: .relaxed)
            metrics.memoryChunks.decrement()
            return
        }
        stream.sealed.append(SealedChunk(chunk: head, reason: reason,
                                         counters: stream.headFirstCounter...stream.lastCounter, heldBytes: held))
    }

    /// Encodes every sealed chunk into its stored form. The chunks are copied under their shard's lock (copy-on-write)
    /// and encoded without it, so pushes never wait on the compression; the encoded chunk then takes the sealed one's
    /// place.
    func encodeSealed() {
        for index in shards.indices {
            let sealed = shards[index].withLock { shard in
                shard.streams.flatMap { key, stream in
                    stream.sealed.map { (key: key, labels: stream.labels, sealed: $0, copy: $0.chunk.readCopy()) }
                }
            }
            guard !sealed.isEmpty else { continue }
            let encoded = sealed.map { item in
                Result { try ChunkObject.encode(tenant: item.key.tenant, labels: item.labels, chunk: item.copy) }
            }
            shards[index].withLock { shard in
                for (item, result) in zip(sealed, encoded) {
                    guard let stream = shard.streams[item.key],
                          let position = stream.sealed.firstIndex(where: { $0.chunk === item.sealed.chunk })
                    else { continue }
                    stream.sealed.remove(at: position)
                    memoryBytes.wrappingSubtract(item.sealed.heldBytes, ordering: .relaxed)
                    switch result {
                    case .success(let (ref, bytes)):
                        stream.closed.append(ClosedChunk(ref: ref, bytes: bytes, reason: item.sealed.reason,
                                                         counters: item.sealed.counters, flushedAt: nil))
                        memoryBytes.wrappingAdd(bytes.count, ordering: .relaxed)
                    case .failure(let error):
                        // Encoding a chunk we built ourselves cannot fail unless memory is corrupt; say so loudly.
                        logger.error("could not encode chunk", metadata: ["stream": "\(stream.labelsText)", "error": "\(error)"])
                        metrics.memoryChunks.decrement()
                    }
                }
            }
        }
    }

    /// Compresses the blocks an append cut in `chunk`, the head of `key` (kept raw under the shard lock), without
    /// holding the lock.
    private func compressCutBlocks(_ chunk: MemChunk, of key: StreamKey, shard index: Int) {
        let raw = shards[index].withLock { _ in chunk.rawBlocks() }
        guard !raw.isEmpty else { return }
        let sealed = raw.map { chunk.seal($0.data) }
        shards[index].withLock { shard in
            for (block, sealedBlock) in zip(raw, sealed) {
                chunk.install(sealedBlock, at: block.index, rawSize: block.data.count)
            }
            // A chunk closed meanwhile stays counted as it was until its encoded form replaces it.
            if let stream = shard.streams[key], stream.head === chunk { recount(stream) }
        }
    }

    // MARK: Flush

    /// The flush loop: wakes every `flush_check_period`, when a chunk fills, or on `flush()`; flushes what is
    /// due. While it runs only this loop flushes, so no chunk is written twice at once. With a WAL it also writes a
    /// checkpoint every `checkpoint_duration`. When the task is cancelled or the service group shuts down
    /// gracefully it writes a last checkpoint (with a WAL, unless `flush_on_shutdown`) or flushes everything, and
    /// returns.
    public func run() async {
        let ticker = Task { [wake, settings] in
            while !Task.isCancelled {
                try? await Task.sleep(for: settings.flushCheckPeriod)
                wake.yield()
            }
        }
        let checkpoints = Task { [settings] in
            guard settings.wal.enabled else { return }
            while !Task.isCancelled {
                try? await Task.sleep(for: settings.wal.checkpointDuration)
                if !Task.isCancelled { await checkpoint() }
            }
        }
        defer { ticker.cancel() }
        flushRequests.withLock { $0.loop = .running }
        for await _ in wakeups.cancelOnGracefulShutdown() {
            let waiters = flushRequests.withLock { state in
                defer { state.waiters.removeAll() }
                return state.waiters
            }
            await flushCycle(force: !waiters.isEmpty)
            for waiter in waiters { waiter.resume() }
        }
        checkpoints.cancel()
        await checkpoints.value
        if settings.wal.enabled && !settings.wal.flushOnShutdown {
            logger.info("ingester stopping: writing a checkpoint (ingester.wal.flush_on_shutdown is false)")
        } else {
            logger.info("ingester stopping: flushing all chunks")
            await flushCycle(force: true)
        }
        await checkpoint()
        let waiters = flushRequests.withLock { state in
            state.loop = .stopped
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Closes and flushes every stream's chunks (`POST /flush`); returns when they are stored.
    public func flush() async {
        guard flushRequests.withLock({ $0.loop == .running }) else {
            await flushCycle(force: true)
            return
        }
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let queued = flushRequests.withLock { state in
                guard state.loop == .running else { return false }
                state.waiters.append(waiter)
                return true
            }
            // A loop that stopped meanwhile flushed everything on its way out.
            if queued { wake.yield() } else { waiter.resume() }
        }
    }

    private struct FlushJob: Sendable {
        let key: StreamKey
        let labels: LabelSet
        let chunks: [ClosedChunk]
    }

    /// Closes chunks that are due (all of them when `force`), writes every unflushed closed chunk, records
    /// them in the index, and drops flushed chunks and empty streams from memory.
    func flushCycle(force: Bool) async {
        if !force { relieveMemory() }
        let wallNow = now()
        for index in shards.indices {
            shards[index].withLock { shard in
                for stream in shard.streams.values {
                    guard let head = stream.head, head.entryCount > 0 else { continue }
                    if force {
                        close(stream, reason: .forced)
                    } else if wallNow - stream.headCreated >= settings.maxChunkAge {
                        close(stream, reason: .maxAge)
                    } else if wallNow - stream.lastAppend >= settings.idlePeriod {
                        close(stream, reason: .idle)
                    }
                }
            }
        }
        encodeSealed()
        var jobs: [FlushJob] = []
        for index in shards.indices {
            shards[index].withLock { shard in
                for (key, stream) in shard.streams {
                    let pending = stream.closed.filter { $0.flushedAt == nil }
                    if !pending.isEmpty {
                        jobs.append(FlushJob(key: key, labels: stream.labels, chunks: pending))
                    }
                }
            }
        }
        metrics.flushQueueLength.set(Int64(jobs.count))
        guard !jobs.isEmpty else {
            removeRetired(now: wallNow)
            return
        }
        let written = await withTaskGroup(of: (FlushJob, [ChunkRef]).self) { group in
            var results: [(FlushJob, [ChunkRef])] = []
            var next = 0
            let width = max(1, settings.concurrentFlushes)
            func startNext() {
                guard next < jobs.count else { return }
                let job = jobs[next]
                next += 1
                group.addTask { (job, await self.write(job)) }
            }
            for _ in 0..<min(width, jobs.count) { startNext() }
            for await result in group {
                if !result.1.isEmpty { results.append(result) }
                metrics.flushQueueLength.decrement()
                startNext()
            }
            return results
        }
        // One index segment per tenant per cycle, written after its chunks: a chunk is in the index only once it
        // is stored, and is marked flushed only once it is in the index.
        var flushed: [(StreamKey, [ChunkRef])] = []
        for (tenant, group) in Dictionary(grouping: written, by: { $0.0.key.tenant }) {
            do {
                try await index.add(tenant: tenant, entries: group.map { job, refs in
                    SeriesChunks(labels: job.labels.pairs, fingerprint: job.key.fingerprint, chunks: refs)
                })
                flushed.append(contentsOf: group.map { ($0.0.key, $0.1) })
            } catch {
                metrics.chunkFlushFailures.increment()
                logger.error("index write failed; chunks will be flushed again", metadata: [
                    "tenant": "\(tenant)", "error": "\(error)",
                ])
            }
        }
        let doneAt = now()
        // Replay skips the entries of flushed chunks: say which they were.
        var markers: [WALRecord] = []
        for (key, refs) in flushed {
            shards[shard(key)].withLock { shard in
                guard let stream = shard.streams[key] else { return }
                let done = Set(refs.map(\.checksum))
                for i in stream.closed.indices where done.contains(stream.closed[i].ref.checksum) {
                    stream.closed[i].flushedAt = doneAt
                    markers.append(.flushed(tenant: key.tenant, fingerprint: key.fingerprint,
                                            counters: stream.closed[i].counters))
                }
            }
        }
        if !markers.isEmpty, case .open(let wal) = walState.withLock({ $0 }) {
            do {
                try await wal.log(markers)
            } catch {
                // Not fatal: replay after a crash would store these entries a second time, never lose them.
                logger.warning("could not log flushed chunks to the WAL", metadata: ["error": "\(error)"])
            }
        }
        removeRetired(now: doneAt)
        metrics.memoryBytes.set(Int64(memoryBytes.load(ordering: .relaxed)))
    }

    /// Writes one stream's chunk objects. Returns the ones stored; failures are logged, counted, and retried on the
    /// next cycle.
    private func write(_ job: FlushJob) async -> [ChunkRef] {
        var stored: [ChunkRef] = []
        for chunk in job.chunks {
            do {
                try await chunks.put(chunk.ref, chunk.bytes)
                stored.append(chunk.ref)
                metrics.chunkFlushed(reason: chunk.reason, bytes: chunk.bytes.count)
            } catch {
                metrics.chunkFlushFailures.increment()
                logger.error("chunk flush failed; will retry", metadata: [
                    "stream": "\(job.labels.description)", "tenant": "\(job.key.tenant)", "error": "\(error)",
                ])
            }
        }
        return stored
    }

    /// Drops flushed chunks past their retain period and streams left with nothing in memory.
    private func removeRetired(now: Int64) {
        var removedChunks = 0
        var removedStreams: [String] = []
        for index in shards.indices {
            shards[index].withLock { shard in
                for (key, stream) in shard.streams {
                    let before = stream.closed.count
                    var freed = 0
                    stream.closed.removeAll { chunk in
                        guard let at = chunk.flushedAt, now - at >= settings.retainPeriod else { return false }
                        freed += chunk.bytes.count
                        return true
                    }
                    removedChunks += before - stream.closed.count
                    if freed > 0 { memoryBytes.wrappingSubtract(freed, ordering: .relaxed) }
                    if stream.isEmpty && now - stream.lastAppend >= settings.retainPeriod {
                        shard.streams[key] = nil
                        removedStreams.append(key.tenant)
                    }
                }
            }
        }
        if removedChunks > 0 { metrics.memoryChunks.decrement(by: Double(removedChunks)) }
        guard !removedStreams.isEmpty else { return }
        streamCounts.withLock { counts in
            for tenant in removedStreams {
                counts[tenant, default: 1] -= 1
                if counts[tenant] == 0 { counts[tenant] = nil }
            }
        }
        for tenant in removedStreams { metrics.streamRemoved(tenant: tenant) }
    }

    // MARK: Read

    /// What a query sees of one in-memory stream: closed chunks as stored bytes (scanned without any lock) and
    /// the head chunk's matching entries, copied under the lock.
    public struct StreamSnapshot: Sendable {
        public let labels: LabelSet
        public let fingerprint: UInt64
        public let closedChunks: [(ref: ChunkRef, bytes: [UInt8])]
        public let headEntries: [QueryEntry]
        /// Raw line bytes and lines the head scan read, for query statistics.
        public let headBytesScanned: Int
        public let headLinesScanned: Int
    }

    /// Streams of `tenant` whose labels match, with data overlapping [from, through) nanoseconds.
    /// At most `limit` head entries per stream, the newest or oldest by `direction`, that pass `lineFilter`.
    ///
    /// `matches` and `lineFilter` are the query's own code (regexes among it), so they never run under a shard
    /// lock: the lock is held only to copy the tenant's label sets and then the matching streams' chunks
    /// (copy-on-write, no entry copied), and every scan runs on those copies. Checks for cancellation between
    /// streams, so a query timeout stops it.
    public func snapshot(
        tenant: String, from: Int64, through: Int64, direction: Direction, limit: Int,
        matches: (LabelSet) -> Bool, lineFilter: (UnsafeRawBufferPointer) -> Bool
    ) throws -> [StreamSnapshot] {
        var candidates: [(shard: Int, key: StreamKey, labels: LabelSet)] = []
        for index in shards.indices {
            shards[index].withLock { shard in
                for (key, stream) in shard.streams where key.tenant == tenant {
                    candidates.append((index, key, stream.labels))
                }
            }
        }
        var result: [StreamSnapshot] = []
        let fromMs = from / 1_000_000
        let throughMs = through / 1_000_000
        for candidate in candidates where matches(candidate.labels) {
            try Task.checkCancellation()
            let held = shards[candidate.shard].withLock { shard -> (UInt64, [(ref: ChunkRef, bytes: [UInt8])], [MemChunk])? in
                guard let stream = shard.streams[candidate.key] else { return nil }
                let closed = stream.closed
                    .filter { $0.ref.through >= fromMs && $0.ref.from <= throughMs }
                    .map { (ref: $0.ref, bytes: $0.bytes) }
                // Sealed chunks (closed, not yet encoded) and the head are read from copies, as entries.
                let copies = stream.openChunks.filter { chunk in
                    let bounds = chunk.bounds
                    return chunk.entryCount > 0 && bounds.through >= from && bounds.from < through
                }.map { $0.readCopy() }
                return (stream.fingerprint, closed, copies)
            }
            guard let (fingerprint, closed, open) = held else { continue }
            var entries: [QueryEntry] = []
            var bytes = 0
            var lines = 0
            for chunk in open {
                var taken = 0
                try? chunk.forEachEntry(from: from, through: through, direction: direction) { ts, line, metadata in
                    bytes += line.count
                    lines += 1
                    if lineFilter(line) {
                        entries.append(QueryEntry(timestamp: ts, line: Array(line),
                                                  structuredMetadata: try metadata.resolve()))
                        taken += 1
                    }
                    return taken < limit
                }
            }
            // Streams scanned without a match still count in the query's stats, as in Loki.
            if !closed.isEmpty || !entries.isEmpty || lines > 0 {
                result.append(StreamSnapshot(
                    labels: candidate.labels, fingerprint: fingerprint, closedChunks: closed,
                    headEntries: entries, headBytesScanned: bytes, headLinesScanned: lines))
            }
        }
        return result
    }

    /// Label sets of `tenant`'s in-memory streams with data overlapping [from, through) nanoseconds.
    public func series(tenant: String, from: Int64, through: Int64) -> [LabelSet] {
        var result: [LabelSet] = []
        for index in shards.indices {
            shards[index].withLock { shard in
                for (key, stream) in shard.streams where key.tenant == tenant {
                    if stream.overlaps(from: from, through: through) { result.append(stream.labels) }
                }
            }
        }
        return result
    }
}

extension MemoryStream {
    func overlaps(from: Int64, through: Int64) -> Bool {
        for chunk in openChunks where chunk.entryCount > 0 {
            let bounds = chunk.bounds
            if bounds.through >= from && bounds.from < through { return true }
        }
        let fromMs = from / 1_000_000
        let throughMs = through / 1_000_000
        return closed.contains { $0.ref.through >= fromMs && $0.ref.from <= throughMs }
    }
}
