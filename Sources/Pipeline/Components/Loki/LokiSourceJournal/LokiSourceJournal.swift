import AlloyLanguage
import Foundation
import Glibc
import GoCompat
import Logging
import Prometheus
import Synchronization
import Wire

/// `loki.source.journal`: reads the systemd journal (libsystemd loaded at run time) and sends each entry's
/// `MESSAGE` (or, with `format_as_json`, all its fields as a JSON object) to `forward_to`.
///
/// Each entry is labelled with `labels` plus `job="loki.source.journal.LABEL"` (unless `labels` has a `job`),
/// and `relabel_rules` see every journal field as `__journal_<field in lower case>` (so `_SYSTEMD_UNIT` is
/// `__journal__systemd_unit`) and `__journal_priority_keyword` (`info`, `error`, ...); labels still starting with
/// `__` afterwards are dropped. Without a saved cursor reading starts `max_age` before now. The cursor of the last
/// delivered entry (see ``DeliveryAck``) is kept in the component's data directory (written at most a second later
/// and on stop), so a restart goes on after it. Without libsystemd or a journal the component reports the error
/// and the rest of the graph runs on.
public final class LokiSourceJournal: Component {
    public static let name = "loki.source.journal"

    public struct Arguments: ComponentArguments {
        public var forwardTo: LogsReceivers
        public var formatAsJSON: Bool
        public var labels: [String: String]
        public var matches: [String]
        public var maxAge: Duration
        public var path: String
        public var relabelRules: [RelabelRule]

        public init(_ reader: ArgumentReader) throws(Diagnostic) {
            try reader.requirePresent("forward_to")
            forwardTo = try reader.logsReceivers("forward_to")
            formatAsJSON = try reader.bool("format_as_json", default: false)
            labels = try reader.stringMap("labels")
            let matchText = try reader.string("matches", default: "")
            matches = matchText.split(separator: " ").map(String.init)
            for match in matches where !match.contains("=") || match.hasPrefix("=") || match == "+" {
                throw reader.error("matches", "matches: \(GoQuote.quote(match)) is not FIELD=value (only AND matches are supported, no \"+\")")
            }
            maxAge = try reader.duration("max_age", default: .seconds(7 * 3600))
            path = try reader.string("path", default: "")
            relabelRules = try reader.relabelRules("relabel_rules")
        }
    }

    /// Entries handed from the reader thread to the sending task at a time.
    static let batchEntries = 1000

    private let context: ComponentContext
    private struct Shared {
        var arguments: Arguments
        var reader: JournalReader?
    }

    private let shared: Mutex<Shared>
    private let linesTotal: Counter
    private let noMessage: Counter
    private let emptyMessage: Counter
    public let exports = ValueObject()

    public init(context: ComponentContext, arguments: Arguments) throws {
        self.context = context
        shared = Mutex(Shared(arguments: arguments))
        let componentLabel = [("component_id", context.id)]
        func name(_ name: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
        }
        linesTotal = context.metrics.makeCounter(
            descriptor: name("loki_source_journal_target_lines_total", "Total number of successful journal lines read"),
            labels: componentLabel)
        let errors = name("loki_source_journal_target_parsing_errors_total", "Total number of parsing errors while reading journal messages")
        noMessage = context.metrics.makeCounter(descriptor: errors, labels: componentLabel + [("error", "no_message")])
        emptyMessage = context.metrics.makeCounter(descriptor: errors, labels: componentLabel + [("error", "empty_message")])
    }

    /// Labels, rules and receivers apply from the next batch; a change of `path`, `matches` or `max_age` stops the
    /// reader, and `run()` opens the journal again with the new ones (going on from the saved cursor).
    public func update(_ arguments: Arguments) throws {
        let reader = shared.withLock { state -> JournalReader? in
            let old = state.arguments
            state.arguments = arguments
            let reopen = old.path != arguments.path || old.matches != arguments.matches || old.maxAge != arguments.maxAge
            return reopen ? state.reader : nil
        }
        reader?.stop()
    }

