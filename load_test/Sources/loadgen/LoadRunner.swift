import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import Synchronization

/// Drives a load of any ``LoadMode``: `concurrency` workers, each with its own pre-built ``RequestPool`` and one
/// keep-alive connection, send requests until the ``RunStop`` holds. At full speed a worker encodes its next body
/// while the current request is in flight; with a rate, workers take tokens from one shared ``TokenBucket`` and
/// stamp a body only when its tokens are due, so timestamps are send times.
///
/// A refusal that the plan resends (429/502/503/504; see ``Resend``) is sent again unchanged (same records, sequence
/// numbers and send time) until it is answered otherwise or the run ends. A request that fails for good gives its
/// records' sequence numbers back, so they go out again in a later request: only accepted records are counted, and
/// each stream's acknowledged records are numbered without holes (see ``SequenceLedger``). A body stamped before the
/// time limit but not sent by then is given back too.
struct LoadRunner<Mode: LoadMode>: Sendable {
    /// The longest a worker waits after a retryable answer, whatever `Retry-After` says.
    static var maxBackoff: Duration { .seconds(5) }

    /// What a worker does with a retryable answer (429, 502, 503, 504).
    enum Resend: Sendable, Equatable {
        /// Nothing: the request failed for good (push).
        case never
        /// Sends the same body again at once (`otlp --no-backoff`).
        case immediately
        /// Waits `Retry-After` (1 s when absent, at most ``maxBackoff``), as a well-behaved exporter does, then sends
        /// the same body again.
        case afterRetryAfter
    }

    struct Plan: Sendable {
        var mode: Mode
        var recordsPerRequest: Int
        var lineBytes: Int
        var concurrency: Int
        var templatesPerWorker: Int
        var stop: RunStop
        /// Put the word `needle` in one line of every N (0: never).
        var needleEvery: Int = 0
        /// Records a second over all workers; nil: as fast as the server answers.
        var rate: Double? = nil
        var resend: Resend = .never
        /// Print interim figures to stderr this often (nil: never).
        var progressEvery: Duration? = nil
        /// The run id every line's ``RecordMarker`` carries.
        var runID: String = RecordMarker.newRunID()
        /// Line sizes (nil: every line `lineBytes`), drawn with `sizeSeed`.
        var lineSizes: LineSizeDistribution? = nil
        var sizeSeed: UInt64 = 1
        var lineFormat: LineFormat = .logfmt
    }

    /// What a run measured.
    struct Outcome: Sendable {
        var stats: LoadStats
        var wall: Duration
        /// CPU this process used during the run, seconds.
        var clientCPUSeconds: Double
        /// Time taken to pre-build the pools (before the clock started).
        var poolBuild: Duration
        /// The run id in every record's marker.
        var runID: String
    }

    /// Counters the workers share, read by the progress printer.
    final class SharedCounters: Sendable {
        let recordsAccepted = Atomic<Int>(0)
        let refusals = Atomic<Int>(0)
    }

    /// The shared rate limiter and the instant its time counts from.
    final class Pacer: Sendable {
        let bucket: Mutex<TokenBucket>
        let start: ContinuousClock.Instant

        init(rate: Double, burst: Double, start: ContinuousClock.Instant) {
            self.bucket = Mutex(TokenBucket(rate: rate, burst: burst))
            self.start = start
        }

        /// Reserves `count` records now; returns the instant they may be sent.
        func reserve(_ count: Int) -> ContinuousClock.Instant {
            let now = ContinuousClock.now
            let wait = bucket.withLock { $0.reserve(count, now: now - start) }
            return now + wait
        }
    }

    let plan: Plan

    func run() async throws -> Outcome {
        let clock = ContinuousClock()
        let buildStart = clock.now
        let startMillis = wallClockNanos() / 1_000_000
        let plan = self.plan
        let pools = await withTaskGroup(of: (Int, RequestPool<Mode>).self) { group in
            for worker in 0..<plan.concurrency {
                group.addTask {
                    (worker, RequestPool(
                        mode: plan.mode, worker: worker, templateCount: plan.templatesPerWorker,
                        recordsPerRequest: plan.recordsPerRequest, lineBytes: plan.lineBytes,
                        needleEvery: plan.needleEvery, startMillis: startMillis, runID: plan.runID,
                        lineSizes: plan.lineSizes, sizeSeed: plan.sizeSeed, lineFormat: plan.lineFormat))
                }
            }
            var pools: [RequestPool<Mode>?] = Array(repeating: nil, count: plan.concurrency)
            for await (worker, pool) in group { pools[worker] = pool }
            return pools.compactMap { $0 }
        }
        let poolBuild = clock.now - buildStart

        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(
            idleTimeout: .seconds(120),
            concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, plan.concurrency / max(1, plan.mode.urlCount) + 1))
        configuration.httpVersion = .http1Only
        configuration.decompression = .disabled
        // Fail fast when nothing listens, instead of retrying the connection for the default 10 s.
        configuration.timeout.connect = .seconds(2)

