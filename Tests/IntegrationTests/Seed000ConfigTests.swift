import Foundation
import Testing
import TestSupport
import Wire

/// The Loki configuration seed 000's Helm values render (`../shared/seeds/000_*`), run unchanged but for the
/// endpoint of a loopback S3 server: chunks and index in an S3 bucket with SSE-KMS, IRSA credentials (web
/// identity through STS), the WAL, a compactor with retention, and per-tenant limits from a runtime overrides file.
@Suite(.serialized) struct Seed000ConfigTests {
    let client = HTTPTestClient()

    static func config(s3: String, sts: String) -> String {
        """
        auth_enabled: true
        server:
          http_listen_port: 0
          grpc_listen_port: 9095
        common:
          path_prefix: ${DATA}
          replication_factor: 1
          storage:
            s3:
              region: us-east-1
              bucketnames: kloudvin-loki-chunks-prod-use1
              s3forcepathstyle: false
        schema_config:
          configs:
            - from: "2026-01-01"
              store: tsdb
              object_store: s3
              schema: v13
              index:
                prefix: index_
                period: 24h
        storage_config:
          aws:
            region: us-east-1
            bucketnames: kloudvin-loki-chunks-prod-use1
            endpoint: http://\(s3)
            s3forcepathstyle: true
            sts_endpoint: http://\(sts)
            sse:
              type: SSE-KMS
              kms_key_id: alias/loki-s3
          tsdb_shipper:
            active_index_directory: ${DATA}/tsdb-index
            cache_location: ${DATA}/tsdb-cache
            index_gateway_client:
              server_address: dns:///loki-index-gateway-headless.loki.svc.cluster.local:9095
        ingester:
          chunk_target_size: 1572864
          chunk_idle_period: 30m
          wal:
            enabled: true
            dir: ${DATA}/wal
        limits_config:
          retention_period: 744h
          ingestion_rate_mb: 8
          ingestion_burst_size_mb: 16
          max_query_parallelism: 64
          split_queries_by_interval: 15m
          tsdb_max_query_parallelism: 128
          volume_enabled: true
        querier:
          max_concurrent: 8
        compactor:
          working_directory: ${DATA}/compactor
          retention_enabled: true
          delete_request_store: s3
          compaction_interval: 10m
        runtime_config:
          file: ${DATA}-runtime.yaml
        """
    }

    static let runtime = """
        overrides:
          payments:
            ingestion_rate_mb: 24
            ingestion_burst_size_mb: 48
            retention_period: 2160h        # 90 days for a regulated tenant
            max_global_streams_per_user: 100000
          checkout:
            ingestion_rate_mb: 12
            retention_period: 744h         # 31 days
          sandbox:
            ingestion_rate_mb: 2
            retention_period: 168h         # 7 days, cheap and disposable
        """

