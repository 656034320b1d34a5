import AsyncHTTPClient
import Foundation
import Logging
import NIOCore

/// Lists the pods of a namespace (or of all, `""`) and then watches them, as client-go's informers do: the list's
/// resource version starts the watch, a watch that ends is started again from the last version seen, and 410 Gone
/// lists again. Shared by `discovery.kubernetes` (targets) and `otelcol.processor.k8sattributes` (its pod index).
struct KubernetesPodWatch: Sendable {
    let client: KubernetesClientConfig
    let labelSelector: String
    let fieldSelector: String
    /// Names the user of the watch in its log lines.
    let what: String
    let logger: Logger

    /// Runs until cancelled, calling `publish` with the namespace's whole pod table (keyed by namespace/name) after
    /// the list and after every chunk of watch events that changed it. Failures are logged and retried with backoff.
    func run(namespace: String, http: HTTPClient, publish: @Sendable ([String: KubernetesPod]) -> Void) async {
        var delay: Duration = .seconds(1)
        while !Task.isCancelled {
            do {
                let list = try await client.get(KubernetesPodList.self, path: path(namespace), client: http)
                var pods: [String: KubernetesPod] = [:]
                for pod in list.items ?? [] { pods[pod.key] = pod }
                publish(pods)
                delay = .seconds(1)
                var version = list.metadata?.resourceVersion ?? ""
                // Watch from the list's version until the server ends the stream; 410 Gone means list again.
                while !Task.isCancelled {
                    guard let next = try await watch(namespace: namespace, from: version, pods: &pods, http: http,
                                                     publish: publish)
                    else { break }
                    version = next
                }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("\(what) failed; retrying", metadata: [
                    "namespace": "\(namespace.isEmpty ? "(all)" : namespace)", "error": "\(error)",
                ])
                try? await Task.sleep(for: delay)  // not-a-wait: backoff before listing again
                delay = min(delay * 2, .seconds(30))
            }
        }
    }

    /// One watch request; the resource version to go on from, or nil when the list must be fetched again.
    private func watch(
        namespace: String, from version: String, pods: inout [String: KubernetesPod], http: HTTPClient,
        publish: @Sendable ([String: KubernetesPod]) -> Void
    ) async throws -> String? {
        var request = HTTPClientRequest(url: client.baseURL + path(namespace, watchFrom: version))
        request.headers = try client.headers()
        let response = try await http.execute(request, timeout: .seconds(3600))
        guard response.status == .ok else {
            if response.status.code == 410 { return nil }
            let body = try await response.body.collect(upTo: 65_536)
            throw KubernetesAPIError(description: "watch pods: \(response.status.code) \(String(buffer: body).prefix(300))")
        }
        var latest = version
        var pending = Data()
        let decoder = JSONDecoder()
        for try await chunk in response.body {
            pending.append(contentsOf: chunk.readableBytesView)
            var changed = false
            while let newline = pending.firstIndex(of: 0x0A) {
                let line = pending[pending.startIndex..<newline]
                pending = Data(pending[(newline + 1)...])
                guard !line.isEmpty else { continue }
                let event = try decoder.decode(KubernetesWatchEvent.self, from: Data(line))
                switch event.type {
                case "ADDED", "MODIFIED":
                    if let pod = event.object {
                        pods[pod.key] = pod
                        changed = true
                    }
                case "DELETED":
                    if let pod = event.object {
                        pods[pod.key] = nil
                        changed = true
                    }
                case "ERROR":
                    if event.errorStatus?.code == 410 { return nil }
                    throw KubernetesAPIError(description: "watch pods: \(event.errorStatus?.message ?? "error event")")
                default:
                    break  // BOOKMARK
                }
                if let version = event.object?.metadata?.resourceVersion { latest = version }
            }
            if changed { publish(pods) }
        }
        return latest
    }

    private func path(_ namespace: String, watchFrom version: String? = nil) -> String {
        var path = namespace.isEmpty ? "/api/v1/pods" : "/api/v1/namespaces/\(Self.escape(namespace))/pods"
        var query: [String] = []
        if !labelSelector.isEmpty { query.append("labelSelector=" + Self.escape(labelSelector)) }
        if !fieldSelector.isEmpty { query.append("fieldSelector=" + Self.escape(fieldSelector)) }
        if let version {
            query += ["watch=true", "allowWatchBookmarks=true", "resourceVersion=" + Self.escape(version)]
        }
        if !query.isEmpty { path += "?" + query.joined(separator: "&") }
        return path
    }

    private static func escape(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
