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
        return LoopbackPeer.checkout.appendingPathComponent(".venv/bin/moto_server")
    }

    public typealias Failure = LoopbackPeer.Failure

    /// Starts moto with `buckets` created and signature checking on.
    public init(buckets: [String]) async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else {
            throw Failure(description: "\(Self.binary.path) is missing: run scripts/test, which installs moto[server] into .venv")
        }
        var environment = ProcessInfo.processInfo.environment
        environment["INITIAL_NO_AUTH_ACTION_COUNT"] = "\(3 + buckets.count)"
        let peer = try await LoopbackPeer(Self.binary, ["-H", "127.0.0.1", "-p", "0"], environment: environment)
        self.process = peer.process
        self.log = peer.log
        self.port = peer.port

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

    /// Makes an IAM role that a web identity may assume and that may do anything; returns its ARN.
    public func createRole(_ name: String) async throws -> String {
        let trust = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"#
            + #""arn:aws:iam::123456789012:oidc-provider/oidc.eks.example"},"Action":"sts:AssumeRoleWithWebIdentity"}]}"#
        let policy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
        let created = try await Self.iam(port, credentials, ["Action": "CreateRole", "RoleName": name,
                                                            "AssumeRolePolicyDocument": trust])
        _ = try await Self.iam(port, credentials, ["Action": "PutRolePolicy", "RoleName": name, "PolicyName": "all",
                                                  "PolicyDocument": policy])
        guard let arn = Self.element("Arn", in: created) else {
            throw Failure(description: "CreateRole answered without an Arn: \(created)")
        }
        return arn
    }

    /// Kills moto (it keeps nothing worth a clean stop). Does not wait: `waitUntilExit` spins a run loop that a
    /// test's task never gets back from.
    public func stop() {
        LoopbackPeer.stop(process, log: log)
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