    /// A push of `lines` lines of 1 KB for `tenant`, to a stream of its own (`{app=<tenant>, push=<t>}`) so that
    /// only the tenant's limits, not the per-stream ones, can refuse it.
    func push(_ backend: BackendProcess, tenant: String, lines: Int, at t: Int64) async throws -> HTTPTestClient.Reply {
        let line = Array(String(repeating: "x", count: 1000).utf8)
        let entries = (0..<lines).map { PushEntry(timestamp: t + Int64($0), line: line[...]) }
        let request = PushRequest(streams: [PushStream(labels: #"{app="\#(tenant)", push="\#(t)"}"#, entries: entries)])
        return try await client.post("\(backend.baseURL)/loki/api/v1/push",
                                     headers: [("Content-Type", "application/x-protobuf"), ("X-Scope-OrgID", tenant)],
                                     body: Snappy.compress(PushProtobufEncoder.encode(request)))
    }

    /// Entries of stream `{app="<app>"}` (the tenant's own by default) that `tenant` can read.
    func count(_ backend: BackendProcess, tenant: String, app: String? = nil, from: Int64, through: Int64)
        async throws -> Int
    {
        let selector = "{app=\"\(app ?? tenant)\"}"
        let url = "\(backend.baseURL)/loki/api/v1/query_range?query=\(HTTPTestClient.encode(selector))"
            + "&start=\(from)&end=\(through)&limit=5000&direction=forward"
        let reply = try await client.get(url, headers: [("X-Scope-OrgID", tenant)])
        #expect(reply.status == 200, "\(reply.text)")
        let data = (try reply.json() as? [String: Any])?["data"] as? [String: Any]
        let streams = data?["result"] as? [[String: Any]] ?? []
        return streams.reduce(0) { $0 + (($1["values"] as? [Any])?.count ?? 0) }
    }

    @Test func seed000RunsWithS3IRSACompactorAndRuntimeOverrides() async throws {
        let moto = try await MotoServer(buckets: ["kloudvin-loki-chunks-prod-use1"])
        defer { moto.stop() }
        let role = try await moto.createRole("loki-s3-prod")
        let sts = try await S3FaultProxy(upstream: moto.endpoint,
                                         stsCredentials: (moto.credentials.accessKeyID, moto.credentials.secretAccessKey))
        defer { sts.stop() }
        let config = Self.config(s3: moto.endpoint, sts: sts.endpoint)
        let first = try BackendProcess(config: config)
        try Self.runtime.write(toFile: first.dataDirectory.path + "-runtime.yaml", atomically: true, encoding: .utf8)
        let token = first.dataDirectory.path + "-token"
        try "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6bG9raTpsb2tpIn0.c2ln"
            .write(toFile: token, atomically: true, encoding: .utf8)
        let irsa = ["AWS_ROLE_ARN": role, "AWS_WEB_IDENTITY_TOKEN_FILE": token,
                    "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""]
        try first.start(environment: irsa)
        defer { first.stop() }
        #expect(first.stderr().contains("credentials: web identity: role \(role)"))

        // Each tenant is held to its own ingestion rate: pushes of 3 MB in a row exhaust sandbox's 16 MB burst
        // (its rate is 2 MB/s) while payments (24 MB/s, burst 48 MB) takes them all.
        let t = Int64(Date().timeIntervalSince1970 * 1e9)
        var accepted = 0, refused = false
        for n in 0..<20 {
            let status = try await push(first, tenant: "sandbox", lines: 3000, at: t + Int64(n) * 3000).status
            if status == 429 {
                refused = true
                break
            }
            #expect(status == 204)
            accepted += 1
        }
        // 16 MB of burst plus what 2 MB/s refills while the pushes run.
        #expect(refused && accepted >= 5, "sandbox took \(accepted) pushes of 3 MB")
        for n in 0..<8 {
            #expect(try await push(first, tenant: "payments", lines: 3000, at: t + Int64(n) * 3000).status == 204)
        }
        #expect(try await push(first, tenant: "checkout", lines: 1000, at: t).status == 204)
        let diff = try await client.get("\(first.baseURL)/runtime_config?mode=diff").text
        #expect(diff.contains("payments:") && diff.contains("retention_period: 90d"), "\(diff)")

        #expect(try await client.post("\(first.baseURL)/flush", body: []).status == 204)
        let metrics = try await client.get("\(first.baseURL)/metrics").text
        #expect(metrics.contains(#"loki_compactor_compact_tables_operation_total{status="success"}"#))
        #expect(!metrics.contains(#"loki_compactor_compact_tables_operation_total{status="failure"} 1"#))
        #expect(first.stop() == 0)

        // A fresh instance with an empty data directory reads the old bucket: every tenant's entries, and only its own.
        let fresh = try BackendProcess(config: config)
        try Self.runtime.write(toFile: fresh.dataDirectory.path + "-runtime.yaml", atomically: true, encoding: .utf8)
        try fresh.start(environment: irsa)
        defer { fresh.stop() }
        // The first push of each tenant (a query answers at most 5,000 entries).
        for (tenant, lines) in [("payments", 3000), ("checkout", 1000), ("sandbox", 3000)] {
            #expect(try await count(fresh, tenant: tenant, from: t, through: t + 3000) == lines, "\(tenant)")
        }
        #expect(try await count(fresh, tenant: "checkout", app: "payments", from: t - 1, through: t + 1_000_000_000) == 0)
    }
}
