import Foundation
import Testing

@testable import loadgen

/// `--count N` for `push` and `otlp`: exactly N records acknowledged, whatever the concurrency, against a real
/// loopback server, with failed requests' records sent again under the same numbers.
@Suite struct CountTests {
    @Test func budgetHandsOutExactlyItsTotalOverWorkers() async {
        let budget = RunBudget(total: 10_007)
        let taken = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var quota = WorkerQuota(mode: .records(budget), full: 100, deadline: nil)
                    var total = 0
                    while case let size = quota.next(), size > 0 {
                        #expect(size <= 100)
                        total += size
                    }
                    return total
                }
            }
            return await group.reduce(0, +)
        }
        #expect(taken == 10_007)
    }

    @Test func failedRecordsAreOwedBeforeMoreAreClaimed() {
        let budget = RunBudget(total: 250)
        var quota = WorkerQuota(mode: .records(budget), full: 100, deadline: nil)
        #expect(quota.next() == 100)
        #expect(quota.next() == 100)
        quota.returnUnsent(100)
        quota.returnFailed(100)
        #expect(quota.next() == 100 && quota.next() == 100, "the 200 owed go out again first")
        #expect(quota.next() == 50, "the last request is smaller")
        #expect(quota.next() == 0)
        // fill's request count: a failed request still counts, an unsent body is given back.
        let requests = RunBudget(total: 2)
        var fill = WorkerQuota(mode: .requests(requests), full: 1000, deadline: nil)
        #expect(fill.next() == 1000 && fill.next() == 1000)
        fill.returnFailed(1000)
        fill.returnUnsent(1000)
        #expect(fill.next() == 1000 && fill.next() == 0)
        // A deadline ends a count run whatever is owed.
        var late = WorkerQuota(mode: .records(RunBudget(total: 5)), full: 10, deadline: .now - .seconds(1))
        #expect(late.next() == 0)
    }

    private static func check(_ markers: [RecordMarker], count: Int, acknowledged: [String: Int]) {
        #expect(markers.count == count, "records accepted by the server")
        let keys = markers.map { "\($0.streamKey):\($0.sequence)" }
        #expect(Set(keys).count == keys.count, "no record accepted twice")
        var byStream: [String: [Int]] = [:]
        for marker in markers { byStream[marker.streamKey, default: []].append(marker.sequence) }
        #expect(byStream.mapValues(\.count) == acknowledged, "the RESULT's sequences are what arrived")
        for (key, numbers) in byStream {
            #expect(numbers.sorted() == Array(0..<numbers.count), "\(key) numbered without holes")
        }
    }

    /// Every fifth request is refused for good (HTTP 500), so records go out again; exactly `count` are accepted.
    @Test(arguments: [(2_500, nil as Double?), (1_234, 20_000)])
    func otlpStopsAtExactlyCountAcknowledged(count: Int, rate: Double?) async throws {
        let server = try await FakeIngestServer(answer: { $0 % 5 == 3 ? 500 : 200 })
        let plan = LoadRunner.Plan(
            mode: OTLPMode(urls: [server.baseURL + "/v1/logs"], encoding: .protobuf, attributes: 1, services: 4),
            recordsPerRequest: 300, lineBytes: 150, concurrency: 3, templatesPerWorker: 2,
            stop: .records(count, limit: .seconds(300)), rate: rate, resend: .afterRetryAfter, runID: "0c0c0c0c",
            lineSizes: .uniform(min: 80, max: 400))
        let outcome = try await LoadRunner(plan: plan).run()
        try await server.shutdown()
        #expect(outcome.stats.recordsAccepted == count)
        #expect(outcome.stats.acknowledgedSequences.values.reduce(0, +) == count)
        #expect(outcome.stats.status5xx > 0, "the refusals happened")
        #expect(outcome.wall < .seconds(300), "stopped at the count, not the time limit")
        Self.check(server.acceptedMarkers, count: count, acknowledged: outcome.stats.acknowledgedSequences)
    }

    @Test func pushStopsAtExactlyCountAcknowledged() async throws {
        let server = try await FakeIngestServer(answer: { $0 % 4 == 1 ? 500 : 204 })
        var plan = LoadRunner.Plan(
            mode: PushMode(baseURL: server.baseURL, tenant: "fake", encoding: .json, streams: 6),
            recordsPerRequest: 250, lineBytes: 200, concurrency: 3, templatesPerWorker: 2,
            stop: .records(1_999, limit: nil), runID: "0d0d0d0d")
        plan.lineSizes = .normal(mean: 300, stddev: 80)
        let outcome = try await LoadRunner(plan: plan).run()
        try await server.shutdown()
        #expect(outcome.stats.recordsAccepted == 1_999)
        #expect(outcome.stats.status5xx > 0)
        Self.check(server.acceptedMarkers, count: 1_999, acknowledged: outcome.stats.acknowledgedSequences)
    }

    @Test func commandLineCountAndTimeLimit() throws {
        guard case .records(5000, nil) = try OTLPCommand.parse(["--count", "5000"]).plan.stop else {
            Issue.record("otlp --count 5000 has a time limit, or another count")
            return
        }
        guard case .records(5, .seconds(3)) = try OTLPCommand.parse(["--count", "5", "--duration", "3s"]).plan.stop,
              case .after(.seconds(30)) = try OTLPCommand.parse([]).plan.stop
        else {
            Issue.record("otlp --duration is the time limit of a count, 30 s without one")
            return
        }
        #expect(throws: (any Error).self) { try OTLPCommand.parse(["--count", "0"]) }
        let push = try PushCommand.parse(["--count", "7"])
        guard case .records(7, nil) = push.stop else {
            Issue.record("push --count 7 is \(push.stop)")
            return
        }
        guard case .after(.seconds(30)) = try PushCommand.parse([]).stop else {
            Issue.record("push defaults to 30 s")
            return
        }
        #expect(throws: (any Error).self) { try PushCommand.parse(["--count", "-1"]) }
    }
}
