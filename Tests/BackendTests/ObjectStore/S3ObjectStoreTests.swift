import Foundation
import Prometheus
import Testing
import TestSupport
import Wire

@testable import Backend

/// The S3 object store against a real S3 server (moto) that checks every signature.
@Suite(.serialized) struct S3ObjectStoreTests {
    static func store(_ moto: MotoServer, buckets: [String], pageSize: Int = 1000,
                      credentials: SigV4Signer.Credentials? = nil, metrics: S3Metrics? = nil) throws -> S3ObjectStore {
        var settings = S3ObjectStore.Settings()
        settings.scheme = "http"
        settings.endpoint = moto.endpoint
        settings.forcePathStyle = true
        settings.buckets = buckets
        settings.credentials = .fixed(credentials ?? moto.credentials, origin: "test")
        settings.listPageSize = pageSize
        settings.backoff = .dskit(min: .milliseconds(10), max: .milliseconds(50), maxAttempts: 3)
        return try S3ObjectStore(settings, metrics: metrics)
    }

    @Test func objectsRoundTripAndListInPages() async throws {
        let moto = try await MotoServer(buckets: ["chunks"])
        defer { moto.stop() }
        let store = try Self.store(moto, buckets: ["chunks"], pageSize: 3)
        // Chunk keys as the filesystem layout names them (base64 with '='), and keys that need encoding.
        let keys = ["fake/3a5b1c0d2e4f6a7b/MTk0ZjM6MTk0ZjQ6YWJjZGVm", "fake/3a5b1c0d2e4f6a7b/MTk0ZjU6MTk0ZjY6MDEyMw==",
                    "fake/index_20429/a+b c~d.tsdb", "tenant é/x&y<z>'q\"", "other/one"]
        for (number, key) in keys.enumerated() {
            try await store.put(key, Array("object \(number) of \(key)".utf8))
        }
        for (number, key) in keys.enumerated() {
            #expect(try await store.get(key) == Array("object \(number) of \(key)".utf8))
        }
        #expect(try await store.getRange(keys[0], offset: 7, length: 3) == Array("0 o".utf8))
        #expect(try await store.getRange(keys[0], offset: 1000, length: 3) == [])
        // Seven objects under fake/ in pages of three: the continuation token is followed to the end.
        for extra in 0..<4 { try await store.put("fake/more/\(extra)", [UInt8(extra)]) }
        let listed = try await store.list(prefix: "fake/")
        #expect(listed.map(\.key) == (keys.filter { $0.hasPrefix("fake/") } + (0..<4).map { "fake/more/\($0)" }).sorted())
        #expect(listed.first { $0.key == "fake/more/2" }?.size == 1)
        #expect(try await store.list(prefix: "tenant é/").map(\.key) == ["tenant é/x&y<z>'q\""])

        try await store.delete(keys[4])
        try await store.delete(keys[4])   // deleting a missing object is not an error
        do {
            _ = try await store.get(keys[4])
            Issue.record("expected notFound")
        } catch let error as ObjectStoreError {
            #expect(error.kind == .notFound)
        }
    }

