import Foundation
import Testing
import TestSupport
import Wire

/// Per-tenant limits from a runtime configuration file, against the real `estuary` binary: each tenant is held to
/// its own ingestion rate, a rewritten file applies within its period, and `/runtime_config` shows what is in force.
@Suite(.serialized) struct RuntimeOverridesBinaryTests {
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
        limits_config:
          ingestion_rate_mb: 4
          ingestion_burst_size_mb: 6
        runtime_config:
          file: ${DATA}-runtime.yaml
          period: 200ms
        """

    /// `small` may burst about 10 KiB, `large` the global 6 MiB.
    static let runtime = """
        overrides:
          small:
            ingestion_rate_mb: 0.01
            ingestion_burst_size_mb: 0.01
          large:
            ingestion_burst_size_mb: 8
        """

    let client = HTTPTestClient()

    /// One push of about 50 KB of line bytes for `tenant`.
    func push(_ backend: BackendProcess, tenant: String) async throws -> HTTPTestClient.Reply {
        let now = Int64(Date().timeIntervalSince1970 * 1e9)
        let line = Array(String(repeating: "x", count: 1000).utf8)
        let entries = (0..<50).map { PushEntry(timestamp: now + Int64($0), line: line[...]) }
        let request = PushRequest(streams: [PushStream(labels: #"{job="overrides"}"#, entries: entries)])
        return try await client.post("\(backend.baseURL)/loki/api/v1/push",
                                     headers: [("Content-Type", "application/x-protobuf"), ("X-Scope-OrgID", tenant)],
                                     body: Snappy.compress(PushProtobufEncoder.encode(request)))
    }

    @Test func eachTenantGetsItsOwnLimitsAndARewrittenFileAppliesWithinItsPeriod() async throws {
        let backend = try BackendProcess(config: Self.config)
        let runtimePath = backend.dataDirectory.path + "-runtime.yaml"
        try Self.runtime.write(toFile: runtimePath, atomically: true, encoding: .utf8)
        try backend.start()
        defer { backend.stop() }

        let refused = try await push(backend, tenant: "small")
        #expect(refused.status == 429, "\(refused.text)")
        #expect(refused.text.contains("Ingestion rate limit exceeded for user small (limit: 10485 bytes/sec)"),
                "\(refused.text)")
        #expect(try await push(backend, tenant: "large").status == 204)
        #expect(try await push(backend, tenant: "anyone-else").status == 204)

        let full = try await client.get("\(backend.baseURL)/runtime_config")
        #expect(full.status == 200)
        #expect(full.text.hasPrefix("overrides:\n  large:\n    ingestion_rate_mb: 4\n    ingestion_burst_size_mb: 8\n"),
                "\(full.text)")
        #expect(full.text.contains("\n  small:\n    ingestion_rate_mb: 0.01\n    ingestion_burst_size_mb: 0.01\n"))
        let diff = try await client.get("\(backend.baseURL)/runtime_config?mode=diff")
        #expect(diff.text == """
            overrides:
              large:
                ingestion_burst_size_mb: 8
              small:
                ingestion_burst_size_mb: 0.01
                ingestion_rate_mb: 0.01

            """)
        let metrics = try await client.get("\(backend.baseURL)/metrics").text
        #expect(metrics.contains(#"loki_runtime_config_last_reload_successful{config="loki"} 1"#))
        let hash = SHA256Hex.digest(Array(Self.runtime.utf8))
        #expect(metrics.contains(#"loki_runtime_config_hash{config="loki",sha256="\#(hash)"} 1"#), "\(metrics)")

        // A broken file keeps the limits in force and reports the failure.
        try "overrides:\n  small: {ingestion_rate_mb: fast}\n".write(toFile: runtimePath, atomically: true, encoding: .utf8)
        #expect(await eventually(within: .seconds(60)) {
            try await client.get("\(backend.baseURL)/metrics").text
                .contains(#"loki_runtime_config_last_reload_successful{config="loki"} 0"#)
        })
        #expect(try await push(backend, tenant: "small").status == 429)
        #expect(backend.stderr().contains("-runtime.yaml:2:30: overrides.small.ingestion_rate_mb: expected a number"),
                "\(backend.stderr())")

        // The fixed file lifts small's limit within the reload period.
        try "overrides:\n  small: {ingestion_burst_size_mb: 1}\n".write(toFile: runtimePath, atomically: true, encoding: .utf8)
        #expect(await eventually(within: .seconds(60)) { try await push(backend, tenant: "small").status == 204 })
        #expect(try await client.get("\(backend.baseURL)/metrics").text
                    .contains(#"loki_runtime_config_last_reload_successful{config="loki"} 1"#))
        #expect(try await client.get("\(backend.baseURL)/runtime_config?mode=diff").text
                    == "overrides:\n  small:\n    ingestion_burst_size_mb: 1\n")
        // The reload loop stops with the rest at SIGTERM.
        #expect(backend.stop() == 0)
    }

    @Test func aBadRuntimeFileStopsTheStartUpNamingFileAndLine() throws {
        let backend = try BackendProcess(config: Self.config)
        let runtimePath = backend.dataDirectory.path + "-runtime.yaml"
        try "overrides:\n  t:\n    retention_stream:\n      - {selector: '{a=\"b\"}', period: 1h}\n"
            .write(toFile: runtimePath, atomically: true, encoding: .utf8)
        do {
            try backend.start()
            backend.stop()
            Issue.record("the backend started with an invalid runtime configuration")
        } catch {
            #expect("\(error)".contains(
                "\(runtimePath):4:39: overrides.t.retention_stream[0].period: retention period must be >= 24h was 1h"),
                "\(error)")
        }
    }

    @Test func withoutARuntimeConfigurationTheEndpointSaysSo() async throws {
        let backend = try BackendProcess(config: """
            auth_enabled: false
            server:
              http_listen_port: 0
            common:
              path_prefix: ${DATA}
            storage_config:
              filesystem:
                directory: ${DATA}/chunks
            """)
        try backend.start()
        defer { backend.stop() }
        let reply = try await client.get("\(backend.baseURL)/runtime_config")
        #expect(reply.status == 200)
        #expect(reply.text == "runtime config file doesn't exist\n")
    }
}
