import Foundation
import Testing
import TestSupport
import Wire

/// Starts the real `estuary` binary and talks to it over HTTP, as a Loki client would.
@Suite(.serialized) struct BackendBinaryTests {
    static let config = """
        auth_enabled: false
        server:
          http_listen_port: 0
        common:
          path_prefix: ${DATA}
          replication_factor: 1
        storage_config:
          filesystem:
            directory: ${DATA}/chunks
        ingester:
          chunk_encoding: snappy
        """

    let client = HTTPTestClient()

    func push(_ backend: BackendProcess, _ request: PushRequest, json: Bool = false) async throws -> HTTPTestClient.Reply {
        if json {
            return try await client.post("\(backend.baseURL)/loki/api/v1/push",
                                         headers: [("Content-Type", "application/json")],
                                         body: PushJSONEncoder.encode(request))
        }
        return try await client.post("\(backend.baseURL)/loki/api/v1/push",
                                     headers: [("Content-Type", "application/x-protobuf")],
                                     body: Snappy.compress(PushProtobufEncoder.encode(request)))
    }

    func query(_ backend: BackendProcess, _ logql: String, start: Int64, end: Int64) async throws -> [[String]] {
        let url = "\(backend.baseURL)/loki/api/v1/query_range?query=\(HTTPTestClient.encode(logql))&start=\(start)&end=\(end)&limit=5000&direction=forward"
        let reply = try await client.get(url)
        #expect(reply.status == 200, "\(reply.text)")
        let json = try reply.json() as? [String: Any]
        let data = json?["data"] as? [String: Any]
        let result = data?["result"] as? [[String: Any]] ?? []
        return result.flatMap { ($0["values"] as? [[String]]) ?? [] }.sorted { $0[0] < $1[0] }
    }

    static func request(_ labels: String, from t: Int64, count: Int, prefix: String) -> PushRequest {
        var arena: [UInt8] = []
        var ranges: [Range<Int>] = []
        for i in 0..<count {
            let start = arena.count
            arena.append(contentsOf: "\(prefix) line \(i) level=info msg=\"hello\"".utf8)
            ranges.append(start..<arena.count)
        }
        let entries = ranges.enumerated().map { PushEntry(timestamp: t + Int64($0.offset), line: arena[$0.element]) }
        return PushRequest(streams: [PushStream(labels: labels, entries: entries)])
    }

