import Foundation
import Testing
import Wire

@testable import loadgen

/// The generator of `loadgen hostile`: the same seed gives the same requests, and each family produces the
/// hostile values it promises (decoded back from the bytes it would send, not read from its summaries).
@Suite struct HostileGeneratorTests {
    static let now: Int64 = 1_800_000_000_000_000_000
    static let generator = HostileGenerator(seed: 1, nowNanos: now)

    /// The first `count` requests of `family`, skipping the decompression bombs (slow to build, checked apart).
    static func requests(_ family: HostileFamily, count: Int = 400, seed: UInt64 = 1) -> [HostileRequest] {
        indexedRequests(family, count: count, seed: seed).map(\.1)
    }

    static func indexedRequests(_ family: HostileFamily, count: Int, seed: UInt64 = 1) -> [(Int, HostileRequest)] {
        let generator = HostileGenerator(seed: seed, nowNanos: now)
        return (0..<count).compactMap { index -> (Int, HostileRequest)? in
            var random = generator.random(family, index)
            // Families whose bomb case is drawn first: peek at it without building the bomb.
            if family == .pushJSON || (family == .sourceAPI && random.next(below: 2) == 1) {
                _ = random.next(below: 4)
                if random.next(below: 11) == 6 { return nil }
            }
            if family == .otlp {
                _ = random.next(below: 2)
                if random.next(below: 9) == 4 { return nil }
            }
            return (index, generator.request(family, index: index))
        }
    }

    static func text(_ request: HostileRequest) -> String {
        String(decoding: request.serialized(), as: UTF8.self)
    }

    @Test(arguments: [HostileFamily.pushProtobuf, .queryParameters, .logQL, .sourceAPI, .headers])
    func sameSeedSameRequestsOtherSeedOthers(family: HostileFamily) {
        let first = Self.requests(family, count: 60)
        let again = Self.requests(family, count: 60)
        let other = Self.requests(family, count: 60, seed: 2)
        #expect(first == again)
        #expect(first != other)
        // Request I does not depend on the requests before it (what --first-index relies on).
        for (index, request) in Self.indexedRequests(family, count: 60).suffix(3) {
            #expect(Self.generator.request(family, index: index) == request)
        }
    }

    @Test func pushProtobufCarriesTheInt64EdgesAndBadSnappy() throws {
        var timestamps = Set<Int64>()
        var undecodable = 0
        for request in Self.requests(.pushProtobuf, count: 1_500) {
            #expect(request.path == "/loki/api/v1/push" && request.target == .backend)
            guard let raw = try? Snappy.decompress(request.body), let push = try? PushProtobufDecoder.decode(raw) else {
                undecodable += 1
                continue
            }
            for stream in push.streams { for entry in stream.entries { timestamps.insert(entry.timestamp) } }
        }
        #expect(timestamps.isSuperset(of: [Int64.min, Int64.min + 1, Int64.max, Int64.max - 1, -1, 0, 1]))
        #expect(undecodable > 40)
    }

    @Test func handMadeEntriesHoldNanosOutOfRange() {
        let entry = HostileGenerator.entryBytes(seconds: 0, nanos: 1_000_000_000, line: [0xFF])
        // EntryAdapter{1: Timestamp{1: 0, 2: 1e9}, 2: "\xFF"}: seconds written even when 0, then the nanos varint.
        #expect(entry == [0x0A, 0x08, 0x08, 0x00, 0x10] + ProtobufBytes.varint(1_000_000_000) + [0x12, 0x01, 0xFF])
        let negative = HostileGenerator.entryBytes(seconds: -1, nanos: -1, line: [])
        #expect(negative.count == 2 + 1 + 10 + 1 + 10 + 2)
    }

    /// The plain JSON of a push body: undoes gzip or deflate.
    static func plainBody(_ request: HostileRequest) -> String {
        let encoding = request.headers.first { $0.name == "Content-Encoding" }.map { String(decoding: $0.value, as: UTF8.self) }
        let body: [UInt8]?
        switch encoding {
        case "gzip": body = try? Gzip.decompress(request.body)
        case "deflate": body = try? Deflate.decompress(request.body)
        default: body = request.body
        }
        return String(decoding: body ?? [], as: UTF8.self)
    }

