import AlloyLanguage
import Foundation
import Logging
import Synchronization
import Wire

/// What the agent's top-level `logging` block sets, as Alloy's does: the lowest level written (`level`: `debug`,
/// `info`, `warn` or `error`; default `info`) and the line format (`format`: `logfmt` or `json`; default `logfmt`).
/// Applied when a configuration loads and again at every reload.
public struct LoggingOptions: Sendable, Equatable {
    public enum Format: String, Sendable, CaseIterable {
        case logfmt
        case json
    }

    public var level: Logger.Level = .info
    public var format: Format = .logfmt

    public init(level: Logger.Level = .info, format: Format = .logfmt) {
        self.level = level
        self.format = format
    }

    /// Alloy's level names, and the level each stands for.
    static let levels: [(name: String, level: Logger.Level)] = [
        ("debug", .debug), ("info", .info), ("warn", .warning), ("error", .error),
    ]

    /// Reads the block; an unknown attribute, level or format is an error naming it.
    init(_ reader: ArgumentReader) throws(Diagnostic) {
        if reader.has("write_to") {
            throw reader.error("write_to", "logging: write_to is not supported: the agent writes its own logs to standard error")
        }
        let levelName = try reader.string("level", default: "info")
        guard let level = Self.levels.first(where: { $0.name == levelName })?.level else {
            throw reader.error("level", "logging: unrecognized log level \(GoQuote.quote(levelName)) (debug, info, warn or error)")
        }
        let formatName = try reader.string("format", default: Format.logfmt.rawValue)
        guard let format = Format(rawValue: formatName) else {
            throw reader.error("format", "logging: unrecognized log format \(GoQuote.quote(formatName)) (logfmt or json)")
        }
        self.init(level: level, format: format)
    }

    /// The name Alloy gives `level` in its lines.
    static func name(of level: Logger.Level) -> String {
        switch level {
        case .trace, .debug: "debug"
        case .info, .notice: "info"
        case .warning: "warn"
        case .error, .critical: "error"
        }
    }
}

/// The log settings of the agent's process: each load of the configuration sets them, and every log call reads
/// them, so a reload changes the level and format of what follows at once. Kept in one atomic byte: every log
/// call's level check reads it, from any thread, without a lock.
public final class LogSettings: Sendable {
    private let packed: Atomic<UInt8>

    public init(_ options: LoggingOptions = LoggingOptions()) {
        packed = Atomic(Self.pack(options))
    }

    public var options: LoggingOptions { Self.unpack(packed.load(ordering: .relaxed)) }

    public func apply(_ options: LoggingOptions) {
        packed.store(Self.pack(options), ordering: .relaxed)
    }

    private static let levels = Logger.Level.allCases
    private static let formats = LoggingOptions.Format.allCases

    /// The level's index times the number of formats, plus the format's index.
    private static func pack(_ options: LoggingOptions) -> UInt8 {
        let level = levels.firstIndex(of: options.level) ?? 0
        let format = formats.firstIndex(of: options.format) ?? 0
        return UInt8(level * formats.count + format)
    }

    private static func unpack(_ byte: UInt8) -> LoggingOptions {
        let (level, format) = Int(byte).quotientAndRemainder(dividingBy: formats.count)
        return LoggingOptions(level: levels[level], format: formats[format])
    }
}

/// Writes log lines as Alloy does, at the level and in the format the `logging` block chose:
/// `ts=2026-12-06T10:00:00.123456789Z level=info msg="started component" component_id=loki.write.default` in
/// logfmt, or one JSON object per line with the same keys.
public struct AgentLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let settings: LogSettings
    private let write: @Sendable (String) -> Void
    /// Set by code that wants fewer lines from one logger (`logger.logLevel = .critical`); the configured level
    /// applies otherwise.
    private var floor: Logger.Level?

    public init(settings: LogSettings, write: @escaping @Sendable (String) -> Void) {
        self.settings = settings
        self.write = write
    }

    /// A handler writing to standard error.
    public static func standardError(settings: LogSettings) -> AgentLogHandler {
        AgentLogHandler(settings: settings) { line in
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    public var logLevel: Logger.Level {
        get { max(settings.options.level, floor ?? .trace) }
        set { floor = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [(String, String)] = [
            ("ts", Self.now()), ("level", LoggingOptions.name(of: event.level)),
            ("msg", event.message.description),
        ]
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        if let error = event.error { merged["error"] = .string("\(error)") }
        for key in merged.keys.sorted() {
            fields.append((key, merged[key].map { "\($0)" } ?? ""))
        }
        write(Self.line(fields, format: settings.options.format))
    }

    /// One line of `fields` in `format`, newline included.
    static func line(_ fields: [(String, String)], format: LoggingOptions.Format) -> String {
        switch format {
        case .logfmt:
            fields.map { "\($0.0)=\(logfmtValue($0.1))" }.joined(separator: " ") + "\n"
        case .json:
            "{" + fields.map { "\(JSONCoding.quote($0.0)):\(JSONCoding.quote($0.1))" }.joined(separator: ",") + "}\n"
        }
    }

    /// A logfmt value as go-logfmt (Alloy's logger) writes it: bare unless it is empty or holds a space, a control
    /// character, `=`, `"` or U+FFFD; quoted with `\\ \" \n \r \t` and `\u00XX` for other control characters, and
    /// everything else (non-ASCII included) as it is.
    static func logfmtValue(_ value: String) -> String {
        let plain = !value.isEmpty && value.unicodeScalars.allSatisfy { scalar in
            scalar.value > 0x20 && scalar != "=" && scalar != "\"" && scalar != "\u{FFFD}"
        }
        if plain { return value }
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\", "\"": out += "\\" + String(scalar)
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{FFFD}": out += "\\ufffd"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u00" + (hex.count < 2 ? "0" + hex : hex)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Now in RFC 3339 in UTC with nanoseconds, as Go's `time.RFC3339Nano` (trailing zeros of the fraction dropped).
    static func now() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return timestamp(seconds: Int64(spec.tv_sec), nanoseconds: Int64(spec.tv_nsec))
    }

    static func timestamp(seconds: Int64, nanoseconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds + 1) / 86_400 - 1
        let second = Int(seconds - days * 86_400)
        let date = Civil.date(days: days)
        var text = String(format: "%04d-%02d-%02dT%02d:%02d:%02d", date.year, date.month, date.day,
                          second / 3600, second / 60 % 60, second % 60)
        if nanoseconds > 0 {
            var fraction = String(format: "%09lld", nanoseconds)
            while fraction.hasSuffix("0") { fraction.removeLast() }
            text += "." + fraction
        }
        return text + "Z"
    }
}
