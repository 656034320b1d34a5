import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Wire

/// A real S3-compatible server for tests: moto's `moto_server` (installed into `.venv` by `scripts/test`) on a free
/// loopback port, checking SigV4 signatures.
///
/// moto checks signatures only after its first `INITIAL_NO_AUTH_ACTION_COUNT` requests; those make an IAM user
/// allowed everything, its access key, and the buckets. Every later request must be signed with that key: a wrong
/// signature gets 403 `SignatureDoesNotMatch`.
public final class MotoServer: @unchecked Sendable {  // invariant: every property is set once in init, never again
    public let port: Int
    public let credentials: SigV4Signer.Credentials
    private let process: Process
    /// moto's log (stderr).
    public let log: URL

    public var endpoint: String { "127.0.0.1:\(port)" }

    /// `MOTO_SERVER`, else `.venv/bin/moto_server` of this checkout.
    public static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["MOTO_SERVER"] { return URL(fileURLWithPath: path) }
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        return root.appendingPathComponent(".venv/bin/moto_server")
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Starts moto with `buckets` created and signature checking on.
    public init(buckets: [String]) async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else {
            throw Failure(description: "\(Self.binary.path) is missing: run scripts/test, which installs moto[server] into .venv")
        }
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = ["-H", "127.0.0.1", "-p", "0"]
        var environment = ProcessInfo.processInfo.environment
        environment["INITIAL_NO_AUTH_ACTION_COUNT"] = "\(3 + buckets.count)"
        process.environment = environment
        // Its log goes to a file: werkzeug says there where it listens (" * Running on http://127.0.0.1:PORT").
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("moto-\(UUID().uuidString).log")
        guard FileManager.default.createFile(atPath: log.path, contents: nil) else {
            throw Failure(description: "cannot create \(log.path)")
        }
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
        self.log = log
        var port = 0
        let deadline = ContinuousClock.now + .seconds(60)
        while port == 0 {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let range = text.range(of: "Running on http://127.0.0.1:"),
               let end = text[range.upperBound...].firstIndex(where: { !$0.isNumber }) {
                port = Int(text[range.upperBound..<end]) ?? 0
            } else if !process.isRunning || ContinuousClock.now > deadline {
                process.terminate()
                throw Failure(description: "moto_server did not start listening: \(text)")
            } else {
                try await Task.sleep(for: .milliseconds(20))   // its start-up, about 0.4 s
            }
        }
        self.port = port

        // The unchecked requests. moto picks the service from the signature's scope, so they are signed too, with
        // a key that does not exist yet.
        let setup = SigV4Signer.Credentials(accessKeyID: "AKIASETUP", secretAccessKey: "setup")
        let policy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
        _ = try await Self.iam(port, setup, ["Action": "CreateUser", "UserName": "estuary"])
        _ = try await Self.iam(port, setup, ["Action": "PutUserPolicy", "UserName": "estuary", "PolicyName": "all",
                                             "PolicyDocument": policy])
        let key = try await Self.iam(port, setup, ["Action": "CreateAccessKey", "UserName": "estuary"])
        guard let id = Self.element("AccessKeyId", in: key), let secret = Self.element("SecretAccessKey", in: key) else {
            throw Failure(description: "CreateAccessKey answered without a key: \(key)")
        }
        credentials = .init(accessKeyID: id, secretAccessKey: secret)
        for bucket in buckets {
            _ = try await Self.request(port, setup, service: "s3", method: .PUT, path: "/\(bucket)", body: [])
        }
    }

    /// Kills moto (it keeps nothing worth a clean stop). Does not wait: `waitUntilExit` spins a run loop that a
    /// test's task never gets back from.
    public func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: log)
    }

    deinit { stop() }

    private static func iam(_ port: Int, _ credentials: SigV4Signer.Credentials, _ form: [String: String])
        async throws -> String
    {
        let body = (form.merging(["Version": "2010-05-08"]) { a, _ in a }).sorted { $0.key < $1.key }
            .map { SigV4Signer.encode($0.key, keepSlash: false) + "=" + SigV4Signer.encode($0.value, keepSlash: false) }
            .joined(separator: "&")
        return try await request(port, credentials, service: "iam", method: .POST, path: "/", body: Array(body.utf8),
                                 contentType: "application/x-www-form-urlencoded")
    }

    private static func request(
        _ port: Int, _ credentials: SigV4Signer.Credentials, service: String, method: HTTPMethod, path: String,
        body: [UInt8], contentType: String? = nil
    ) async throws -> String {
        let host = "127.0.0.1:\(port)"
        var headers: [(name: String, value: String)] = [("Host", host)]
        if let contentType { headers.append(("Content-Type", contentType)) }
        let signed = SigV4Signer(region: "us-east-1", service: service).sign(
            method: method.rawValue, path: path, query: [], headers: headers,
            payloadHash: SigV4Signer.payloadHash(body), credentials: credentials,
            time: Int64(Date().timeIntervalSince1970))
        var request = HTTPClientRequest(url: "http://\(host)\(path)")
        request.method = method
        for (name, value) in headers + signed { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        guard (200..<300).contains(Int(response.status.code)) else {
            throw Failure(description: "moto setup \(service) \(method.rawValue) \(path): \(response.status.code) \(text)")
        }
        return text
    }

    private static func element(_ name: String, in text: String) -> String? {
        guard let open = text.range(of: "<\(name)>"), let close = text[open.upperBound...].range(of: "</\(name)>")
        else { return nil }
        return String(text[open.upperBound..<close.lowerBound])
    }
}
