import AlloyLanguage
import Collections
import Wire

/// `stage.multiline`: joins the lines of a stream (entries with the same labels) into one entry, from a line that
/// matches `firstline` (RE2) up to the next one, as Alloy's `multilineStage` does: lines of a stream that has not
/// yet had a first line pass unchanged; a block is joined with `\n` and keeps the first line's timestamp, labels and
/// extracted map; it is sent on when the stream's next first line comes (in that line's place), when it holds
/// `max_lines` lines, or when `max_wait_time` passed without a new line of the stream (`LokiProcess.run()` runs
/// the pipeline over an empty batch now and then so that idle blocks go out ahead of it).
///
/// Unlike Alloy, a stream idle for `max_wait_time` is forgotten once its block is sent, so that streams of
/// finished pods do not stay in memory; its next lines pass unchanged until a first line comes again.
struct MultilineStage: ProcessStage {
    struct Config: Sendable, Equatable {
        /// `firstline` (required): the RE2 expression a block's first line matches.
        var firstline: String
        /// `max_lines`: a block is sent on when it holds this many lines; 0 means no limit (as Alloy's uint64).
        var maxLines = 128
        /// `max_wait_time`: a block is sent on after this long without a new line of its stream.
        var maxWaitTime = Duration.seconds(3)

        init(_ reader: ArgumentReader) throws(Diagnostic) {
            firstline = try reader.requiredString("firstline")
            guard !firstline.isEmpty else {
                throw reader.error("firstline", "firstline: must not be empty; it is the RE2 expression a block's first line matches")
            }
            _ = try compileRegex(reader, "firstline", firstline)
            maxLines = try reader.int("max_lines", default: maxLines)
            guard maxLines >= 0 else {
                throw reader.error("max_lines", "max_lines must be 0 (no limit) or more, got \(maxLines)")
            }
            maxWaitTime = try reader.duration("max_wait_time", default: maxWaitTime)
            guard maxWaitTime > .zero else {
                throw reader.error("max_wait_time", "max_wait_time must be greater than 0, got \(maxWaitTime)")
            }
        }
    }

    /// The block a stream is building.
    struct Block: Sendable {
        /// The block's first line, as it came: its timestamp, labels and extracted map go out with the block.
        var start: ProcessEntry
        /// The lines so far, joined with `\n`; empty after a block was sent on because of `max_lines`.
        var buffer: [UInt8]
        var lines: Int
        /// `StageContext.now` when the stream's last line came.
        var last: Int64
    }

    let config: Config
    private let regex: RE2Regex?
    private let maxWait: Int64
    /// Streams that had a first line, oldest first.
    private(set) var blocks: OrderedDictionary<LabelSet, Block> = [:]

    init(_ config: Config) {
        self.config = config
        regex = try? RE2Regex(config.firstline, dotMatchesNewline: false)
        maxWait = DurationText.nanoseconds(config.maxWaitTime)
    }

    mutating func process(_ entries: inout [ProcessEntry], _ context: inout StageContext) {
        guard let regex else { return }
        var out: [ProcessEntry] = []
        if !blocks.isEmpty { flushIdle(now: context.now, into: &out) }
        if blocks.isEmpty && out.isEmpty && !entries.contains(where: { !$0.removed && regex.firstMatch($0.lineText) }) {
            // Nothing held and no first line: every entry passes unchanged (the common case of a quiet pipeline).
            return
        }
        out.reserveCapacity(out.count + entries.count)
        for entry in entries where !entry.removed {
            let stream = entry.entry.labels
            let first = regex.firstMatch(entry.lineText)
            guard first || blocks[stream] != nil else {
                out.append(entry)
                continue
            }
            if first {
                if let block = blocks[stream], let sent = Self.joined(block) { out.append(sent) }
                blocks[stream] = Block(start: entry, buffer: [], lines: 0, last: context.now)
            }
            guard let index = blocks.index(forKey: stream) else { continue }
            // Edited in place through `values`, so that the buffer is not copied.
            if !blocks.values[index].buffer.isEmpty { blocks.values[index].buffer.append(UInt8(ascii: "\n")) }
            blocks.values[index].buffer.append(contentsOf: entry.entry.line)
            blocks.values[index].lines += 1
            blocks.values[index].last = context.now
            if blocks.values[index].lines == config.maxLines, let sent = Self.joined(blocks.values[index]) {
                out.append(sent)
                blocks.values[index].buffer = []
                blocks.values[index].lines = 0
            }
        }
        entries = out
    }

    /// Stopping: every open block goes out.
    mutating func releaseAll(_ entries: inout [ProcessEntry], _ context: inout StageContext) {
        for block in blocks.values {
            if let sent = Self.joined(block) { entries.append(sent) }
        }
        blocks.removeAll()
    }

    /// Sends on, ahead of the batch, the blocks of streams without a line for `max_wait_time`, and forgets those
    /// streams.
    private mutating func flushIdle(now: Int64, into out: inout [ProcessEntry]) {
        guard blocks.values.contains(where: { now - $0.last >= maxWait }) else { return }
        let idle = blocks.filter { now - $0.value.last >= maxWait }
        for (stream, block) in idle {
            if let sent = Self.joined(block) { out.append(sent) }
            blocks[stream] = nil
        }
    }

    /// The entry a block goes out as: its first line's entry with the joined lines; nil when the block is empty.
    private static func joined(_ block: Block) -> ProcessEntry? {
        guard !block.buffer.isEmpty || block.lines > 0 else { return nil }
        var entry = block.start
        entry.entry.line = block.buffer
        entry.removed = false
        return entry
    }

    /// How often `LokiProcess.run()` should run the pipeline over an empty batch so that the stages holding
    /// entries (`stage.multiline`, `stage.limit` with `drop = false`) send them on in time; nil when none does.
    static func flushInterval(_ configs: [StageConfig]) -> Duration? {
        var shortest: Duration?
        for config in configs {
            let wait: Duration
            switch config {
            case .multiline(let multiline): wait = multiline.maxWaitTime / 4
            case .limit(let limit) where !limit.drop: wait = .seconds(1.0 / limit.rate)
            default: continue
            }
            shortest = min(shortest ?? wait, wait)
        }
        return shortest.map { min(max($0, .milliseconds(10)), .seconds(1)) }
    }
}
