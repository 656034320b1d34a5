import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Wire

/// Objects in S3 or an S3-compatible server, signed with SigV4, under Loki's `storage_config.aws` settings.
///
/// Keys are the same relative paths the filesystem store uses. With several buckets an object's bucket is chosen
/// by a hash of its key, so every process finds it in the same one. Requests that fail for a reason worth another
/// try (5xx, 429, `SlowDown`, connection errors, timeouts) are retried with dskit's jittered exponential backoff
/// (`backoff_config`); other answers (403, 404, other 4xx) fail at once with the bucket, key and S3's error code.
public final class S3ObjectStore: ObjectStore {
    public struct Settings: Sendable, Equatable {
        /// `http` or `https`.
        public var scheme = "https"
        /// Host and optional port of the endpoint, without a bucket (`s3.eu-west-1.amazonaws.com`, `127.0.0.1:9000`).
        public var endpoint = "s3.amazonaws.com"
        public var region = "us-east-1"
        public var buckets: [String] = []
        /// Path style (`endpoint/bucket/key`) rather than virtual-host style (`bucket.endpoint/key`).
        public var forcePathStyle = false
        public var credentials = S3CredentialSource.fixed(.init(accessKeyID: "", secretAccessKey: ""), origin: "nowhere")
        /// Why the sources of credentials tried before `credentials` had none, for the start-up log.
        public var credentialsNote = ""
        public var http = HTTP()
        /// `x-amz-storage-class` of written objects; empty: the bucket's default.
        public var storageClass = ""
        /// Server-side encryption asked for on writes.
        public var encryption: Encryption?
        /// dskit's backoff between attempts; `maxRetries` counts every attempt, 0 is unlimited.
        public var backoff = RetryBackoff.Policy.dskit(min: .milliseconds(100), max: .seconds(3), maxAttempts: 5)
        /// Each request's time limit.
        public var requestTimeout: Duration = .seconds(60)
        /// Objects per `ListObjectsV2` page (`max-keys`; S3 answers at most 1,000).
        public var listPageSize = 1000
        /// Objects larger than this are uploaded in parts of `partSize` (S3's smallest part is 5 MiB).
        public var multipartThreshold = 32 << 20
        public var partSize = 16 << 20

        public init() {}
    }

    /// `http_config`: how connections are made and kept.
    public struct HTTP: Sendable, Equatable {
        /// `idle_conn_timeout`: an idle pooled connection is closed after this long.
        public var idleConnectionTimeout: Duration = .seconds(90)
        /// `response_header_timeout`: the longest wait for an answer's first bytes; nil waits for the request's
        /// time limit.
        public var responseHeaderTimeout: Duration?
        /// How long establishing a connection may take (Go's dialer default, which Loki keeps).
        public var connectTimeout: Duration = .seconds(30)
        /// `insecure_skip_verify`: accept any server certificate.
        public var insecureSkipVerify = false
        /// `ca_file`: PEM certificates to trust instead of the system's.
        public var caFile = ""
        /// Connections kept per host.
        public var maxConnectionsPerHost = 100

        public init() {}
    }

    /// `sse.type` and its keys.
    public enum Encryption: Sendable, Equatable {
        /// `SSE-S3`: keys managed by S3.
        case s3
        /// `SSE-KMS` with a KMS key and an optional encryption context (JSON, sent base64 encoded).
        case kms(keyID: String, context: String?)
    }

    public let settings: Settings
    private let client: HTTPClient
    private let stsClient: HTTPClient?
    private let signer: SigV4Signer
    private let credentials: S3CredentialProvider
    private let metrics: S3Metrics?
    private let now: @Sendable () -> Int64

