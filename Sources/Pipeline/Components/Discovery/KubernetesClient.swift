import AlloyLanguage
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// How discovery components reach a Kubernetes API (the API server or a kubelet): the base URL, credentials and
/// TLS settings, read from Alloy's client arguments (`bearer_token`, `bearer_token_file`, `tls_config { ca_file,
/// cert_file, key_file, insecure_skip_verify }`) or, in a pod, from its service account.
struct KubernetesClientConfig: Sendable, Equatable {
    var baseURL: String
    var bearerToken: String?
    var bearerTokenFile: String?
    var caFile: String?
    var certFile: String?
    var keyFile: String?
    var insecureSkipVerify = false

    static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// Alloy's Kubernetes client arguments: `api_server`, `kubeconfig_file` (refused for now) and the HTTP client
    /// settings, read from `reader` (the component's own block for `discovery.kubernetes`, the `client` block for
    /// `loki.source.kubernetes`; nil when that block is absent, errors then point at `component`). Without
    /// `api_server`, in a pod, the in-cluster API server and the pod's service account.
    static func read(_ reader: ArgumentReader?, component: ArgumentReader) throws(Diagnostic) -> KubernetesClientConfig {
        let server = try reader?.string("api_server")
        if let reader, try reader.string("kubeconfig_file") != nil {
            throw reader.error("kubeconfig_file", "kubeconfig_file is not supported yet; set api_server and bearer_token_file")
        }
        guard let base = server ?? inClusterURL else {
            throw (reader ?? component).blockError(
                "api_server is required outside a Kubernetes pod (KUBERNETES_SERVICE_HOST is not set)")
        }
        var client = try KubernetesClientConfig(reader, baseURL: base)
        if server == nil { client.useInClusterDefaults() }
        return client
    }

    /// Reads the client arguments of `reader` with `baseURL` as the server to talk to.
    init(_ reader: ArgumentReader?, baseURL: String) throws(Diagnostic) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        guard let reader else { return }
        bearerToken = try reader.secret("bearer_token")
        bearerTokenFile = try reader.string("bearer_token_file")
        if bearerToken != nil && bearerTokenFile != nil {
            throw reader.blockError("at most one of bearer_token and bearer_token_file may be set")
        }
        if let tls = try reader.block("tls_config") {
            caFile = try tls.string("ca_file")
            certFile = try tls.string("cert_file")
            keyFile = try tls.string("key_file")
            if try tls.string("server_name") != nil {
                throw tls.error("server_name", "server_name is not supported yet; connect by the name on the certificate")
            }
            insecureSkipVerify = try tls.bool("insecure_skip_verify", default: insecureSkipVerify)
            if (certFile == nil) != (keyFile == nil) {
                throw tls.blockError("cert_file and key_file must be set together")
            }
        }
        for name in ["basic_auth", "authorization", "oauth2", "proxy_url"] where try reader.block(name) != nil || reader.has(name) {
            throw reader.blockError("\(name) is not supported yet for the Kubernetes client; use bearer_token_file")
        }
    }

    /// In a pod: the API server from `KUBERNETES_SERVICE_HOST`/`_PORT`, the service account's token and CA.
    mutating func useInClusterDefaults() {
        if bearerToken == nil && bearerTokenFile == nil {
            bearerTokenFile = Self.serviceAccountDirectory + "/token"
        }
        if caFile == nil && !insecureSkipVerify && FileManager.default.fileExists(atPath: Self.serviceAccountDirectory + "/ca.crt") {
            caFile = Self.serviceAccountDirectory + "/ca.crt"
        }
    }

    /// The in-cluster API server URL, or nil outside a pod.
    static var inClusterURL: String? {
        let environment = ProcessInfo.processInfo.environment
        guard let host = environment["KUBERNETES_SERVICE_HOST"], let port = environment["KUBERNETES_SERVICE_PORT"] else {
            return nil
        }
        return "https://" + KubernetesPod.joinHostPort(host, port)
    }

    /// A client for this configuration (the caller shuts it down). `connectionsPerHost` bounds the HTTP/1.1
    /// connections kept to the server (requests beyond it wait for one); a caller holding one open stream per
    /// container raises it. Over TLS the API server speaks HTTP/2, where streams share a connection.
    func makeClient(connectionsPerHost: Int = 8) throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        if insecureSkipVerify { tls.certificateVerification = .none }
        if let caFile { tls.trustRoots = .file(caFile) }
        if let certFile, let keyFile {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certFile).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(10))
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connectionsPerHost
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// The request headers: `Authorization` from the token (the file is read each time, so rotated tokens work).
    func headers() throws -> HTTPHeaders {
        var headers = HTTPHeaders([("Accept", "application/json")])
        var token = bearerToken
        if let bearerTokenFile {
            token = try String(contentsOfFile: bearerTokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let token, !token.isEmpty { headers.add(name: "Authorization", value: "Bearer " + token) }
        return headers
    }
}

/// What went wrong talking to a Kubernetes API, for the component's health message.
struct KubernetesAPIError: Error, CustomStringConvertible {
    let description: String
}

extension KubernetesClientConfig {
    /// GETs `path` (with query) and decodes the JSON body as `T`.
    func get<T: Decodable>(_ type: T.Type, path: String, client: HTTPClient, limit: Int = 64 << 20) async throws -> T {
        var request = HTTPClientRequest(url: baseURL + path)
        request.headers = try headers()
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: limit)
        guard response.status == .ok else {
            let text = String(buffer: body).prefix(300)
            throw KubernetesAPIError(description: "GET \(baseURL + path): \(response.status.code) \(text)")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer: body))
        } catch {
            throw KubernetesAPIError(description: "GET \(baseURL + path): the body is not a \(T.self): \(error)")
        }
    }
}
