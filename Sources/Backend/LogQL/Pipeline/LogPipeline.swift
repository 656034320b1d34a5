import Wire

/// The runtime of a LogQL log pipeline (`| json | level="error" | line_format "…"`), with Loki 3's semantics
/// (`pkg/logql/log`): stages run in order on each entry, may rewrite its line, add, change or delete labels, set
/// `__error__`, or drop the entry.
///
/// Built once per query (compiling regexes, templates and patterns, so a bad one fails the query up front with
/// Loki's message), shared by every task of it; each task asks `stream(labels:)` for a `StreamPipeline` per
/// stream and feeds it that stream's entries.
public final class LogPipeline: Sendable {
    public static let errorLabel = "__error__"
    public static let errorDetailsLabel = "__error_details__"
    static let duplicateSuffix = "_extracted"
    static let jsonParserError = "JSONParserErr"
    static let logfmtParserError = "LogfmtParserErr"
    static let labelFilterError = "LabelFilterErr"
    static let sampleExtractionError = "SampleExtractionErr"
    static let templateFormatError = "TemplateFormatErr"

    let stages: [Stage]
    let unwrap: CompiledUnwrap?
    let hints: ParserHints

    /// True when the pipeline only has line filters (or nothing) and no unwrap: the caller can test lines with
    /// `lineFilters` and, for entries without structured metadata, use the stream's labels as they are, skipping
    /// the rest of the machinery. (An entry's structured metadata is part of its labels, as in Loki.)
    public let isLineFilterOnly: Bool
    /// Every line filter of a line-filter-only pipeline as one chain (empty otherwise).
    public let lineFilters: LineFilterChain

    /// Compiles `stages` (and the `unwrap` of a range aggregation, with its post-filters).
    ///
    /// `neededLabels` are Loki's parser hints: the labels the caller reads from the results (the grouping of
    /// `sum by (level)`); nil means every label (log queries, or `without` grouping). Parsers then extract only
    /// those and the labels the stages themselves read (filters, formats, drop/keep, unwrap), so results keep
    /// exactly these labels' values; the other parsed labels are left out. An empty set with no stage reading a
    /// label makes `json`, `logfmt`, `regexp` and `pattern` not run at all (Loki's `NoLabels`): they then set no
    /// `__error__` either. `unpack` always runs, since it rewrites the line.
    ///
    /// `namingStages`: a stage that does not compile is named in the error (`stage '| regexp "x"' : …`), as Loki's
    /// query parser reports it.
    public init(
        _ stages: [PipelineStage], unwrap: Unwrap? = nil, neededLabels: Set<String>? = nil, namingStages: Bool = false
    ) throws(LogQLError) {
        var compiled: [Stage] = []
        var filters: [LineFilter] = []
        var onlyFilters = true
        for stage in stages {
            if case .lineFilters(let group) = stage {
                filters.append(contentsOf: group)
            } else {
                onlyFilters = false
            }
            do throws(LogQLError) {
                compiled.append(try Stage(stage))
            } catch {
                guard namingStages else { throw error }
                throw LogQLError(line: error.line, column: error.column,
                                 message: "stage '\(stage.description)' : \(error.message)", kind: error.kind)
            }
        }
        self.stages = compiled
        self.unwrap = try unwrap.map { (unwrap) throws(LogQLError) in try CompiledUnwrap(unwrap) }
        isLineFilterOnly = onlyFilters && unwrap == nil
        lineFilters = onlyFilters ? LineFilterChain(filters) : LineFilterChain()
        hints = ParserHints(needed: neededLabels, stages: compiled, unwrap: self.unwrap)
    }

    /// A query's stages as the scan runs them: the line filters before any other stage as one chain, tested on
    /// the raw line before anything else is read, and a pipeline of the rest (nil when nothing is left).
    public static func split(
        _ stages: [PipelineStage], unwrap: Unwrap? = nil, neededLabels: Set<String>? = nil
    ) throws(LogQLError) -> (leading: LineFilterChain, rest: LogPipeline?) {
        var leading: [LineFilter] = []
        var index = stages.startIndex
        while index < stages.endIndex, case .lineFilters(let filters) = stages[index] {
            leading.append(contentsOf: filters)
            index += 1
        }
        let rest = Array(stages[index...])
        guard !rest.isEmpty || unwrap != nil else { return (LineFilterChain(leading), nil) }
        return (LineFilterChain(leading),
                try LogPipeline(rest, unwrap: unwrap, neededLabels: neededLabels, namingStages: true))
    }

