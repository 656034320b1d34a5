import Foundation
import Synchronization

/// Why the write-ahead log could not take records. Nothing of the failed write stays in the log.
struct WALError: Error, Equatable, CustomStringConvertible {
    enum Kind: Equatable {
        /// The disk is full (ENOSPC, EDQUOT): retry once space returns.
        case diskFull
        case io
    }

    let kind: Kind
    let message: String
    var description: String { message }
}

/// When the log forces what it wrote to the disk. Either way a push is acknowledged only after its records were
/// handed to the kernel with `write(2)`, which a crash of the process (`kill -9`, an OOM kill) cannot undo.
public enum WALSyncPolicy: String, Sendable, Equatable, CaseIterable {
    /// `fdatasync` when a segment is finished and at each checkpoint: a power loss or kernel crash can lose what was
    /// written since (the kernel writes dirty pages out within seconds).
    case segment
    /// `fdatasync` after every group commit, before the pushes in it are acknowledged: survives a power loss, at the
    /// cost of a disk flush per group.
    case always
}

/// The segment files of a write-ahead log in one directory, `00000000`, `00000001`, ..., written in order.
///
/// Writing is two steps so that records keep the order of the appends they describe: `enqueue` (synchronous, cheap,
/// called under the lock that ordered the append) adds frames to the group being filled and returns it; `commit`
/// waits until that group is written. The first committer to find no write in progress writes the open group with
/// one `write(2)` (and one `fdatasync` with ``WALSyncPolicy/always``) and keeps going while more groups filled
/// meanwhile; the others wait for their group. A write that fails is cut back off the segment, so the log never
/// holds part of a group.
final class WALSegments: Sendable {
    let directory: String
    let segmentSize: Int
    let sync: WALSyncPolicy

    /// Frames logged together, and what became of them.
    final class Group: Sendable {
        fileprivate struct State {
            var outcome: Result<Int, WALError>?
            var waiters: [CheckedContinuation<Result<Int, WALError>, Never>] = []
        }
        fileprivate let state = Mutex(State())

        fileprivate func finish(_ outcome: Result<Int, WALError>) {
            let waiters = state.withLock { state in
                state.outcome = outcome
                defer { state.waiters.removeAll() }
                return state.waiters
            }
            for waiter in waiters { waiter.resume(returning: outcome) }
        }
    }

    private struct Pending {
        var frames = ByteWriter()
        var records = 0
        var group = Group()
        var writing = false
    }

    private struct File {
        var number: Int
        var fd: Int32
        var size: Int
    }

    private let pending = Mutex(Pending())
    /// The open segment; touched only by the caller that is writing a group (or by `cut`, under the same rule).
    private let file: Mutex<File>
    /// Called after each group write with the records and bytes it held (metrics).
    private let written: @Sendable (_ records: Int, _ bytes: Int) -> Void

