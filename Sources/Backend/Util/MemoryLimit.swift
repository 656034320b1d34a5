import Foundation

/// The memory this process may use: the cgroup's limit when it has one (a container with `resources.limits.memory`),
/// else the machine's physical memory.
enum MemoryLimit {
    /// The cgroup v2 `memory.max` or cgroup v1 `memory.limit_in_bytes` of this process; nil when unlimited.
    static func cgroup(root: String = "/sys/fs/cgroup") -> Int? {
        for path in [root + "/memory.max", root + "/memory/memory.limit_in_bytes"] {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            // cgroup v2 says "max"; v1 says a number near Int64.max when there is no limit.
            guard let bytes = Int(value), bytes < 1 << 60 else { return nil }
            return bytes
        }
        return nil
    }

    static var physical: Int {
        Int(sysconf(Int32(_SC_PHYS_PAGES))) &* Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// The default `ingester.memory_ceiling`: half of the cgroup limit, or half of physical memory without one. The
    /// other half is left to what the ceiling does not count: request bodies in flight, queries, the runtime.
    static var defaultIngesterCeiling: Int {
        (cgroup() ?? physical) / 2
    }
}