    /// The pipeline for one stream's entries. Cheap; the returned object caches per-stream work and must be used by
    /// one task at a time.
    public func stream(labels: LabelSet) -> StreamPipeline {
        StreamPipeline(pipeline: self, labels: labels)
    }
}

/// The labels parsers need to extract: Loki's `ParserHint`.
struct ParserHints: Sendable {
    /// nil: every label.
    let required: Set<String>?
    /// Parsers need not run at all.
    let noLabels: Bool
    /// The needed names, when a logfmt parser may stop reading a line once it has set them all: every name is
    /// letters and digits, starting with a letter, so the only key that gives it is the name itself (see
    /// `LogfmtDecoder.mayHoldKey`). Nil when that does not hold, or every label is needed.
    let stopKeys: [[UInt8]]?

    init(needed: Set<String>?, stages: [Stage], unwrap: CompiledUnwrap?) {
        guard let needed else {
            required = nil
            noLabels = false
            stopKeys = nil
            return
        }
        var names = needed
        var everything = false
        for stage in stages {
            switch stage.referencedLabels {
            case .some(let referenced): names.formUnion(referenced)
            case .none: everything = true
            }
        }
        if let unwrap {
            names.insert(unwrap.label)
            for filter in unwrap.filters { names.formUnion(filter.names) }
        }
        // A filter on `__error__` needs the parsers to run (to see their errors) but names no label to extract.
        let readsError = names.remove(LogPipeline.errorLabel) != nil
        let readsErrorDetails = names.remove(LogPipeline.errorDetailsLabel) != nil
        let readsErrors = readsError || readsErrorDetails
        if everything {
            required = nil
            noLabels = false
        } else {
            // Names are checked after the `_extracted` renaming, so `sum by (app_extracted)` extracts `app` from a
            // line whose stream has `app`, and `sum by (app)` does not.
            required = names
            noLabels = names.isEmpty && !readsErrors
        }
        let plainNames = required.map { names in
            !names.isEmpty && names.count <= 8 && names.allSatisfy { name in
                guard let first = name.utf8.first, (first | 0x20) >= 97, (first | 0x20) <= 122 else { return false }
                return name.utf8.allSatisfy { LabelKeys.isNameByte($0) && $0 != 95 }
            }
        } ?? false
        stopKeys = plainNames ? required?.sorted().map { Array($0.utf8) } : nil
    }

    @inline(__always)
    func shouldExtract(_ name: String) -> Bool {
        guard let required else { return true }
        return required.contains(name)
    }

    /// Whether a JSON object at `prefix` may hold a needed label.
    func shouldExtractPrefix(_ prefix: UnsafeRawBufferPointer) -> Bool {
        guard let required else { return true }
        for name in required {
            var name = name
            let starts = name.withUTF8 { utf8 in
                utf8.count >= prefix.count && memcmpBytes(UnsafeRawBufferPointer(utf8), prefix, prefix.count)
            }
            if starts { return true }
        }
        return false
    }
}

