#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// A process this program started, with its stdout and stderr in files, watched with `waitpid(WNOHANG)`.
///
/// Shared by the request threads (which ask whether it is still alive after each answer) and the command: the
/// exit status, once reaped, is kept behind a `Mutex`, so the pid is reaped exactly once.
final class ChildProcess: Sendable {
    let name: String
    let pid: pid_t
    let stdoutPath: String
    let stderrPath: String
    private let ended = Mutex<String?>(nil)

    private init(name: String, pid: pid_t, stdoutPath: String, stderrPath: String) {
        self.name = name
        self.pid = pid
        self.stdoutPath = stdoutPath
        self.stderrPath = stderrPath
    }

    /// Starts `executable arguments...` with stdin from /dev/null and stdout/stderr to `<logPrefix>.stdout/.stderr`.
    static func spawn(name: String, executable: String, arguments: [String], logPrefix: String) throws -> ChildProcess {
        let stdoutPath = logPrefix + ".stdout"
        let stderrPath = logPrefix + ".stderr"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard status == 0 else {
            throw LoadGenError.badArgument("cannot start \(executable): \(String(cString: strerror(status)))")
        }
        return ChildProcess(name: name, pid: pid, stdoutPath: stdoutPath, stderrPath: stderrPath)
    }

    /// Nil while the process runs; once it has ended, how (`exit status 1`, `killed by signal 11 (SIGSEGV)`).
    func exitStatus() -> String? {
        ended.withLock { known in
            if let known { return known }
            var status: Int32 = 0
            let reaped = waitpid(pid, &status, WNOHANG)
            guard reaped == pid else { return nil }
            let low = status & 0x7F
            let text = low == 0 ? "exit status \((status >> 8) & 0xFF)"
                : "killed by signal \(low) (\(strsignal(low).map { String(cString: $0) } ?? "?"))"
            known = text
            return text
        }
    }

    var isRunning: Bool { exitStatus() == nil }

    /// Waits (polling every 50 ms, up to `timeout`) for a line of stdout containing `marker`; returns the port
    /// after its last `:`. Nil when the process ended or the time ran out first.
    func waitForListening(marker: String, timeout: Duration) async -> Int? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOfFile: stdoutPath, encoding: .utf8) {
                for line in text.split(separator: "\n") where line.contains(marker) {
                    if let colon = line.lastIndex(of: ":"), let port = Int(line[line.index(after: colon)...]
                        .trimmingCharacters(in: .whitespaces)) {
                        return port
                    }
                }
            }
            if !isRunning { return nil }
            // A bounded poll of a file the child writes: there is no event to await.
            try? await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    /// Sends SIGTERM and waits up to `timeout` for the process to end. Returns how long it took and how it ended,
    /// or nil (and then sends SIGKILL) when it did not end in time.
    func terminate(timeout: Duration) async -> (Duration, String)? {
        if let status = exitStatus() { return (.zero, "had already ended: " + status) }
        let started = ContinuousClock.now
        kill(pid, SIGTERM)
        while ContinuousClock.now - started < timeout {
            if let status = exitStatus() { return (ContinuousClock.now - started, status) }
            // Bounded poll: waitpid(WNOHANG) has nothing to await.
            try? await Task.sleep(for: .milliseconds(20))
        }
        kill(pid, SIGKILL)
        _ = await terminateAfterKill()
        return nil
    }

    private func terminateAfterKill() async -> String? {
        for _ in 0..<100 {
            if let status = exitStatus() { return status }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    /// The last `lines` lines of stderr.
    func stderrTail(lines: Int = 15) -> String {
        guard let data = FileManager.default.contents(atPath: stderrPath) else { return "" }
        let text = String(decoding: data.suffix(64 * 1024), as: UTF8.self)
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// Resets the peak RSS (`VmHWM`) to the current RSS by writing 5 to `/proc/<pid>/clear_refs`. False when the
    /// kernel does not allow it (then the peak is since the start).
    func resetPeakRSS() -> Bool {
        ProcessSample.resetPeakRSS(pid: Int(pid))
    }
}