    @Test func objectsAreSpreadOverEveryBucketAndFoundAgain() async throws {
        let moto = try await MotoServer(buckets: ["bucket-1", "bucket-2", "bucket-3"])
        defer { moto.stop() }
        let store = try Self.store(moto, buckets: ["bucket-1", "bucket-2", "bucket-3"])
        let keys = (0..<30).map { "fake/\($0)" }
        for key in keys { try await store.put(key, Array(key.utf8)) }
        for key in keys { #expect(try await store.get(key) == Array(key.utf8)) }
        #expect(try await store.list(prefix: "fake/").map(\.key) == keys.sorted())
        var perBucket: [Int] = []
        for bucket in ["bucket-1", "bucket-2", "bucket-3"] {
            perBucket.append(try await Self.store(moto, buckets: [bucket]).list(prefix: "").count)
        }
        #expect(perBucket.reduce(0, +) == 30)
        #expect(perBucket.allSatisfy { $0 > 0 })
    }

    @Test func aWrongSecretIsRefusedOnceWithS3sErrorCodeAndNeverRetried() async throws {
        let moto = try await MotoServer(buckets: ["chunks"])
        defer { moto.stop() }
        let registry = PrometheusCollectorRegistry()
        var wrong = moto.credentials
        wrong.secretAccessKey += "x"
        let store = try Self.store(moto, buckets: ["chunks"], credentials: wrong, metrics: S3Metrics(registry))
        do {
            try await store.put("fake/k", [1, 2, 3])
            Issue.record("expected a refusal")
        } catch let error as ObjectStoreError {
            #expect(error.kind == .io)
            #expect(error.description.contains("403"))
            #expect(error.description.contains("SignatureDoesNotMatch"))
            #expect(error.description.contains("s3://chunks/fake/k"))
            #expect(!error.description.contains(wrong.secretAccessKey))
        }
        let text = String(decoding: registry.emitToBuffer(), as: UTF8.self)
        #expect(text.contains(#"loki_s3_request_duration_seconds_count{operation="PutObject",status_code="403"} 1"#))
        #expect(!text.contains("estuary_s3_request_retries_total"))
    }

    @Test func aServerThatIsNotThereIsRetriedThenReported() async throws {
        let registry = PrometheusCollectorRegistry()
        var settings = S3ObjectStore.Settings()
        settings.scheme = "http"
        settings.endpoint = "127.0.0.1:1"   // nothing listens on port 1
        settings.forcePathStyle = true
        settings.buckets = ["chunks"]
        settings.backoff = .dskit(min: .milliseconds(1), max: .milliseconds(5), maxAttempts: 3)
        // A refused connection fails the attempt at once; the store's backoff, not the HTTP client, retries it.
        let store = try S3ObjectStore(settings, metrics: S3Metrics(registry))
        await #expect(throws: ObjectStoreError.self) { try await store.get("fake/k") }
        let text = String(decoding: registry.emitToBuffer(), as: UTF8.self)
        #expect(text.contains(#"estuary_s3_request_retries_total{operation="GetObject"} 2"#))
        #expect(text.contains(#"loki_s3_request_duration_seconds_count{operation="GetObject",status_code="0"} 3"#))
    }
}

/// The store through a proxy that injects S3's faults, and with keys from web identity (STS).
@Suite(.serialized) struct S3FaultTests {
    /// Bucket `chunks` of `moto`, reached through `proxy`, with a short backoff of `attempts` tries.
    static func settings(through proxy: S3FaultProxy, to moto: MotoServer, attempts: Int) -> S3ObjectStore.Settings {
        var settings = S3ObjectStore.Settings()
        settings.scheme = "http"
        settings.endpoint = proxy.endpoint
        settings.forcePathStyle = true
        settings.buckets = ["chunks"]
        settings.credentials = .fixed(moto.credentials, origin: "test")
        settings.backoff = .dskit(min: .milliseconds(5), max: .milliseconds(20), maxAttempts: attempts)
        return settings
    }

