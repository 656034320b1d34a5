import Foundation
import Testing
import Wire
@testable import Pipeline
import TestSupport

/// `loki.write` against real HTTP servers on loopback.
extension LokiWriteTests {
    @Suite struct Delivery {
        /// An `endpoint` block for `url` with quick batching and backoff, plus `extra` lines.
        static func endpoint(_ url: String, _ extra: String...) -> String {
            let lines = ["url = \"\(url)\"", "batch_wait = \"20ms\"", "min_backoff_period = \"10ms\"",
                         "max_backoff_period = \"50ms\""] + extra
            return "  endpoint {\n" + lines.map { "    " + $0 + "\n" }.joined() + "  }\n"
        }

        static func config(_ blocks: String..., top: String = "") -> String {
            "loki.write \"test\" {\n" + (top.isEmpty ? "" : "  \(top)\n") + blocks.joined() + "}\n"
        }

        @Test func entriesArriveWithExternalLabelsTenantAndHeaders() async throws {
            let loki = try await FakeLoki.start()
            let harness = try LokiWriteHarness(Self.config(
                Self.endpoint(
                    loki.url, #"tenant_id = "team-a""#, #"headers = { "X-Extra" = "yes", "Content-Type" = "text/plain" }"#,
                    #"bearer_token = "s3cret""#),
                top: #"external_labels = { cluster = "prod", job = "ignored" }"#))
            harness.start()
            try await harness.receiver.receive(logBatch(["one", "two"]))
            #expect(await eventually { loki.lines == ["one", "two"] })
            let push = try #require(loki.pushes.first)
            #expect(push.tenant == "team-a")
            #expect(push.userAgent == AgentHTTP.userAgent)
            #expect(push.contentType == "application/x-protobuf")
            #expect(push.headers["x-extra"] == "yes")
            #expect(push.authorization == "Bearer s3cret")
            #expect(push.streams.map(\.labels) == [#"{cluster="prod", job="test"}"#])
            let labels = ["component_id": "loki.write.test", "host": loki.host, "tenant": "team-a"]
            #expect(await eventually { harness.metric("loki_write_sent_entries_total", labels) == 2 })
            #expect((harness.metric("loki_write_sent_bytes_total", labels) ?? 0) > 0)
            #expect(harness.metric("loki_write_encoded_bytes_total", labels) == harness.metric("loki_write_sent_bytes_total", labels))
            #expect(harness.metric("loki_write_request_duration_seconds_count", labels.merging(["status_code": "204"]) { a, _ in a }) == 1)
            #expect(harness.metric("loki_write_dropped_entries_total", labels.merging(["reason": "queue_is_full"]) { a, _ in a }) == 0)
            await harness.stop()
            await loki.stop()
        }

        @Test func credentialsGoAsBasicAuth() async throws {
            let loki = try await FakeLoki.start()
            let inURL = loki.url.replacingOccurrences(of: "http://", with: "http://user:p%40ss@")
            let harness = try LokiWriteHarness(Self.config(
                Self.endpoint(inURL),
                Self.endpoint(loki.url, "basic_auth {", "  username = \"admin\"", "  password = \"pw\"", "}")))
            harness.start()
            try await harness.receiver.receive(logBatch(["auth"]))
            #expect(await eventually { loki.pushes.count == 2 })
            #expect(Set(loki.pushes.compactMap(\.authorization)) == ["Basic dXNlcjpwQHNz", "Basic YWRtaW46cHc="])
            #expect(loki.pushes.allSatisfy { $0.tenant == nil })
            await harness.stop()
            await loki.stop()
        }

        /// Credentials files are read for every request: a rotated token is used from the next push on.
        @Test func credentialFilesAreReadForEveryRequest() async throws {
            let loki = try await FakeLoki.start()
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("estuary-auth-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let token = directory.appendingPathComponent("token").path
            let secret = directory.appendingPathComponent("secret").path
            try "first\n".write(toFile: token, atomically: true, encoding: .utf8)
            try "s3cret".write(toFile: secret, atomically: true, encoding: .utf8)
            let harness = try LokiWriteHarness(Self.config(
                Self.endpoint(loki.url, "bearer_token_file = \"\(token)\""),
                Self.endpoint(loki.url, "authorization {", "  type = \"Token\"", "  credentials_file = \"\(secret)\"", "}")))
            harness.start()
            try await harness.receiver.receive(logBatch(["one"]))
            #expect(await eventually { loki.pushes.count == 2 })
            try "second".write(toFile: token, atomically: true, encoding: .utf8)
            try await harness.receiver.receive(logBatch(["two"]))
            #expect(await eventually { loki.pushes.count == 4 })
            #expect(Set(loki.pushes.prefix(2).compactMap(\.authorization)) == ["Bearer first", "Token s3cret"])
            #expect(Set(loki.pushes.suffix(2).compactMap(\.authorization)) == ["Bearer second", "Token s3cret"])
            await harness.stop()
            await loki.stop()
        }

        @Test func batchesRespectBatchSize() async throws {
            let loki = try await FakeLoki.start()
            let harness = try LokiWriteHarness(Self.config(Self.endpoint(loki.url, #"batch_size = "250B""#)))
            harness.start()
            let lines = (0..<10).map { index in String(repeating: Character(String(index)), count: 100) }
            try await harness.receiver.receive(logBatch(lines))
            #expect(await eventually { loki.lines.count == 10 })
            // Requests overlap (several in flight), so they may arrive in any order; each holds two lines.
            #expect(loki.lines.sorted() == lines)
            #expect(loki.pushes.map(\.lineBytes) == [200, 200, 200, 200, 200])
            await harness.stop()
            await loki.stop()
        }

        @Test func serverErrorsAnd429AreRetriedThenDelivered() async throws {
            let loki = try await FakeLoki.start()
            loki.script([.status(500, body: "ingester down"), .status(429, retryAfter: "0"), .status(502), .accept])
            let harness = try LokiWriteHarness(Self.config(Self.endpoint(loki.url)))
            harness.start()
            try await harness.receiver.receive(logBatch(["retried"]))
            #expect(await eventually { loki.lines == ["retried"] })
            #expect(loki.attempts == 4)
            let labels = ["host": loki.host, "tenant": ""]
            #expect(await eventually { harness.metric("loki_write_sent_entries_total", labels) == 1 })
            #expect(harness.metric("loki_write_batch_retries_total", labels) == 3)
            #expect(harness.metric("loki_write_request_duration_seconds_count", labels.merging(["status_code": "500"]) { a, _ in a }) == 1)
            #expect(harness.metric("loki_write_dropped_entries_total", labels) == 0)
            // Waits between attempts grow from min_backoff_period (10ms).
            let times = loki.attemptTimes
            #expect(times.count == 4)
            if times.count == 4 { #expect(times[1] - times[0] >= .milliseconds(10)) }
            await harness.stop()
            await loki.stop()
        }

        @Test func retryAfterIsHonoured() async throws {
            let loki = try await FakeLoki.start()
            loki.script([.status(503, retryAfter: "1")])
            // Retry-After waits longer than the backoff would, up to max_backoff_period.
            let harness = try LokiWriteHarness(Self.config(
                Self.endpoint(loki.url).replacingOccurrences(of: "\"50ms\"", with: "\"5s\"")))
            harness.start()
            try await harness.receiver.receive(logBatch(["later"]))
            #expect(await eventually { loki.lines == ["later"] })
            let times = loki.attemptTimes
            #expect(times.count == 2)
            if times.count == 2 { #expect(times[1] - times[0] >= .milliseconds(950)) }
            await harness.stop()
            await loki.stop()
        }

        @Test func badRequestIsNotRetriedAndCountedAsDropped() async throws {
            let loki = try await FakeLoki.start(always: .status(400, body: "entry too far behind"))
            let harness = try LokiWriteHarness(Self.config(Self.endpoint(loki.url)))
            harness.start()
            try await harness.receiver.receive(logBatch(["old", "older"]))
            let dropped = ["host": loki.host, "reason": "ingester_error"]
            #expect(await eventually { harness.metric("loki_write_dropped_entries_total", dropped) == 2 })
            #expect(loki.attempts == 1)
            #expect(harness.metric("loki_write_batch_retries_total") == 0)
            #expect((harness.metric("loki_write_dropped_bytes_total", dropped) ?? 0) > 0)
            await harness.stop()
            await loki.stop()
        }

        @Test func rateLimitedIsDroppedWhenRetryOn429IsOff() async throws {
            let loki = try await FakeLoki.start(always: .status(429))
            let harness = try LokiWriteHarness(Self.config(Self.endpoint(loki.url, "retry_on_http_429 = false")))
            harness.start()
            try await harness.receiver.receive(logBatch(["limited"]))
            #expect(await eventually { harness.metric("loki_write_dropped_entries_total", ["reason": "rate_limited"]) == 1 })
            #expect(loki.attempts == 1)
            await harness.stop()
            await loki.stop()
        }

        @Test func batchIsDroppedWhenRetriesRunOut() async throws {
            let loki = try await FakeLoki.start(always: .status(500))
            let harness = try LokiWriteHarness(Self.config(Self.endpoint(loki.url, "max_backoff_retries = 3")))
            harness.start()
            try await harness.receiver.receive(logBatch(["lost"]))
            #expect(await eventually { harness.metric("loki_write_dropped_entries_total", ["reason": "ingester_error"]) == 1 })
            #expect(loki.attempts == 3)
            #expect(harness.metric("loki_write_batch_retries_total") == 2)
            await harness.stop()
            await loki.stop()
        }

        @Test func aDeadEndpointDoesNotDelayTheOther() async throws {
            let dead = try await FakeLoki.start(always: .hang)
            let live = try await FakeLoki.start()
            let harness = try LokiWriteHarness(Self.config(
                // One line per request: once its requests in flight hang, its capacity (two lines, counting what is
                // in flight) is spent and it drops.
                Self.endpoint(dead.url, #"batch_size = "300B""#, #"remote_timeout = "10m""#,
                              "queue_config {", "  capacity = \"1KiB\"", "  drain_timeout = \"0s\"", "}"),
                Self.endpoint(live.url)))
            harness.start()
            let started = ContinuousClock.now
            var sent: [String] = []
            for index in 0..<(LokiWrite.Endpoint.requestsInFlight + 8) {
                let line = String(repeating: "x", count: 290) + String(index)
                sent.append(line)
                try await harness.receiver.receive(logBatch([line]))
            }
            #expect(await eventually { live.lines.sorted() == sent.sorted() })
            // The dead endpoint's request hangs until remote_timeout (10 min); the live one must not wait for it.
            #expect(ContinuousClock.now - started < .seconds(120), "the live endpoint waited on the dead one")
            // The two lines its capacity took went out, one request each, and neither was answered.
            #expect(await eventually { dead.attempts == 2 })
            #expect(harness.metric("loki_write_queue_capacity_bytes", ["host": dead.host]) == 1024)
            let deadDrops = ["host": dead.host, "reason": "queue_is_full"]
            #expect((harness.metric("loki_write_dropped_entries_total", deadDrops) ?? 0) >= 1)
            #expect(harness.metric("loki_write_dropped_entries_total", ["host": live.host]) == 0)
            await harness.stop()
            await dead.stop()
            await live.stop()
        }

        @Test func capacityBoundsWhatIsInFlightToo() async throws {
            let loki = try await FakeLoki.start(always: .hang)
            let harness = try LokiWriteHarness(Self.config(
                Self.endpoint(loki.url, #"batch_size = "300B""#, #"remote_timeout = "10m""#, "max_backoff_retries = 1",
                              "queue_config {", "  capacity = \"1KiB\"", "  drain_timeout = \"0s\"", "}")))
            harness.start()
            let line = String(repeating: "x", count: 400)
            let held = 400 + LogEntry.heldOverhead
            try await harness.receiver.receive(logBatch([line]))
            try await harness.receiver.receive(logBatch([line]))
            // Both left the queue and hang in flight; they are still held, so a third does not fit in 1 KiB.
            #expect(await eventually { loki.attempts == 2 })
            #expect(harness.metric("loki_write_queue_bytes", ["host": loki.host]) == Double(2 * held))
            await #expect(throws: PipelineError.self) { try await harness.receiver.receive(logBatch([line])) }
            // Answered (503, then refused connections), they are dropped and their bytes given back.
            await loki.stop()
            #expect(await eventually { harness.metric("loki_write_queue_bytes", ["host": loki.host]) == 0 })
            try await harness.receiver.receive(logBatch([line]))
            await harness.stop()
        }

        @Test func cancellationFlushesWhatIsQueued() async throws {
            let loki = try await FakeLoki.start()
            let harness = try LokiWriteHarness(Self.config(
                Self.endpoint(loki.url).replacingOccurrences(of: "\"20ms\"", with: "\"1m\"")))
            harness.start()
            try await harness.receiver.receive(logBatch(["a", "b"]))
            try await harness.receiver.receive(logBatch(["c"]))
            let took = await harness.stop()
            #expect(loki.lines == ["a", "b", "c"])
            #expect(took < .seconds(30))  // not the minute of batch_wait
            // Once stopped, the receiver refuses with backpressure instead of losing entries.
            await #expect(throws: PipelineError.self) { try await harness.receiver.receive(logBatch(["late"])) }
            await loki.stop()
        }

        @Test func drainTimeoutBoundsShutdownAndCountsTheRest() async throws {
            let loki = try await FakeLoki.start(always: .hang)
            let harness = try LokiWriteHarness(Self.config(
                Self.endpoint(loki.url, #"remote_timeout = "10m""#, "queue_config {", "  drain_timeout = \"100ms\"", "}")))
            harness.start()
            try await harness.receiver.receive(logBatch(["stuck"]))
            #expect(await eventually { loki.attempts == 1 })
            try await harness.receiver.receive(logBatch(["queued", "behind"]))
            let took = await harness.stop()
            #expect(took >= .milliseconds(100))
            #expect(took < .seconds(120))  // not the hanging request's remote_timeout
            #expect(harness.metric("loki_write_dropped_entries_total", ["reason": "drain_timeout"]) == 3)
            await loki.stop()
        }

        @Test func whenEveryQueueIsFullTheSourceGetsBackpressure() async throws {
            // Not running: nothing drains the queues.
            let small = #"queue_config {|  capacity = "1KiB"|}"#.split(separator: "|").map(String.init)
            let harness = try LokiWriteHarness(Self.config(
                Self.endpoint("http://127.0.0.1:9/a", small[0], small[1], small[2]),
                Self.endpoint("http://127.0.0.1:9/b", small[0], small[1], small[2])))
            let big = String(repeating: "y", count: 600)
            try await harness.receiver.receive(logBatch([big]))
            do {
                try await harness.receiver.receive(logBatch([big]))
                Issue.record("accepted into full queues")
            } catch let error as PipelineError {
                #expect(error.isRetryable)
                guard case .backpressure(let retryAfter, let reason) = error else { throw error }
                #expect(retryAfter != nil)
                #expect(reason.contains("full"))
            }
            #expect(harness.metric("loki_write_dropped_entries_total") == 0)
        }

        @Test func aFullQueueDropsWhileAnotherEndpointTakesTheBatch() async throws {
            let harness = try LokiWriteHarness(Self.config(
                Self.endpoint("http://127.0.0.1:9/small", "queue_config {", "  capacity = \"1KiB\"", "}"),
                Self.endpoint("http://127.0.0.1:9/big")))
            let big = String(repeating: "y", count: 600)
            try await harness.receiver.receive(logBatch([big]))
            try await harness.receiver.receive(logBatch([big, "z"]))
            #expect(harness.metric("loki_write_dropped_entries_total", ["reason": "queue_is_full"]) == 2)
            #expect(harness.metric("loki_write_dropped_bytes_total", ["reason": "queue_is_full"]) == 601)
        }

        @Test func updateKeepsAnUnchangedEndpointsQueue() async throws {
            let loki = try await FakeLoki.start()
            let before = Self.config(Self.endpoint(loki.url))
            let harness = try LokiWriteHarness(before)
            let receiver = harness.receiver
            // Queued before run(), then the arguments change around the endpoint.
            try await receiver.receive(logBatch(["queued"]))
            try harness.update(Self.config(Self.endpoint(loki.url), top: #"external_labels = { env = "new" }"#))
            #expect(harness.receiver === receiver)
            try await receiver.receive(logBatch(["after"]))
            harness.start()
            #expect(await eventually { Set(loki.lines) == ["queued", "after"] })
            let labels = loki.pushes.flatMap { push in push.streams.map { ($0.labels, $0.lines) } }
            #expect(labels.contains { $0.0 == #"{job="test"}"# && $0.1 == ["queued"] })
            #expect(labels.contains { $0.0 == #"{env="new", job="test"}"# && $0.1 == ["after"] })
            await harness.stop()
            await loki.stop()
        }

        @Test func updateMovesToAChangedEndpointAndDrainsTheOldOne() async throws {
            let first = try await FakeLoki.start()
            let second = try await FakeLoki.start()
            let harness = try LokiWriteHarness(Self.config(Self.endpoint(first.url)))
            harness.start()
            try await harness.receiver.receive(logBatch(["to-first"]))
            try harness.update(Self.config(Self.endpoint(second.url)))
            try await harness.receiver.receive(logBatch(["to-second"]))
            #expect(await eventually { first.lines == ["to-first"] && second.lines == ["to-second"] })
            await harness.stop()
            #expect(first.lines == ["to-first"])
            await first.stop()
            await second.stop()
        }

        @Test func metricsUseAlloysNames() async throws {
            let harness = try LokiWriteHarness(Self.config(Self.endpoint("http://127.0.0.1:9/x", #"tenant_id = "t""#)))
            let text = harness.metricText()
            for name in ["loki_write_encoded_bytes_total", "loki_write_sent_bytes_total", "loki_write_sent_entries_total",
                         "loki_write_batch_retries_total", "loki_write_dropped_entries_total", "loki_write_dropped_bytes_total",
                         "loki_write_request_size_bytes"] {
                #expect(text.contains("# TYPE \(name)"), "\(name) missing")
            }
            #expect(text.contains(#"loki_write_dropped_entries_total{component_id="loki.write.test",host="127.0.0.1:9",tenant="t",reason="stream_limited"} 0"#))
        }
    }
}
