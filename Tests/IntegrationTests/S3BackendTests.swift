import Foundation
import Testing
import TestSupport
import Wire

/// The real `estuary` binary with chunks and index in S3 (moto, checking every signature), as seed 000 runs it.
@Suite(.serialized) struct S3BackendTests {
    let client = HTTPTestClient()

    static func config(_ moto: MotoServer, endpoint: String? = nil, credentials: Bool = true,
                       maxRetries: Int = 5) -> String {
        let keys = credentials ? """
                access_key_id: \(moto.credentials.accessKeyID)
                secret_access_key: \(moto.credentials.secretAccessKey)
            """ : ""
        return """
        auth_enabled: false
        server:
          http_listen_port: 0
        common:
          path_prefix: ${DATA}
          replication_factor: 1
        schema_config:
          configs:
            - from: 2024-01-01
              store: tsdb
              object_store: s3
              schema: v13
              index:
                prefix: index_
                period: 24h
        storage_config:
          aws:
            endpoint: \(endpoint ?? moto.endpoint)
            insecure: true
            s3forcepathstyle: true
            region: us-east-1
            bucketnames: loki-chunks-a,loki-chunks-b
            backoff_config: {min_period: 5ms, max_period: 20ms, max_retries: \(maxRetries)}
        \(keys)
        ingester:
          chunk_encoding: snappy
        """
    }

