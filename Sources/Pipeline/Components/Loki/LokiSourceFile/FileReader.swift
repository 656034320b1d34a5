import Glibc
import Wire

/// Tails one file of one target, following it across rotations: by rename (the old file is read to its end, then
/// any file rotated after it that is still next to the path, oldest first, then the new file at the path from its
/// start), by copy-truncate (a file shorter than the read offset is read again from its start) and deletion (read
/// to the end, then closed until a file appears at the path again).
///
/// Owned by the component's read loop and used by it alone.
final class FileReader {
    let key: PositionsFile.Key
    let path: String
    /// The directory holding the file (what inotify reports changes of).
    let directory: String
    let labels: LabelSet
    private let configuredEncoding: TextEncoding
    private var encoding: TextEncoding
    private var fd: Int32 = -1
    private(set) var identity: FileIdentity?
    /// The next byte of the open file to read.
    private var readOffset: Int64 = 0
    /// The bytes of a line whose newline has not been written yet.
    private var pending: [UInt8] = []
    /// Where reads land: one buffer shared by the readers of one read loop, so that a reader holds only its
    /// partial line between reads, not a buffer of the read budget's size (100 tailed files would hold 25 MiB).
    private let buffer: ReadBuffer
    /// Where to start when the file is first opened (from the positions file, or the end with `tail_from_end`).
    private var startOffset: StartOffset
    private var lastTimestamp: Int64 = 0
    private(set) var fileSize: Int64 = 0
    private(set) var linesRead = 0
    private(set) var encodingFailures = 0
    /// The last bytes read (up to ``fingerprintBytes``): how the copy of a copy-truncated file is recognised.
    private var fingerprint: [UInt8] = []
    /// When the path was first seen to name another file (or none) while this one was at its end.
    private var movedOnSince: ContinuousClock.Instant?

    enum StartOffset {
        case offset(Int64, identity: FileIdentity?)
        case end
    }

    /// The offset up to which every line was read: a restart from here repeats no line and skips none.
    var committedOffset: Int64 { readOffset - Int64(pending.count) }
    var isOpen: Bool { fd >= 0 }

    /// How a compressed file is read: whole, once it has not changed for `initialDelay`, and again from where it
    /// was left when it grows (a log compressed as it is written, in `gz` or `z` (zlib) format).
    struct Decompression: Sendable, Equatable {
        enum Format: String, Sendable, CaseIterable {
            case gz
            case z
        }

        var format: Format
        var initialDelay: Duration
        /// The most a file may hold once decompressed; a larger one is an encoding failure.
        static let maxBytes = 1 << 30
    }

    private let decompression: Decompression?
    /// The compressed file last decompressed: read again only when it changed.
    private var decompressed: (identity: FileIdentity, size: Int64, modified: Int)?

    /// The read buffer the readers of one read loop share (they read one at a time).
    final class ReadBuffer {
        var bytes: [UInt8] = []

        init() {}
    }

