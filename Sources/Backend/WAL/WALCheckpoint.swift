import Foundation

/// Checkpoint files of a write-ahead log: `checkpoint.00000012` holds, as WAL frames, every stream the ingester
/// held in memory once segment 12 was finished, so segments up to 12 are no longer needed.
///
/// A checkpoint is written to a temporary name, synced, then renamed into place and the directory synced: a crash
/// while writing leaves the previous checkpoint and the segments after it, never a partial checkpoint.
struct WALCheckpointWriter: ~Copyable {
    static let prefix = "checkpoint."

    let directory: String
    let number: Int
    private let temporary: String
    private let fd: Int32
    private var buffer = ByteWriter()
    private(set) var bytes = 0

    /// Starts the checkpoint that covers segments up to `number`.
    init(directory: String, number: Int) throws(WALError) {
        self.directory = directory
        self.number = number
        temporary = directory + "/" + Self.prefix + WALSegments.digits(number) + ".tmp"
        fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WALSegments.failure("create \(temporary)") }
    }

    deinit {
        Glibc.close(fd)
        unlink(temporary)   // fails harmlessly once `finish` renamed it
    }

    mutating func append(_ record: WALRecord) throws(WALError) {
        WALFrame.append(record, to: &buffer)
        if buffer.count >= 1 << 20 { try drain() }
    }

    private mutating func drain() throws(WALError) {
        var offset = 0
        let failed: WALError? = buffer.bytes.withUnsafeBytes { raw in
            while offset < raw.count {
                let count = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if count < 0 {
                    if Glibc.errno == EINTR { continue }
                    return WALSegments.failure("write to \(temporary)")
                }
                offset += count
            }
            return nil
        }
        if let failed { throw failed }
        bytes += buffer.count
        buffer = ByteWriter()
    }

    /// Syncs the checkpoint and moves it into place; returns its size in bytes.
    consuming func finish() throws(WALError) -> Int {
        try drain()
        guard fdatasync(fd) == 0 else { throw WALSegments.failure("fdatasync of \(temporary)") }
        let path = WALCheckpoint.path(directory, number)
        guard rename(temporary, path) == 0 else { throw WALSegments.failure("rename \(temporary)") }
        WALCheckpoint.syncDirectory(directory)
        return bytes
    }
}

enum WALCheckpoint {
    static func path(_ directory: String, _ number: Int) -> String {
        directory + "/" + WALCheckpointWriter.prefix + WALSegments.digits(number)
    }

    /// The numbers of the finished checkpoints in `directory`, in order.
    static func numbers(in directory: String) -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name -> Int? in
            guard name.hasPrefix(WALCheckpointWriter.prefix) else { return nil }
            let digits = name.dropFirst(WALCheckpointWriter.prefix.count)
            return digits.count == 8 && digits.allSatisfy(\.isASCII) ? Int(digits) : nil
        }.sorted()
    }

    /// Removes checkpoints older than `number`, and temporary files of checkpoints that never finished.
    static func removeOlder(than number: Int, in directory: String) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where name.hasPrefix(WALCheckpointWriter.prefix) && name.hasSuffix(".tmp") {
            unlink(directory + "/" + name)
        }
        for old in numbers(in: directory) where old < number { unlink(path(directory, old)) }
    }

    /// Reads a checkpoint's records in order. Returns the damage that stopped it early, or nil.
    static func read(_ path: String, _ body: (WALRecord) throws -> Void) throws -> WALFrame.Damage? {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw WALError(kind: .io, message: "WAL: cannot read checkpoint \(path)")
        }
        return try data.withUnsafeBytes { try WALFrame.read($0, body) }
    }

    static func syncDirectory(_ directory: String) {
        let fd = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        Glibc.close(fd)
    }
}
