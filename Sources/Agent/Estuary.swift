import AlloyLanguage
import ArgumentParser
import Foundation
import Backend
import Logging
import Pipeline
import ServiceLifecycle
import Wire

/// The `estuary` command: with no arguments it runs the quickstart; subcommands run one part.
@main
struct Estuary: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "estuary",
        abstract: "One binary for logs: an Alloy-style agent and a Loki-compatible backend.",
        discussion: """
            With no arguments, estuary runs the quickstart: the backend on 127.0.0.1:3100 with data under ./data, \
            and the agent receiving OTLP/HTTP logs on 127.0.0.1:4318 and writing them to that backend. \
            -server.http-listen-address=0.0.0.0 opens the backend (which has no authentication) to the network.
            """,
        version: "estuary \(BuildInfo.version) (commit \(BuildInfo.revision))",
        subcommands: [Quickstart.self, RunCommand.self, FmtCommand.self, BackendCommand.self],
        defaultSubcommand: Quickstart.self)

    static func main() async {
        await main(GoBoolFlags.normalize(Array(CommandLine.arguments.dropFirst())))
    }
}

/// Go's boolean flags are set by their bare name (`--cluster.enabled`) or with a value after `=`
/// (`--cluster.enabled=false`), never with the value as the next argument. The parser reads them as options with a
/// value, so a bare one becomes `=true` here.
enum GoBoolFlags {
    static let names: Set<String> = ["--cluster.enabled"]

    static func normalize(_ arguments: [String]) -> [String] {
        var result: [String] = []
        for argument in arguments {
            if argument == "--" {
                result.append(contentsOf: arguments[(result.count)...])
                return result
            }
            result.append(names.contains(argument) ? argument + "=true" : argument)
        }
        return result
    }
}

/// `estuary` / `estuary quickstart`: the backend and the agent on the embedded defaults, in one process.
struct Quickstart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quickstart",
        abstract: "Run the backend (127.0.0.1:3100, data under ./data) and the agent (OTLP/HTTP on 127.0.0.1:4318, "
            + "its API on 127.0.0.1:12345, config/local.alloy) on the embedded defaults.")

    @Option(name: [.customLong("server.http-listen-address", withSingleDash: true),
                   .customLong("server.http-listen-address")],
            help: "Where the backend listens (default 127.0.0.1; it has no authentication, so 0.0.0.0 opens every log to the network).")
    var httpListenAddress = "127.0.0.1"

    func run() async throws {
        let logger = EstuaryLogging.makeLogger()
        var config = BackendConfig.quickstart
        config.server.httpListenAddress = httpListenAddress
        let backend = try BackendRunner.services(config: config, warnings: [], logger: logger)
        let agent = try await AgentRunner.services(
            source: .embedded(name: "config/local.alloy", text: QuickstartConfig.localAlloy),
            listenAddress: "127.0.0.1:12345", storagePath: "data-agent", logger: logger)
        try await AgentRunner.runGroup(backend + agent, logger: logger)
    }
}

/// `estuary run CONFIG.alloy`: the agent, running an Alloy configuration.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the agent with an Alloy configuration file.")

    @Argument(help: "The Alloy configuration file.")
    var path: String

    @Option(name: .customLong("server.http.listen-addr"), help: "Address of the agent's HTTP server (metrics, reload, UI API).")
    var listenAddress = "127.0.0.1:12345"

    @Option(name: .customLong("storage.path"), help: "Where components keep state across restarts.")
    var storagePath = "data-agent/"

    @Option(name: .customLong("cluster.enabled"), help: "Start in clustered mode (--cluster.enabled or --cluster.enabled=true).")
    var clusterEnabled = false

    @Option(name: .customLong("cluster.node-name"), help: "The name of this node in the cluster (default: the host name).")
    var clusterNodeName: String?

    @Option(name: .customLong("cluster.advertise-address"),
            help: "host[:port] other nodes reach this one at (default: the listen address, or eth0/en0's IPv4 address, and the HTTP port).")
    var clusterAdvertiseAddress: String?

    @Option(name: .customLong("cluster.join-addresses"),
            help: "Comma-separated host[:port], dns+host:port or dnssrv+name of nodes to join; names are looked up again at every join.")
    var clusterJoinAddresses = ""

    @Option(name: .customLong("cluster.rejoin-interval"),
            help: "How often to join the join addresses again (0s: only at start and while alone).")
    var clusterRejoinInterval = "60s"

    @Option(name: .customLong("cluster.max-join-peers"), help: "How many of the join addresses' nodes to contact when joining.")
    var clusterMaxJoinPeers = 5

    @Option(name: .customLong("cluster.name"), help: "Only nodes with this cluster name may join each other.")
    var clusterName = ""

    @Option(name: .customLong("cluster.wait-for-size"),
            help: "Clustered components wait until the cluster has this many nodes (0: do not wait).")
    var clusterWaitForSize = 0

    @Option(name: .customLong("cluster.wait-timeout"),
            help: "How long to wait for --cluster.wait-for-size before going on with fewer nodes (0s: forever).")
    var clusterWaitTimeout = "0s"

    func clusterOptions() throws -> AgentClusterOptions {
        var options = AgentClusterOptions()
        options.enabled = clusterEnabled
        options.nodeName = clusterNodeName
        options.advertiseAddress = clusterAdvertiseAddress
        options.joinAddresses = clusterJoinAddresses.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        if clusterJoinAddresses.trimmingCharacters(in: .whitespaces).isEmpty { options.joinAddresses = [] }
        options.rejoinInterval = try Self.duration(clusterRejoinInterval, flag: "--cluster.rejoin-interval")
        options.maxJoinPeers = clusterMaxJoinPeers
        options.name = clusterName
        options.waitForSize = clusterWaitForSize
        options.waitTimeout = try Self.duration(clusterWaitTimeout, flag: "--cluster.wait-timeout")
        return options
    }

    static func duration(_ text: String, flag: String) throws -> Duration {
        switch DurationText.parse(text) {
        case .success(let nanoseconds): return .nanoseconds(nanoseconds)
        case .failure: throw ValidationError("\(flag) \(text): not a duration; expected e.g. 60s, 5m")
        }
    }

    func run() async throws {
        let logger = EstuaryLogging.makeLogger()
        do {
            try await AgentRunner.run(source: .file(path), listenAddress: listenAddress, storagePath: storagePath,
                                      cluster: try clusterOptions(), logger: logger)
        } catch let error as AgentRunnerError {
            throw ValidationError(error.description)
        }
    }
}