    @Test func pushJSONHasHugeTimestampsDeepNestingAndLyingLengths() {
        let requests = Self.requests(.pushJSON, count: 2_000)
        let plain = requests.map(Self.plainBody)
        // The timestamps sent, as written between `[[` and the first `,` of a push's values.
        var timestamps = Set<String>()
        for body in plain {
            guard let start = body.range(of: "\"values\":[[")?.upperBound,
                  let comma = body[start...].firstIndex(of: ",") else { continue }
            timestamps.insert(String(body[start..<comma]).replacingOccurrences(of: "\"", with: ""))
        }
        #expect(timestamps.intersection(HostileValues.numbers).count >= 20, "\(timestamps.sorted())")
        #expect(!timestamps.isDisjoint(with: ["-9223372036854775808", "9223372036854775807", "9223372036854775808",
                                              "-9223372036854775809", "18446744073709551615", "99999999999999999999"]))
        #expect(plain.contains { $0.hasPrefix(String(repeating: "[", count: 100_000)) })
        #expect(plain.contains { $0.contains("\\ud800") })
        #expect(requests.contains { if case .declared = $0.bodyLength { return $0.halfClose } else { return false } })
        let encodings = Set(requests.compactMap { $0.headers.first { $0.name == "Content-Encoding" } }
            .map { String(decoding: $0.value, as: UTF8.self) })
        #expect(encodings.isSuperset(of: ["gzip", "deflate"]))
    }

    @Test func hostileValuesCoverEveryTable() {
        var random = SplitMix64(seed: 7)
        var seen = Set<String>()
        for _ in 0..<20_000 { seen.insert(Self.generator.hostileValue(&random)) }
        let all = Set(HostileValues.numbers + HostileValues.times + HostileValues.junk + HostileValues.directions)
        #expect(seen == all)
        for value in ["-9223372036854775809", "18446744073709551615", "NaN", "Inf", "-Inf", "1.8e308", "10000000000.5",
                      "9999999999", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z", "10000y",
                      "99999999999999999999s", "", "💥"] {
            #expect(all.contains(value), "the table lacks \(value)")
        }
    }

    @Test func queryParametersReachEveryEndpointAndParameter() {
        let hostile = Set(HostileValues.numbers + HostileValues.times + HostileValues.junk + HostileValues.directions)
        var hostileParameters = Set<String>()
        var endpoints = Set<String>()
        for request in Self.requests(.queryParameters, count: 600) {
            let parts = request.path.split(separator: "?", maxSplits: 1)
            endpoints.insert(String(parts[0]))
            let query = request.method == "GET" ? String(parts.count > 1 ? parts[1] : "")
                : String(decoding: request.body, as: UTF8.self)
            for pair in query.split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                    String($0).removingPercentEncoding ?? String($0)
                }
                if kv.count == 2, hostile.contains(kv[1]) { hostileParameters.insert(kv[0]) }
            }
        }
        for endpoint in ["query_range", "query", "labels", "label/job/values", "series"] {
            #expect(endpoints.contains("/loki/api/v1/\(endpoint)"), "no request to \(endpoint)")
        }
        #expect(hostileParameters.isSuperset(of: ["query", "start", "end", "since", "limit", "step", "interval",
                                                  "direction", "time", "match[]"]))
    }

    @Test func logQLHasPathologicalRegexesDeepNestingAndMutations() {
        let queries = Self.requests(.logQL, count: 1_500).map { request -> String in
            let query = request.method == "GET" ? String(request.path.split(separator: "?").last ?? "")
                : String(decoding: request.body, as: UTF8.self)
            return query.removingPercentEncoding ?? query
        }
        for regex in ["(a+)+b", "(x+x+)+y", "(.*)*$", "a{1000}{1000}"] {
            #expect(queries.contains { $0.contains(regex) }, "no query with \(regex)")
        }
        #expect(queries.contains { $0.contains(String(repeating: "sum(", count: 1_000)) })
        #expect(queries.contains { $0.contains("|~") && $0.contains("(a+)+$") })
        #expect(queries.contains { $0.contains("a=~\"(a+)+b\"") })
    }

    @Test func otlpHasTimestampsPastInt64AndDeepBodies() throws {
        var times = Set<UInt64>()
        var deepest = 0
        for request in Self.requests(.otlp, count: 600) where request.headers.first?.value == Array("application/x-protobuf".utf8) {
            // Decode only what a recursive decoder can take on a test thread's stack.
            guard request.body.count < 20_000, let logs = try? OTLPProtobuf.decodeLogsRequest(request.body) else { continue }
            for resource in logs.resourceLogs { for scope in resource.scopeLogs { for record in scope.logRecords {
                times.insert(record.timeUnixNano)
                times.insert(record.observedTimeUnixNano)
                var depth = 0
                var value = record.body
                while case .array(let inner)? = value { depth += 1; value = inner.first }
                deepest = max(deepest, depth)
            } } }
        }
        #expect(times.isSuperset(of: [1 << 63, UInt64.max]))
        // Bodies nested deeper than a decoder allows do not decode: count the levels in the OTLP/JSON text.
        let jsonLevels = Self.requests(.otlp, count: 600).map { request -> Int in
            let text = String(decoding: request.body, as: UTF8.self)
            return text.components(separatedBy: "{\"arrayValue\":{\"values\":[").count
                + text.components(separatedBy: "{\"kvlistValue\":{\"values\":[").count - 2
        }
        #expect(jsonLevels.contains { $0 >= 10_000 })
    }

    @Test func nestedProtobufDecodesToTheDepthAsked() throws {
        let leaf = ProtobufBytes.message { $0.stringField(1, "x") }
        let body = HostileGenerator.otlpProtobuf(
            recordBody: ProtobufBytes.nested(depth: 7, outerField: 5, innerField: 1, inner: leaf))
        let logs = try OTLPProtobuf.decodeLogsRequest(body)
        var value = logs.resourceLogs.first?.scopeLogs.first?.logRecords.first?.body
        var depth = 0
        while case .array(let inner)? = value { depth += 1; value = inner.first }
        #expect(depth == 7 && value == .string("x"))
    }

    @Test func headersHaveHostileTenantsAndLengthLies() {
        let requests = Self.requests(.headers, count: 600)
        let tenants = Set(requests.flatMap { $0.headers.filter { $0.name == "X-Scope-OrgID" }.map(\.value) })
        #expect(tenants.contains(Array("..".utf8)) && tenants.contains(Array("/".utf8)))
        #expect(tenants.contains { $0.count == 10_240 })
        #expect(tenants.contains { $0.contains(1) })
        #expect(Set(requests.map(\.target)) == [.backend, .sourceAPI, .otlp])
        let lie = requests.first { if case .declared("-1") = $0.bodyLength { return true } else { return false } }
        #expect(lie.map { Self.text($0).contains("Content-Length: -1\r\n") } == true)
    }

    @Test func onlyRealMistakesOfTheServerCount() {
        #expect(HostileTally.isAcceptable(status: 400, retryAfter: nil, isQuery: false))
        #expect(HostileTally.isAcceptable(status: 503, retryAfter: "1", isQuery: false))
        #expect(!HostileTally.isAcceptable(status: 503, retryAfter: nil, isQuery: false))
        #expect(HostileTally.isAcceptable(status: 504, retryAfter: nil, isQuery: true))
        #expect(!HostileTally.isAcceptable(status: 504, retryAfter: nil, isQuery: false))
        #expect(!HostileTally.isAcceptable(status: 500, retryAfter: "1", isQuery: true))
    }

    @Test func serializedRequestIsWrittenAsGiven() {
        var request = HostileRequest(target: .backend, path: "/x?a=%FF", headers: [HeaderField("X", bytes: [0x01])],
                                     body: Array("abc".utf8), summary: "t")
        #expect(Self.text(request) == "POST /x?a=%FF HTTP/1.1\r\nHost: 127.0.0.1\r\nX: \u{1}\r\nContent-Length: 3\r\n"
                + "Connection: close\r\n\r\nabc")
        request.bodyLength = .declared("10")
        #expect(Self.text(request).contains("Content-Length: 10\r\n"))
        #expect(HostileGenerator.encodeComponent("{a=~\"é\"} ") == "%7Ba%3D~%22%C3%A9%22%7D%20")
    }
}
