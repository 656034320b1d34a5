import ArgumentParser
import Testing
import Wire

@testable import loadgen

@Suite struct OTLPModeTests {
    private static func records(_ logs: OTLPLogsData) -> [OTLPLogRecord] {
        logs.resourceLogs.flatMap { $0.scopeLogs.flatMap(\.logRecords) }
    }

    private static func serviceName(_ resource: OTLPResourceLogs) -> String? {
        guard let attribute = resource.resource.attributes.first(where: { $0.key == "service.name" }),
              case .string(let name) = attribute.value
        else { return nil }
        return name
    }

    @Test(arguments: [(1000, 10), (7, 10), (10, 3), (1, 1), (999, 4)])
    func everyRequestHasTheRecordsAskedFor(recordsPerRequest: Int, services: Int) {
        var pool = RequestPool(mode: OTLPMode.forTests(attributes: 5, services: services), worker: 1,
                               templateCount: 3, recordsPerRequest: recordsPerRequest, lineBytes: 215, startMillis: 1_795_000_000_000)
        for _ in 0..<4 {
            let logs = pool.withNextRequest(nowNanos: 1) { $0 }.result
            #expect(logs.recordCount == recordsPerRequest)
            #expect(logs.resourceLogs.count == min(services, recordsPerRequest))
            let counts = logs.resourceLogs.map { $0.scopeLogs.reduce(0) { $0 + $1.logRecords.count } }
            #expect((counts.max() ?? 0) - (counts.min() ?? 0) <= 1, "records spread evenly: \(counts)")
            // No service twice in one request.
            #expect(Set(logs.resourceLogs.compactMap(Self.serviceName)).count == logs.resourceLogs.count)
        }
    }

    @Test(arguments: [0, 1, 5, 14])
    func recordsCarryBodySeverityAndAttributes(attributes: Int) {
        var pool = RequestPool(mode: OTLPMode.forTests(attributes: attributes, services: 10), worker: 0,
                               templateCount: 2, recordsPerRequest: 200, lineBytes: 215, startMillis: 1_795_000_000_000)
        let logs = pool.withNextRequest(nowNanos: 1_800_000_000_000_000_000) { $0 }.result
        for scope in logs.resourceLogs.flatMap(\.scopeLogs) {
            #expect(scope.scope.name == OTLPMode.scopeName && !scope.scope.version.isEmpty)
        }
        var severities: Set<Int32> = []
        for record in Self.records(logs) {
            guard case .string(let body) = record.body else {
                Issue.record("body is not a string: \(String(describing: record.body))")
                continue
            }
            #expect(body.utf8.count == 215)
            #expect(body.hasPrefix("ts=") && body.contains(" msg=\""))
            let level = OTLPMode.severity(ofLine: Array(body.utf8))
            #expect(record.severityNumber == level.number && record.severityText == level.text)
            #expect(body.contains("level=\(level.text.lowercased())"))
            severities.insert(record.severityNumber)
            #expect(record.attributes.count == attributes)
            #expect(Set(record.attributes.map(\.key)).count == attributes)
            for attribute in record.attributes {
                guard case .string(let value) = attribute.value, !value.isEmpty else {
                    Issue.record("attribute \(attribute.key) is not a non-empty string")
                    continue
                }
            }
        }
        #expect(severities.isSuperset(of: [5, 9]), "levels vary like the logfmt lines: \(severities)")
    }

    @Test func stampsSendTimeAndRotatesServices() {
        var pool = RequestPool(mode: OTLPMode.forTests(attributes: 1, services: 10), worker: 0,
                               templateCount: 2, recordsPerRequest: 12, lineBytes: 100, startMillis: 0)
        var seen: [String] = []
        for round in 0..<3 {
            let now = Int64(1_000_000 * (round + 1))
            let logs = pool.withNextRequest(nowNanos: now) { $0 }.result
            for resource in logs.resourceLogs {
                seen.append(Self.serviceName(resource) ?? "?")
                let records = resource.scopeLogs.flatMap(\.logRecords)
                #expect(records.map(\.timeUnixNano) == (0..<records.count).map { UInt64(now) + UInt64($0) })
                #expect(records.allSatisfy { $0.observedTimeUnixNano == $0.timeUnixNano })
            }
        }
        // 30 resource slots over 10 services: each used three times, in order.
        #expect(seen.prefix(10).elementsEqual(OTLPMode.serviceNames(count: 10)))
        #expect(Set(seen).count == 10 && seen.count == 30)
    }

    @Test func workersSendDifferentLines() {
        func bodies(worker: Int) -> Set<String> {
            var pool = RequestPool(mode: OTLPMode.forTests(attributes: 0, services: 1), worker: worker,
                               templateCount: 1, recordsPerRequest: 50, lineBytes: 215, startMillis: 0)
            let logs = pool.withNextRequest(nowNanos: 1) { $0 }.result
            return Set(Self.records(logs).compactMap { record -> String? in
                if case .string(let body) = record.body { return body }
                return nil
            })
        }
        let zero = bodies(worker: 0), one = bodies(worker: 1)
        #expect(zero.count == 50 && one.count == 50)
        #expect(zero.isDisjoint(with: one))
    }

