#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CPU time and memory of one process at one moment, read from `/proc/<pid>/stat` and `/proc/<pid>/status`.
///
/// CPU cores used over an interval is `(b.cpuSeconds - a.cpuSeconds) / wallSeconds`.
struct ProcessSample: Sendable {
    /// The process id (`self` is read as `/proc/self`).
    var pid: String
    /// utime + stime, in seconds (clock ticks / `sysconf(_SC_CLK_TCK)`).
    var cpuSeconds: Double
    /// Peak resident set size (`VmHWM`), bytes.
    var peakRSSBytes: Int
    /// Current resident set size (`VmRSS`), bytes.
    var rssBytes: Int

    /// Resets process `pid`'s peak RSS (`VmHWM`) to its current RSS by writing 5 to `/proc/<pid>/clear_refs`.
    /// False when the kernel does not allow it (then the peak is since the start).
    static func resetPeakRSS(pid: Int) -> Bool {
        let fd = open("/proc/\(pid)/clear_refs", O_WRONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return write(fd, "5", 1) == 1
    }

    /// Reads the current figures of process `pid` (`"self"` for this process).
    static func capture(pid: String) throws -> ProcessSample {
        let statPath = "/proc/\(pid)/stat"
        let stat = try readSmallFile(statPath)
        // The command name (field 2) is in parentheses and may contain spaces or ')': fields resume after the last ')'.
        guard let close = stat.lastIndex(of: ")") else {
            throw LoadGenError.procUnavailable(path: statPath, reason: "no ')' after the command name")
        }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After ')' come field 3 (state) onwards: utime is field 14, stime field 15 -> indices 11 and 12 here.
        guard fields.count > 12, let utime = Double(fields[11]), let stime = Double(fields[12]) else {
            throw LoadGenError.procUnavailable(
                path: statPath, reason: "expected utime/stime in fields 14 and 15, got \(fields.count + 2) fields")
        }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let statusPath = "/proc/\(pid)/status"
        let status = try readSmallFile(statusPath)
        var peak = 0
        var rss = 0
        for line in status.split(separator: "\n") {
            if line.hasPrefix("VmHWM:") { peak = kilobytes(line) * 1024 }
            if line.hasPrefix("VmRSS:") { rss = kilobytes(line) * 1024 }
        }
        return ProcessSample(pid: pid, cpuSeconds: (utime + stime) / (ticks > 0 ? ticks : 100), peakRSSBytes: peak,
                             rssBytes: rss)
    }

    /// `VmHWM:\t  123456 kB` -> 123456.
    private static func kilobytes(_ line: Substring) -> Int {
        let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        return parts.count >= 2 ? Int(parts[1]) ?? 0 : 0
    }

    private static func readSmallFile(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw LoadGenError.procUnavailable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 { throw LoadGenError.procUnavailable(path: path, reason: String(cString: strerror(errno))) }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The wall clock, in nanoseconds since the Unix epoch (for log timestamps; intervals use `ContinuousClock`).
func wallClockNanos() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
}
