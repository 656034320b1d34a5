import Foundation
import Testing
import TestSupport
import Wire

@testable import Backend

/// The delete API's parameter rules and the request store: Loki's validation messages, listing, cancelling within
/// and after the cancel period, and tenants that never see each other's requests.
@Suite struct DeleteRequestTests {
    /// 2020-06-08T11:37:07Z, in milliseconds.
    static let now: Int64 = 1_591_616_227_000

    static func parse(
        query: String? = #"{app="a"}"#, start: String? = "1591600000", end: String? = nil, maxInterval: String? = nil
    ) -> Result<DeleteRequestParameters, DeleteRequestParameters.Invalid> {
        Result { () throws(DeleteRequestParameters.Invalid) in
            try DeleteRequestParameters.parse(query: query, start: start, end: end, maxInterval: maxInterval,
                                              now: now, maxIntervalLimit: 24 * 3_600_000_000_000)
        }
    }

    @Test(arguments: [
        (nil, "1591600000", nil, nil, "query not set"),
        ("", "1591600000", nil, nil, "query not set"),
        (#"{app="a"} | json"#, "1591600000", nil, nil, "invalid query expression: "),
        (#"{app="a""#, "1591600000", nil, nil, "invalid query expression: "),
        (#"{app="a"}"#, nil, nil, nil, "start time not set"),
        (#"{app="a"}"#, "", nil, nil, "start time not set"),
        (#"{app="a"}"#, "159160000", nil, nil, "invalid start time: require unix seconds or RFC3339 format"),
        (#"{app="a"}"#, "1591600000000", nil, nil, "invalid start time: require unix seconds or RFC3339 format"),
        (#"{app="a"}"#, "yesterday!", nil, nil, "invalid start time: require unix seconds or RFC3339 format"),
        (#"{app="a"}"#, "1591600000", "soon", nil, "invalid end time: require unix seconds or RFC3339 format"),
        (#"{app="a"}"#, "1591600000", "1591616228", nil, "deletes in the future are not allowed"),
        (#"{app="a"}"#, "1591616000", "1591600000", nil, "start time can't be greater than end time"),
        (#"{app="a"} |= "x""#, "1591600000", "1591600000", nil,
         "difference between start time and end time must be at least one second"),
        (#"{app="a"} |= "x""#, "1591600000", nil, "500ms", "invalid max_interval: valid time units are 's', 'm', 'h'"),
        (#"{app="a"} |= "x""#, "1591600000", nil, "often", "invalid max_interval: valid time units are 's', 'm', 'h'"),
        (#"{app="a"} |= "x""#, "1500000000", nil, "25h", "max_interval can't be greater than 24h0m0s"),
        (#"{app="a"} |= "x""#, "1591600000", nil, "5h",
         "max_interval can't be greater than the interval to be deleted (4h30m27s)"),
    ] as [(String?, String?, String?, String?, String)])
    func refusedParametersGetLokisMessages(
        query: String?, start: String?, end: String?, maxInterval: String?, message: String
    ) {
        switch Self.parse(query: query, start: start, end: end, maxInterval: maxInterval) {
        case .success(let parsed): Issue.record("accepted \(parsed)")
        case .failure(let error):
            #expect(error.message.hasPrefix(message), "\(error.message)")
        }
    }

    @Test func acceptedTimesAreMillisecondsWithLokisDefaults() throws {
        // Ten-digit seconds, RFC 3339 (fractions truncated to milliseconds), and `end` defaulting to now.
        #expect(try Self.parse().get() == .init(query: #"{app="a"}"#, start: 1_591_600_000_000, end: Self.now))
        #expect(try Self.parse(start: "2020-06-08T07:06:40.1239Z", end: "1591600001").get()
                == .init(query: #"{app="a"}"#, start: 1_591_600_000_123, end: 1_591_600_001_000))
        // Ten characters with a fraction are fractional seconds, as Loki's `util.ParseTime` reads them.
        #expect(try Self.parse(start: "15916000.5").get().start == 15_916_000_500)
        // A line-filter delete of one second or more, with a max_interval within bounds.
        #expect(try Self.parse(query: #"{app="a"} |= "x""#, start: "1591600000", end: "1591600001").get().end
                == 1_591_600_001_000)
        #expect(try Self.parse(query: #"{app="a"} != "x""#, maxInterval: "1h").get().start == 1_591_600_000_000)
    }

    /// Whatever the client sends, the parser answers without trapping, and what it accepts is a request the
    /// compactor can carry out: a query that parses, `start <= end <= now`.
    @Test func parserPropertiesHoldForArbitraryInput() {
        var random = SeededRandom(seed: FuzzBudget.seed(0xDE1E7E))
        let pieces = ["1591600000", "1591616227", "9999999999", "-999999999", "1.5916e+09", "0x5EDE2F00", "inf",
                      "2020-06-08T07:06:40Z", "2020-02-30T00:00:00Z", "1e10", "", " ", "NaN", "+159160000",
                      "2262-04-11T23:47:16.854775807Z", "1677-09-21T00:12:43.145224191Z", "0000000000"]
        let queries = [#"{app="a"}"#, #"{app="a"} |= "x""#, #"{app=~".*"}"#, "{", "", #"{app="a"} |~ "("#,
                       #"sum(rate({app="a"}[1m]))"#, #"{app!="a", b="c"} != "y" |= "z""#]
        for _ in 0..<FuzzBudget.scaled(2000) {
            func text() -> String? {
                switch random.int(0...3) {
                case 0: return nil
                case 1: return pieces[random.int(0...(pieces.count - 1))]
                case 2: return String(decoding: random.bytes(random.int(0...12)).map { 0x20 + $0 % 0x5F }, as: UTF8.self)
                default: return String(random.int(1_000_000_000...1_591_700_000))
                }
            }
            let query = random.chance(80) ? queries[random.int(0...(queries.count - 1))] : text()
            let (start, end, interval) = (text(), text(), random.chance(30) ? ["1s", "1h", "30m", "2d", "x"][random.int(0...4)] : nil)
            guard case .success(let parsed) = Self.parse(query: query, start: start, end: end, maxInterval: interval)
            else { continue }
            #expect(parsed.start <= parsed.end && parsed.end <= Self.now, "\(String(describing: start)) \(String(describing: end))")
            #expect((try? LogSelection.parse(parsed.query)) != nil)
        }
    }

    @Test func ten_digitSecondsAndRFC3339RoundTripToMilliseconds() {
        var random = SeededRandom(seed: FuzzBudget.seed(0x5EC))
        for _ in 0..<FuzzBudget.scaled(500) {
            // Up to 2262-04-11, the last second 64 bits of nanoseconds hold; later ones are refused.
            let seconds = Int64(random.int(1_000_000_000...9_223_372_035))
            #expect(DeleteRequestParameters.parseTime(String(seconds), now: 0) == seconds * 1000)
            #expect(DeleteRequestParameters.parseTime(String(random.int(9_223_372_037...9_999_999_999)), now: 0) == nil)
            let ms = Int64(random.int(0...4_000_000_000_000))
            let text = GoTime.rfc3339(nanoseconds: ms * 1_000_000)
            #expect(DeleteRequestParameters.parseTime(text, now: 0) == ms, "\(text)")
        }
    }

    // MARK: Store

    static func add(_ store: DeleteRequestStore, tenant: String, query: String = #"{app="a"}"#, at now: Int64) async throws -> DeleteRequest {
        try await store.add(tenant: tenant, .init(query: query, start: 1000, end: 2000), now: now)
    }

    @Test func requestsAreListedOldestFirstAndSurviveANewStoreOnTheSameBucket() async throws {
        let objects = InMemoryObjectStore()
        let store = DeleteRequestStore(store: objects)
        let first = try await Self.add(store, tenant: "a", at: 10_000)
        let second = try await Self.add(store, tenant: "a", query: #"{app="b"} |= "x""#, at: 20_000)
        #expect(first.id.count == 8 && first.id != second.id && first.status == .received)
        #expect(objects.keys.contains("compactor/delete_requests/a/\(first.id)"))

        let restarted = DeleteRequestStore(store: objects)
        #expect(try await restarted.list(tenant: "a") == [first, second])
        let json = String(decoding: DeleteRequest.apiJSON(try await restarted.list(tenant: "a")), as: UTF8.self)
        #expect(json.hasPrefix(#"[{"request_id":"\#(first.id)","start_time":1,"end_time":2,"query":"{app=\"a\"}","status":"received","created_at":10},"#))
        #expect(json.hasSuffix("]\n"))
    }

    @Test func cancelWorksWithinThePeriodAndAfterItOnlyWithForceNeverOnceProcessed() async throws {
        let store = DeleteRequestStore(store: InMemoryObjectStore())
        let period: Int64 = 60_000
        let early = try await Self.add(store, tenant: "a", at: 0)
        #expect(try await store.cancel(tenant: "a", id: early.id, force: false, now: period - 1, cancelPeriod: period) == .cancelled)
        #expect(try await store.list(tenant: "a").isEmpty)
        #expect(try await store.cancel(tenant: "a", id: early.id, force: false, now: 0, cancelPeriod: period) == .notFound)

        let late = try await Self.add(store, tenant: "a", at: 0)
        #expect(try await store.cancel(tenant: "a", id: late.id, force: false, now: period, cancelPeriod: period) == .tooLate)
        #expect(try await store.cancel(tenant: "a", id: late.id, force: true, now: period, cancelPeriod: period) == .cancelled)

        let done = try await Self.add(store, tenant: "a", at: 0)
        try await store.markProcessed(done)
        #expect(try await store.list(tenant: "a").map(\.status) == [.processed])
        #expect(try await store.cancel(tenant: "a", id: done.id, force: true, now: 1, cancelPeriod: period) == .tooLate)
        for id in ["", "../a", "zz", String(repeating: "0", count: 40)] {
            #expect(try await store.cancel(tenant: "a", id: id, force: true, now: 1, cancelPeriod: period) == .notFound)
        }
    }

    @Test func aTenantNeverSeesOrCancelsAnothersRequests() async throws {
        let store = DeleteRequestStore(store: InMemoryObjectStore())
        let mine = try await Self.add(store, tenant: "a", at: 0)
        #expect(try await store.list(tenant: "b").isEmpty)
        #expect(try await store.forQueries(tenant: "b").isEmpty)
        #expect(try await store.find(tenant: "b", id: mine.id) == nil)
        #expect(try await store.cancel(tenant: "b", id: mine.id, force: true, now: 0, cancelPeriod: 1000) == .notFound)
        #expect(try await store.list(tenant: "a") == [mine])
        // A tenant whose name is a prefix of another's does not see its requests either.
        _ = try await Self.add(store, tenant: "ab", at: 0)
        #expect(try await store.list(tenant: "a") == [mine])
    }

    @Test func storedFormRoundTripsAndUnknownMembersAreSkipped() throws {
        let request = DeleteRequest(id: "0a1b2c3d", tenant: "t", query: "{a=\"\\\"\"} |= \"\u{1F600}\"", start: -5,
                                    end: 1_591_616_227_123, createdAt: 7, status: .processed)
        #expect(try DeleteRequest.decode(request.encoded()) == request)
        var bytes = request.encoded()
        bytes.removeLast()
        bytes += Array(#","later":{"x":[1,2]}}"#.utf8)
        #expect(try DeleteRequest.decode(bytes) == request)
        #expect(throws: DeleteRequestFormatError.self) { try DeleteRequest.decode(Array(#"{"request_id":"x"}"#.utf8)) }
        #expect(throws: DeleteRequestFormatError.self) { try DeleteRequest.decode(Array("[]".utf8)) }
    }

    /// A damaged or foreign object never traps the reader: it is read back or refused with an error.
    @Test func damagedStoredObjectsAreRefusedNotTrappedOn() {
        var random = SeededRandom(seed: FuzzBudget.seed(0x0B1EC7))
        let valid = DeleteRequest(id: "0a1b2c3d", tenant: "t", query: #"{a="b"} |= "c""#, start: 1, end: 2,
                                  createdAt: 3).encoded()
        for _ in 0..<FuzzBudget.scaled(3000) {
            var bytes = valid
            for _ in 0..<random.int(1...4) {
                switch random.int(0...2) {
                case 0 where !bytes.isEmpty: bytes[random.int(0...(bytes.count - 1))] = random.bytes(1)[0]
                case 1 where !bytes.isEmpty: bytes.removeSubrange(random.int(0...(bytes.count - 1))...)
                default: bytes.insert(contentsOf: random.bytes(random.int(1...3)), at: random.int(0...bytes.count))
                }
            }
            if let decoded = try? DeleteRequest.decode(bytes) {
                // Whatever was read back writes out and reads back the same.
                #expect((try? DeleteRequest.decode(decoded.encoded())) == decoded)
            }
        }
    }
}