    init(
        key: PositionsFile.Key, labels: LabelSet, encoding: TextEncoding, start: StartOffset,
        decompression: Decompression? = nil, buffer: ReadBuffer = ReadBuffer()
    ) {
        self.buffer = buffer
        self.decompression = decompression
        self.key = key
        path = key.path
        let slash = key.path.lastIndex(of: "/")
        directory = slash.map { $0 == key.path.startIndex ? "/" : String(key.path[..<$0]) } ?? "/"
        self.labels = labels
        configuredEncoding = encoding
        self.encoding = encoding
        startOffset = start
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// What one call of ``read(into:budget:now:)`` found.
    enum Progress {
        /// Nothing new; the file is open (or absent) and up to date.
        case idle
        /// Read up to the end of what the file holds now.
        case read
        /// Read as much as the budget allowed (or moved on to a new file): there is more to read at once.
        case more
    }

    /// Reads at most `budget` bytes of new lines into `entries`, switching files when the one at the path was
    /// rotated or removed.
    func read(into entries: inout [LogEntry], budget: Int, now: Int64) -> Progress {
        if let decompression { return readCompressed(decompression, into: &entries, now: now) }
        if fd < 0 && !open() { return .idle }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            close()
            return .idle
        }
        fileSize = Int64(info.st_size)
        if fileSize < readOffset {
            // Truncated (copytruncate): what is there now was written from the start. What was written before the
            // truncation and not read yet is in the copy next to the file, if one was kept: finish it from there.
            if let copy = Self.findCopy(of: path, directory: directory, through: readOffset, fingerprint: fingerprint) {
                let truncated = fd
                fd = copy.fd
                while readOffset < copy.size { readChunk(into: &entries, count: Int(min(copy.size - readOffset, 1 << 20)), now: now) }
                Glibc.close(copy.fd)
                fd = truncated
            }
            flushPending(into: &entries, now: now)
            readOffset = 0
            fingerprint.removeAll(keepingCapacity: true)
        }
        if fileSize > readOffset {
            readChunk(into: &entries, count: Int(min(fileSize - readOffset, Int64(budget))), now: now)
            if movedOnSince != nil { movedOnSince = .now }
            return fileSize > readOffset ? .more : .read
        }
        // At the end of the open file: has the path moved on to another file?
        var current = stat()
        let exists = stat(path, &current) == 0
        if exists, FileIdentity(current) == identity {
            movedOnSince = nil
            return .idle
        }
        // A writer may still append to the old file for a moment (it wrote just before the rename, or has not
        // reopened yet): keep reading it until it has been quiet for `rotationGrace`, then go on to the new one.
        let clock = ContinuousClock.now
        guard let since = movedOnSince else {
            movedOnSince = clock
            return .idle
        }
        if clock - since < Self.rotationGrace { return .idle }
        movedOnSince = nil
        flushPending(into: &entries, now: now)
        close()
        // Rotated more than once since this file was left (the agent was down, or the writer rotates faster than
        // the grace): the files in between are still next to the path; read them before the current one.
        if let finished = identity,
           let next = Self.rotatedAfter(finished, modified: info.st_mtim, near: path, current: exists ? FileIdentity(current) : nil)
        {
            adopt(next.fd, identity: next.identity)
            readOffset = 0
            return .more
        }
        if exists, open(atStart: true) { return .more }
        return .idle
    }

    /// Suffix parts of a rotated name that mark it as compressed or half written (kubelet writes
    /// `0.log.<time>.gz.tmp` while compressing), not text to read.
    static let notText: Set<Substring> = ["gz", "z", "bz2", "xz", "zst", "lz4", "tmp"]