    /// - `now`: seconds since 1970, for signatures (the wall clock unless a test fixes it).
    public init(
        _ settings: Settings, metrics: S3Metrics? = nil,
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    ) throws {
        guard !settings.buckets.isEmpty else {
            throw ObjectStoreError(.io, key: "", "no S3 bucket configured: set storage_config.aws.bucketnames")
        }
        self.settings = settings
        let client = try HTTPClient(eventLoopGroupProvider: .singleton, configuration: Self.configuration(settings.http))
        self.client = client
        self.signer = SigV4Signer(region: settings.region, service: "s3")
        switch settings.credentials {
        case .fixed(let keys, _):
            credentials = S3CredentialProvider(fixed: keys)
            stsClient = nil
        case .webIdentity(let identity):
            // STS gets a client of its own with default TLS: `http_config` (a CA file, skipping verification) is
            // S3's, as in Loki, and the web identity token must not go to an unverified endpoint.
            let sts = try HTTPClient(eventLoopGroupProvider: .singleton, configuration: Self.configuration(HTTP()))
            stsClient = sts
            let timeout = settings.requestTimeout
            credentials = S3CredentialProvider { () async throws(S3Failure) in
                try await identity.assumeRole(client: sts, timeout: timeout)
            }
        }
        self.metrics = metrics
        self.now = now
    }

    deinit {
        client.shutdown { _ in }
        stsClient?.shutdown { _ in }
    }

