import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import Synchronization
import Wire

/// Drives an OTLP/HTTP logs load: `concurrency` workers, each with its own pre-built ``OTLPRequestPool`` and one
/// keep-alive connection, send export requests until the deadline. At full speed a worker encodes its next body
/// while the current request is in flight; with a rate, workers take tokens from one shared ``TokenBucket`` and
/// stamp a body only when its tokens are due, so timestamps are send times.
///
/// A 429/502/503/504 answer makes that worker wait `Retry-After` (capped at ``maxBackoff``; 1 s when absent), as a
/// well-behaved exporter does, unless `backoff` is off, and then send the same body again (same records, sequence
/// numbers and send time), until it is answered otherwise or the run ends. A request that fails for good gives its
/// records' sequence numbers back, so they go out again in a later request: only accepted records are counted,
/// and each stream's acknowledged records are numbered without holes (see ``SequenceLedger``).
struct OTLPRunner: Sendable {
    /// The longest a worker waits after a retryable answer, whatever `Retry-After` says.
    static let maxBackoff = Duration.seconds(5)

    struct Plan: Sendable {
        /// The full export URL, e.g. `http://127.0.0.1:4318/v1/logs`.
        /// Targets (gateway replicas): worker `i` sends to `urls[i % urls.count]`, spreading the rate evenly.
        var urls: [String]
        var encoding: OTLPEncoding
        /// gzip bodies at this level (1...9); nil: uncompressed.
        var gzipLevel: Int32?
        var recordsPerRequest: Int
        var lineBytes: Int
        var attributes: Int
        var services: Int
        var concurrency: Int
        var templatesPerWorker: Int
        /// How long to send; with `count`, a time limit (nil: none).
        var duration: Duration?
        /// Stop once exactly this many records were acknowledged (the last request may be smaller).
        var count: Int? = nil
        /// Records a second over all workers; nil: as fast as the server answers.
        var rate: Double?
        /// Wait `Retry-After` after a retryable answer.
        var backoff: Bool
        /// Print interim figures to stderr this often (nil: never).
        var progressEvery: Duration?
        /// The run id every record's ``RecordMarker`` carries.
        var runID: String = RecordMarker.newRunID()
        /// Body sizes (nil: every body `lineBytes`), drawn with `sizeSeed`.
        var lineSizes: LineSizeDistribution? = nil
        var sizeSeed: UInt64 = 1
    }

    /// What a run measured.
    struct Outcome: Sendable {
        var stats: OTLPStats
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
        let pools = await withTaskGroup(of: (Int, OTLPRequestPool).self) { group in
            for worker in 0..<plan.concurrency {
                group.addTask {
                    (worker, OTLPRequestPool(
                        worker: worker, templateCount: plan.templatesPerWorker,
                        recordsPerRequest: plan.recordsPerRequest, lineBytes: plan.lineBytes,
                        attributes: plan.attributes, services: plan.services, startMillis: startMillis,
                        runID: plan.runID, lineSizes: plan.lineSizes, sizeSeed: plan.sizeSeed))
                }
            }
            var pools: [OTLPRequestPool?] = Array(repeating: nil, count: plan.concurrency)
            for await (worker, pool) in group { pools[worker] = pool }
            return pools.compactMap { $0 }
        }
        let poolBuild = clock.now - buildStart

        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(
            idleTimeout: .seconds(120), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, plan.concurrency / max(1, plan.urls.count) + 1))
        configuration.httpVersion = .http1Only
        configuration.decompression = .disabled
        // Fail fast when nothing listens, instead of retrying the connection for the default 10 s.
        configuration.timeout.connect = .seconds(2)

