import Foundation
import Testing
import TestSupport
import Wire

/// The real `estuary` binary with chunks and index in S3 (moto, checking every signature), as seed 000 runs it.
@Suite(.serialized) struct S3BackendTests {
    let client = HTTPTestClient()

    static func config(_ moto: MotoServer) -> String {
        """
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
            endpoint: \(moto.endpoint)
            insecure: true
            s3forcepathstyle: true
            region: us-east-1
            bucketnames: loki-chunks-a,loki-chunks-b
            access_key_id: \(moto.credentials.accessKeyID)
            secret_access_key: \(moto.credentials.secretAccessKey)
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
