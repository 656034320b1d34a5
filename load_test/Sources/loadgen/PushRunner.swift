import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import Synchronization

/// Drives a push load: `concurrency` workers, each with its own pre-built ``RequestPool`` and one keep-alive
/// connection, send requests back to back until the stop condition holds. A worker encodes its next body while the
/// current request is in flight, so encoding overlaps the round trip.
struct PushRunner: Sendable {
    /// When the run ends.
    enum Stop: Sendable {
        /// Stop starting requests after this long.
        case after(Duration)
        /// Stop after this many requests in all (for `fill`).
        case requests(Int)
        /// Stop once exactly this many lines were acknowledged (the last request may be smaller), or after the
        /// time limit if one is given and comes first.
        case records(Int, limit: Duration?)
    }

    struct Plan: Sendable {
        var baseURL: String
        var tenant: String
        var encoding: BodyEncoding
        var streams: Int
        var linesPerRequest: Int
        var lineBytes: Int
        var concurrency: Int
        var needleEvery: Int
        var templatesPerWorker: Int
        var stop: Stop
        /// Print interim figures to stderr this often (nil: never).
        var progressEvery: Duration?
        /// The run id every line's ``RecordMarker`` carries.
        var runID: String = RecordMarker.newRunID()
        /// Line sizes (nil: every line `lineBytes`), drawn with `sizeSeed`.
        var lineSizes: LineSizeDistribution? = nil
        var sizeSeed: UInt64 = 1
    }

    /// What a run measured.
    struct Outcome: Sendable {
        var stats: PushStats
        var wall: Duration
        /// CPU this process used during the run, seconds.
        var clientCPUSeconds: Double
        /// Time taken to pre-build the pools (before the clock started).
        var poolBuild: Duration
        /// The run id in every line's marker.
        var runID: String
    }

    /// Counters the workers share, read by the progress printer and the `requests` stop condition.
    final class SharedCounters: Sendable {
        let claimedRequests = Atomic<Int>(0)
        let linesAccepted = Atomic<Int>(0)
        let failures = Atomic<Int>(0)
    }

    let plan: Plan

