import Foundation
import Testing
import TestSupport
import Wire

/// Log deletion through the real binary: a delete request hides its lines from queries at once, the compactor
/// deletes them from the store once the cancel period is over, and nothing of another stream or tenant is touched.
@Suite struct DeleteRequestsBinaryTests {
    static let config = """
        auth_enabled: true
        server:
          http_listen_port: 0
        common:
          path_prefix: ${DATA}
          replication_factor: 1
        storage_config:
          filesystem:
            directory: ${DATA}/chunks
        compactor:
          compaction_interval: 100ms
          retention_enabled: true
          retention_delete_delay: 0s
          delete_request_store: filesystem
          delete_request_cancel_period: 2s
        runtime_config:
          file: ${DATA}-runtime.yaml
        ingester:
          chunk_encoding: snappy
        """

    static let runtime = """
        overrides:
          off:
            deletion_mode: disabled
        """

    let client = HTTPTestClient()

    func push(_ backend: BackendProcess, tenant: String, _ labels: String, from t: Int64) async throws {
        let request = BackendBinaryTests.request(labels, from: t, count: 20, prefix: labels)
        let reply = try await client.post("\(backend.baseURL)/loki/api/v1/push",
                                          headers: [("Content-Type", "application/x-protobuf"), ("X-Scope-OrgID", tenant)],
                                          body: Snappy.compress(PushProtobufEncoder.encode(request)))
        #expect(reply.status == 204, "\(reply.text)")
    }

    func count(_ backend: BackendProcess, tenant: String, _ logql: String, from t: Int64) async throws -> Int {
        let url = "\(backend.baseURL)/loki/api/v1/query_range?query=\(HTTPTestClient.encode(logql))&start=\(t - 1)"
            + "&end=\(t + 60_000_000_000)&limit=5000&direction=forward"
        let reply = try await client.get(url, headers: [("X-Scope-OrgID", tenant)])
        #expect(reply.status == 200, "\(reply.text)")
        let data = (try reply.json() as? [String: Any])?["data"] as? [String: Any]
        let result = data?["result"] as? [[String: Any]] ?? []
        return result.reduce(0) { $0 + (($1["values"] as? [[String]])?.count ?? 0) }
    }

    func delete(_ backend: BackendProcess, _ method: String, tenant: String, _ parameters: String)
        async throws -> HTTPTestClient.Reply
    {
        try await client.send(.init(rawValue: method), "\(backend.baseURL)/loki/api/v1/delete?\(parameters)",
                              headers: [("X-Scope-OrgID", tenant)])
    }

    func requests(_ backend: BackendProcess, tenant: String) async throws -> [[String: Any]] {
        let reply = try await delete(backend, "GET", tenant: tenant, "")
        #expect(reply.status == 200, "\(reply.text)")
        return try reply.json() as? [[String: Any]] ?? []
    }