    /// The oldest file rotated after the one with `identity` (last written at `modified`): a regular, uncompressed
    /// `<name>.<suffix>` next to `path`, written later, that is neither that file nor the one at the path now.
    /// Opened for reading.
    static func rotatedAfter(_ identity: FileIdentity, modified: timespec, near path: String, current: FileIdentity?)
        -> (fd: Int32, identity: FileIdentity)?
    {
        guard let slash = path.lastIndex(of: "/") else { return nil }
        let directory = String(path[..<slash])
        let prefix = String(path[path.index(after: slash)...]) + "."
        func later(_ a: timespec, than b: timespec) -> Bool {
            a.tv_sec != b.tv_sec ? a.tv_sec > b.tv_sec : a.tv_nsec > b.tv_nsec
        }
        var oldest: (path: String, modified: timespec, identity: FileIdentity)?
        for name in PathGlob.entries(of: directory)
        where name.hasPrefix(prefix) && !name.dropFirst(prefix.count).split(separator: ".").contains(where: notText.contains) {
            var info = stat()
            let candidate = directory + "/" + name
            guard stat(candidate, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            let found = FileIdentity(info)
            guard found != identity, found != current, later(info.st_mtim, than: modified) else { continue }
            if let best = oldest, !later(best.modified, than: info.st_mtim) { continue }
            oldest = (candidate, info.st_mtim, found)
        }
        guard let oldest else { return nil }
        let fd = Glibc.open(oldest.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var info = stat()
        guard fstat(fd, &info) == 0, FileIdentity(info) == oldest.identity else {
            Glibc.close(fd)
            return nil
        }
        return (fd, oldest.identity)
    }

    /// A compressed file, decompressed whole; its lines from the offset reached before (a position, or the last
    /// read of the same file) to its end.
    private func readCompressed(_ settings: Decompression, into entries: inout [LogEntry], now: Int64) -> Progress {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return .idle }
        let file = (identity: FileIdentity(info), size: Int64(info.st_size), modified: info.st_mtim.tv_sec)
        if let decompressed, decompressed == file { return .idle }
        // Still being written (compressed as it is rotated): wait until it has been left alone for initial_delay.
        if now / 1_000_000_000 - Int64(file.modified) < settings.initialDelay.components.seconds { return .idle }
        decompressed = file
        let compressed = PositionsFile.readBytes(path) ?? []
        let data: [UInt8]
        do {
            data = switch settings.format {
            case .gz: try Gzip.decompress(compressed, maxLength: Decompression.maxBytes)
            case .z: try Deflate.decompress(compressed, maxLength: Decompression.maxBytes)
            }
        } catch {
            encodingFailures += 1
            return .idle
        }
        var start: Int64 = 0
        switch startOffset {
        case .end: start = Int64(data.count)
        case .offset(let offset, let stored):
            if (stored == nil || stored == file.identity) && offset <= Int64(data.count) { start = offset }
        }
        if identity == file.identity, readOffset <= Int64(data.count) { start = readOffset }
        // The last read ended in a line without its newline (sent, as the file looked complete): its newline,
        // written since, ends nothing new.
        if start > 0, start < Int64(data.count), data[Int(start) - 1] != 0x0A, data[Int(start)] == 0x0A { start += 1 }
        startOffset = .offset(0, identity: nil)
        identity = file.identity
        fileSize = file.size
        let unread = Array(data[Int(start)...])
        readOffset = Int64(data.count)
        pending = Array(unread[splitLines(unread, into: &entries, now: now)...])
        flushPending(into: &entries, now: now)
        return .read
    }

    /// How long a rotated or deleted file is still read after its path moved on.
    static let rotationGrace: Duration = .milliseconds(500)

    /// Opens the file at the path. The first open starts where the positions file says (finishing the file the
    /// offset belonged to first, if it was rotated away meanwhile); later opens, after a rotation, at the start.
    @discardableResult
    private func open(atStart: Bool = false) -> Bool {
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            Glibc.close(descriptor)
            return false
        }
        adopt(descriptor, identity: FileIdentity(info))
        if atStart {
            readOffset = 0
            return true
        }
        switch startOffset {
        case .end:
            readOffset = Int64(info.st_size)
        case .offset(let offset, let stored):
            if let stored, stored != identity, let rotated = Self.find(stored, near: path) {
                // The file the offset belongs to was renamed while the agent was down: finish it first.
                Glibc.close(descriptor)
                fd = rotated.fd
                identity = stored
                readOffset = offset <= rotated.size ? offset : 0
                startOffset = .offset(0, identity: nil)
                return true
            }
            readOffset = (stored == nil || stored == identity) && offset <= Int64(info.st_size) ? offset : 0
        }
        startOffset = .offset(0, identity: nil)
        return true
    }

    /// Makes the open `descriptor` the file being read, from a clean slate of encoding and partial line.
    private func adopt(_ descriptor: Int32, identity: FileIdentity) {
        fd = descriptor
        self.identity = identity
        encoding = configuredEncoding
        pending.removeAll(keepingCapacity: true)
    }

    /// A file with `identity` in the directory of `path` (where the kubelet and logrotate put rotated files).
    private static func find(_ identity: FileIdentity, near path: String) -> (fd: Int32, size: Int64)? {
        guard let slash = path.lastIndex(of: "/") else { return nil }
        let directory = String(path[..<slash])
        for name in PathGlob.entries(of: directory) {
            var seen = stat()
            guard stat(directory + "/" + name, &seen) == 0, FileIdentity(seen) == identity else { continue }
            let candidate = Glibc.open(directory + "/" + name, O_RDONLY | O_CLOEXEC)
            guard candidate >= 0 else { continue }
            var info = stat()
            if fstat(candidate, &info) == 0, FileIdentity(info) == identity { return (candidate, Int64(info.st_size)) }
            Glibc.close(candidate)
        }
        return nil
    }

