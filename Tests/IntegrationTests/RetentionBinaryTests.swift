import Foundation
import Testing
import TestSupport
import Wire

/// Retention through the real binary: the compactor takes expired streams out of the index and deletes their
/// chunk objects from the store; streams under a longer (or no) retention period stay.
@Suite struct RetentionBinaryTests {
    let client = HTTPTestClient()

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
        compactor:
          working_directory: ${DATA}/compactor
          compaction_interval: 100ms
          retention_enabled: true
          retention_delete_delay: 0s
        limits_config:
          retention_period: 0s
          retention_stream:
            - selector: '{job="sandbox"}'
              priority: 1
              period: 48h
        ingester:
          chunk_encoding: snappy
        """

    static func chunkFiles(_ backend: BackendProcess) -> [String] {
        let root = backend.dataDirectory.appendingPathComponent("chunks/fake").path
        let walker = FileManager.default.enumerator(atPath: root)
        var files: [String] = []
        while let path = walker?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isDirectory), !isDirectory.boolValue {
                files.append(path)
            }
        }
        return files
    }

    @Test func expiredStreamsLeaveTheIndexAndTheStore() async throws {
        let backend = try BackendProcess(config: Self.config)
        try backend.start()
        defer { backend.stop() }
        let now = Int64(Date().timeIntervalSince1970 * 1e9)
        let threeDaysAgo = now - 3 * 86_400 * 1_000_000_000
        let binary = BackendBinaryTests()
        for (labels, t) in [(#"{job="sandbox", age="old"}"#, threeDaysAgo), (#"{job="sandbox", age="new"}"#, now),
                            (#"{job="payments", age="old"}"#, threeDaysAgo)] {
            let reply = try await binary.push(backend, BackendBinaryTests.request(labels, from: t, count: 100, prefix: labels))
            #expect(reply.status == 204, "\(reply.text)")
        }
        #expect(try await client.post("\(backend.baseURL)/flush", body: []).status == 204)
        // The sandbox stream older than 48h goes; the fresh one and payments (kept forever) stay.
        #expect(await eventually { Self.chunkFiles(backend).count == 2 })
        let got = try await binary.query(backend, #"{age=~".+"}"#, start: threeDaysAgo - 1, end: now + 1_000_000_000)
        #expect(got.count == 200)
        #expect(got.allSatisfy { !$0[1].contains(#"age="old"}"#) || $0[1].contains("payments") })
        let metrics = try await client.get("\(backend.baseURL)/metrics").text
        #expect(metrics.contains("loki_compactor_retention_marker_count_total 1"))
        #expect(metrics.contains(#"loki_compactor_retention_sweeper_chunk_deleted_duration_seconds_count{status="success"} 1"#))
    }
}
