import Foundation
import Glibc
import Synchronization

/// Wakes the read loop when files change in the watched directories, through inotify. Where inotify is not
/// available (or runs out of watches) the read loop still finds every change by polling; this only shortens the
/// wait.
///
/// A thread of its own blocks in `poll(2)` on the inotify descriptor (with a timeout, to notice `stop()`), records
/// which directories changed and signals the loop's ``WakeUp``.
final class DirectoryWatcher: Sendable {
    private struct State {
        var watches: [Int32: String] = [:]
        var byDirectory: [String: Int32] = [:]
        var changed: Set<String> = []
        var stopped = false
    }

    private let fd: Int32
    private let state = Mutex(State())
    private let wakeUp: WakeUp

    /// Nil when the kernel gives no inotify instance (then the loop polls).
    init?(wakeUp: WakeUp) {
        let descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard descriptor >= 0 else { return nil }
        fd = descriptor
        self.wakeUp = wakeUp
        let thread = Thread { [self] in self.loop() }
        thread.start()
    }

    /// Watches exactly `directories` from now on. Directories that do not exist yet are retried on the next call.
    func watch(_ directories: Set<String>) {
        state.withLock { state in
            for (directory, wd) in state.byDirectory where !directories.contains(directory) {
                inotify_rm_watch(fd, wd)
                state.byDirectory[directory] = nil
                state.watches[wd] = nil
            }
            let mask = UInt32(IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CLOSE_WRITE)
            for directory in directories where state.byDirectory[directory] == nil {
                let wd = inotify_add_watch(fd, directory, mask)
                guard wd >= 0 else { continue }
                state.byDirectory[directory] = wd
                state.watches[wd] = directory
            }
        }
    }

    /// The directories that changed since the last call.
    func takeChanged() -> Set<String> {
        state.withLock { state in
            defer { state.changed.removeAll() }
            return state.changed
        }
    }

    func stop() {
        state.withLock { $0.stopped = true }
    }

    private func loop() {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !state.withLock({ $0.stopped }) {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = Glibc.poll(&poller, 1, 200)
            guard ready > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { continue }
            var directories: [Int32] = []
            buffer.withUnsafeBytes { raw in
                var offset = 0
                let header = MemoryLayout<inotify_event>.size
                while offset + header <= count {
                    let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                    directories.append(event.wd)
                    offset += header + Int(event.len)
                }
            }
            state.withLock { state in
                for wd in directories {
                    if let directory = state.watches[wd] { state.changed.insert(directory) }
                }
            }
            wakeUp.signal()
            // A busy file reports every write; the read loop batches for ``LokiSourceFile/minimumPassInterval``
            // anyway, so let the events of the next few milliseconds collect in the kernel (which merges repeats).
            usleep(5_000)  // not-a-wait: lets events coalesce on this thread of its own
        }
        Glibc.close(fd)
    }
}
