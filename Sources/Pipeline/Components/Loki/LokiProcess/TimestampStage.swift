import AlloyLanguage
import Foundation
import GoCompat
import Wire

/// `stage.timestamp`: sets the entry's timestamp from the extracted value `source`, parsed with `format` (a Go
/// reference layout, or one of the names `ANSIC`, `UnixDate`, `RubyDate`, `RFC822`, `RFC822Z`, `RFC850`,
/// `RFC1123`, `RFC1123Z`, `RFC3339`, `RFC3339Nano`, `Unix`, `UnixMs`, `UnixUs`, `UnixNs`), then each of
/// `fallback_formats`. A layout without a year takes the current one (last or next year around new year).
/// `location` (an IANA zone) applies to custom layouts whose text has no offset. When the value is missing or
/// does not parse, `action_on_failure = "fudge"` (the default) gives the stream's last good timestamp plus 1ns,
/// and `"skip"` keeps the timestamp.
struct TimestampStage: ProcessStage {
    struct Config: Sendable, Equatable {
        var source: String
        var format: String
        var fallbackFormats: [String] = []
        var location: String?
        var fudge = true

        init(source: String, format: String) {
            self.source = source
            self.format = format
        }

        init(_ reader: ArgumentReader) throws(Diagnostic) {
            source = try reader.requiredString("source")
            guard !source.isEmpty else { throw reader.error("source", "source: must not be empty") }
            format = try reader.requiredString("format")
            guard !format.isEmpty else { throw reader.error("format", "format: must not be empty") }
            fallbackFormats = try reader.stringList("fallback_formats")
            location = try reader.string("location")
            if let location {
                do throws(TimeZoneError) {
                    _ = try Self.loadLocation(location)
                } catch {
                    throw reader.error("location", "location: \(error.message)")
                }
            }
            switch try reader.string("action_on_failure", default: "fudge") {
            case "fudge": fudge = true
            case "skip": fudge = false
            case let other:
                throw reader.error(
                    "action_on_failure",
                    "action_on_failure: invalid value \(GoQuote.quote(other)); expected \"fudge\" or \"skip\"")
            }
        }

        struct TimeZoneError: Error {
            var message: String
        }

        /// Go's `time.LoadLocation`: `""` and `UTC` are UTC, `Local` the machine's zone, anything else a file of
        /// the zone database under /usr/share/zoneinfo.
        static func loadLocation(_ name: String) throws(TimeZoneError) -> TimeZone? {
            switch name {
            case "", "UTC": return nil
            case "Local": return TimeZone.current
            default: break
            }
            let directory = ProcessInfo.processInfo.environment["ZONEINFO"] ?? "/usr/share/zoneinfo"
            if !FileManager.default.fileExists(atPath: directory) {
                throw TimeZoneError(message: "cannot load location \(GoQuote.quote(name)): there is no time zone database at \(directory) (install the tzdata package, or set ZONEINFO)")
            }
            guard let zone = TimeZone(identifier: name) else {
                throw TimeZoneError(message: "unknown time zone \(GoQuote.quote(name)); expected an IANA name such as \"Europe/Paris\" or \"America/New_York\"")
            }
            return zone
        }
    }

    /// One way to read a timestamp.
    enum Format: Sendable {
        case rfc3339
        case unix, unixMs, unixUs, unixNs
        /// A reference layout; `named` for Go's constants, which ignore `location` (Alloy parses them with
        /// `time.Parse`).
        case layout(GoTimeLayout, named: Bool)

        init(_ text: String) {
            switch text {
            case "RFC3339", "RFC3339Nano": self = .rfc3339
            case "Unix": self = .unix
            case "UnixMs": self = .unixMs
            case "UnixUs": self = .unixUs
            case "UnixNs": self = .unixNs
            default:
                if let layout = Self.named[text] {
                    self = .layout(GoTimeLayout(layout), named: true)
                } else {
                    self = .layout(GoTimeLayout(text), named: false)
                }
            }
        }

        static let named = [
            "ANSIC": "Mon Jan _2 15:04:05 2006",
            "UnixDate": "Mon Jan _2 15:04:05 MST 2006",
            "RubyDate": "Mon Jan 02 15:04:05 -0700 2006",
            "RFC822": "02 Jan 06 15:04 MST",
            "RFC822Z": "02 Jan 06 15:04 -0700",
            "RFC850": "Monday, 02-Jan-06 15:04:05 MST",
            "RFC1123": "Mon, 02 Jan 2006 15:04:05 MST",
            "RFC1123Z": "Mon, 02 Jan 2006 15:04:05 -0700",
        ]

