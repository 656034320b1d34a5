import Wire

/// The parameters of `POST /loki/api/v1/delete`, read and checked as Loki's `deletion.DeleteRequestHandler`
/// does, with its messages (each answered 400).
struct DeleteRequestParameters: Sendable, Equatable {
    var query: String
    /// Milliseconds, both inclusive.
    var start: Int64
    var end: Int64

    /// Why the parameters were refused: Loki's message, answered with 400.
    struct Invalid: Error, Equatable, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// - `now`: milliseconds; the default `end`, and the latest `end` allowed.
    /// - `maxInterval`: `compactor.delete_max_interval` in nanoseconds (0: no bound).
    static func parse(
        query: String?, start: String?, end: String?, maxInterval: String?, now: Int64, maxIntervalLimit: Int64
    ) throws(Invalid) -> DeleteRequestParameters {
        guard let query, !query.isEmpty else { throw Invalid(message: "query not set") }
        let selection: LogSelection
        do {
            selection = try LogSelection.parse(query)
        } catch {
            throw Invalid(message: "invalid query expression: \(error)")
        }
        guard let start, !start.isEmpty else { throw Invalid(message: "start time not set") }
        guard let startTime = parseTime(start, now: now) else {
            throw Invalid(message: "invalid start time: require unix seconds or RFC3339 format")
        }
        guard let endTime = parseTime(end ?? "", now: now) else {
            throw Invalid(message: "invalid end time: require unix seconds or RFC3339 format")
        }
        guard endTime <= now else { throw Invalid(message: "deletes in the future are not allowed") }
        guard startTime <= endTime else { throw Invalid(message: "start time can't be greater than end time") }
        // Loki shards a request with line filters into pieces of at most `max_interval`, and checks that value
        // first; Estuary keeps one request (see docs/configuration.md) but refuses what Loki refuses.
        if !selection.lineFilters.isEmpty {
            let span = (endTime - startTime).saturatingMultiplied(by: 1_000_000)
            if let text = maxInterval, !text.isEmpty {
                guard case .success(let interval) = DurationText.parse(text), interval >= 1_000_000_000 else {
                    throw Invalid(message: "invalid max_interval: valid time units are 's', 'm', 'h'")
                }
                if maxIntervalLimit != 0 && interval > maxIntervalLimit {
                    throw Invalid(message: "max_interval can't be greater than \(DurationText.goString(maxIntervalLimit))")
                }
                if interval > span {
                    throw Invalid(message:
                        "max_interval can't be greater than the interval to be deleted (\(DurationText.goString(span)))")
                }
            } else if span < 1_000_000_000 {
                throw Invalid(message: "difference between start time and end time must be at least one second")
            }
        }
        return DeleteRequestParameters(query: query, start: startTime, end: endTime)
    }

    /// Loki's `parseTime` for delete requests, in milliseconds: empty is `now`; RFC 3339; else exactly ten
    /// characters read as (possibly fractional) Unix seconds. Nil for anything else, and for instants 64 bits of
    /// nanoseconds cannot hold (Go would wrap them around).
    static func parseTime(_ text: String, now: Int64) -> Int64? {
        if text.isEmpty { return now }
        if let nanoseconds = RFC3339Time.parse(text) { return GoTime.floorDivision(nanoseconds, 1_000_000).quotient }
        guard text.utf8.count == 10, let seconds = Double(text), seconds.isFinite else { return nil }
        // Loki's `util.ParseTime`: Go's math.Modf, the fraction rounded to milliseconds, then time.Unix.
        let whole = seconds.rounded(.towardZero)
        let fraction = ((seconds - whole) * 1000).rounded() / 1000
        guard let wholeSeconds = Int64(checkedTruncating: whole),
              let nanos = Int64(checkedTruncating: fraction * 1e9),
              let total = wholeSeconds.checkedMultiplied(by: 1_000_000_000)?.checkedAdding(nanos)
        else { return nil }
        return GoTime.floorDivision(total, 1_000_000).quotient
    }
}
