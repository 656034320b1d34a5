import Cluster
import AlloyLanguage
import AsyncHTTPClient
import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import UnixSignals

/// Runs one configuration file's component graph as a service: loads it at start (a bad file is a start-up
/// error), reloads it on SIGHUP and `POST /-/reload` (a bad file keeps the old graph running, and says why), and
/// stops every component on graceful shutdown.
public final class AgentService: Service, Sendable {
    /// Where the configuration comes from: a file (re-read on every reload) or text built into the binary.
    public enum Source: Sendable {
        case file(String)
        case embedded(name: String, text: String)

        var name: String {
            switch self {
            case .file(let path): path
            case .embedded(let name, _): name
            }
        }
    }

    public let graph: AgentGraph
    let source: Source
    let logger: Logger

    public init(
        source: Source, registry: ComponentRegistry = .standard, storagePath: String, logger: Logger,
        metrics: PrometheusCollectorRegistry, httpClient: HTTPClient = .shared, logSettings: LogSettings = LogSettings(),
        cluster: ClusterMembership = .standalone
    ) {
        self.source = source
        self.logger = logger
        graph = AgentGraph(registry: registry, storagePath: storagePath, logger: logger, metrics: metrics,
                           httpClient: httpClient, logSettings: logSettings, cluster: cluster)
    }

    /// Reads and loads the file; every problem found, rendered with file, line, column and a caret.
    public func load() async throws(AgentConfigError) {
        let text: String
        switch source {
        case .embedded(_, let embedded):
            text = embedded
        case .file(let path):
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw AgentConfigError(message: "\(path): cannot read the configuration file: \(error.localizedDescription)")
            }
        }
        do throws(Diagnostics) {
            let file = try AlloyParser.parse(name: source.name, text: text)
            try await graph.load(file)
        } catch {
            throw AgentConfigError(message: error.description)
        }
    }

    /// Reloads; nil on success, else the problems (also logged). The running graph is untouched on error.
    public func reload() async -> String? {
        do throws(AgentConfigError) {
            try await load()
            logger.info("configuration reloaded", metadata: ["file": "\(source.name)"])
            return nil
        } catch {
            logger.error("reload failed; the previous configuration keeps running", metadata: ["error": "\(error.message)"])
            return error.message
        }
    }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await _ in signals.cancelOnGracefulShutdown() {
                    _ = await self.reload()
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        await graph.stop()
    }
}

/// A configuration file that could not be loaded.
public struct AgentConfigError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
