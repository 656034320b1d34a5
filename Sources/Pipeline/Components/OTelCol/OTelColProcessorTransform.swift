import AlloyLanguage
import Logging
import Prometheus
import Synchronization
import Wire

/// `otelcol.processor.transform`: changes OTLP logs with OpenTelemetry Transformation Language statements, then
/// hands them on to `output`. Each `log_statements` block runs its statements, in order, in one context (`log`:
/// once per record; `resource`; `scope`), on the whole batch before the next block runs; a `statements { log }`
/// block runs last, in the lowest context its paths name.
///
/// Estuary runs a documented subset of OTTL (`docs/agent.md`): every statement is parsed when the configuration
/// loads, and one that uses a function, path or construct outside the subset is refused there, with its text and
/// column, never ignored. `error_mode` decides what a statement that fails at run time does.
public final class OTelColProcessorTransform: Component, OTLPLogsConsumer {
    public static let name = "otelcol.processor.transform"

    /// One `log_statements` block.
    public struct StatementGroup: Sendable, Equatable {
        public var context: OTTLContext
        public var statements: [OTTLStatement]
        /// When any is true for a record (resource, scope), the statements run on it; none: they always run.
        public var conditions: [OTTLConditionText]
        /// The block's own `error_mode`; nil: the component's.
        public var errorMode: OTTLErrorMode?
    }

    public struct Arguments: ComponentArguments {
        /// What a statement that fails at run time does: `propagate` (default) refuses the batch.
        public var errorMode: OTTLErrorMode = .propagate
        public var logStatements: [StatementGroup] = []
        public var logs = OTLPLogsConsumers()

        public init(_ reader: ArgumentReader) throws(Diagnostic) {
            errorMode = try Self.errorMode(reader) ?? errorMode
            for signal in ["trace_statements", "metric_statements"] {
                if let block = reader.blocks(signal).first {
                    throw block.blockError("\(signal) is not supported: only logs flow through Estuary; use log_statements")
                }
            }
            for block in reader.blocks("log_statements") {
                logStatements.append(try Self.group(block))
            }
            if let flat = try reader.block("statements") {
                for signal in ["trace", "metric"] where flat.has(signal) {
                    throw flat.error(signal, "\(signal): only logs flow through Estuary; use log")
                }
                if let group = try Self.inferredGroup(flat) { logStatements.append(group) }
            }
            if let debug = try reader.block("debug_metrics") {
                // Accepted for compatibility; these metrics have no high-cardinality attributes to drop.
                _ = try debug.bool("disable_high_cardinality_metrics", default: true)
                _ = try debug.string("level")
            }
            logs = try reader.otelcolOutput()
        }

        private static func errorMode(_ reader: ArgumentReader) throws(Diagnostic) -> OTTLErrorMode? {
            guard let text = try reader.string("error_mode") else { return nil }
            guard let mode = OTTLErrorMode(rawValue: text) else {
                throw reader.error("error_mode", "error_mode: \(GoQuote.quote(text)) is not one of \"ignore\", \"silent\", \"propagate\"")
            }
            return mode
        }

        /// The `statements { log = [...] }` block: every path names its context, and the statements run in the
        /// lowest context named (the collector's context inference).
        private static func inferredGroup(_ block: ArgumentReader) throws(Diagnostic) -> StatementGroup? {
            let texts = try block.stringList("log")
            guard !texts.isEmpty else { return nil }
            var named: Set<OTTLContext> = []
            for (index, text) in texts.enumerated() {
                do throws(OTTLSyntaxError) {
                    named.formUnion(try OTTLStatement.namedContexts(text))
                } catch {
                    throw block.error("log", Self.describe(error, in: text, at: "log[\(index)]"))
                }
            }
            let context = OTTLContext.lowest(of: named)
            var statements: [OTTLStatement] = []
            for (index, text) in texts.enumerated() {
                do throws(OTTLSyntaxError) {
                    statements.append(try OTTLStatement(text, context: context, requireContextPrefix: true))
                } catch {
                    throw block.error("log", Self.describe(error, in: text, at: "log[\(index)] (in the \(context.rawValue) context)"))
                }
            }
            return StatementGroup(context: context, statements: statements, conditions: [], errorMode: nil)
        }

        private static func group(_ block: ArgumentReader) throws(Diagnostic) -> StatementGroup {
            let contextText = try block.requiredString("context")
            guard let context = OTTLContext(rawValue: contextText.lowercased()) else {
                throw block.error("context", "context: \(GoQuote.quote(contextText)) is not one of \"log\", \"resource\", \"scope\"")
            }
            try block.requirePresent("statements")
            var statements: [OTTLStatement] = []
            for (index, text) in try block.stringList("statements").enumerated() {
                do throws(OTTLSyntaxError) {
                    statements.append(try OTTLStatement(text, context: context))
                } catch {
                    throw block.error("statements", Self.describe(error, in: text, at: "statements[\(index)]"))
                }
            }
            var conditions: [OTTLConditionText] = []
            for (index, text) in try block.stringList("conditions").enumerated() {
                do throws(OTTLSyntaxError) {
                    conditions.append(try OTTLConditionText(text, context: context))
                } catch {
                    throw block.error("conditions", Self.describe(error, in: text, at: "conditions[\(index)]"))
                }
            }
            return StatementGroup(context: context, statements: statements, conditions: conditions,
                                  errorMode: try Self.errorMode(block))
        }

