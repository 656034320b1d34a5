import AlloyLanguage
import Collections
import Wire

/// `stage.limit`: a token bucket of `rate` entries a second holding up to `burst` (Go's `rate.Limiter`, which
/// Alloy uses), read at `StageContext.now`.
///
/// - `drop = true`: an entry that finds no token is dropped (`loki_process_dropped_lines_total{reason=
///   "ratelimit_drop_stage"}`, Alloy's reason). With `by_label_name`, each value of that label has a bucket of its
///   own (entries without the label are not limited), at most `max_distinct_labels` (raised to Alloy's floor of
///   10000) recently used values at once, kept as Alloy's generational map does.
/// - `drop = false` (Alloy blocks the pipeline until a token comes): entries that find no token are held, in
///   order, and sent on as tokens come (`LokiProcess.run()` runs the pipeline over an empty batch now and then, so
///   that held entries go out ahead of it). Entries keep their order: a new entry waits behind held ones. At most
///   `heldLimit` entries are held; beyond that an entry is dropped as with `drop = true`, and a warning says so.
struct LimitStage: ProcessStage {
    struct Config: Sendable, Equatable {
        /// `rate` (required): tokens added each second.
        var rate: Double
        /// `burst` (required): the most tokens the bucket holds.
        var burst: Int
        /// `drop`: drop entries over the rate instead of holding them.
        var drop = false
        /// `by_label_name`: limit each value of this label on its own (needs `drop = true`).
        var byLabelName: String?
        /// `max_distinct_labels`: how many label values keep a bucket.
        var maxDistinctLabels = LimitStage.minDistinctLabels

        init(_ reader: ArgumentReader) throws(Diagnostic) {
            try reader.requirePresent("rate")
            try reader.requirePresent("burst")
            rate = try reader.double("rate", default: 0)
            burst = try reader.int("burst", default: 0)
            guard rate > 0, rate.isFinite else {
                throw reader.error("rate", "rate must be a number of entries a second greater than 0, got \(rate)")
            }
            guard burst > 0 else { throw reader.error("burst", "burst must be greater than 0, got \(burst)") }
            drop = try reader.bool("drop", default: drop)
            let label = try reader.string("by_label_name", default: "")
            byLabelName = label.isEmpty ? nil : label
            if byLabelName != nil && !drop {
                throw reader.error("by_label_name", "by_label_name needs drop = true (as in Alloy: only dropping can limit each label value on its own)")
            }
            // As Alloy: smaller values are raised to the floor (a bucket is ~80 bytes).
            let distinct = try reader.int("max_distinct_labels", default: maxDistinctLabels)
            maxDistinctLabels = max(distinct, LimitStage.minDistinctLabels)
        }
    }

    /// Alloy's `MinReasonableMaxDistinctLabels`.
    static let minDistinctLabels = 10_000
    /// Alloy's drop reason.
    static let dropReason = "ratelimit_drop_stage"
    /// The most entries held with `drop = false`.
    static let heldLimit = 10_000

    /// Go's `rate.Limiter` without reservations: `tokens` at `last`.
    struct Bucket: Sendable {
        var tokens: Double
        var last: Int64

        /// Adds the tokens earned since `last`, up to `burst`.
        mutating func refill(now: Int64, rate: Double, burst: Int) {
            if now > last {
                tokens = min(Double(burst), tokens + Double(now - last) / 1e9 * rate)
                last = now
            }
        }

        mutating func take(now: Int64, rate: Double, burst: Int) -> Bool {
            refill(now: now, rate: rate, burst: burst)
            guard tokens >= 1 else { return false }
            tokens -= 1
            return true
        }
    }

    let config: Config
    private var bucket: Bucket?
    /// Buckets by label value, as Alloy's `GenerationalMap`: values used since the last turnover, and before it.
    private var newer: [String: Bucket] = [:]
    private var older: [String: Bucket] = [:]
    private(set) var held: Deque<ProcessEntry> = []
    private var warnedFull = false

    init(_ config: Config) {
        self.config = config
    }

    /// Stopping: entries waiting for a token go out now rather than being lost.
    mutating func releaseAll(_ entries: inout [ProcessEntry], _ context: inout StageContext) {
        entries.append(contentsOf: held)
        held.removeAll()
    }

    mutating func process(_ entries: inout [ProcessEntry], _ context: inout StageContext) {
        let now = context.now
        if let label = config.byLabelName {
            for index in entries.indices where !entries[index].removed {
                guard let value = entries[index].entry.labels[label] else { continue }
                if !takeToken(forValue: value, now: now) {
                    context.drop(&entries[index], reason: Self.dropReason)
                }
            }
            return
        }
        var bucket = self.bucket ?? Bucket(tokens: Double(config.burst), last: now)
        defer { self.bucket = bucket }
        if config.drop {
            for index in entries.indices where !entries[index].removed {
                if !bucket.take(now: now, rate: config.rate, burst: config.burst) {
                    context.drop(&entries[index], reason: Self.dropReason)
                }
            }
            return
        }
        var released: [ProcessEntry] = []
        while !held.isEmpty, bucket.take(now: now, rate: config.rate, burst: config.burst) {
            released.append(held.removeFirst())
        }
        for index in entries.indices where !entries[index].removed {
            if held.isEmpty, bucket.take(now: now, rate: config.rate, burst: config.burst) { continue }
            if held.count >= Self.heldLimit {
                if !warnedFull {
                    warnedFull = true
                    context.warnings.append(
                        "limit stage: \(Self.heldLimit) entries are waiting for the rate limit (rate \(config.rate), burst \(config.burst)); dropping entries over that (reason \(Self.dropReason))")
                }
                context.drop(&entries[index], reason: Self.dropReason)
                continue
            }
            var waiting = entries[index]
            waiting.removed = false
            held.append(waiting)
            entries[index].removed = true
        }
        if held.isEmpty { warnedFull = false }
        if !released.isEmpty { entries.insert(contentsOf: released, at: 0) }
    }

    /// Alloy's `GenerationalMap.GetOrCreate` then `Allow`.
    private mutating func takeToken(forValue value: String, now: Int64) -> Bool {
        if newer[value] == nil {
            newer[value] = older[value] ?? Bucket(tokens: Double(config.burst), last: now)
            if newer.count >= config.maxDistinctLabels {
                older = newer
                newer = [:]
                return older[value, default: Bucket(tokens: 0, last: now)].take(now: now, rate: config.rate, burst: config.burst)
            }
        }
        return newer[value, default: Bucket(tokens: 0, last: now)].take(now: now, rate: config.rate, burst: config.burst)
    }
}