    @Test func transientFaultsAreRetriedUntilTheObjectIsWritten() async throws {
        let moto = try await MotoServer(buckets: ["chunks"])
        defer { moto.stop() }
        let proxy = try await S3FaultProxy(upstream: moto.endpoint)
        defer { proxy.stop() }
        let registry = PrometheusCollectorRegistry()
        var settings = Self.settings(through: proxy, to: moto, attempts: 12)
        // Long enough for any answer moto gives on a loaded machine, shorter than the "slow" fault's.
        settings.http.responseHeaderTimeout = .seconds(1)
        let store = try S3ObjectStore(settings, metrics: S3Metrics(registry))

        // Every kind of fault, one after another, before the write gets through; "reset-after" means S3 stored
        // the object and the answer was lost, so the retry writes it again.
        try await proxy.setFaults(["500", "503", "slowdown", "429", "reset", "reset-after", "slow"],
                                  delay: .seconds(4))
        try await store.put("fake/one", Array("first".utf8))
        #expect(try await store.get("fake/one") == Array("first".utf8))
        let stats = try await proxy.stats()
        #expect(stats.applied.filter { $0.key != "pass" }.values.reduce(0, +) == 7)
        let text = String(decoding: registry.emitToBuffer(), as: UTF8.self)
        // One retry per fault (more only if a plain answer ever took over a second).
        let retries = text.split(separator: "\n").first { $0.hasPrefix(#"estuary_s3_request_retries_total{operation="PutObject"}"#) }
        #expect(retries.flatMap { Int($0.split(separator: " ").last ?? "") }.map { $0 >= 7 } == true, "\(text)")
        #expect(text.contains(#"loki_s3_request_duration_seconds_count{operation="PutObject",status_code="503"} 2"#))

        // More faults in a row than attempts: the caller hears why.
        try await proxy.setFaults(Array(repeating: "slowdown", count: 12))
        do {
            try await store.put("fake/two", [1])
            Issue.record("expected a failure after 12 attempts")
        } catch let error as ObjectStoreError {
            #expect(error.description.contains("503 SlowDown"))
        }
    }

    @Test func largeObjectsAreUploadedInPartsThroughFaults() async throws {
        let moto = try await MotoServer(buckets: ["chunks"])
        defer { moto.stop() }
        let proxy = try await S3FaultProxy(upstream: moto.endpoint)
        defer { proxy.stop() }
        let registry = PrometheusCollectorRegistry()
        var settings = Self.settings(through: proxy, to: moto, attempts: 4)
        settings.multipartThreshold = 6 << 20
        settings.partSize = 5 << 20
        let store = try S3ObjectStore(settings, metrics: S3Metrics(registry))
        var random = SeededRandom(seed: 7)
        let object = random.bytes((11 << 20) + 7)
        // The second request (the first part) fails once, and the completion's answer is lost once.
        try await proxy.setFaults(["pass", "503", "pass", "pass", "pass", "reset-after"])
        try await store.put("index/big", object)
        #expect(try await store.get("index/big") == object)
        #expect(try await store.getRange("index/big", offset: (5 << 20) - 2, length: 4)
                == Array(object[((5 << 20) - 2)..<((5 << 20) + 2)]))
        let text = String(decoding: registry.emitToBuffer(), as: UTF8.self)
        #expect(text.contains(#"loki_s3_request_duration_seconds_count{operation="UploadPart",status_code="200"} 3"#))
        #expect(text.contains(#"loki_s3_request_duration_seconds_count{operation="CreateMultipartUpload",status_code="200"} 1"#))
        #expect(!text.contains(#"operation="PutObject""#))
        // Small objects still go in one request.
        try await store.put("index/small", [1, 2, 3])
        #expect(String(decoding: registry.emitToBuffer(), as: UTF8.self)
            .contains(#"loki_s3_request_duration_seconds_count{operation="PutObject",status_code="200"} 1"#))
    }

    @Test func webIdentityKeysFromSTSSignRequests() async throws {
        let moto = try await MotoServer(buckets: ["chunks"])
        defer { moto.stop() }
        let role = try await moto.createRole("loki-s3")
        let proxy = try await S3FaultProxy(upstream: moto.endpoint,
                                           stsCredentials: (moto.credentials.accessKeyID, moto.credentials.secretAccessKey))
        defer { proxy.stop() }
        let tokenFile = FileManager.default.temporaryDirectory.appendingPathComponent("token-\(UUID().uuidString)")
        try "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJsb2tpIn0.c2ln\n".write(to: tokenFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: tokenFile) }
        var settings = S3ObjectStore.Settings()
        settings.scheme = "http"
        settings.endpoint = moto.endpoint
        settings.forcePathStyle = true
        settings.buckets = ["chunks"]
        settings.backoff = .dskit(min: .milliseconds(5), max: .milliseconds(20), maxAttempts: 2)
        settings.credentials = .webIdentity(.init(roleARN: role, tokenFile: tokenFile.path, sessionName: "test",
                                                  stsEndpoint: "http://\(proxy.endpoint)"))
        let store = try S3ObjectStore(settings)
        // moto checks these requests against the assumed role's keys and session token.
        try await store.put("fake/assumed", [1, 2, 3])
        #expect(try await store.get("fake/assumed") == [1, 2, 3])

        // A role that does not exist: STS's refusal is the error, naming the call.
        var wrong = settings
        wrong.credentials = .webIdentity(.init(roleARN: "arn:aws:iam::123456789012:role/nobody",
                                               tokenFile: tokenFile.path + ".missing", sessionName: "test",
                                               stsEndpoint: "http://\(proxy.endpoint)"))
        do {
            try await S3ObjectStore(wrong).put("fake/x", [1])
            Issue.record("expected a failure")
        } catch let error as ObjectStoreError {
            #expect(error.description.contains("AssumeRoleWithWebIdentity: cannot read the web identity token file"))
        }
    }
}

/// The S3 answers the store reads come from the network: any bytes are read without a trap, and listings
/// round-trip whatever keys they hold.
@Suite struct S3XMLTests {
    static func listing(_ objects: [ObjectInfo], next: String?) -> [UInt8] {
        var xml = #"<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix></Prefix>"#
        xml += "<KeyCount>\(objects.count)</KeyCount><IsTruncated>\(next != nil)</IsTruncated>"
        if let next { xml += "<NextContinuationToken>\(S3XML.escape(next))</NextContinuationToken>" }
        for object in objects {
            xml += "<Contents><Key>\(S3XML.escape(object.key))</Key><LastModified>2026-12-07T10:00:00.000Z</LastModified>"
                + "<ETag>&quot;abc&quot;</ETag><Size>\(object.size)</Size><StorageClass>STANDARD</StorageClass></Contents>"
        }
        return Array((xml + "</ListBucketResult>").utf8)
    }

