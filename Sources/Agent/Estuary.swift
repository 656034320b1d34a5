import ArgumentParser
import Foundation
import Backend
import Logging
import ServiceLifecycle

/// The `estuary` command: with no arguments it runs the quickstart; subcommands run one part.
@main
struct Estuary: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "estuary",
        abstract: "One binary for logs: an Alloy-style agent and a Loki-compatible backend.",
        discussion: """
            With no arguments, estuary runs the quickstart: the backend on :3100 with data under ./data.
            """,
        version: "estuary \(BuildInfo.version) (commit \(BuildInfo.revision))",
        subcommands: [Quickstart.self, BackendCommand.self],
        defaultSubcommand: Quickstart.self)
}

/// `estuary` / `estuary quickstart`: the backend on the embedded defaults.
struct Quickstart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quickstart",
        abstract: "Run the backend on the embedded defaults (port 3100, data under ./data).")

    func run() async throws {
        let logger = EstuaryLogging.makeLogger()
        let config = BackendConfig.quickstart
        try await BackendRunner.run(config: config, warnings: [], logger: logger)
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