    public func run() async throws {
        let library: SystemdLibrary
        do throws(SystemdLibrary.LoadError) {
            library = try SystemdLibrary.load()
        } catch {
            throw error
        }
        try context.makeDataDirectory()
        let cursorFile = context.dataPath + "/cursor"
        while !Task.isCancelled {
            let savedCursor = PositionsFile.readText(cursorFile).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            let reader = try JournalReader(
                library: library, arguments: shared.withLock { $0.arguments },
                cursor: savedCursor?.isEmpty == false ? savedCursor : nil)
            shared.withLock { $0.reader = reader }
            defer { reader.stop() }
            try await consume(reader, cursorFile: cursorFile)
            shared.withLock { $0.reader = nil }
            if let failure = reader.failure { throw failure }
        }
    }

    /// Sends the reader's batches on until it stops. The cursor saved is that of the last delivered batch (every
    /// batch before it delivered too, see ``DeliveryAck``); stopping waits up to ten seconds for batches in flight.
    private func consume(_ reader: JournalReader, cursorFile: String) async throws {
        var inFlight = AcknowledgedPositions<String>()
        var delivered: String?
        var lastSave = ContinuousClock.now
        func collect() {
            if let last = inFlight.takeAcknowledged().last { delivered = last }
        }
        do {
            for await raw in reader.batches {
                var batch = makeBatch(raw.entries, arguments: shared.withLock { $0.arguments })
                let ack = inFlight.acknowledgement(for: raw.cursor ?? "") {}
                batch.ack = ack
                if !batch.isEmpty {
                    do {
                        try await LogsReceivers.deliver(batch, to: { shared.withLock { $0.arguments.forwardTo } }, logger: context.logger)
                    } catch {
                        inFlight.abandonLast()
                        throw error
                    }
                }
                ack.done()
                reader.accepted()
                collect()
                if ContinuousClock.now - lastSave >= .seconds(1), let cursor = delivered, !cursor.isEmpty {
                    save(cursor, to: cursorFile)
                    delivered = nil
                    lastSave = .now
                }
            }
        } catch {
            await finish(&inFlight, delivered: &delivered, cursorFile: cursorFile)
            throw error
        }
        await finish(&inFlight, delivered: &delivered, cursorFile: cursorFile)
    }

    private func finish(_ inFlight: inout AcknowledgedPositions<String>, delivered: inout String?, cursorFile: String) async {
        let deadline = ContinuousClock.now + .seconds(10)
        if let last = inFlight.takeAcknowledged().last { delivered = last }
        while inFlight.pending > 0 && ContinuousClock.now < deadline {
            // Stopping cancelled this task: wait in one that is not.
            await Task.detached { try? await Task.sleep(for: .milliseconds(20)) }.value  // not-a-wait: shutdown poll
            if let last = inFlight.takeAcknowledged().last { delivered = last }
        }
        if let cursor = delivered, !cursor.isEmpty { save(cursor, to: cursorFile) }
    }

