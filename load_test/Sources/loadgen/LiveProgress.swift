import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Interim figures while a run goes: on a terminal one line redrawn in place (rate, errors, elapsed and remaining
/// time), otherwise a plain line every `every`, for logs.
enum LiveProgress {
    /// Prints until cancelled. `count` and `errors` read the run's shared counters; `total` is the planned duration
    /// (nil when the run ends by count).
    static func run(
        every: Duration, start: ContinuousClock.Instant, total: Duration?, unit: String, errorsLabel: String,
        count: @Sendable () -> Int, errors: @Sendable () -> Int
    ) async {
        let clock = ContinuousClock()
        let terminal = isatty(STDERR_FILENO) != 0
        // Redraw often on a terminal; the planned interval applies to plain lines.
        let tick = terminal ? min(every, .seconds(1)) : every
        var last = (count: 0, time: start)
        while !Task.isCancelled {
            do { try await clock.sleep(for: tick) } catch { break }
            let now = clock.now
            let done = count()
            let rate = Double(done - last.count) / max((now - last.time).seconds, 1e-9)
            last = (done, now)
            let line = text(elapsed: now - start, total: total, rate: rate, unit: unit,
                            errorsLabel: errorsLabel, errors: errors())
            write(terminal ? "\r\u{1B}[K" + line : line + "\n")
        }
        if terminal { write("\n") }
    }

    /// `t=12s/30s  52.1k records/s  refused=3  18s left`.
    static func text(elapsed: Duration, total: Duration?, rate: Double, unit: String, errorsLabel: String,
                     errors: Int) -> String {
        var line = "  t=\(String(fixed: elapsed.seconds, decimals: 0))s"
        if let total { line += "/\(String(fixed: total.seconds, decimals: 0))s" }
        line += "  \(Report.count(rate)) \(unit)/s  \(errorsLabel)=\(errors)"
        if let total { line += "  \(String(fixed: max(0, (total - elapsed).seconds), decimals: 0))s left" }
        return line
    }

    private static func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