        return try await HTTPClient.withHTTPClient(configuration: configuration) { client in
            let counters = SharedCounters()
            let cpuBefore = try ProcessSample.capture(pid: "self").cpuSeconds
            let start = clock.now
            let deadline = plan.stop.limit.map { start + $0 }
            let quotaMode: WorkerQuota.Mode = switch plan.stop {
            case .after: .time
            case .requests(let total): .requests(RunBudget(total: total))
            case .records(let total, _): .records(RunBudget(total: total))
            }
            // One request's worth of burst: a smooth pace, and no surge after a pause.
            let pacer = plan.rate.map { Pacer(rate: $0, burst: Double(plan.recordsPerRequest), start: start) }
            let progress = plan.progressEvery.map { every in
                Task {
                    // The planned duration; none when the run ends by count.
                    let total: Duration? = if case .after(let duration) = plan.stop { duration } else { nil }
                    await LiveProgress.run(
                        every: every, start: start, total: total, unit: plan.mode.progressNames.records,
                        errorsLabel: plan.mode.progressNames.errors,
                        count: { counters.recordsAccepted.load(ordering: .relaxed) },
                        errors: { counters.refusals.load(ordering: .relaxed) })
                }
            }
            let stats = await withTaskGroup(of: LoadStats.self) { group in
                for pool in pools {
                    group.addTask {
                        await Self.work(
                            pool: pool, client: client, plan: plan, counters: counters, pacer: pacer,
                            deadline: deadline,
                            quota: WorkerQuota(mode: quotaMode, full: plan.recordsPerRequest, deadline: deadline))
                    }
                }
                var total = LoadStats()
                for await stats in group { total.merge(stats) }
                return total
            }
            let wall = clock.now - start
            progress?.cancel()
            await progress?.value
            let cpuAfter = try ProcessSample.capture(pid: "self").cpuSeconds
            return Outcome(stats: stats, wall: wall, clientCPUSeconds: cpuAfter - cpuBefore, poolBuild: poolBuild,
                           runID: plan.runID)
        }
    }

    /// A body stamped and encoded, ready to send (and to send again).
    private struct Prepared {
        var body: ByteBuffer
        /// The body's size before compression.
        var encodedBytes: Int
        var records: Int
        var lineBytes: Int
        var needleRecords: Int
        var firstTimestamp: Int64
        var lastTimestamp: Int64
        var reservation: SequenceReservation
    }

    /// One worker: (wait for tokens,) stamp and encode, send, record, resend if refused and the plan says so,
    /// repeat, as long as `quota` gives records.
    private static func work(
        pool: RequestPool<Mode>, client: HTTPClient, plan: Plan, counters: SharedCounters, pacer: Pacer?,
        deadline: ContinuousClock.Instant?, quota: WorkerQuota
    ) async -> LoadStats {
        var pool = pool
        var quota = quota
        var stats = LoadStats()
        let mode = plan.mode
        let headers = mode.headers
        let url = mode.url(worker: pool.worker)
        let clock = ContinuousClock()

        func prepare(_ records: Int) -> Prepared {
            let started = clock.now
            let now = wallClockNanos()
            let encoded = pool.encodeNextRequest(nowNanos: now, records: records)
            let body = ByteBuffer(bytes: mode.compress(encoded.bytes))
            stats.encodeNanos += (clock.now - started).nanoseconds
            stats.bodiesEncoded += 1
            return Prepared(body: body, encodedBytes: encoded.bytes.count, records: encoded.records,
                            lineBytes: encoded.lineBytes, needleRecords: encoded.needleRecords, firstTimestamp: now,
                            lastTimestamp: now + Int64(encoded.records), reservation: encoded.reservation)
        }

        func isOver() -> Bool { deadline.map { clock.now >= $0 } ?? false }

        /// Waits until `instant`, or the deadline if that comes first (so that a worker pausing at the end still
        /// spans the whole run, and records/s are over the run's duration); false when the run is over.
        func wait(until instant: ContinuousClock.Instant) async -> Bool {
            let until = deadline.map { min(instant, $0) } ?? instant
            if until > clock.now {
                do { try await clock.sleep(until: until) } catch { return false }
            }
            return deadline.map { instant < $0 } ?? true
        }

        func record(_ outcome: SendOutcome, _ prepared: Prepared) {
            stats.record(outcome, records: prepared.records, lineBytes: prepared.lineBytes,
                         needleRecords: prepared.needleRecords, bodyBytes: prepared.body.readableBytes,
                         encodedBytes: prepared.encodedBytes, firstTimestamp: prepared.firstTimestamp,
                         lastTimestamp: prepared.lastTimestamp)
            if outcome.isAccepted {
                let rejected = min(prepared.records, max(0, outcome.rejectedRecords))
                counters.recordsAccepted.wrappingAdd(prepared.records - rejected, ordering: .relaxed)
            } else {
                counters.refusals.wrappingAdd(1, ordering: .relaxed)
            }
        }

        /// After a retryable answer, waits as the server asked (with ``Resend/afterRetryAfter``); false when the run
        /// is over.
        func backOff(_ outcome: SendOutcome) async -> Bool {
            guard plan.resend == .afterRetryAfter else { return true }
            let pause = min(outcome.retryAfter ?? .seconds(1), maxBackoff)
            let started = clock.now
            let more = await wait(until: started + pause)
            stats.backoffs += 1
            stats.backoffNanos += (clock.now - started).nanoseconds
            return more
        }

        /// Sends `current` again while it is refused with a retryable status (after the backoff), as long as the
        /// run lasts and the plan resends; each attempt takes its tokens when paced. Returns the last answer.
        func retry(_ current: Prepared, after first: SendOutcome) async -> SendOutcome {
            var outcome = first
            while plan.resend != .never, outcome.isRetryable, await backOff(outcome), !isOver() {
                if let pacer {
                    let waitStart = clock.now
                    guard await wait(until: pacer.reserve(current.records)) else { break }
                    stats.pacingNanos += (clock.now - waitStart).nanoseconds
                }
                outcome = await send(current.body, to: url, headers: headers, client: client, mode: mode)
                record(outcome, current)
                stats.retries += 1
            }
            return outcome
        }

        if let pacer {
            while true {
                let size = quota.next()
                guard size > 0 else { break }
                let due = pacer.reserve(size)
                let waitStart = clock.now
                guard await wait(until: due) else { break }
                stats.pacingNanos += (clock.now - waitStart).nanoseconds
                let prepared = prepare(size)
                var outcome = await send(prepared.body, to: url, headers: headers, client: client, mode: mode)
                record(outcome, prepared)
                outcome = await retry(prepared, after: outcome)
                if outcome.isAccepted {
                    pool.acknowledge(prepared.reservation)
                } else {
                    pool.release(prepared.reservation)
                    quota.returnFailed(prepared.records)
                }
            }
            stats.acknowledgedSequences = pool.ledger.acknowledgedByKey
            return stats
        }

        let first = quota.next()
        guard first > 0 else { return stats }
        var next: Prepared? = prepare(first)
        while let current = next {
            next = nil
            async let answer = send(current.body, to: url, headers: headers, client: client, mode: mode)
            let size = quota.next()
            if size > 0 { next = prepare(size) }
            var outcome = await answer
            record(outcome, current)
            let retriesBefore = stats.retries
            outcome = await retry(current, after: outcome)
            if outcome.isAccepted {
                pool.acknowledge(current.reservation)
                // A body prepared before a backoff is stamped again so that its timestamps stay send times.
                if let stale = next, stats.retries > retriesBefore {
                    pool.release(stale.reservation)
                    next = prepare(stale.records)
                }
            } else {
                // Newest first: the next body's numbers, then this one's; the records go out again.
                if let stale = next {
                    pool.release(stale.reservation)
                    quota.returnUnsent(stale.records)
                }
                pool.release(current.reservation)
                quota.returnFailed(current.records)
                next = nil
                let size = quota.next()
                if size > 0 { next = prepare(size) }
            }
            if isOver(), let unsent = next {
                pool.release(unsent.reservation)
                next = nil
            }
        }
        stats.acknowledgedSequences = pool.ledger.acknowledgedByKey
        return stats
    }

    /// Sends one body as `mode` sends it. Never throws: failures become a ``SendOutcome``.
    static func send(
        _ body: ByteBuffer, to url: String, headers: HTTPHeaders, client: HTTPClient, mode: Mode
    ) async -> SendOutcome {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers = headers
        request.body = .bytes(body)
        return await send(request, client: client, mode: mode)
    }

    /// Sends one request and reads the whole answer: a 2xx as `mode` reads it, anything else as an error text with
    /// its `Retry-After`. Never throws: failures become a ``SendOutcome``.
    static func send(_ request: HTTPClientRequest, client: HTTPClient, mode: Mode) async -> SendOutcome {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let response = try await client.execute(request, timeout: .seconds(60))
            let status = Int(response.status.code)
            let accepted = (200..<300).contains(status)
            // Keep what the mode reads of a success, and the start of anything else for the report.
            let keep = accepted ? mode.successBodyLimit : 512
            var kept: [UInt8] = []
            for try await chunk in response.body where kept.count < keep {
                kept.append(contentsOf: chunk.readableBytesView.prefix(keep - kept.count))
            }
            let latency = clock.now - start
            let contentType = response.headers.first(name: "Content-Type")
            guard accepted else {
                let retryAfter = response.headers.first(name: "Retry-After").flatMap { Int($0) }
                    .map { Duration.seconds($0) }
                return SendOutcome(status: status, message: SendOutcome.errorText(kept, contentType: contentType),
                                   retryAfter: retryAfter, latency: latency)
            }
            return mode.success(status: status, body: kept, contentType: contentType, latency: latency)
        } catch {
            return SendOutcome(status: nil, message: String(describing: error), latency: clock.now - start)
        }
    }
}
