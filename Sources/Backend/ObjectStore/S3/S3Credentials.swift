import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Wire

/// Where the S3 store's credentials come from, resolved at start-up in Loki's (the AWS SDK's) order: the
/// configuration, then the environment's keys, then web identity.
public enum S3CredentialSource: Sendable, Equatable, CustomStringConvertible {
    /// Keys that never change; `origin` names where they were found (`storage_config.aws`, `the environment`).
    case fixed(SigV4Signer.Credentials, origin: String)
    /// A role assumed with a web identity token (IRSA on EKS), refreshed from STS before it expires.
    case webIdentity(WebIdentity)

    /// `AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE`: the token file is read again for every refresh, because
    /// Kubernetes rotates the projected token.
    public struct WebIdentity: Sendable, Equatable {
        public var roleARN: String
        public var tokenFile: String
        /// `AWS_ROLE_SESSION_NAME`, else one made up at start-up.
        public var sessionName: String
        /// The STS URL (`https://sts.amazonaws.com`, a regional one, or `sts_endpoint`).
        public var stsEndpoint: String

        public init(roleARN: String, tokenFile: String, sessionName: String, stsEndpoint: String) {
            self.roleARN = roleARN
            self.tokenFile = tokenFile
            self.sessionName = sessionName
            self.stsEndpoint = stsEndpoint
        }
    }

    public var description: String {
        switch self {
        case .fixed(let credentials, let origin): "\(credentials) from \(origin)"
        case .webIdentity(let identity):
            "web identity: role \(identity.roleARN) assumed through \(identity.stsEndpoint) with the token in "
                + identity.tokenFile
        }
    }
}

/// The credentials requests are signed with. Fixed keys are returned as they are; assumed-role keys are fetched
/// on first use and again once they are within `refreshWindow` of expiring, by one fetch however many requests
/// ask at once. If a refresh fails while the old keys are still valid, the old keys are used and the next request
/// tries again.
final class S3CredentialProvider: Sendable {
    /// Keys and when they expire (seconds since 1970).
    typealias Expiring = (credentials: SigV4Signer.Credentials, expires: Int64)
    typealias Fetch = @Sendable () async throws(S3Failure) -> Expiring

    private enum Source {
        case fixed(SigV4Signer.Credentials)
        case fetched(Fetch, refreshWindow: Int64)
    }

    private struct State: ~Copyable {
        var current: Expiring?
        var refreshing: Task<Expiring, any Error>?
    }

    private enum Step {
        case use(SigV4Signer.Credentials)
        case wait(Task<Expiring, any Error>, stillValid: Expiring?)
    }

    private let source: Source
    private let state = Mutex(State())

    init(fixed credentials: SigV4Signer.Credentials) {
        source = .fixed(credentials)
    }

    /// - `refreshWindow`: seconds before expiry at which keys are replaced (the AWS SDKs use five minutes).
    init(refreshWindow: Int64 = 300, fetch: @escaping Fetch) {
        source = .fetched(fetch, refreshWindow: refreshWindow)
    }

    /// Valid keys at `now` (seconds since 1970), fetching them when needed.
    func credentials(now: Int64) async throws(S3Failure) -> SigV4Signer.Credentials {
        let (fetch, window): (Fetch, Int64)
        switch source {
        case .fixed(let credentials): return credentials
        case .fetched(let function, let refreshWindow): (fetch, window) = (function, refreshWindow)
        }
        let step = state.withLock { state -> Step in
            if let current = state.current, current.expires - now > window { return .use(current.credentials) }
            let task = state.refreshing ?? Task { try await fetch() }
            state.refreshing = task
            return .wait(task, stillValid: state.current.flatMap { $0.expires > now ? $0 : nil })
        }
        switch step {
        case .use(let credentials): return credentials
        case .wait(let task, let stillValid):
            do {
                let fresh = try await task.value
                state.withLock { state in
                    if state.current.map({ $0.expires < fresh.expires }) ?? true { state.current = fresh }
                    if state.refreshing == task { state.refreshing = nil }
                }
                return fresh.credentials
            } catch {
                state.withLock { state in
                    if state.refreshing == task { state.refreshing = nil }
                }
                if let stillValid { return stillValid.credentials }
                throw error as? S3Failure
                    ?? S3Failure(operation: "AssumeRoleWithWebIdentity", bucket: "", key: "", status: 0, code: "",
                                 message: "\(error)")
            }
        }
    }
}

extension S3CredentialSource.WebIdentity {
    /// Asks STS for the role's keys with the token in `tokenFile`. STS needs no signature for this call.
    func assumeRole(client: HTTPClient, timeout: Duration) async throws(S3Failure) -> S3CredentialProvider.Expiring {
        let failure = { (status: Int, code: String, message: String) in
            S3Failure(operation: "AssumeRoleWithWebIdentity", bucket: "", key: "", status: status, code: code,
                      message: message)
        }
        let token: String
        do {
            token = try String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw failure(0, "", "cannot read the web identity token file \(tokenFile): \(error.localizedDescription)")
        }
        guard !token.isEmpty else { throw failure(400, "InvalidIdentityToken", "the token file \(tokenFile) is empty") }
        let form = [
            ("Action", "AssumeRoleWithWebIdentity"), ("Version", "2011-06-15"), ("RoleArn", roleARN),
            ("RoleSessionName", sessionName), ("WebIdentityToken", token),
        ].map { SigV4Signer.encode($0.0, keepSlash: false) + "=" + SigV4Signer.encode($0.1, keepSlash: false) }
            .joined(separator: "&")
        var request = HTTPClientRequest(url: stsEndpoint.hasSuffix("/") ? stsEndpoint : stsEndpoint + "/")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8")
        request.headers.add(name: "Accept", value: "application/xml")
        request.body = .bytes(ByteBuffer(string: form))
        let status: Int
        let body: [UInt8]
        do {
            let response = try await client.execute(request, timeout: .nanoseconds(Int64(timeout.nanoseconds)))
            status = Int(response.status.code)
            body = Array(buffer: try await response.body.collect(upTo: 1 << 20))
        } catch {
            throw failure(0, "", "\(stsEndpoint): \(error)")
        }
        guard (200..<300).contains(status) else {
            let (code, message) = S3XML.error(body) ?? ("", "")
            throw failure(status, code, message.isEmpty ? "\(stsEndpoint) answered \(status)" : message)
        }
        let text = String(decoding: body, as: UTF8.self)
        guard let credentials = S3XML.elements("Credentials", in: text).first,
              let id = try? S3XML.first("AccessKeyId", in: credentials),
              let secret = try? S3XML.first("SecretAccessKey", in: credentials),
              let session = try? S3XML.first("SessionToken", in: credentials),
              let expiration = try? S3XML.first("Expiration", in: credentials),
              let expires = RFC3339Time.parse(expiration)
        else {
            throw failure(status, "", "\(stsEndpoint) answered without credentials and their expiration")
        }
        return (SigV4Signer.Credentials(accessKeyID: id, secretAccessKey: secret, sessionToken: session),
                expires / 1_000_000_000)
    }
}
