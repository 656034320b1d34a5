import Foundation
import Hummingbird
import Logging
import Pipeline
import Prometheus
import ServiceLifecycle

/// Turns an agent configuration into running services: the component graph and the agent's HTTP server.
enum AgentRunner {
    /// Loads the configuration (problems stop start-up) and returns the services to run.
    static func services(
        source: AgentService.Source, listenAddress: String, storagePath: String,
        cluster clusterOptions: AgentClusterOptions = AgentClusterOptions(), logger: Logger
    ) async throws -> [any Service] {
        guard let (host, port) = split(listenAddress) else {
            throw AgentRunnerError("--server.http.listen-addr \(listenAddress): expected host:port, e.g. 127.0.0.1:12345")
        }
        let metrics = PrometheusCollectorRegistry()
        let cluster: AgentCluster
        do {
            cluster = try AgentCluster(options: clusterOptions, listenHost: host, listenPort: port, metrics: metrics,
                                       logger: logger)
        } catch {
            throw AgentRunnerError(error.message)
        }
        let agent = AgentService(
            source: source, storagePath: storagePath, logger: logger, metrics: metrics,
            logSettings: EstuaryLogging.settings, cluster: cluster.membership)
        do {
            try await agent.load()
        } catch {
            throw AgentRunnerError(error.message)
        }
        let api = AgentAPI(graph: agent.graph, metrics: metrics, cluster: cluster, storagePath: storagePath,
                           reload: { await agent.reload() })
        let app = Application(
            router: api.router(),
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                // One stable line on stdout: scripts and tests read the bound port from it.
                let line = "estuary agent listening on \(host):\(channel.localAddress?.port ?? port)\n"
                FileHandle.standardOutput.write(Data(line.utf8))
                cluster.serverStarted(port: channel.localAddress?.port ?? port)
            },
            logger: logger)
        // Graceful shutdown runs last to first: the cluster says it is terminating while the server still answers.
        return [agent, app, cluster]
    }

    static func run(source: AgentService.Source, listenAddress: String, storagePath: String,
                    cluster: AgentClusterOptions, logger: Logger) async throws {
        let services = try await services(
            source: source, listenAddress: listenAddress, storagePath: storagePath, cluster: cluster, logger: logger)
        try await runGroup(services, logger: logger)
    }

    /// Runs services until SIGTERM or SIGINT, then shuts them down gracefully, last started first.
    static func runGroup(_ services: [any Service], logger: Logger) async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }

    private static func split(_ address: String) -> (String, Int)? {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
              (0...65_535).contains(port)
        else { return nil }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }
}

struct AgentRunnerError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
