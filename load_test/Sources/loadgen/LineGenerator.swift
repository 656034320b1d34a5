import Wire

/// Makes realistic logfmt access-log lines of an exact length, like
/// `ts=2026-11-24T14:00:00.123Z level=info caller=api.go:128 msg="request served" method=GET path=/api/v1/users/4821
/// status=200 duration_ms=12.7 bytes=5123 user=alice trace_id=7f3a…`, with varying values. Deterministic for a seed.
///
/// With `--line-format json` the same fields make a JSON object, `{"ts":"…","level":"info",…,"trace_id":"7f3a…",
/// "marker":"` followed by the record marker and `"}` (the pool appends those two).
///
/// Used only while building request pools, before the clock starts, so it favours clarity over speed.
struct LineGenerator {
    /// Every line is exactly this many bytes (the trailing `trace_id` grows or the line is cut to fit; JSON lines
    /// are never cut, so they are at least ``LineFormat/minimumJSONBytes`` long).
    let lineBytes: Int
    let format: LineFormat
    private var random: SplitMix64
    private var clockMillis: Int64

    private static let levels = ["info", "info", "info", "info", "info", "info", "debug", "debug", "warn", "error"]
    private static let callers = ["api.go:128", "handler.go:57", "db.go:311", "cache.go:92", "auth.go:44", "router.go:210"]
    private static let messages = [
        "request served", "request served", "request served", "cache miss", "slow query", "token refreshed",
        "upstream retry",
    ]
    private static let methods = ["GET", "GET", "GET", "POST", "PUT", "DELETE"]
    private static let resources = ["users", "orders", "invoices", "products", "sessions", "carts", "search"]
    private static let statuses = [200, 200, 200, 200, 201, 204, 304, 400, 404, 500]
    private static let users = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
    private static let hex = Array("0123456789abcdef".utf8)

    init(lineBytes: Int, seed: UInt64, startMillis: Int64, format: LineFormat = .logfmt) {
        self.lineBytes = lineBytes
        self.format = format
        self.random = SplitMix64(seed: seed)
        self.clockMillis = startMillis
    }

    /// Appends one line of exactly ``lineBytes`` bytes to `arena`; `needle` puts the word `needle` in its message.
    mutating func appendLine(to arena: inout [UInt8], needle: Bool) {
        appendLine(to: &arena, needle: needle, bytes: lineBytes)
    }

    /// Appends one line of exactly `bytes` bytes (0 or more) to `arena`: the logfmt text, cut to fit or padded with
    /// the hex digits of a longer `trace_id`.
    mutating func appendLine(to arena: inout [UInt8], needle: Bool, bytes lineBytes: Int) {
        clockMillis += Int64(random.next(below: 7))
        let status = Self.statuses[random.next(below: Self.statuses.count)]
        let message = needle ? "needle found in haystack" : Self.messages[random.next(below: Self.messages.count)]
        let durationTenths = random.next(below: 30_000)
        let level = Self.levels[random.next(below: Self.levels.count)]
        let caller = Self.callers[random.next(below: Self.callers.count)]
        let method = Self.methods[random.next(below: Self.methods.count)]
        let path = "/api/v1/\(Self.resources[random.next(below: Self.resources.count)])/\(random.next(below: 100_000))"
        let duration = "\(durationTenths / 10).\(durationTenths % 10)"
        let bytes = random.next(below: 65_536)
        let user = Self.users[random.next(below: Self.users.count)]
        let start = arena.count
        if format == .json {
            var line = "{\"ts\":\"\(Self.rfc3339(millis: clockMillis))\",\"level\":\"\(level)\",\"caller\":\"\(caller)\""
            line += ",\"msg\":\"\(message)\",\"method\":\"\(method)\",\"path\":\"\(path)\",\"status\":\(status)"
            line += ",\"duration_ms\":\(duration),\"bytes\":\(bytes),\"user\":\"\(user)\",\"trace_id\":\""
            arena.append(contentsOf: line.utf8)
            let tail = Array(#"","marker":""#.utf8)
            repeat {
                arena.append(Self.hex[random.next(below: 16)])
            } while arena.count - start + tail.count < lineBytes
            arena.append(contentsOf: tail)
            return
        }
        var line = "ts=\(Self.rfc3339(millis: clockMillis)) level=\(level) caller=\(caller) msg=\"\(message)\""
        line += " method=\(method) path=\(path) status=\(status) duration_ms=\(duration) bytes=\(bytes) user=\(user)"
        line += " trace_id="
        arena.append(contentsOf: line.utf8)
        if arena.count - start > lineBytes {
            arena.removeLast(arena.count - start - lineBytes)
        }
        while arena.count - start < lineBytes {
            arena.append(Self.hex[random.next(below: 16)])
        }
    }

    /// `2026-11-24T14:00:00.123Z` from Unix milliseconds (proleptic Gregorian, UTC).
    static func rfc3339(millis: Int64) -> String {
        let days = millis >= 0 ? millis / 86_400_000 : (millis - 86_399_999) / 86_400_000
        let msOfDay = millis - days * 86_400_000
        let (year, month, day) = Civil.date(days: days)
        func pad(_ value: some BinaryInteger, _ width: Int) -> String {
            var text = String(value)
            while text.count < width { text = "0" + text }
            return text
        }
        let hour = msOfDay / 3_600_000, minute = msOfDay / 60_000 % 60, second = msOfDay / 1000 % 60, ms = msOfDay % 1000
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))"
            + ".\(pad(ms, 3))Z"
    }
}

/// The shape of generated lines: logfmt (an access log, as most services write) or the same fields as JSON.
enum LineFormat: String, Sendable, CaseIterable {
    case logfmt
    case json

    /// Bytes that close a line after its record marker.
    var suffix: [UInt8] { self == .json ? Array(#""}"#.utf8) : [] }

    /// The shortest JSON line of all fields (with the longest values) and the marker: shorter sizes are raised to it.
    static let minimumJSONBytes = 320
}