    /// A fresh instance with an empty data directory, pointed at the same buckets, serves every flushed entry.
    @Test func aFreshBackendReadsWhatAnotherFlushedToTheBuckets() async throws {
        let moto = try await MotoServer(buckets: ["loki-chunks-a", "loki-chunks-b"])
        defer { moto.stop() }
        let t = Int64(Date().timeIntervalSince1970 * 1e9)
        let first = try BackendProcess(config: Self.config(moto))
        try first.start()
        for (index, job) in ["s3-a", "s3-b", "s3-c"].enumerated() {
            let request = BackendBinaryTests.request(#"{job="\#(job)"}"#, from: t + Int64(index), count: 700, prefix: job)
            let reply = try await client.post("\(first.baseURL)/loki/api/v1/push",
                                              headers: [("Content-Type", "application/x-protobuf")],
                                              body: Snappy.compress(PushProtobufEncoder.encode(request)))
            #expect(reply.status == 204, "\(reply.text)")
        }
        #expect(try await client.post("\(first.baseURL)/flush", body: []).status == 204)
        // /config shows the key id but never the secret.
        let shown = try await client.get("\(first.baseURL)/config").text
        #expect(shown.contains(#"bucketnames: "loki-chunks-a,loki-chunks-b""#))
        #expect(shown.contains("********"))
        #expect(!shown.contains(moto.credentials.secretAccessKey))
        let metrics = try await client.get("\(first.baseURL)/metrics").text
        #expect(metrics.contains(#"loki_s3_request_duration_seconds_count{operation="PutObject",status_code="200"}"#))
        #expect(first.stop() == 0)
        #expect(!first.stderr().contains(moto.credentials.secretAccessKey))

        let fresh = try BackendProcess(config: Self.config(moto))
        try fresh.start()
        defer { fresh.stop() }
        let got = try await BackendBinaryTests().query(fresh, #"{job=~"s3-.*"}"#, start: t - 1, end: t + 1_000_000)
        #expect(got.count == 2100)
        #expect(Set(got.map { $0[1] }).count == 2100)
    }

    static func push(_ client: HTTPTestClient, _ backend: BackendProcess, job: String, at t: Int64) async throws {
        let request = BackendBinaryTests.request(#"{job="\#(job)"}"#, from: t, count: 500, prefix: job)
        let reply = try await client.post("\(backend.baseURL)/loki/api/v1/push",
                                          headers: [("Content-Type", "application/x-protobuf")],
                                          body: Snappy.compress(PushProtobufEncoder.encode(request)))
        #expect(reply.status == 204, "\(reply.text)")
    }

    /// S3 failing in every way it does, between the backend and the bucket: a flush that runs out of retries
    /// keeps its chunks and writes them on the next try; nothing acknowledged is lost.
    @Test func nothingAcknowledgedIsLostWhileS3Fails() async throws {
        let moto = try await MotoServer(buckets: ["loki-chunks-a", "loki-chunks-b"])
        defer { moto.stop() }
        let proxy = try await S3FaultProxy(upstream: moto.endpoint)
        defer { proxy.stop() }
        let t = Int64(Date().timeIntervalSince1970 * 1e9)
        // The WAL is off: what is not in S3 when this backend stops is gone, so the fresh one below sees any loss.
        let backend = try BackendProcess(config: Self.config(moto, endpoint: proxy.endpoint, maxRetries: 3)
            .replacingOccurrences(of: "chunk_encoding: snappy", with: "chunk_encoding: snappy\n  wal: {enabled: false}"))
        try backend.start()
        defer { backend.stop() }
        // The compactor's first run (it lists the index and its markers) comes first, so the faults below meet
        // only the flush's writes.
        #expect(await eventually { try await client.get("\(backend.baseURL)/metrics").text
            .contains(#"loki_compactor_compact_tables_operation_total{status="success"} 1"#) })
        for (index, job) in ["f-a", "f-b", "f-c"].enumerated() {
            try await Self.push(client, backend, job: job, at: t + Int64(index))
        }
        // Three chunk writes, three attempts each, all refused: the flush gives up on every chunk and keeps them.
        try await proxy.setFaults(Array(repeating: "503", count: 9))
        #expect(try await client.post("\(backend.baseURL)/flush", body: []).status == 204)
        var metrics = try await client.get("\(backend.baseURL)/metrics").text
        #expect(metrics.contains("loki_ingester_chunks_flush_failures_total 3"))
        #expect(metrics.contains(#"estuary_s3_request_retries_total{operation="PutObject"} 6"#))
        #expect(backend.stderr().contains("chunk flush failed; will retry"))

        // Every kind of fault, over and over, while more is pushed and flushed: retries get everything through.
        try await proxy.setFaults(["pass", "503", "reset-after", "slowdown", "pass", "reset", "500", "slow", "429"],
                                  repeat: true, delay: .milliseconds(50))
        for (index, job) in ["f-d", "f-e"].enumerated() {
            try await Self.push(client, backend, job: job, at: t + 3 + Int64(index))
        }
        #expect(try await client.post("\(backend.baseURL)/flush", body: []).status == 204)
        try await proxy.setFaults([])
        let applied = try await proxy.stats().applied
        #expect(["503", "reset-after", "slowdown", "reset", "500", "slow", "429"].allSatisfy { (applied[$0] ?? 0) > 0 })
        // Once S3 is well again, one more flush catches up with whatever ran out of retries.
        let failures = try await client.get("\(backend.baseURL)/metrics").text
            .split(separator: "\n").first { $0.hasPrefix("loki_ingester_chunks_flush_failures_total ") }
        #expect(try await client.post("\(backend.baseURL)/flush", body: []).status == 204)
        metrics = try await client.get("\(backend.baseURL)/metrics").text
        #expect(metrics.split(separator: "\n").first { $0.hasPrefix("loki_ingester_chunks_flush_failures_total ") }
                == failures)
        #expect(backend.stop() == 0)

        // A fresh instance straight on the buckets has every entry, once.
        let fresh = try BackendProcess(config: Self.config(moto))
        try fresh.start()
        defer { fresh.stop() }
        let got = try await BackendBinaryTests().query(fresh, #"{job=~"f-.*"}"#, start: t - 1, end: t + 1_000_000)
        #expect(got.count == 2500)
        #expect(Set(got.map { $0[1] }).count == 2500)
    }

    /// IRSA: no keys anywhere, a role and a token file in the environment; the backend says where its keys come
    /// from and stores and reads with the role's keys.
    @Test func webIdentityCredentialsAreUsedAndNamedAtStartUp() async throws {
        let moto = try await MotoServer(buckets: ["loki-chunks-a", "loki-chunks-b"])
        defer { moto.stop() }
        let role = try await moto.createRole("loki-s3-prod")
        let sts = try await S3FaultProxy(upstream: moto.endpoint,
                                         stsCredentials: (moto.credentials.accessKeyID, moto.credentials.secretAccessKey))
        defer { sts.stop() }
        let backend = try BackendProcess(config: Self.config(moto, credentials: false).replacingOccurrences(
            of: "bucketnames:", with: "sts_endpoint: http://\(sts.endpoint)\n    bucketnames:"))
        let token = backend.dataDirectory.deletingLastPathComponent().appendingPathComponent("token")
        try "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6bG9raTpsb2tpIn0.c2ln".write(
            to: token, atomically: true, encoding: .utf8)
        try backend.start(environment: ["AWS_ROLE_ARN": role, "AWS_WEB_IDENTITY_TOKEN_FILE": token.path,
                                        "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""])
        defer { backend.stop() }
        let t = Int64(Date().timeIntervalSince1970 * 1e9)
        try await Self.push(client, backend, job: "irsa", at: t)
        #expect(try await client.post("\(backend.baseURL)/flush", body: []).status == 204)
        #expect(try await client.get("\(backend.baseURL)/metrics").text
            .contains(#"loki_s3_request_duration_seconds_count{operation="PutObject",status_code="200"}"#))
        let log = backend.stderr()
        #expect(log.contains("credentials: web identity: role \(role)"))
        #expect(log.contains("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"))
        #expect(!log.contains("chunk flush failed"))
    }

    @Test func noBucketAndAWrongStoreStopStartUpNamingTheKey() throws {
        let noBucket = BackendBinaryTests.config.replacingOccurrences(of: "ingester:", with: """
            schema_config:
              configs:
                - from: 2024-01-01
                  store: tsdb
                  object_store: aws
                  schema: v13
                  index:
                    prefix: index_
                    period: 24h
            ingester:
            """)
        let backend = try BackendProcess(config: noBucket)
        #expect(throws: BackendProcessError.self) { try backend.start() }
        #expect(backend.stderr().contains("storage_config.aws.bucketnames: object_store is s3, but no bucket is configured"))
    }
}