        static func describe(_ error: OTTLSyntaxError, in text: String, at place: String) -> String {
            "\(place): \(error.message) at column \(error.offset + 1) of \(GoQuote.quote(text))"
        }
    }

    private let context: ComponentContext
    private let arguments: Mutex<Arguments>
    private let incoming: Counter
    private let outgoing: Counter

    public var exports: ValueObject {
        ValueObject([("input", .capsule(OTLPConsumerCapsule.self, self))])
    }

    public init(context: ComponentContext, arguments: Arguments) throws {
        self.context = context
        self.arguments = Mutex(arguments)
        (incoming, outgoing) = Self.itemCounters(context)
        try update(arguments)
    }

    public func update(_ arguments: Arguments) throws {
        self.arguments.withLock { $0 = arguments }
    }

    /// The collector's processor counters, labelled as the batch processor's metrics are.
    static func itemCounters(_ context: ComponentContext) -> (incoming: Counter, outgoing: Counter) {
        let labels = [("component_id", context.id), ("processor", context.id), ("otel_signal", "logs")]
        return (
            context.metrics.makeCounter(
                descriptor: .init("otelcol_processor_incoming_items_total", help: "Number of items passed to the processor."),
                labels: labels),
            context.metrics.makeCounter(
                descriptor: .init("otelcol_processor_outgoing_items_total", help: "Number of items emitted from the processor."),
                labels: labels)
        )
    }

    public func consume(_ logs: OTLPLogsData) async throws {
        let arguments = arguments.withLock { $0 }
        incoming.increment(by: Int64(logs.recordCount))
        var data = logs
        try transform(&data, arguments)
        outgoing.increment(by: Int64(data.recordCount))
        try await arguments.logs.send(data)
    }

    /// Runs every group on `data`; throws ``PipelineError/rejected(_:)`` for a failed statement under `propagate`.
    func transform(_ data: inout OTLPLogsData, _ arguments: Arguments) throws(PipelineError) {
        for group in arguments.logStatements {
            let mode = group.errorMode ?? arguments.errorMode
            for r in data.resourceLogs.indices {
                switch group.context {
                case .resource:
                    var target = OTTLTarget(
                        resource: data.resourceLogs[r].resource, scope: OTLPInstrumentationScope(), record: OTLPLogRecord())
                    try run(group, on: &target, mode)
                    data.resourceLogs[r].resource = target.resource
                case .scope:
                    for s in data.resourceLogs[r].scopeLogs.indices {
                        var target = OTTLTarget(
                            resource: data.resourceLogs[r].resource, scope: data.resourceLogs[r].scopeLogs[s].scope,
                            record: OTLPLogRecord())
                        try run(group, on: &target, mode)
                        data.resourceLogs[r].resource = target.resource
                        data.resourceLogs[r].scopeLogs[s].scope = target.scope
                    }
                case .log:
                    for s in data.resourceLogs[r].scopeLogs.indices {
                        for l in data.resourceLogs[r].scopeLogs[s].logRecords.indices {
                            // Taken out rather than copied, so that changing the record does not copy its arrays.
                            var target = OTTLTarget(
                                resource: data.resourceLogs[r].resource, scope: data.resourceLogs[r].scopeLogs[s].scope,
                                record: data.resourceLogs[r].scopeLogs[s].logRecords[l])
                            data.resourceLogs[r].scopeLogs[s].logRecords[l] = OTLPLogRecord()
                            defer {
                                data.resourceLogs[r].resource = target.resource
                                data.resourceLogs[r].scopeLogs[s].scope = target.scope
                                data.resourceLogs[r].scopeLogs[s].logRecords[l] = target.record
                            }
                            try run(group, on: &target, mode)
                        }
                    }
                }
            }
        }
    }

    private func run(_ group: StatementGroup, on target: inout OTTLTarget, _ mode: OTTLErrorMode) throws(PipelineError) {
        if !group.conditions.isEmpty {
            var matched = false
            for condition in group.conditions {
                do throws(OTTLRuntimeError) {
                    if try condition.evaluate(target) {
                        matched = true
                        break
                    }
                } catch {
                    try failed(condition.text, error, mode)
                }
            }
            guard matched else { return }
        }
        for statement in group.statements {
            do throws(OTTLRuntimeError) {
                try statement.execute(&target)
            } catch {
                try failed(statement.text, error, mode)
            }
        }
    }

    /// A statement or condition failed: the one place that logs it or refuses the batch.
    private func failed(_ text: String, _ error: OTTLRuntimeError, _ mode: OTTLErrorMode) throws(PipelineError) {
        switch mode {
        case .propagate:
            throw PipelineError.rejected("\(context.id): failed to execute statement \(GoQuote.quote(text)): \(error.message)")
        case .ignore:
            context.logger.warning("failed to execute statement", metadata: [
                "statement": "\(text)", "error": "\(error.message)",
            ])
        case .silent:
            break
        }
    }
}