        /// Nanoseconds since the epoch, or nil when `text` does not parse.
        func parse(_ text: String, location: TimeZone?, now: Int64) -> Int64? {
            switch self {
            case .rfc3339:
                return RFC3339Time.parse(text)
            case .unix:
                let parts = text.split(separator: ".", omittingEmptySubsequences: false)
                if parts.count == 2 {
                    guard let seconds = Int64(parts[0]), let fraction = Int64(parts[1]) else { return nil }
                    let nanos = Int64(Double(fraction) * pow(10, Double(9 - parts[1].count)))
                    return Self.scaled(seconds, 1_000_000_000, plus: nanos)
                }
                guard let seconds = Int64(text) else { return nil }
                return Self.scaled(seconds, 1_000_000_000)
            case .unixMs:
                return Int64(text).flatMap { Self.scaled($0, 1_000_000) }
            case .unixUs:
                return Int64(text).flatMap { Self.scaled($0, 1_000) }
            case .unixNs:
                return Int64(text)
            case .layout(let layout, let named):
                guard case .success(var parsed) = layout.parse(text) else { return nil }
                let zone = named ? nil : location
                if !layout.hasYear {
                    guard parsed.year == 0 else { return nil }
                    let today = Civil.date(days: now / 1_000_000_000 / 86_400)
                    var year = today.year
                    if parsed.month == 12 && today.month == 1 { year -= 1 }
                    if parsed.month == 1 && today.month == 12 { year += 1 }
                    parsed.year = year
                    // Go's AddDate moves 29 February of year 0 to 1 March of a common year.
                    if parsed.month == 2, parsed.day == 29, !Civil.isLeap(year) {
                        parsed.month = 3
                        parsed.day = 1
                    }
                }
                return parsed.instant(in: zone)
            }
        }

        private static func scaled(_ value: Int64, _ factor: Int64, plus extra: Int64 = 0) -> Int64? {
            let (product, overflow) = value.multipliedReportingOverflow(by: factor)
            let (sum, overflow2) = product.addingReportingOverflow(extra)
            return overflow || overflow2 ? nil : sum
        }
    }

    /// At most this many streams keep a last known timestamp (Alloy's LRU holds 10,000); when full the oldest
    /// half is forgotten.
    static let lastKnownLimit = 10_000

    let config: Config
    private let formats: [Format]
    private let location: TimeZone?
    private var lastKnown: [LabelSet: Int64] = [:]
    private var lastKnownOrder: [LabelSet] = []

    init(_ config: Config) {
        self.config = config
        formats = ([config.format] + config.fallbackFormats).map(Format.init)
        location = (try? Config.loadLocation(config.location ?? "")) ?? nil
    }

    mutating func process(_ entries: inout [ProcessEntry], _ context: inout StageContext) {
        for index in entries.indices where !entries[index].removed {
            apply(to: &entries[index], now: context.now)
        }
    }

    mutating func apply(to entry: inout ProcessEntry, now: Int64) {
        if let text = entry.extractedText(config.source), let parsed = parse(text, now: now) {
            entry.entry.timestamp = parsed
            if config.fudge { remember(entry.entry.labels, parsed) }
            return
        }
        guard config.fudge, let last = lastKnown[entry.entry.labels] else { return }
        entry.entry.timestamp = last + 1
        lastKnown[entry.entry.labels] = last + 1
    }

    private func parse(_ text: String, now: Int64) -> Int64? {
        for format in formats {
            if let parsed = format.parse(text, location: location, now: now) { return parsed }
        }
        return nil
    }

    private mutating func remember(_ labels: LabelSet, _ timestamp: Int64) {
        if lastKnown.updateValue(timestamp, forKey: labels) == nil {
            lastKnownOrder.append(labels)
            if lastKnownOrder.count > Self.lastKnownLimit {
                let forgotten = lastKnownOrder.prefix(Self.lastKnownLimit / 2)
                for labels in forgotten { lastKnown.removeValue(forKey: labels) }
                lastKnownOrder.removeFirst(forgotten.count)
            }
        }
    }
}