    static func chunkFiles(_ backend: BackendProcess, tenant: String) -> Int {
        let root = backend.dataDirectory.appendingPathComponent("chunks/\(tenant)").path
        let walker = FileManager.default.enumerator(atPath: root)
        var count = 0
        while let path = walker?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isDirectory),
               !isDirectory.boolValue {
                count += 1
            }
        }
        return count
    }

    @Test func deletedLinesLeaveQueriesAtOnceAndTheStoreAfterTheCancelPeriod() async throws {
        let backend = try BackendProcess(config: Self.config)
        try Self.runtime.write(toFile: backend.dataDirectory.path + "-runtime.yaml", atomically: true, encoding: .utf8)
        try backend.start()
        defer { backend.stop() }
        let t = Int64(Date().timeIntervalSince1970 * 1e9) - 600_000_000_000
        try await push(backend, tenant: "a", #"{app="gone"}"#, from: t)
        try await push(backend, tenant: "a", #"{app="kept"}"#, from: t)
        try await push(backend, tenant: "b", #"{app="gone"}"#, from: t)
        #expect(try await client.post("\(backend.baseURL)/flush", body: []).status == 204)
        #expect(Self.chunkFiles(backend, tenant: "a") == 2)

        // Refusals: no query, a tenant with deletion disabled.
        let missing = try await delete(backend, "POST", tenant: "a", "start=\(t / 1_000_000_000)")
        #expect(missing.status == 400 && missing.text == "query not set\n", "\(missing.text)")
        let off = try await delete(backend, "POST", tenant: "off", "query=\(HTTPTestClient.encode(#"{app="gone"}"#))&start=1")
        #expect(off.status == 403 && off.text == "deletion is not available for this tenant\n", "\(off.text)")

        let start = (t - 3_600_000_000_000) / 1_000_000_000
        let added = try await delete(backend, "POST", tenant: "a",
                                     "query=\(HTTPTestClient.encode(#"{app="gone"}"#))&start=\(start)")
        #expect(added.status == 204, "\(added.text)")
        // Hidden at once, before the compactor has done anything.
        #expect(try await count(backend, tenant: "a", #"{app="gone"}"#, from: t) == 0)
        #expect(try await count(backend, tenant: "a", #"{app="kept"}"#, from: t) == 20)
        #expect(try await count(backend, tenant: "b", #"{app="gone"}"#, from: t) == 20)

        // Tenant b sees none of a's requests and cannot cancel them.
        let listed = try await requests(backend, tenant: "a")
        #expect(listed.count == 1)
        #expect(listed.first?["query"] as? String == #"{app="gone"}"#)
        #expect((listed.first?["start_time"] as? NSNumber)?.int64Value == start)
        let id = listed.first?["request_id"] as? String ?? ""
        #expect(try await requests(backend, tenant: "b").isEmpty)
        let foreign = try await delete(backend, "DELETE", tenant: "b", "request_id=\(id)")
        #expect(foreign.status == 404 && foreign.text == "could not find delete request with given id\n")

        // A second request, cancelled at once (within its two-second cancel period), is never carried out.
        let second = try await delete(backend, "POST", tenant: "a",
                                      "query=\(HTTPTestClient.encode(#"{app="kept"}"#))&start=\(start)")
        #expect(second.status == 204)
        let secondID = try await requests(backend, tenant: "a").compactMap { $0["request_id"] as? String }
            .first { $0 != id } ?? ""
        #expect(try await delete(backend, "DELETE", tenant: "a", "request_id=\(secondID)").status == 204)

        // After the cancel period the compactor deletes the chunk; the request is processed and can no longer be
        // cancelled.
        #expect(await eventually {
            try await requests(backend, tenant: "a").map { $0["status"] as? String } == ["processed"]
        })
        #expect(await eventually { Self.chunkFiles(backend, tenant: "a") == 1 })
        #expect(Self.chunkFiles(backend, tenant: "b") == 1)
        #expect(try await count(backend, tenant: "a", #"{app="gone"}"#, from: t) == 0)
        #expect(try await count(backend, tenant: "a", #"{app="kept"}"#, from: t) == 20)
        #expect(try await count(backend, tenant: "b", #"{app="gone"}"#, from: t) == 20)
        let late = try await delete(backend, "DELETE", tenant: "a", "request_id=\(id)&force=true")
        #expect(late.status == 400
                && late.text == "deletion of request which is in process or already processed is not allowed\n")

        let metrics = try await client.get("\(backend.baseURL)/metrics").text
        #expect(metrics.contains(#"loki_compactor_delete_requests_received_total{user="a"} 2"#))
        #expect(metrics.contains(#"loki_compactor_delete_requests_processed_total{user="a"} 1"#))

        // The requests are in the store: a restarted backend lists them and goes on hiding their lines.
        #expect(backend.stop() == 0)
        try backend.start()
        let restarted = try await requests(backend, tenant: "a")
        #expect(restarted.map { $0["request_id"] as? String } == [id])
        #expect(restarted.map { $0["status"] as? String } == ["processed"])
        #expect(try await count(backend, tenant: "a", #"{app="gone"}"#, from: t) == 0)
        #expect(try await count(backend, tenant: "a", #"{app="kept"}"#, from: t) == 20)
    }
}