    func run() async throws -> Outcome {
        let clock = ContinuousClock()
        let buildStart = clock.now
        let labels = RequestPool.makeStreamLabels(count: plan.streams)
        let startMillis = wallClockNanos() / 1_000_000
        let plan = self.plan
        let pools = await withTaskGroup(of: (Int, RequestPool).self) { group in
            for worker in 0..<plan.concurrency {
                group.addTask {
                    (worker, RequestPool(
                        worker: worker, templateCount: plan.templatesPerWorker, linesPerRequest: plan.linesPerRequest,
                        lineBytes: plan.lineBytes, streamLabels: labels, needleEvery: plan.needleEvery,
                        startMillis: startMillis, runID: plan.runID, lineSizes: plan.lineSizes,
                        sizeSeed: plan.sizeSeed))
                }
            }
            var pools: [RequestPool?] = Array(repeating: nil, count: plan.concurrency)
            for await (worker, pool) in group { pools[worker] = pool }
            return pools.compactMap { $0 }
        }
        let poolBuild = clock.now - buildStart

        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(
            idleTimeout: .seconds(120), concurrentHTTP1ConnectionsPerHostSoftLimit: plan.concurrency)
        configuration.httpVersion = .http1Only
        configuration.decompression = .disabled
        // Fail fast when nothing listens, instead of retrying the connection for the default 10 s.
        configuration.timeout.connect = .seconds(2)

        return try await HTTPClient.withHTTPClient(configuration: configuration) { client in
            let counters = SharedCounters()
            let cpuBefore = try ProcessSample.capture(pid: "self").cpuSeconds
            let start = clock.now
            let deadline: ContinuousClock.Instant? = switch plan.stop {
            case .after(let duration): start + duration
            case .records(_, let limit?): start + limit
            default: nil
            }
            let budget: RunBudget? = switch plan.stop {
            case .requests(let total), .records(let total, _): RunBudget(total: total)
            case .after: nil
            }
            let progress = plan.progressEvery.map { every in
                Task {
                    await LiveProgress.run(
                        every: every, start: start, total: deadline.map { $0 - start }, unit: "lines",
                        errorsLabel: "failures", count: { counters.linesAccepted.load(ordering: .relaxed) },
                        errors: { counters.failures.load(ordering: .relaxed) })
                }
            }
            let stats = await withTaskGroup(of: PushStats.self) { group in
                for pool in pools {
                    group.addTask {
                        await Self.work(pool: pool, client: client, plan: plan, counters: counters, deadline: deadline,
                                        budget: budget)
                    }
                }
                var total = PushStats()
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

    /// One worker: encode, send, encode the next while waiting, record, repeat. A request that is not answered
    /// 2xx gives its lines' sequence numbers back (and those of the next body, which is stamped again), so the
    /// same records go out in a later request: only acknowledged records count, and they are numbered without holes.
    private static func work(
        pool: RequestPool, client: HTTPClient, plan: Plan, counters: SharedCounters,
        deadline: ContinuousClock.Instant?, budget: RunBudget?
    ) async -> PushStats {
        var pool = pool
        var stats = PushStats()
        let url = plan.baseURL + "/loki/api/v1/push"
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: plan.encoding.contentType)
        headers.add(name: "User-Agent", value: "estuary-loadgen")
        if !plan.tenant.isEmpty { headers.add(name: "X-Scope-OrgID", value: plan.tenant) }
        let encoding = plan.encoding
        let clock = ContinuousClock()
        let mode: WorkerQuota.Mode = switch plan.stop {
        case .after: .time
        case .requests: budget.map { .requests($0) } ?? .time
        case .records: budget.map { .records($0) } ?? .time
        }
        var quota = WorkerQuota(mode: mode, full: pool.linesPerRequest, deadline: deadline)

        struct Prepared {
            var body: ByteBuffer
            var lines: Int
            var lineBytes: Int
            var needleLines: Int
            var firstTimestamp: Int64
            var lastTimestamp: Int64
            var reservation: SequenceReservation
        }

        func prepare(_ lines: Int) -> Prepared {
            let started = clock.now
            let now = wallClockNanos()
            let serialized = pool.serializeNextRequest(nowNanos: now, lines: lines) { encoding.serialize($0) }
            let buffer = ByteBuffer(bytes: encoding.compress(serialized.bytes))
            stats.encodeNanos += (clock.now - started).nanoseconds
            stats.bodiesEncoded += 1
            stats.noteSent(firstTimestamp: now, lastTimestamp: now + Int64(serialized.lines))
            return Prepared(body: buffer, lines: serialized.lines, lineBytes: serialized.lineBytes,
                            needleLines: serialized.needleLines, firstTimestamp: now,
                            lastTimestamp: now + Int64(serialized.lines), reservation: serialized.reservation)
        }

        var size = quota.next()
        guard size > 0 else { return stats }
        var next = prepare(size)
        while true {
            let current = next
            let request = Self.makeRequest(url: url, headers: headers, body: current.body)
            async let answer = Self.send(request, client: client)
            size = quota.next()
            var more = size > 0
            if more { next = prepare(size) }
            let outcome = await answer
            stats.record(outcome, lines: current.lines, lineBytes: current.lineBytes,
                         needleLines: current.needleLines, bodyBytes: current.body.readableBytes,
                         firstTimestamp: current.firstTimestamp, lastTimestamp: current.lastTimestamp)
            if let status = outcome.status, (200..<300).contains(status) {
                counters.linesAccepted.wrappingAdd(current.lines, ordering: .relaxed)
                pool.acknowledge(current.reservation)
            } else {
                counters.failures.wrappingAdd(1, ordering: .relaxed)
                // Newest first: the next body's numbers, then this one's; the next body is stamped again.
                if more {
                    pool.release(next.reservation)
                    quota.returnUnsent(next.lines)
                }
                pool.release(current.reservation)
                quota.returnFailed(current.lines)
                size = quota.next()
                more = size > 0
                if more { next = prepare(size) }
            }
            if !more { break }
        }
        stats.acknowledgedSequences = pool.ledger.acknowledgedByKey
        return stats
    }

    private static func makeRequest(url: String, headers: HTTPHeaders, body: ByteBuffer) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers = headers
        request.body = .bytes(body)
        return request
    }

    /// Sends one request and reads the whole answer. Never throws: failures become a ``SendOutcome``.
    static func send(_ request: HTTPClientRequest, client: HTTPClient) async -> SendOutcome {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let response = try await client.execute(request, timeout: .seconds(60))
            let status = Int(response.status.code)
            var kept: [UInt8] = []
            for try await chunk in response.body where kept.count < 512 {
                kept.append(contentsOf: chunk.readableBytesView.prefix(512 - kept.count))
            }
            let message = (200..<300).contains(status) ? "" : String(decoding: kept, as: UTF8.self)
            return SendOutcome(status: status, message: message, latency: clock.now - start)
        } catch {
            return SendOutcome(status: nil, message: String(describing: error), latency: clock.now - start)
        }
    }
}