        return try await HTTPClient.withHTTPClient(configuration: configuration) { client in
            let counters = SharedCounters()
            let cpuBefore = try ProcessSample.capture(pid: "self").cpuSeconds
            let start = clock.now
            // Without a time limit (a --count run), a deadline that never comes.
            let deadline = start + (plan.duration ?? .seconds(100 * 365 * 86_400))
            let budget = plan.count.map { RunBudget(total: $0) }
            // One request's worth of burst: a smooth pace, and no surge after a pause.
            let pacer = plan.rate.map { Pacer(rate: $0, burst: Double(plan.recordsPerRequest), start: start) }
            let progress = plan.progressEvery.map { every in
                Task {
                    await LiveProgress.run(
                        every: every, start: start, total: plan.count == nil ? plan.duration : nil, unit: "records", errorsLabel: "refused",
                        count: { counters.recordsAccepted.load(ordering: .relaxed) },
                        errors: { counters.refusals.load(ordering: .relaxed) })
                }
            }
            let stats = await withTaskGroup(of: OTLPStats.self) { group in
                for pool in pools {
                    group.addTask {
                        var quota = WorkerQuota(mode: budget.map { .records($0) } ?? .time, full: plan.recordsPerRequest,
                                                deadline: plan.duration.map { start + $0 })
                        return await Self.work(pool: pool, client: client, plan: plan, counters: counters, pacer: pacer,
                                               deadline: deadline, quota: &quota)
                    }
                }
                var total = OTLPStats()
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

    /// One worker: (wait for tokens,) stamp and encode, send, record, back off if refused, repeat, as long as
    /// `quota` gives records.
    private static func work(
        pool: OTLPRequestPool, client: HTTPClient, plan: Plan, counters: SharedCounters, pacer: Pacer?,
        deadline: ContinuousClock.Instant, quota: inout WorkerQuota
    ) async -> OTLPStats {
        var pool = pool
        var stats = OTLPStats()
        var builtHeaders = HTTPHeaders()
        builtHeaders.add(name: "Content-Type", value: plan.encoding.contentType)
        builtHeaders.add(name: "User-Agent", value: "estuary-loadgen")
        if plan.gzipLevel != nil { builtHeaders.add(name: "Content-Encoding", value: "gzip") }
        let headers = builtHeaders
        let url = plan.urls[pool.worker % plan.urls.count]
        let encoding = plan.encoding
        let gzipLevel = plan.gzipLevel
        let clock = ContinuousClock()

        struct Prepared {
            var body: ByteBuffer
            /// The body's size before gzip.
            var encodedBytes: Int
            var records: Int
            var lineBytes: Int
            var firstTimestamp: Int64
            var lastTimestamp: Int64
            var reservation: SequenceReservation
        }

        func prepare(_ records: Int) -> Prepared {
            let started = clock.now
            let now = wallClockNanos()
            let encoded = pool.encodeNextRequest(nowNanos: now, records: records) { encoding.encode($0) }
            let body = ByteBuffer(bytes: gzipLevel.map { Gzip.compress(encoded.bytes, level: $0) } ?? encoded.bytes)
            stats.encodeNanos += (clock.now - started).nanoseconds
            stats.bodiesEncoded += 1
            return Prepared(body: body, encodedBytes: encoded.bytes.count, records: encoded.records,
                            lineBytes: encoded.lineBytes, firstTimestamp: now,
                            lastTimestamp: now + Int64(encoded.records), reservation: encoded.reservation)
        }

        /// Waits until `instant`, or the deadline if that comes first (so that a worker pausing at the end still
        /// spans the whole run, and records/s are over the run's duration); false when the run is over.
        func wait(until instant: ContinuousClock.Instant) async -> Bool {
            let until = min(instant, deadline)
            if until > clock.now {
                do { try await clock.sleep(until: until) } catch { return false }
            }
            return instant < deadline
        }

        func record(_ outcome: OTLPSendOutcome, _ prepared: Prepared) {
            stats.encodedBytes += prepared.encodedBytes
            stats.record(outcome, records: prepared.records, lineBytes: prepared.lineBytes,
                         bodyBytes: prepared.body.readableBytes, firstTimestamp: prepared.firstTimestamp,
                         lastTimestamp: prepared.lastTimestamp)
            if let status = outcome.status, (200..<300).contains(status) {
                let rejected = min(prepared.records, max(0, outcome.rejectedRecords))
                counters.recordsAccepted.wrappingAdd(prepared.records - rejected, ordering: .relaxed)
            } else {
                counters.refusals.wrappingAdd(1, ordering: .relaxed)
            }
        }

        /// After a retryable answer, waits as the server asked; false when the run is over.
        func backOff(_ outcome: OTLPSendOutcome) async -> Bool {
            guard plan.backoff, outcome.isRetryable else { return true }
            let pause = min(outcome.retryAfter ?? .seconds(1), maxBackoff)
            let started = clock.now
            let more = await wait(until: started + pause)
            stats.backoffs += 1
            stats.backoffNanos += (clock.now - started).nanoseconds
            return more
        }

        /// Sends `current` again while it is refused with a retryable status (after the backoff), as long as the
        /// run lasts; each attempt takes its tokens when paced. Returns the last answer.
        func retry(_ current: Prepared, after first: OTLPSendOutcome) async -> OTLPSendOutcome {
            var outcome = first
            while outcome.isRetryable, await backOff(outcome), clock.now < deadline {
                if let pacer {
                    let waitStart = clock.now
                    guard await wait(until: pacer.reserve(current.records)) else { break }
                    stats.pacingNanos += (clock.now - waitStart).nanoseconds
                }
                outcome = await send(current.body, to: url, encoding: encoding, headers: headers, client: client)
                record(outcome, current)
                stats.retries += 1
            }
            return outcome
        }

        func accepted(_ outcome: OTLPSendOutcome) -> Bool {
            guard let status = outcome.status else { return false }
            return (200..<300).contains(status)
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
                var outcome = await send(prepared.body, to: url, encoding: encoding, headers: headers, client: client)
                record(outcome, prepared)
                outcome = await retry(prepared, after: outcome)
                if accepted(outcome) {
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
            async let answer = send(current.body, to: url, encoding: encoding, headers: headers, client: client)
            let size = quota.next()
            if size > 0 { next = prepare(size) }
            var outcome = await answer
            record(outcome, current)
            let retriesBefore = stats.retries
            outcome = await retry(current, after: outcome)
            if accepted(outcome) {
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
            if clock.now >= deadline, let unsent = next {
                pool.release(unsent.reservation)
                next = nil
            }
        }
        stats.acknowledgedSequences = pool.ledger.acknowledgedByKey
        return stats
    }

    /// Sends one export request and reads the answer. Never throws: failures become an ``OTLPSendOutcome``.
    static func send(
        _ body: ByteBuffer, to url: String, encoding: OTLPEncoding, headers: HTTPHeaders, client: HTTPClient
    ) async -> OTLPSendOutcome {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers = headers
        request.body = .bytes(body)
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let response = try await client.execute(request, timeout: .seconds(60))
            let status = Int(response.status.code)
            // A success's ExportLogsServiceResponse is small; keep the start of anything else for the report.
            let keep = (200..<300).contains(status) ? 1 << 20 : 512
            var kept: [UInt8] = []
            for try await chunk in response.body where kept.count < keep {
                kept.append(contentsOf: chunk.readableBytesView.prefix(keep - kept.count))
            }
            let latency = clock.now - start
            guard (200..<300).contains(status) else {
                let retryAfter = response.headers.first(name: "Retry-After").flatMap { Int($0) }
                    .map { Duration.seconds($0) }
                return OTLPSendOutcome(
                    status: status, message: errorText(kept, contentType: response.headers.first(name: "Content-Type")),
                    retryAfter: retryAfter, latency: latency)
            }
            return Self.success(status: status, body: kept, contentType: response.headers.first(name: "Content-Type"),
                                requestEncoding: encoding, latency: latency)
        } catch {
            return OTLPSendOutcome(status: nil, message: String(describing: error), latency: clock.now - start)
        }
    }

    /// The words of an error answer: a protobuf `google.rpc.Status` as `code 14: message`, anything else as text.
    static func errorText(_ body: [UInt8], contentType: String?) -> String {
        let type = contentType?.lowercased() ?? ""
        if type.hasPrefix("application/x-protobuf") || type.hasPrefix("application/protobuf"),
           let status = RPCStatus(protobuf: body) {
            return "code \(status.code): \(status.message)"
        }
        return String(decoding: body, as: UTF8.self)
    }

    /// Reads the `partial_success` of a 2xx answer, in the encoding its `Content-Type` names (the request's when it
    /// names neither).
    static func success(status: Int, body: [UInt8], contentType: String?, requestEncoding: OTLPEncoding,
                        latency: Duration) -> OTLPSendOutcome {
        let type = contentType?.lowercased() ?? ""
        let encoding: OTLPEncoding = type.hasPrefix("application/json") ? .json
            : type.hasPrefix("application/x-protobuf") || type.hasPrefix("application/protobuf") ? .protobuf
            : requestEncoding
        do throws(OTLPDecodeError) {
            let response = try encoding.decodeResponse(body)
            return OTLPSendOutcome(status: status, message: response.errorMessage,
                                   rejectedRecords: Int(clamping: response.rejectedLogRecords), latency: latency)
        } catch {
            return OTLPSendOutcome(status: status, message: "\(error)", responseUndecodable: true, latency: latency)
        }
    }
}