@inline(__always)
func memcmpBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer, _ count: Int) -> Bool {
    guard count > 0 else { return true }
    guard let x = a.baseAddress, let y = b.baseAddress else { return false }
    return memcmp(x, y, count) == 0
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `| unwrap label` with its conversion and post-filters.
struct CompiledUnwrap: Sendable {
    let label: String
    let conversion: Unwrap.Conversion
    let filters: [LabelFilter]

    init(_ unwrap: Unwrap) throws(LogQLError) {
        label = unwrap.label
        conversion = unwrap.conversion
        var filters: [LabelFilter] = []
        for filter in unwrap.filters { filters.append(try LabelFilter(filter)) }
        self.filters = filters
    }

    /// Loki's conversion functions: `strconv.ParseFloat`, `time.ParseDuration` in seconds, humanize's bytes.
    func convert(_ text: String) -> Result<Double, GoConversions.Failure> {
        switch conversion {
        case .none:
            return GoConversions.parseFloat(text)
        case .duration, .durationSeconds:
            return GoConversions.parseDuration(text).map { Double($0) / 1e9 }
        case .bytes:
            return GoConversions.parseBytes(text).map { Double($0) }
        }
    }
}

/// What a `StreamPipeline` keeps of an entry.
public struct PipelineResult: Sendable {
    /// The line after `line_format`, `decolorize` or `unpack` rewrote it; nil when it is the line given.
    public var rewrittenLine: [UInt8]?
    /// All labels of the entry, sorted: stream labels, structured metadata and parsed labels (minus dropped ones;
    /// minus the unwrapped label), with `__error__` / `__error_details__` when set. This is what Loki returns as a
    /// result stream's labels when the query does not ask for categorized labels.
    public var labels: LabelSet
    /// A small number that is the same for every result of this `StreamPipeline` with the same `labels` and
    /// different otherwise: group by it rather than by `labels`. Dense from 0; see `StreamPipeline.labelSets`.
    public var labelsID: Int
    /// The unwrapped value (0 without unwrap).
    public var value: Double
}

/// A `LogPipeline` bound to one stream: reuses its buffers and key caches across entries and interns the label
/// sets it returns. Not thread-safe: one task at a time.
public final class StreamPipeline {
    let pipeline: LogPipeline
    /// The stream's labels.
    public let streamLabels: LabelSet
    // Used by one task at a time (the type's contract), so the runtime exclusivity checks are skipped.
    @exclusivity(unchecked) var builder: LabelsBuilder
    /// Per-stage state (key caches), by stage index.
    let states: [StageState]
    /// Every distinct label set returned so far, by `labelsID`.
    public private(set) var labelSets: [LabelSet]
    private var idsByLabels: [LabelSet: Int] = [:]
    private var labelBuffer: [LabelPair] = []
    @exclusivity(unchecked) var scratch: [UInt8] = []
    @exclusivity(unchecked) var keyScratch: [UInt8] = []

    init(pipeline: LogPipeline, labels: LabelSet) {
        self.pipeline = pipeline
        streamLabels = labels
        builder = LabelsBuilder(base: labels.pairs)
        states = pipeline.stages.map { StageState(for: $0) }
        labelSets = [labels]
        idsByLabels[labels] = 0
    }

    /// Runs the pipeline on one entry; nil when a stage drops it (or, with unwrap, when the label is absent or
    /// empty, as Loki). `metadata` is the entry's structured metadata.
    public func process(timestamp: Int64, line: UnsafeRawBufferPointer, metadata: [LabelPair]) -> PipelineResult? {
        if pipeline.isLineFilterOnly {
            guard pipeline.lineFilters.matches(line) else { return nil }
            builder.reset()
            if metadata.isEmpty { return PipelineResult(rewrittenLine: nil, labels: streamLabels, labelsID: 0, value: 0) }
            builder.add(.structuredMetadata, metadata)
            let (labels, id) = internedLabels()
            return PipelineResult(rewrittenLine: nil, labels: labels, labelsID: id, value: 0)
        }
        builder.reset()
        if !metadata.isEmpty { builder.add(.structuredMetadata, metadata) }
        var rewritten: [UInt8]?
        let stages = pipeline.stages
        for index in stages.indices {
            let outcome: StageOutcome
            if let current = rewritten {
                outcome = current.withUnsafeBytes { run(stages[index], index, timestamp, $0) }
            } else {
                outcome = run(stages[index], index, timestamp, line)
            }
            switch outcome {
            case .keep: break
            case .drop: return nil
            case .replace(let bytes): rewritten = bytes
            }
        }
        var value = 0.0
        if let unwrap = pipeline.unwrap {
            guard let text = builder.get(unwrap.label), !text.isEmpty else { return nil }
            switch unwrap.convert(text) {
            case .success(let converted): value = converted
            case .failure(let failure):
                builder.error = LogPipeline.sampleExtractionError
                builder.errorDetails = failure.message
            }
            for filter in unwrap.filters where !filter.process(&builder) { return nil }
            builder.delete(unwrap.label)
        }
        let (labels, id) = internedLabels()
        return PipelineResult(rewrittenLine: rewritten, labels: labels, labelsID: id, value: value)
    }

    @inline(__always)
    private func run(_ stage: Stage, _ index: Int, _ timestamp: Int64, _ line: UnsafeRawBufferPointer) -> StageOutcome {
        stage.process(timestamp: timestamp, line: line, builder: &builder, state: states[index], scratch: &scratch,
                      keyScratch: &keyScratch, hints: pipeline.hints)
    }

    /// The label set the builder holds now, interned: the builder's changes (usually a few parsed labels) are
    /// hashed and looked up first; only changes not seen before build and sort the whole set.
    private func internedLabels() -> (LabelSet, Int) {
        if builder.isUnchanged { return (streamLabels, 0) }
        let hash = builder.deltaHash()
        let mask = deltaSlots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let index = Int(deltaSlots[slot])
            if index < 0 { break }
            if deltaEntries[index].hash == hash, builder.matches(deltaEntries[index].delta) {
                let id = deltaEntries[index].id
                return (labelSets[id], id)
            }
            slot = (slot + 1) & mask
        }
        labelBuffer.removeAll(keepingCapacity: true)
        builder.appendLabels(to: &labelBuffer)
        let labels = LabelSet(labelBuffer)
        let id: Int
        if let known = idsByLabels[labels] {
            id = known
        } else {
            id = labelSets.count
            labelSets.append(labels)
            idsByLabels[labels] = id
        }
        // Bounded: a stream whose every line has distinct values would otherwise grow this without end.
        if deltaEntries.count >= Self.deltaLimit {
            deltaEntries.removeAll(keepingCapacity: true)
            for index in deltaSlots.indices { deltaSlots[index] = -1 }
            slot = Int(truncatingIfNeeded: hash) & mask
        }
        deltaSlots[slot] = Int32(deltaEntries.count)
        deltaEntries.append((hash, LabelsDelta(builder), id))
        // The table starts small (live tails keep a pipeline per stream for long) and doubles at half full.
        if deltaEntries.count * 2 >= deltaSlots.count && deltaSlots.count < Self.deltaLimit * 2 { growDeltaSlots() }
        return (labels, id)
    }

    private func growDeltaSlots() {
        deltaSlots = [Int32](repeating: -1, count: deltaSlots.count * 2)
        let mask = deltaSlots.count - 1
        for (index, entry) in deltaEntries.enumerated() {
            var slot = Int(truncatingIfNeeded: entry.hash) & mask
            while deltaSlots[slot] >= 0 { slot = (slot + 1) & mask }
            deltaSlots[slot] = Int32(index)
        }
    }

    private static let deltaLimit = 8192
    @exclusivity(unchecked) private var deltaSlots = [Int32](repeating: -1, count: 64)
    @exclusivity(unchecked) private var deltaEntries: [(hash: UInt64, delta: LabelsDelta, id: Int)] = []
}

