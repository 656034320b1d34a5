import Wire

/// One stage of a `loki.process` pipeline (`stage.cri {}`, `stage.labels {}`, ...).
///
/// Called by ``ProcessPipeline`` only, under the component's lock: one batch at a time, in file order, on the
/// task of the component that sent the batch. A stage changes the entries in place, skips entries already
/// `removed`, and marks the ones it drops or holds back as `removed` (the pipeline compacts once at the end). It
/// may insert entries (a held-back partial line that must go out); it never suspends, blocks or spawns a task.
/// State a stage keeps between batches (CRI partial lines, last timestamps) lives in the stage value; a reload
/// with the same configuration at the same position keeps the stage value and so its state.
protocol ProcessStage: Sendable {
    mutating func process(_ entries: inout [ProcessEntry], _ context: inout StageContext)

    /// The component is stopping: appends whatever the stage still holds (CRI partial lines, multiline blocks,
    /// rate-limited entries) to `entries`, as it stands, so that it is sent rather than lost.
    mutating func releaseAll(_ entries: inout [ProcessEntry], _ context: inout StageContext)
}

extension ProcessStage {
    mutating func releaseAll(_ entries: inout [ProcessEntry], _ context: inout StageContext) {}
}

extension Array where Element == any ProcessStage {
    /// Releases what every stage holds, each stage's entries going on through the stages after it.
    mutating func releaseAll(_ context: inout StageContext) -> [ProcessEntry] {
        var carried: [ProcessEntry] = []
        for index in indices {
            self[index].process(&carried, &context)
            self[index].releaseAll(&carried, &context)
        }
        return carried.filter { !$0.removed }
    }
}

/// What a stage learns from and reports to the pipeline for one batch.
struct StageContext: Sendable {
    /// Wall-clock time of the batch, in nanoseconds since the epoch (`older_than`, `pack`'s ingest timestamp,
    /// year-less timestamp formats).
    var now: Int64
    /// Entries dropped, by `drop_counter_reason` (`loki_process_dropped_lines_total{reason}`).
    var dropped: [String: Int] = [:]
    /// CRI partial lines sent on early because `max_partial_lines` streams were held.
    var partialLinesFlushed = 0
    /// CRI lines cut to `max_partial_line_size`.
    var linesTruncated = 0
    /// Warnings for the operator (one per event, not per entry).
    var warnings: [String] = []

    init(now: Int64) {
        self.now = now
    }

    mutating func drop(_ entry: inout ProcessEntry, reason: String) {
        entry.removed = true
        dropped[reason, default: 0] += 1
    }
}

/// The stages of one `loki.process`, run in file order over each batch.
struct ProcessPipeline: Sendable {
    private(set) var configs: [StageConfig]
    private var stages: [any ProcessStage]
    private let environment: StageEnvironment

    init(_ configs: [StageConfig], environment: StageEnvironment = .detached) {
        self.configs = configs
        self.environment = environment
        stages = configs.map { $0.makeStage(environment) }
    }

    /// The pipeline for `configs`, keeping this pipeline's stage (and its state: CRI partial lines, timestamps
    /// for `fudge`) wherever the stage at the same position is configured the same.
    func rebuilt(with configs: [StageConfig]) -> ProcessPipeline {
        var next = self
        next.configs = configs
        next.stages = configs.enumerated().map { index, config in
            index < self.configs.count && self.configs[index] == config ? stages[index] : config.makeStage(environment)
        }
        return next
    }

    /// Everything the stages hold, through the rest of the pipeline: what to forward when stopping.
    mutating func releaseAll(_ context: inout StageContext) -> [LogEntry] {
        stages.releaseAll(&context).map(\.entry)
    }

    /// Runs every stage over `batch` and returns what is left to forward.
    mutating func run(_ batch: [LogEntry], _ context: inout StageContext) -> [LogEntry] {
        var entries = batch.map(ProcessEntry.init)
        for index in stages.indices {
            stages[index].process(&entries, &context)
        }
        var out: [LogEntry] = []
        out.reserveCapacity(entries.count)
        for entry in entries where !entry.removed { out.append(entry.entry) }
        return out
    }
}