    private func save(_ cursor: String, to path: String) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        let bytes = Array((cursor + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
        close(fd)
        if written == bytes.count { rename(temporary, path) }
    }

    /// Journal entries as log entries: labels, relabeling, message or JSON.
    private func makeBatch(_ raw: [JournalReader.Entry], arguments: Arguments) -> LogBatch {
        var base: [String: String] = arguments.labels
        if base["job"] == nil { base["job"] = context.id }
        var entries: [LogEntry] = []
        entries.reserveCapacity(raw.count)
        for entry in raw {
            guard let message = entry.fields.first(where: { $0.name == "MESSAGE" })?.value else {
                noMessage.increment()
                continue
            }
            if message.isEmpty && !arguments.formatAsJSON {
                emptyMessage.increment()
                continue
            }
            var labels = base
            for field in entry.fields {
                labels["__journal_" + field.name.lowercased()] = String(decoding: field.value, as: UTF8.self)
                if field.name == "PRIORITY" {
                    labels["__journal_priority_keyword"] = Self.priorityKeyword(field.value)
                }
            }
            let pairs = labels.map { LabelPair(name: $0.key, value: $0.value) }
            guard let relabeled = RelabelRule.process(arguments.relabelRules, pairs) else { continue }
            let public_ = relabeled.filter { !$0.name.hasPrefix("__") }
            let line = arguments.formatAsJSON ? Self.json(entry.fields) : message
            // A realtime past what signed nanoseconds hold (a corrupt journal) gets the read time: the entry is kept.
            let timestamp = UnixNanos.fromMicroseconds(entry.realtimeMicroseconds) ?? LokiTranslator.wallClock()
            entries.append(LogEntry(timestamp: timestamp, line: line, labels: LabelSet(public_)))
            linesTotal.increment()
        }
        return LogBatch(entries: entries)
    }

    /// syslog's priority names, as Promtail's journal target gives them.
    static func priorityKeyword(_ value: [UInt8]) -> String {
        switch String(decoding: value, as: UTF8.self) {
        case "0": "emerg"
        case "1": "alert"
        case "2": "crit"
        case "3": "error"
        case "4": "warning"
        case "5": "notice"
        case "6": "info"
        case "7": "debug"
        default: ""
        }
    }

    /// The fields as one JSON object with sorted keys (as Go's `json.Marshal` of a map writes it).
    static func json(_ fields: [(name: String, value: [UInt8])]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (index, field) in fields.sorted(by: { $0.name < $1.name }).enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            GoJSON.appendString(field.name, to: &out)
            out.append(UInt8(ascii: ":"))
            GoJSON.appendString(String(decoding: field.value, as: UTF8.self), to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}

/// Reads the journal on a thread of its own (an `sd_journal` handle must stay on one thread, and waiting for new
/// entries blocks) and hands batches to the component's task, one at a time: the next is read only after the
/// previous one was accepted, so nothing piles up in memory.
final class JournalReader: Sendable {
    struct Entry: Sendable {
        let fields: [(name: String, value: [UInt8])]
        let realtimeMicroseconds: UInt64
    }

    struct Batch: Sendable {
        let entries: [Entry]
        let cursor: String?
    }

    let batches: AsyncStream<Batch>
    private let continuation: AsyncStream<Batch>.Continuation
    private let gate = DispatchSemaphore(value: 0)
    private let state = Mutex<(stopped: Bool, failure: SystemdLibrary.LoadError?)>((false, nil))

    var failure: SystemdLibrary.LoadError? { state.withLock { $0.failure } }

    /// Opens the journal (throwing when it cannot) and starts reading after `cursor`, or `max_age` ago.
    init(library: SystemdLibrary, arguments: LokiSourceJournal.Arguments, cursor: String?) throws {
        (batches, continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        let opened = Mutex<Result<Void, SystemdLibrary.LoadError>?>(nil)
        let ready = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            let journal: SystemdJournal
            do throws(SystemdLibrary.LoadError) {
                journal = try SystemdJournal(library: library, directory: arguments.path)
                for match in arguments.matches { try journal.addMatch(match) }
            } catch {
                opened.withLock { $0 = .failure(error) }
                ready.signal()
                continuation.finish()
                return
            }
            opened.withLock { $0 = .success(()) }
            ready.signal()
            if let cursor, journal.seek(after: cursor) {
                // Goes on after the saved entry.
            } else {
                var now = timespec()
                clock_gettime(CLOCK_REALTIME, &now)
                let nowMicros = UInt64(clamping: now.tv_sec) * 1_000_000 + UInt64(clamping: now.tv_nsec / 1000)
                let (ageMicros, tooOld) = UInt64(clamping: arguments.maxAge.components.seconds)
                    .multipliedReportingOverflow(by: 1_000_000)
                let age = tooOld ? UInt64.max : ageMicros
                journal.seek(realtimeMicroseconds: nowMicros > age ? nowMicros - age : 0)
            }
            self.loop(journal)
        }
        thread.start()
        ready.wait()
        if case .failure(let error) = opened.withLock({ $0 }) { throw error }
    }

    private func loop(_ journal: SystemdJournal) {
        var entries: [Entry] = []
        while !state.withLock({ $0.stopped }) {
            if journal.next() {
                entries.append(Entry(fields: journal.fields(), realtimeMicroseconds: journal.realtimeMicroseconds))
                if entries.count < LokiSourceJournal.batchEntries { continue }
            }
            if entries.isEmpty {
                journal.wait(microseconds: 250_000)
                continue
            }
            continuation.yield(Batch(entries: entries, cursor: journal.cursor))
            entries.removeAll(keepingCapacity: true)
            gate.wait()
        }
        continuation.finish()
    }

    /// The last batch was accepted: read the next.
    func accepted() {
        gate.signal()
    }

    func stop() {
        state.withLock { $0.stopped = true }
        gate.signal()
    }
}
