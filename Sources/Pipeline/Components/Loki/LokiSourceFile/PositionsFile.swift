import AlloyLanguage
import Glibc
import Wire
import Yams

/// Where each file was read to: `positions.yml` in the component's data directory, in Alloy's format so that a
/// positions file carries over from Alloy or Promtail in either direction:
///
/// ```yaml
/// positions:
///   ? path: /var/log/pods/ns_pod_uid/app/0.log
///     labels: '{namespace="ns"}'
///     inode: "2049:1234567"
///   : "1234"
/// ```
///
/// The `inode` key is Estuary's own (Alloy ignores it): it tells, after a restart, whether the file at `path` is
/// still the one the offset belongs to. So are `loki.source.kubernetes`'s `timestamp` and `entries_at_timestamp`
/// (see ``Position``). Written whole to a temporary file, flushed and renamed over the old one,
/// so a crash leaves the previous or the new file, never a torn one.
struct PositionsFile: Sendable {
    struct Key: Hashable, Sendable {
        var path: String
        /// The target's labels as `{a="b"}` (Alloy's key includes them, so the same file read twice with different
        /// labels keeps two positions).
        var labels: String
    }

    struct Position: Equatable, Sendable {
        var offset: Int64
        /// `device:inode` of the file the offset belongs to; nil when unknown (a file written by Alloy).
        var identity: FileIdentity?
        /// For a position kept as a time (`loki.source.kubernetes`, whose `offset` is the time in microseconds, as
        /// Alloy writes it): the same time in nanoseconds and how many entries with exactly that time were
        /// delivered. Estuary's own keys `timestamp` and `entries_at_timestamp`; nil when unknown.
        var timestamp: Int64? = nil
        var entriesAtTimestamp: Int? = nil
    }

    let path: String

    /// Reads the file; a missing file is empty. Entries whose offset is not a number are reported in `corrupt`
    /// for the caller's `on_positions_file_error` rule.
    func load() throws(PositionsError) -> (positions: [Key: Position], corrupt: [Key]) {
        guard let text = Self.readText(path) else { return ([:], []) }
        return try Self.parse(text, path: path)
    }

    /// The positions in `text` (a positions file's content, from disk or from another cluster member); `path`
    /// names it in errors.
    static func parse(_ text: String, path: String) throws(PositionsError) -> (positions: [Key: Position], corrupt: [Key]) {
        if text.allSatisfy(\.isWhitespace) { return ([:], []) }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw PositionsError(path: path, reason: "not valid YAML: \(error)")
        }
        guard let root, let mapping = root.mapping else { return ([:], []) }
        guard let table = mapping["positions"] else { return ([:], []) }
        guard let entries = table.mapping else {
            if table.null != nil { return ([:], []) }
            throw PositionsError(path: path, reason: "\"positions\" is not a mapping")
        }
        var positions: [Key: Position] = [:]
        var corrupt: [Key] = []
        for (keyNode, valueNode) in entries {
            let key: Key
            var identity: FileIdentity?
            var timestamp: Int64?
            var entriesAtTimestamp: Int?
            if let keyMapping = keyNode.mapping, let file = keyMapping["path"]?.string {
                key = Key(path: file, labels: keyMapping["labels"]?.string ?? "")
                identity = keyMapping["inode"]?.string.flatMap(FileIdentity.init(text:))
                timestamp = keyMapping["timestamp"]?.string.flatMap { Int64($0) }
                entriesAtTimestamp = keyMapping["entries_at_timestamp"]?.string.flatMap { Int($0) }.map { max($0, 0) }
            } else if let file = keyNode.string {
                // Promtail's legacy format: `path: "offset"`.
                key = Key(path: file, labels: "")
            } else {
                continue
            }
            guard let text = valueNode.string, let offset = Int64(text), offset >= 0 else {
                corrupt.append(key)
                continue
            }
            positions[key] = Position(
                offset: offset, identity: identity, timestamp: timestamp, entriesAtTimestamp: entriesAtTimestamp)
        }
        return (positions, corrupt)
    }

    /// Replaces the file with `positions`, atomically.
    func save(_ positions: [Key: Position]) throws(PositionsError) {
        var text = "positions:\n"
        for (key, position) in positions.sorted(by: { ($0.key.path, $0.key.labels) < ($1.key.path, $1.key.labels) }) {
            text += "  ? path: \(Self.quoted(key.path))\n"
            text += "    labels: \(Self.quoted(key.labels))\n"
            if let identity = position.identity { text += "    inode: \"\(identity.text)\"\n" }
            if let timestamp = position.timestamp { text += "    timestamp: \"\(timestamp)\"\n" }
            if let count = position.entriesAtTimestamp { text += "    entries_at_timestamp: \"\(count)\"\n" }
            text += "  : \"\(position.offset)\"\n"
        }
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PositionsError(path: temporary, reason: "cannot create: \(Self.errnoText())") }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { raw in
                raw.baseAddress.map { write(fd, $0 + written, raw.count - written) } ?? 0
            }
            if result < 0 {
                if errno == EINTR { continue }
                let reason = Self.errnoText()
                close(fd)
                throw PositionsError(path: temporary, reason: "cannot write: \(reason)")
            }
            written += result
        }
        fsync(fd)
        close(fd)
        guard rename(temporary, path) == 0 else {
            throw PositionsError(path: path, reason: "cannot rename \(temporary) into place: \(Self.errnoText())")
        }
    }

    /// A YAML double-quoted scalar: a JSON string is one.
    private static func quoted(_ text: String) -> String {
        JSONCoding.quote(text)
    }

    static func readText(_ path: String) -> String? {
        readBytes(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The whole file, or nil when it cannot be opened.
    static func readBytes(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes.append(contentsOf: chunk[..<count])
        }
        return bytes
    }

    static func errnoText() -> String {
        String(cString: strerror(errno))
    }
}

struct PositionsError: Error, Sendable, CustomStringConvertible {
    let path: String
    let reason: String
    var description: String { "positions file \(path): \(reason)" }
}

/// A file's device and inode: what stays the same while a file is renamed and changes when a new file takes its
/// name (the kubelet's and logrotate's rotation).
struct FileIdentity: Hashable, Sendable {
    let device: UInt64
    let inode: UInt64

    init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    init(_ info: stat) {
        self.init(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    init?(text: String) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return nil }
        self.init(device: device, inode: inode)
    }

    var text: String { "\(device):\(inode)" }
}
