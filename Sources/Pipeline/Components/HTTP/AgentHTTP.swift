#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What the agent's HTTP clients (`loki.write`, `otelcol.exporter.otlphttp`) share.
public enum AgentHTTP {
    /// Sent as `User-Agent` with every request.
    public static let userAgent = "Estuary/0.1.0"

    /// The wall clock in whole seconds since the Unix epoch, for `Retry-After` dates.
    static func wallClockSeconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec)
    }
}