/// What a builder changed relative to the stream labels: equal deltas give equal label sets.
struct LabelsDelta {
    var stream: [LabelPair]
    var metadata: [LabelPair]
    var parsed: [LabelPair]
    var deleted: [String]
    var error: String
    var errorDetails: String

    init(_ builder: LabelsBuilder) {
        stream = builder.added[0]
        metadata = builder.added[1]
        parsed = builder.added[2]
        deleted = builder.deleted
        error = builder.error
        errorDetails = builder.errorDetails
    }

}

extension LabelsBuilder {
    // `mutating` only so that calls on a class's stored builder work in place instead of on a copy (which costs
    // a retain and release of every array per line); neither changes anything.

    /// Whether the builder's changes are `delta`.
    @inline(__always)
    mutating func matches(_ delta: LabelsDelta) -> Bool {
        delta.parsed == added[2] && delta.metadata == added[1] && delta.stream == added[0] && delta.deleted == deleted
            && delta.error == error && delta.errorDetails == errorDetails
    }

    /// FNV-1a over every string of the builder's changes, with separators: much cheaper than `Hasher` per line.
    @inline(__always)
    mutating func deltaHash() -> UInt64 {
        var hash: UInt64 = 14_695_981_039_346_656_037
        @inline(__always)
        func mix(_ string: String) {
            var string = string
            string.withUTF8 { bytes in
                for byte in bytes { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
            }
            hash = (hash ^ 0xFF) &* 1_099_511_628_211
        }
        for category in 0..<3 {
            for pair in added[category] {
                mix(pair.name)
                mix(pair.value)
            }
            hash = (hash ^ 0xFE) &* 1_099_511_628_211
        }
        for name in deleted { mix(name) }
        mix(error)
        mix(errorDetails)
        return hash
    }
}

enum StageOutcome {
    case keep
    case drop
    case replace([UInt8])
}