    @Test(arguments: [(BodyEncoding.protobuf, false), (.protobuf, true), (.json, false), (.json, true)])
    func bodiesDecodeBackWithWire(encoding: BodyEncoding, gzip: Bool) throws {
        var pool = RequestPool(mode: OTLPMode.forTests(attributes: 5, services: 4), worker: 2,
                               templateCount: 1, recordsPerRequest: 100, lineBytes: 215, startMillis: 1_795_000_000_000)
        let now = Int64(1_795_000_000_123_456_789)
        let (logs, body) = pool.withNextRequest(nowNanos: now) { logs in
            let encoded = encoding.encode(logs)
            return (logs, gzip ? Gzip.compress(encoded) : encoded)
        }.result
        let plain = gzip ? try Gzip.decompress(body) : body
        let decoded = encoding == .protobuf ? try OTLPProtobuf.decodeLogsRequest(plain)
                                            : try OTLPJSON.decodeLogsRequest(plain)
        #expect(decoded == logs)
        #expect(decoded.recordCount == 100)
        #expect(Self.records(decoded).first?.timeUnixNano == UInt64(now))
        if encoding == .json {
            #expect(String(decoding: plain, as: UTF8.self).hasPrefix("{\"resourceLogs\":["))
        }
    }

    @Test func readsPartialSuccess() {
        let protobuf = OTLPMode.forTests(encoding: .protobuf, attributes: 0, services: 1)
        let accepted = protobuf.success(status: 200, body: [], contentType: "application/x-protobuf",
                                        latency: .milliseconds(1))
        #expect(accepted.rejectedRecords == 0 && !accepted.responseUndecodable)
        let partial = protobuf.success(
            status: 200, body: OTLPProtobuf.encodeLogsResponse(rejectedLogRecords: 7, errorMessage: "too old"),
            contentType: "application/x-protobuf", latency: .milliseconds(1))
        #expect(partial.rejectedRecords == 7 && partial.message == "too old")
        // The response's Content-Type wins over the request's encoding.
        let json = protobuf.success(
            status: 200, body: OTLPJSON.encodeLogsResponse(rejectedLogRecords: 3, errorMessage: ""),
            contentType: "application/json; charset=utf-8", latency: .milliseconds(1))
        #expect(json.rejectedRecords == 3)
        let garbage = OTLPMode.forTests(encoding: .json, attributes: 0, services: 1).success(
            status: 200, body: Array("<html>".utf8), contentType: "application/json", latency: .milliseconds(1))
        #expect(garbage.responseUndecodable && garbage.message.hasPrefix("json:"))
    }

    @Test func countsRetryableRefusalsApart() {
        var stats = LoadStats()
        let ms = Duration.milliseconds(2)
        let answers: [SendOutcome] = [
            SendOutcome(status: 200, latency: ms),
            SendOutcome(status: 200, message: "2 too old", rejectedRecords: 2, latency: ms),
            SendOutcome(status: 429, message: "slow down", retryAfter: .seconds(1), latency: ms),
            SendOutcome(status: 503, message: "backpressured", retryAfter: .seconds(2), latency: ms),
            SendOutcome(status: 400, message: "bad", latency: ms),
            SendOutcome(status: 500, message: "boom", latency: ms),
            SendOutcome(status: nil, message: "connection refused", latency: ms),
        ]
        for (index, answer) in answers.enumerated() {
            stats.record(answer, records: 10, lineBytes: 1000, bodyBytes: 300, firstTimestamp: Int64(index * 100),
                         lastTimestamp: Int64(index * 100 + 10))
        }
        #expect(stats.requests == 7 && stats.recordsSent == 70)
        #expect(stats.recordsAccepted == 18 && stats.recordsRejected == 2 && stats.lineBytesAccepted == 1800)
        #expect(stats.status2xx == 2 && stats.answers(429) == 1 && stats.answers(503) == 1)
        #expect(stats.status4xx == 2 && stats.status5xx == 2 && stats.transportErrors == 1 && stats.statusOther == 0)
        #expect(stats.firstTimestampSent == 0 && stats.lastTimestampSent == 610)
        #expect(stats.firstTimestampAccepted == 0 && stats.lastTimestampAccepted == 110, "only 2xx answers")
        #expect(stats.firstError?.contains("partial success") == true)
        #expect(answers.map(\.isRetryable) == [false, false, true, true, false, false, false])
    }

    @Test func parsesTheCommandLine() throws {
        let command = try OTLPCommand.parse([
            "--url", "http://127.0.0.1:4318/v1/logs", "--encoding", "json", "--gzip", "--records-per-request", "500",
            "--rate", "100000", "--duration", "2s", "--agent-pid", "42",
        ])
        let plan = command.plan
        #expect(plan.mode.encoding == .json && plan.mode.gzipLevel == 6 && plan.recordsPerRequest == 500
                && plan.rate == 100_000)
        guard case .after(.seconds(2)) = plan.stop else {
            Issue.record("--duration 2s is \(plan.stop)")
            return
        }
        #expect(plan.resend == .afterRetryAfter && plan.mode.attributes == 5 && plan.mode.services == 10)
        #expect(try OTLPCommand.parse(["--no-backoff"]).plan.resend == .immediately)
        #expect(command.agentPid == 42)
        #expect(try OTLPCommand.parse([]).plan.rate == nil)
        #expect(try OTLPCommand.parse([]).plan.mode.gzipLevel == nil)
        #expect(try OTLPCommand.parse(["--gzip", "--gzip-level", "1"]).plan.mode.gzipLevel == 1)
        for bad in [["--rate", "-1"], ["--records-per-request", "0"], ["--url", "127.0.0.1:4318"],
                    ["--attributes", "-2"], ["--encoding", "xml"], ["--gzip-level", "0"]] {
            #expect(throws: (any Error).self, "\(bad)") { try OTLPCommand.parse(bad) }
        }
    }
}