/// `estuary fmt FILE`: prints the file in canonical formatting, as `alloy fmt` does.
struct FmtCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fmt", abstract: "Format an Alloy configuration file (to stdout, or in place with --write).")

    @Argument(help: "The Alloy configuration file.")
    var path: String

    @Flag(name: [.short, .long], help: "Write the result back to the file instead of printing it.")
    var write = false

    func run() throws {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ValidationError("\(path): cannot read: \(error.localizedDescription)")
        }
        let file: AlloyFile
        do throws(Diagnostics) {
            file = try AlloyParser.parse(name: path, text: text)
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode.failure
        }
        let formatted = AlloyFormatter.format(file)
        if write {
            do {
                try formatted.write(toFile: path, atomically: true, encoding: .utf8)
            } catch {
                throw ValidationError("\(path): cannot write: \(error.localizedDescription)")
            }
        } else {
            FileHandle.standardOutput.write(Data(formatted.utf8))
        }
    }
}

/// `estuary backend -config.file=loki.yaml [-target=all]`: the Loki-compatible backend.
struct BackendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backend",
        abstract: "Run the Loki-compatible backend from a Loki YAML configuration file.")

    @Option(name: [.customLong("config.file", withSingleDash: true), .customLong("config.file")],
            help: "Path to the Loki YAML configuration file.")
    var configFile: String?

    @Option(name: [.customLong("config.expand-env", withSingleDash: true), .customLong("config.expand-env")],
            help: "Expand ${VAR} and ${VAR:-default} in the configuration file (true/false).")
    var expandEnv: Bool = false

    @Option(name: [.customLong("target", withSingleDash: true), .customLong("target")],
            help: "Which modules to run: all (the only one this version runs in one process).")
    var target: String?

    @Option(name: [.customLong("server.http-listen-port", withSingleDash: true),
                   .customLong("server.http-listen-port")],
            help: "Override server.http_listen_port (0 picks a free port).")
    var httpListenPort: Int?

    @Option(name: [.customLong("server.http-listen-address", withSingleDash: true),
                   .customLong("server.http-listen-address")],
            help: "Override server.http_listen_address.")
    var httpListenAddress: String?

    func run() async throws {
        let logger = EstuaryLogging.makeLogger()
        var config: BackendConfig
        var warnings: [ConfigWarning] = []
        if let configFile {
            do {
                (config, warnings) = try ConfigLoader.load(
                    path: configFile, expandEnv: expandEnv, environment: ProcessInfo.processInfo.environment)
            } catch {
                throw ValidationError("\(error)")
            }
        } else {
            config = .quickstart
        }
        if let target {
            guard let parsed = Target(rawValue: target) else {
                throw ValidationError("-target=\(target): unknown target; expected one of \(Target.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            config.target = parsed
        }
        if let httpListenPort { config.server.httpListenPort = httpListenPort }
        if let httpListenAddress { config.server.httpListenAddress = httpListenAddress }
        try await BackendRunner.run(config: config, warnings: warnings, logger: logger)
    }
}