    /// Opens the log in `directory` (created if missing) for appending: a new segment after the last one there.
    init(
        directory: String, segmentSize: Int = 128 << 20, sync: WALSyncPolicy = .segment,
        written: @escaping @Sendable (_ records: Int, _ bytes: Int) -> Void = { _, _ in }
    ) throws(WALError) {
        self.directory = directory
        self.segmentSize = segmentSize
        self.sync = sync
        self.written = written
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw WALError(kind: .io, message: "cannot create the WAL directory \(directory): \(error.localizedDescription)")
        }
        let next = (Self.segmentNumbers(in: directory).last ?? -1) + 1
        file = Mutex(try Self.create(directory, next))
    }

    deinit {
        file.withLock { _ = Glibc.close($0.fd) }
    }

    /// The numbers of the segment files in `directory`, in order.
    static func segmentNumbers(in directory: String) -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name in name.count == 8 && name.allSatisfy(\.isASCII) ? Int(name) : nil }.sorted()
    }

    static func path(_ directory: String, _ number: Int) -> String {
        directory + "/" + digits(number)
    }

    /// `number` as eight digits, as segment and checkpoint names spell it.
    static func digits(_ number: Int) -> String {
        let digits = String(number)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    private static func create(_ directory: String, _ number: Int) throws(WALError) -> File {
        let path = path(directory, number)
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("create \(path)") }
        return File(number: number, fd: fd, size: 0)
    }

    static func failure(_ operation: String) -> WALError {
        let code = Glibc.errno
        let kind: WALError.Kind = code == ENOSPC || code == EDQUOT ? .diskFull : .io
        return WALError(kind: kind, message: "WAL: \(operation) failed: \(String(cString: strerror(code)))")
    }

    /// The number of the segment being written.
    var currentSegment: Int { file.withLock { $0.number } }

    // MARK: Writing

    /// Adds `frames` (whole frames, `records` of them) to the group being filled and returns the group, for
    /// `commit`. Cheap: copies the bytes under a lock.
    func enqueue(_ frames: borrowing ByteWriter, records: Int) -> Group {
        pending.withLock { state in
            state.frames.append(frames.bytes)
            state.records += records
            return state.group
        }
    }

    /// Waits until `group` is in the log (synced as `sync` says), or throws with nothing of it in it.
    func commit(_ group: Group) async throws(WALError) {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Int, WALError>, Never>) in
            let done = group.state.withLock { state -> Result<Int, WALError>? in
                if let outcome = state.outcome { return outcome }
                state.waiters.append(continuation)
                return nil
            }
            if let done {
                continuation.resume(returning: done)
                return
            }
            let lead = pending.withLock { state -> Bool in
                if state.writing { return false }
                state.writing = true
                return true
            }
            if lead { writeGroups() }
        }
        _ = try result.get()
    }

    /// Writes `records` and returns once they are in the log.
    func log(_ records: [WALRecord]) async throws(WALError) {
        var frames = ByteWriter()
        for record in records { WALFrame.append(record, to: &frames) }
        try await commit(enqueue(frames, records: records.count))
    }

    /// Writes the open group, group after group, until none is left; finishes each.
    private func writeGroups() {
        while true {
            let taken = pending.withLock { state -> (ByteWriter, Int, Group)? in
                if state.records == 0 {
                    state.writing = false
                    return nil
                }
                defer { state = Pending(writing: true) }
                return (state.frames, state.records, state.group)
            }
            guard let (frames, records, group) = taken else { return }
            let result = file.withLock { file in
                Result { () throws(WALError) -> Int in try write(frames.bytes, to: &file); return frames.count }
            }
            if case .success(let bytes) = result { written(records, bytes) }
            group.finish(result)
        }
    }

    private func write(_ bytes: [UInt8], to file: inout File) throws(WALError) {
        if file.size > 0 && file.size + bytes.count > segmentSize { try startSegment(after: &file) }
        let start = file.size
        var written = 0
        let failed: WALError? = bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let count = Glibc.write(file.fd, buffer.baseAddress! + written, buffer.count - written)
                if count < 0 {
                    if Glibc.errno == EINTR { continue }
                    return Self.failure("write to segment \(file.number)")
                }
                written += count
            }
            return nil
        }
        if let failed {
            // Nothing of a failed group may stay: a later group would follow a torn frame, which replay stops at.
            if written > 0 { _ = ftruncate(file.fd, off_t(start)) }
            _ = lseek(file.fd, off_t(start), SEEK_SET)
            throw failed
        }
        file.size += bytes.count
        if sync == .always, fdatasync(file.fd) != 0 { throw Self.failure("fdatasync of segment \(file.number)") }
    }

    private func startSegment(after file: inout File) throws(WALError) {
        if fdatasync(file.fd) != 0 { throw Self.failure("fdatasync of segment \(file.number)") }
        let next = try Self.create(directory, file.number + 1)
        Glibc.close(file.fd)
        file = next
    }

    /// Finishes the segment being written (synced) and starts the next, so that a checkpoint taken now covers every
    /// segment up to the one returned.
    func cut() throws(WALError) -> Int {
        try file.withLock { file throws(WALError) in
            let finished = file.number
            try startSegment(after: &file)
            return finished
        }
    }

    /// Deletes the segments numbered up to `last`.
    func removeSegments(through last: Int) {
        for number in Self.segmentNumbers(in: directory) where number <= last {
            unlink(Self.path(directory, number))
        }
    }

    // MARK: Reading

    /// What reading the segments of a directory found.
    struct ReplayOutcome: Equatable {
        var segments = 0
        var records = 0
        var bytes = 0
        /// Where replay stopped early: the segment, and the damage in it. The segment was cut back to its last
        /// whole frame and the segments after it were removed, so that the log continues from there.
        var damage: (segment: Int, damage: WALFrame.Damage)?

        static func == (a: ReplayOutcome, b: ReplayOutcome) -> Bool {
            a.segments == b.segments && a.records == b.records && a.bytes == b.bytes
                && a.damage?.segment == b.damage?.segment && a.damage?.damage == b.damage?.damage
        }
    }

    /// Reads every record of the segments in `directory` numbered `from` on, in order, handing each to `body`, and
    /// calls `afterSegment` after each segment. At the first damaged frame (a torn write, garbage) it stops: that
    /// segment is cut back to its last whole frame and later segments are deleted, and the outcome says where.
    /// Call before opening the directory for writing.
    static func replay(
        _ directory: String, from first: Int = 0, _ body: (WALRecord) throws -> Void,
        afterSegment: () async -> Void = {}
    ) async throws -> ReplayOutcome {
        var outcome = ReplayOutcome()
        let numbers = segmentNumbers(in: directory).filter { $0 >= first }
        for (index, number) in numbers.enumerated() {
            let path = path(directory, number)
            let data = try contents(path)
            outcome.segments += 1
            outcome.bytes += data.count
            let damage = try data.withUnsafeBytes { bytes in
                try WALFrame.read(bytes) { record in
                    outcome.records += 1
                    try body(record)
                }
            }
            if let damage {
                outcome.damage = (number, damage)
                guard truncate(path, off_t(damage.offset)) == 0 else { throw failure("cutting back \(path)") }
                for later in numbers[(index + 1)...] { unlink(self.path(directory, later)) }
                break
            }
            await afterSegment()
        }
        return outcome
    }

    /// A quick pass over the same segments as `replay` for the `flushed` records only; changes nothing on disk.
    static func scan(_ directory: String, from first: Int = 0, _ body: (WALRecord) throws -> Void) throws {
        for number in segmentNumbers(in: directory) where number >= first {
            let damage = try contents(path(directory, number)).withUnsafeBytes { bytes in
                try WALFrame.read(bytes, only: WALFrame.flushedType, body)
            }
            if damage != nil { return }
        }
    }

    private static func contents(_ path: String) throws(WALError) -> Data {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw WALError(kind: .io, message: "WAL: cannot read segment \(path)")
        }
        return data
    }
}
