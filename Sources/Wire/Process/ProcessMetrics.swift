#if canImport(Glibc)
import Glibc
#endif

/// The `process_*` metrics every Prometheus client library exports about its own process, read from `/proc` at
/// scrape time, so deployments get CPU and memory columns from the agent's and the backend's `/metrics` alike.
/// Names, help texts and types as the Go client's process collector writes them.
public enum ProcessMetrics {
    public struct Sample: Sendable, Equatable {
        public var cpuSeconds: Double
        public var residentBytes: Int
        public var virtualBytes: Int
        public var startTimeSeconds: Double
        public var openFileDescriptors: Int
        public var maxFileDescriptors: Int
    }

    /// The fields of `/proc/<pid>/stat` the metrics need, in clock ticks and bytes/pages as the kernel writes them.
    public struct Stat: Sendable, Equatable {
        public var userTicks: UInt64
        public var systemTicks: UInt64
        public var startTicks: UInt64
        public var virtualBytes: UInt64
        public var residentPages: UInt64
    }

    /// Parses `/proc/<pid>/stat`: the command name in parentheses may itself hold spaces and parentheses, so the
    /// fields are counted from the last `)`. Nil for text that is not such a line.
    public static func parseStat(_ text: String) -> Stat? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        // After the name: state is field 3 (index 0 here); utime 14, stime 15, starttime 22, vsize 23, rss 24.
        guard fields.count >= 22,
              let user = UInt64(fields[11]), let system = UInt64(fields[12]), let start = UInt64(fields[19]),
              let virtual = UInt64(fields[20]), let resident = Int64(fields[21])
        else { return nil }
        return Stat(userTicks: user, systemTicks: system, startTicks: start, virtualBytes: virtual,
                    residentPages: UInt64(max(resident, 0)))
    }

    /// `btime` of `/proc/stat`: when the machine booted, in Unix seconds.
    public static func parseBootTime(_ text: String) -> UInt64? {
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return UInt64(line.dropFirst(6).trimmingPrefix(while: { $0 == " " }))
        }
        return nil
    }

    /// This process now; nil where `/proc` cannot be read.
    public static func sample() -> Sample? {
        guard let statText = readFile("/proc/self/stat"), let stat = parseStat(statText),
              let bootTime = readFile("/proc/stat").flatMap(parseBootTime)
        else { return nil }
        let ticks = Double(max(sysconf(Int32(_SC_CLK_TCK)), 1))
        let pageSize = max(sysconf(Int32(_SC_PAGESIZE)), 1)
        var limit = rlimit()
        let maxFDs = getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0 ? Int(clamping: limit.rlim_cur) : -1
        return Sample(
            cpuSeconds: Double(stat.userTicks + stat.systemTicks) / ticks,
            residentBytes: Int(clamping: stat.residentPages) * pageSize,
            virtualBytes: Int(clamping: stat.virtualBytes),
            startTimeSeconds: Double(bootTime) + Double(stat.startTicks) / ticks,
            openFileDescriptors: countOpenFileDescriptors(),
            maxFileDescriptors: maxFDs)
    }

    /// Appends the metrics in the Prometheus text format (nothing when `/proc` cannot be read).
    public static func emit(into buffer: inout [UInt8]) {
        guard let sample = sample() else { return }
        emit(sample, into: &buffer)
    }

    static func emit(_ sample: Sample, into buffer: inout [UInt8]) {
        func metric(_ name: String, _ type: String, _ help: String, _ value: String) {
            buffer.append(contentsOf: "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n".utf8)
        }
        metric("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
               "\(sample.cpuSeconds)")
        metric("process_max_fds", "gauge", "Maximum number of open file descriptors.", "\(sample.maxFileDescriptors)")
        metric("process_open_fds", "gauge", "Number of open file descriptors.", "\(sample.openFileDescriptors)")
        metric("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", "\(sample.residentBytes)")
        metric("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
               "\(sample.startTimeSeconds)")
        metric("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", "\(sample.virtualBytes)")
    }

    private static let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)

    private static func countOpenFileDescriptors() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return -1 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { $0.first }
            if name != UInt8(ascii: ".") { count += 1 }
        }
        return count - 1   // the descriptor opendir itself holds
    }

    private static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > 1 << 20 { break }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