    private func readChunk(into entries: inout [LogEntry], count: Int, now: Int64) {
        // The partial line left from before, then what is read now.
        buffer.bytes.removeAll(keepingCapacity: true)
        buffer.bytes.append(contentsOf: pending)
        pending = []
        let start = buffer.bytes.count
        var got = 0
        buffer.bytes.append(contentsOf: repeatElement(0, count: count))
        buffer.bytes.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            while got < count {
                let result = pread(fd, base + start + got, count - got, off_t(readOffset) + off_t(got))
                if result < 0 && errno == EINTR { continue }
                guard result > 0 else { break }
                got += result
            }
        }
        buffer.bytes.removeLast(count - got)
        if readOffset == 0 && got > 0 {
            let (detected, markLength) = encoding.detectingMark(buffer.bytes[start...])
            encoding = detected
            // The mark is not part of the first line; its bytes still count in the offset.
            if markLength > 0 {
                buffer.bytes.removeSubrange(start..<(start + markLength))
                readOffset += Int64(markLength)
                got -= markLength
            }
        }
        readOffset += Int64(got)
        fingerprint.append(contentsOf: buffer.bytes[(buffer.bytes.count - got)...].suffix(Self.fingerprintBytes))
        if fingerprint.count > Self.fingerprintBytes { fingerprint.removeFirst(fingerprint.count - Self.fingerprintBytes) }
        let consumed = splitLines(buffer.bytes, into: &entries, now: now)
        pending = Array(buffer.bytes[consumed...])
    }

    /// How many of the last bytes read identify a file's copy after copy-truncate.
    static let fingerprintBytes = 64

    /// The copy-truncate copy of `path`: a file `<name>.<anything>` next to it (the newest first), at least
    /// `offset` long, whose bytes before `offset` are the `fingerprint` last read. Opened for reading.
    static func findCopy(of path: String, directory: String, through offset: Int64, fingerprint: [UInt8])
        -> (fd: Int32, size: Int64)?
    {
        guard !fingerprint.isEmpty, offset >= fingerprint.count else { return nil }
        let prefix = String(path[path.index(after: path.lastIndex(of: "/") ?? path.startIndex)...]) + "."
        var candidates: [(path: String, modified: Int)] = []
        for name in PathGlob.entries(of: directory) where name.hasPrefix(prefix) && !name.hasSuffix(".gz") {
            var info = stat()
            let candidate = directory + "/" + name
            guard stat(candidate, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, Int64(info.st_size) >= offset else { continue }
            candidates.append((candidate, info.st_mtim.tv_sec))
        }
        for candidate in candidates.sorted(by: { $0.modified > $1.modified }) {
            let fd = Glibc.open(candidate.path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            var bytes = [UInt8](repeating: 0, count: fingerprint.count)
            let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset) - off_t(fingerprint.count)) }
            var info = stat()
            if got == fingerprint.count, bytes == fingerprint, fstat(fd, &info) == 0 { return (fd, Int64(info.st_size)) }
            Glibc.close(fd)
        }
        return nil
    }

    /// Emits every complete line of `bytes`; returns how many bytes those lines took.
    private func splitLines(_ bytes: [UInt8], into entries: inout [LogEntry], now: Int64) -> Int {
        let unit = encoding.unitSize
        return bytes.withUnsafeBufferPointer { buffer in
            var lineStart = 0
            while let newline = encoding.newline(in: buffer, from: lineStart, base: lineStart) {
                let line = UnsafeBufferPointer(rebasing: buffer[lineStart..<newline])
                emit(encoding.utf8Line(line, failures: &encodingFailures), into: &entries, now: now)
                lineStart = newline + unit
            }
            return lineStart
        }
    }

    /// A last line without its newline, when its file is finished (rotated away or deleted): it will never end.
    private func flushPending(into entries: inout [LogEntry], now: Int64) {
        guard !pending.isEmpty else { return }
        let line = pending.withUnsafeBufferPointer { encoding.utf8Line($0, failures: &encodingFailures) }
        pending.removeAll()
        emit(line, into: &entries, now: now)
    }

    private func emit(_ line: [UInt8], into entries: inout [LogEntry], now: Int64) {
        // Strictly increasing within a file, so that the order of lines survives equal clock readings.
        lastTimestamp = max(now, lastTimestamp + 1)
        entries.append(LogEntry(timestamp: lastTimestamp, line: line, labels: labels))
        linesRead += 1
    }
}