    @Test func listingsRoundTripAnyKeys() throws {
        var random = SeededRandom(seed: FuzzBudget.seed(15))
        let alphabet = Array("ab/=+~ &<>\"'é\u{1F600}.-_0").map(String.init)
        for _ in 0..<FuzzBudget.scaled(300) {
            let objects = (0..<Int.random(in: 0...5, using: &random)).map { _ in
                ObjectInfo(key: (0..<Int.random(in: 1...12, using: &random)).map { _ in alphabet.randomElement(using: &random)! }.joined(),
                           size: Int.random(in: 0...1 << 40, using: &random))
            }
            let next: String? = Bool.random(using: &random) ? "token&<\(Int.random(in: 0...99, using: &random))>" : nil
            let page = try S3XML.listPage(Self.listing(objects, next: next))
            #expect(page.objects == objects)
            #expect(page.nextToken == next)
        }
    }

    @Test func anyBytesAreReadWithoutATrap() {
        var random = SeededRandom(seed: FuzzBudget.seed(16))
        let valid = Self.listing([ObjectInfo(key: "k&amp;", size: 3)], next: "t")
        for _ in 0..<FuzzBudget.scaled(3000) {
            var bytes = valid
            for _ in 0..<Int.random(in: 1...8, using: &random) {
                let at = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[at] = UInt8.random(in: 0...255, using: &random)
                case 1: bytes.remove(at: at)
                default: bytes.insert(Array("<>&;/#x".utf8).randomElement(using: &random)!, at: at)
                }
            }
            _ = try? S3XML.listPage(bytes)
            _ = S3XML.error(bytes)
        }
        #expect(throws: S3XML.Malformed.self) { try S3XML.listPage(Array("<ListBucketResult><Contents><Size>1</Size></Contents>".utf8)) }
        #expect(throws: S3XML.Malformed.self) { try S3XML.listPage(Array("<ListBucketResult><IsTruncated>true</IsTruncated>".utf8)) }
        #expect(throws: S3XML.Malformed.self) { try S3XML.listPage(Array("<ListBucketResult><Contents><Key>&bogus;</Key></Contents>".utf8)) }
        #expect(S3XML.error(Array("<Error><Code>SlowDown</Code><Message>Please reduce</Message></Error>".utf8))! == ("SlowDown", "Please reduce"))
    }
}
