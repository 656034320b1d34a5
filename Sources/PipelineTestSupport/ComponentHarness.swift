import Cluster
import AlloyLanguage
import AsyncHTTPClient
import Foundation
import Logging
import Pipeline
import Prometheus

/// Builds components from Alloy text the way the graph does, for tests that drive one component directly.
public enum ComponentHarness {
    /// A problem the configuration is refused with, worded as the operator would see it.
    public struct Problem: Error, CustomStringConvertible {
        /// The whole text, with the position in the file when there is one.
        public let description: String
        /// The text without the position.
        public let message: String

        public init(_ description: String, message: String? = nil) {
            self.description = description
            self.message = message ?? description
        }
    }

    /// Decodes one component block from Alloy text the way the graph does: parse, read the arguments with `scope`
    /// (the components it references), report attributes left unread, validate.
    public static func decode<Arguments: ComponentArguments>(
        _ type: Arguments.Type, _ config: String, scope: Scope = Scope()
    ) throws(Problem) -> (id: String, arguments: Arguments) {
        let file: AlloyFile
        do throws(Diagnostics) {
            file = try AlloyParser.parse(name: "test.alloy", text: config)
        } catch {
            throw Problem(error.description, message: error.items.first?.message)
        }
        guard let block = file.body.blocks.first else { throw Problem("no block") }
        let reader = ArgumentReader(block: block, file: file, scope: scope)
        let arguments: Arguments
        do throws(Diagnostic) {
            arguments = try Arguments(reader)
        } catch {
            throw Problem(error.description, message: error.message)
        }
        if let unknown = reader.finish().first { throw Problem(unknown.description, message: unknown.message) }
        do throws(ArgumentError) {
            try arguments.validate()
        } catch {
            throw Problem("\(reader.name): \(error.message)")
        }
        return (block.id, arguments)
    }

    /// The problem `config` is refused with, or nil when it is accepted.
    public static func problem<Arguments: ComponentArguments>(
        _ type: Arguments.Type, _ config: String, scope: Scope = Scope()
    ) -> String? {
        do {
            _ = try decode(type, config, scope: scope)
            return nil
        } catch {
            return error.description
        }
    }

    /// What the graph gives a component, with a logger that stays quiet and metrics in `registry`.
    public static func context(
        id: String, dataPath: String = NSTemporaryDirectory(),
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        cluster: ClusterMembership = .standalone,
        exportsChanged: @escaping @Sendable (ValueObject) -> Void = { _ in }
    ) -> ComponentContext {
        var logger = Logger(label: id)
        logger.logLevel = .critical
        return ComponentContext(
            id: id, dataPath: dataPath, logger: logger, metrics: registry, httpClient: HTTPClient.shared,
            cluster: cluster, exportsChanged: exportsChanged)
    }

    /// Builds the one component `config` declares, with `scope` for the components it references.
    public static func make<C: Component>(
        _ type: C.Type, _ config: String, scope: Scope = Scope(), dataPath: String = NSTemporaryDirectory(),
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()
    ) throws -> C {
        let (id, arguments) = try decode(C.Arguments.self, config, scope: scope)
        return try C(context: context(id: id, dataPath: dataPath, registry: registry), arguments: arguments)
    }

    /// A scope that names each receiver as a `loki.LogsReceiver` export, e.g. `["out": receiver]`.
    public static func scope(receivers: [String: any LogsReceiver]) -> Scope {
        Scope(receivers.mapValues { .capsule(Capsule(LogsReceiverCapsule.self, $0)) })
    }

    /// A scope that names each consumer as an `otelcol.Consumer` export, e.g. `["sink": consumer]`.
    public static func scope(consumers: [String: any OTLPLogsConsumer]) -> Scope {
        Scope(consumers.mapValues { .capsule(Capsule(OTLPConsumerCapsule.self, $0)) })
    }
}

extension PrometheusCollectorRegistry {
    /// The sum of the samples of `name` that carry every label in `labels` (others may be present), or nil when
    /// none is exposed.
    public func sample(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        var total: Double?
        for line in emitToString().split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
            guard labels.allSatisfy({ line.contains("\($0.key)=\"\($0.value)\"") }),
                  let value = line.split(separator: " ").last.flatMap({ Double($0) })
            else { continue }
            total = (total ?? 0) + value
        }
        return total
    }
}