    /// The HTTP client's settings from `http_config`. Connection failures are not retried inside the client:
    /// `send` retries them with `backoff_config`, and counts them.
    static func configuration(_ http: HTTP) throws -> HTTPClient.Configuration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if http.insecureSkipVerify { tls.certificateVerification = .none }
        if !http.caFile.isEmpty {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(http.caFile))
            } catch {
                throw ObjectStoreError(.io, key: "", "cannot read http_config.ca_file \(http.caFile): \(error)")
            }
        }
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls,
            timeout: .init(connect: .nanoseconds(Int64(http.connectTimeout.nanoseconds)),
                           read: http.responseHeaderTimeout.map { .nanoseconds(Int64($0.nanoseconds)) }))
        configuration.connectionPool = .init(idleTimeout: .nanoseconds(Int64(http.idleConnectionTimeout.nanoseconds)),
                                             concurrentHTTP1ConnectionsPerHostSoftLimit: http.maxConnectionsPerHost)
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.decompression = .disabled
        return configuration
    }

    /// The bucket holding `key`: one of `buckets` by a hash of the key (FNV-1a, stable across processes).
    func bucket(for key: String) -> String {
        guard settings.buckets.count > 1 else { return settings.buckets[0] }
        var hash: UInt32 = 2_166_136_261
        for byte in key.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return settings.buckets[Int(hash % UInt32(settings.buckets.count))]
    }

    // MARK: ObjectStore

    public func put(_ key: String, _ bytes: [UInt8]) async throws {
        try ObjectStoreError.validate(key)
        if bytes.count > settings.multipartThreshold {
            return try await putInParts(key, bytes)
        }
        _ = try await send(.PUT, operation: "PutObject", bucket: bucket(for: key), key: key,
                           headers: [("Content-Length", "\(bytes.count)")] + writeHeaders(), body: bytes)
    }

    /// A multipart upload: parts one after another, each retried on its own; on failure the upload is aborted so
    /// S3 keeps no orphaned parts. The object appears whole when the upload completes, or not at all.
    private func putInParts(_ key: String, _ bytes: [UInt8]) async throws {
        let bucket = bucket(for: key)
        let started = try await send(.POST, operation: "CreateMultipartUpload", bucket: bucket, key: key,
                                     query: [("uploads", "")], headers: writeHeaders())
        guard let uploadID = try? S3XML.first("UploadId", in: String(decoding: started.body, as: UTF8.self)),
              !uploadID.isEmpty
        else {
            throw ObjectStoreError(.io, key: key, "S3 CreateMultipartUpload of s3://\(bucket)/\(key): no UploadId")
        }
        do {
            var parts: [(number: Int, etag: String)] = []
            let size = max(settings.partSize, 5 << 20)
            for (index, offset) in stride(from: 0, to: bytes.count, by: size).enumerated() {
                let part = Array(bytes[offset..<min(offset + size, bytes.count)])
                let answer = try await send(
                    .PUT, operation: "UploadPart", bucket: bucket, key: key,
                    query: [("partNumber", "\(index + 1)"), ("uploadId", uploadID)],
                    headers: [("Content-Length", "\(part.count)")], body: part)
                guard let etag = answer.etag else {
                    throw ObjectStoreError(.io, key: key, "S3 UploadPart \(index + 1) of s3://\(bucket)/\(key): no ETag")
                }
                parts.append((index + 1, etag))
            }
            let list = parts.map { "<Part><PartNumber>\($0.number)</PartNumber><ETag>\(S3XML.escape($0.etag))</ETag></Part>" }
            let body = Array("<CompleteMultipartUpload>\(list.joined())</CompleteMultipartUpload>".utf8)
            let completed = try await send(.POST, operation: "CompleteMultipartUpload", bucket: bucket, key: key,
                                           query: [("uploadId", uploadID)],
                                           headers: [("Content-Length", "\(body.count)")], body: body)
            // S3 may answer 200 and report the failure in the body.
            if let (code, message) = S3XML.error(completed.body) {
                throw ObjectStoreError(.io, key: key, "S3 CompleteMultipartUpload of s3://\(bucket)/\(key): \(code): \(message)")
            }
        } catch {
            _ = try? await send(.DELETE, operation: "AbortMultipartUpload", bucket: bucket, key: key,
                            query: [("uploadId", uploadID)], alsoAccept: [404])
            throw error
        }
    }

    /// Storage class and server-side encryption headers of a new object.
    private func writeHeaders() -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = []
        if !settings.storageClass.isEmpty { headers.append(("x-amz-storage-class", settings.storageClass)) }
        switch settings.encryption {
        case nil: break
        case .s3: headers.append(("x-amz-server-side-encryption", "AES256"))
        case .kms(let keyID, let context):
            headers.append(("x-amz-server-side-encryption", "aws:kms"))
            if !keyID.isEmpty { headers.append(("x-amz-server-side-encryption-aws-kms-key-id", keyID)) }
            if let context, !context.isEmpty {
                headers.append(("x-amz-server-side-encryption-context", Data(context.utf8).base64EncodedString()))
            }
        }
        return headers
    }

    public func get(_ key: String) async throws -> [UInt8] {
        try ObjectStoreError.validate(key)
        return try await send(.GET, operation: "GetObject", bucket: bucket(for: key), key: key).body
    }

    public func getRange(_ key: String, offset: Int, length: Int) async throws -> [UInt8] {
        try ObjectStoreError.validate(key)
        guard length > 0, offset >= 0 else { return [] }
        // 416: the range starts past the end; that is fewer bytes (none), as the protocol says.
        let answer = try await send(.GET, operation: "GetObject", bucket: bucket(for: key), key: key,
                                    headers: [("Range", "bytes=\(offset)-\(offset + length - 1)")], alsoAccept: [416])
        return answer.status == 416 ? [] : Array(answer.body.prefix(length))
    }

    public func list(prefix: String) async throws -> [ObjectInfo] {
        var objects: [ObjectInfo] = []
        for bucket in Set(settings.buckets).sorted() {
            var token: String?
            repeat {
                var query: [(name: String, value: String)] = [
                    ("list-type", "2"), ("prefix", prefix), ("max-keys", "\(settings.listPageSize)"),
                ]
                if let token { query.append(("continuation-token", token)) }
                let answer = try await send(.GET, operation: "ListObjectsV2", bucket: bucket, key: nil, query: query)
                let page: S3XML.ListPage
                do {
                    page = try S3XML.listPage(answer.body)
                } catch {
                    throw ObjectStoreError(.io, key: prefix, "listing bucket \(bucket): \(error)")
                }
                objects += page.objects
                token = page.nextToken
            } while token != nil
        }
        return objects.sorted { $0.key < $1.key }
    }

    public func delete(_ key: String) async throws {
        try ObjectStoreError.validate(key)
        _ = try await send(.DELETE, operation: "DeleteObject", bucket: bucket(for: key), key: key, alsoAccept: [404])
    }

    // MARK: Requests

    struct Answer {
        var status: Int
        var body: [UInt8]
        var etag: String?
    }

    /// Sends one request, retrying as `backoff` says; returns a 2xx answer (or one with a status in `alsoAccept`)
    /// or throws `ObjectStoreError`.
    private func send(
        _ method: HTTPMethod, operation: String, bucket: String, key: String?,
        query: [(name: String, value: String)] = [], headers: [(name: String, value: String)] = [],
        body: [UInt8] = [], alsoAccept: Set<Int> = []
    ) async throws -> Answer {
        var answer: Answer?
        let outcome = await RetryingSend<S3Failure>.run(settings.backoff) {
            do throws(S3Failure) {
                answer = try await attempt(method, operation: operation, bucket: bucket, key: key, query: query,
                                           headers: headers, body: body, alsoAccept: alsoAccept)
                return .succeeded
            } catch {
                return error.retryable ? .retryable(error, retryAfter: error.retryAfter) : .permanent(error)
            }
        } willRetry: { [metrics] failure, _, _ in
            metrics?.retried(operation: operation)
        }
        switch outcome {
        case .sent:
            if let answer { return answer }
            throw ObjectStoreError(.io, key: key ?? "", "S3 \(operation): no answer recorded")
        case .refused(let failure), .gaveUp(let failure, _, _), .cancelled(let failure, _):
            let kind: ObjectStoreError.Kind = failure.status == 404 ? .notFound : .io
            throw ObjectStoreError(kind, key: key ?? "", failure.description)
        }
    }

    /// One signed request.
    private func attempt(
        _ method: HTTPMethod, operation: String, bucket: String, key: String?,
        query: [(name: String, value: String)], headers: [(name: String, value: String)], body: [UInt8],
        alsoAccept: Set<Int>
    ) async throws(S3Failure) -> Answer {
        let host = settings.forcePathStyle ? settings.endpoint : "\(bucket).\(settings.endpoint)"
        var path = settings.forcePathStyle ? "/\(bucket)" : ""
        if let key { path += "/" + key } else if path.isEmpty { path = "/" }
        let keys = try await credentials.credentials(now: now())
        let signed = signer.sign(
            method: method.rawValue, path: path, query: query, headers: [("Host", host)] + headers,
            payloadHash: body.isEmpty ? SigV4Signer.emptyPayloadHash : SigV4Signer.payloadHash(body),
            credentials: keys, time: now())
        var url = "\(settings.scheme)://\(host)\(SigV4Signer.encode(path, keepSlash: true))"
        if !query.isEmpty {
            url += "?" + query.map { pair in
                SigV4Signer.encode(pair.name, keepSlash: false) + "=" + SigV4Signer.encode(pair.value, keepSlash: false)
            }.joined(separator: "&")
        }
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers + signed where name.lowercased() != "content-length" {
            request.headers.add(name: name, value: value)
        }
        if !body.isEmpty || method == .PUT { request.body = .bytes(ByteBuffer(bytes: body)) }
        let failure = { (status: Int, message: String) in
            S3Failure(operation: operation, bucket: bucket, key: key ?? "", status: status, code: "", message: message)
        }
        let started = ContinuousClock.now
        let response: HTTPClientResponse
        let received: [UInt8]
        do {
            response = try await client.execute(request, timeout: .nanoseconds(Int64(settings.requestTimeout.nanoseconds)))
            received = Array(buffer: try await response.body.collect(upTo: 1 << 30))
        } catch {
            metrics?.observe(operation: operation, status: "0", since: started)
            throw failure(0, "\(error)")
        }
        let status = Int(response.status.code)
        metrics?.observe(operation: operation, status: "\(status)", since: started)
        guard (200..<300).contains(status) || alsoAccept.contains(status) else {
            var error = failure(status, response.status.reasonPhrase)
            if let (code, message) = S3XML.error(received) {
                error.code = code
                if !message.isEmpty { error.message = message }
            }
            if let seconds = response.headers.first(name: "Retry-After").flatMap({ Int($0) }), seconds > 0 {
                error.retryAfter = .seconds(seconds)
            }
            throw error
        }
        return Answer(status: status, body: received, etag: response.headers.first(name: "ETag"))
    }
}

/// An answer S3 gave that is not a success, or a transport failure (`status` 0).
struct S3Failure: Error, CustomStringConvertible {
    var operation: String
    var bucket: String
    var key: String
    var status: Int
    var code: String
    var message: String
    var retryAfter: Duration?

    var retryable: Bool {
        status == 0 || status >= 500 || status == 429 || code == "SlowDown" || code == "RequestTimeout"
            || code == "InternalError"
    }

    /// `S3 PutObject of s3://bucket/key: …`; a failure to get credentials names only the operation.
    var description: String {
        let subject = bucket.isEmpty ? operation
            : "S3 \(operation) of " + (key.isEmpty ? "bucket \(bucket)" : "s3://\(bucket)/\(key)")
        if status == 0 { return "\(subject): \(message)" }
        return "\(subject): \(status) \(code.isEmpty ? "" : code + ": ")\(message)"
    }
}
