/// Samples the backend process (when a pid was given) before and after a measured interval.
struct BackendMonitor: Sendable {
    let pid: Int?

    /// Reads the backend's figures now; nil without a pid.
    func sample() throws -> ProcessSample? {
        guard let pid else { return nil }
        return try ProcessSample.capture(pid: String(pid))
    }

    /// CPU cores used between two samples over `wallSeconds`.
    static func cores(from before: ProcessSample, to after: ProcessSample, wallSeconds: Double) -> Double {
        wallSeconds > 0 ? (after.cpuSeconds - before.cpuSeconds) / wallSeconds : 0
    }
}