    @Test func protobufAndJSONPushesFromSwiftQueryBackExactly() async throws {
        let backend = try BackendProcess(config: Self.config)
        try backend.start()
        defer { backend.stop() }
        let t = Int64(Date().timeIntervalSince1970 * 1e9)
        let proto = Self.request(#"{job="swift", enc="proto"}"#, from: t, count: 500, prefix: "p")
        let json = Self.request(#"{job="swift", enc="json"}"#, from: t, count: 500, prefix: "j")
        #expect(try await push(backend, proto).status == 204)
        #expect(try await push(backend, json, json: true).status == 204)
        let got = try await query(backend, #"{job="swift", enc="proto"}"#, start: t - 1, end: t + 1_000_000)
        #expect(got.map { $0[1] } == (0..<500).map { "p line \($0) level=info msg=\"hello\"" })
        #expect(got.map { $0[0] } == (0..<500).map { String(t + Int64($0)) })
        let gotJSON = try await query(backend, #"{enc="json"} |= "line 49""#, start: t - 1, end: t + 1_000_000)
        #expect(gotJSON.map { $0[1] } == ["j line 49 level=info msg=\"hello\""] + (490..<500).map { "j line \($0) level=info msg=\"hello\"" })
    }

    @Test func sigtermThenRestartKeepsEveryAcknowledgedEntry() async throws {
        let backend = try BackendProcess(config: Self.config)
        try backend.start()
        let t = Int64(Date().timeIntervalSince1970 * 1e9)
        for batch in 0..<10 {
            let request = Self.request(#"{job="restart"}"#, from: t + Int64(batch) * 1000, count: 200, prefix: "b\(batch)")
            #expect(try await push(backend, request).status == 204)
        }
        #expect(backend.stop() == 0)
        try backend.start()
        defer { backend.stop() }
        let got = try await query(backend, #"{job="restart"}"#, start: t - 1, end: t + 1_000_000)
        #expect(got.count == 2000)
        let ready = try await client.get("\(backend.baseURL)/ready")
        #expect(ready.status == 200)
    }

    /// `kill -9` while pushes are in flight: after a restart every push that was answered 204 is there, from the WAL.
    @Test func killDuringPushesKeepsEveryAcknowledgedEntry() async throws {
        let backend = try BackendProcess(config: Self.config)
        try backend.start()
        let t = Int64(Date().timeIntervalSince1970 * 1e9)
        let acknowledged = LockedValue<[Int]>([])
        let (acks, ack) = AsyncStream<Void>.makeStream()
        let pushers = (0..<2).map { pusher in
            Task {
                var batch = pusher
                while !Task.isCancelled {
                    let request = Self.request(#"{job="crash"}"#, from: t + Int64(batch) * 1000, count: 100, prefix: "b\(batch)")
                    guard let reply = try? await push(backend, request), reply.status == 204 else { return }
                    acknowledged.update { $0.append(batch) }
                    ack.yield()
                    batch += 2
                }
            }
        }
        // Kill once a good number of pushes were acknowledged, with both pushers still sending.
        var count = 0
        for await _ in acks {
            count += 1
            if count == 40 { break }
        }
        backend.kill()
        for pusher in pushers { await pusher.value }
        let acked = acknowledged.get()
        try backend.start()
        defer { backend.stop() }
        let got = try await query(backend, #"{job="crash"}"#, start: t - 1, end: t + 1_000_000_000)
        let lines = Set(got.map { $0[1] })
        for batch in acked {
            #expect(lines.contains("b\(batch) line 0 level=info msg=\"hello\""), "batch \(batch) lost")
            #expect(lines.contains("b\(batch) line 99 level=info msg=\"hello\""), "batch \(batch) lost")
        }
        #expect(got.count >= acked.count * 100)
        let metrics = try await client.get("\(backend.baseURL)/metrics")
        #expect(metrics.text.contains("loki_ingester_wal_replay_duration_seconds"))
    }

    @Test func operationsEndpoints() async throws {
        let backend = try BackendProcess(config: Self.config)
        try backend.start()
        defer { backend.stop() }
        let metrics = try await client.get("\(backend.baseURL)/metrics")
        #expect(metrics.text.contains("loki_build_info"))
        let info = try await client.get("\(backend.baseURL)/loki/api/v1/status/buildinfo")
        #expect((try info.json() as? [String: Any])?["version"] as? String == "0.1.0")
        let config = try await client.get("\(backend.baseURL)/config")
        #expect(config.text.contains("chunk_encoding: snappy"))
        let services = try await client.get("\(backend.baseURL)/services")
        #expect(services.text.contains("ingester => Running"))
        let flush = try await client.post("\(backend.baseURL)/flush", body: [])
        #expect(flush.status == 204)
        _ = try await client.get("\(backend.baseURL)/ready")
        let after = try await client.get("\(backend.baseURL)/metrics")
        #expect(after.text.contains(#"loki_request_duration_seconds_bucket{method="GET",route="ready""#))
    }

    /// Runs `executable` with `arguments` and returns what it printed on stdout.
    static func output(of executable: URL, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func versionNamesTheCommitThatWasBuiltWhereverTheBinaryIs() throws {
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        let head = try Self.output(of: URL(fileURLWithPath: "/usr/bin/env"), ["git", "-C", root.path, "rev-parse", "--short=12", "HEAD"])
        #expect(head.count == 12)
        // A copy outside the checkout: the commit was fixed when it was built, not looked up beside the binary.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("estuary-version-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let copy = dir.appendingPathComponent("estuary")
        try FileManager.default.copyItem(at: BackendProcess.binary, to: copy)
        #expect(try Self.output(of: copy, ["--version"]) == "estuary 0.1.0 (commit \(head))")
    }

    @Test func badConfigStopsStartupNamingFileLineAndKey() throws {
        let backend = try BackendProcess(config: """
            limits_config:
              max_line_size: lots
            """)
        #expect(throws: BackendProcessError.self) { try backend.start() }
        let stderr = backend.stderr()
        #expect(stderr.contains("loki.yaml:2:"), "\(stderr)")
        #expect(stderr.contains("max_line_size"), "\(stderr)")
    }
}
