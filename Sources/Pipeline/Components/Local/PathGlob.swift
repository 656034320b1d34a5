import Glibc
import Wire

/// A path pattern as Alloy's `local.file_match` takes in `__path__` (bmatcuk/doublestar): `*` and `?` within one
/// path segment, `[abc]`, `[a-z]` and `[^a]`/`[!a]` classes, `{a,b}` alternatives (which may hold `/`), `\` to
/// escape, and `**` as a whole segment for zero or more directories.
public struct PathGlob: Sendable, Equatable {
    public let pattern: String
    /// One segment list per alternative after `{a,b}` expansion.
    private let alternatives: [[Segment]]

    enum Segment: Sendable, Equatable {
        case literal([UInt8])
        case wildcard([UInt8])
        case anyDirectories
    }

    /// A pattern that cannot be parsed: an unclosed `[` or `{`, or a trailing `\`.
    public struct SyntaxError: Error, Sendable, CustomStringConvertible {
        public let pattern: String
        public let reason: String
        public var description: String { "invalid glob \(GoQuote.quote(pattern)): \(reason)" }
    }

    public init(_ pattern: String) throws(SyntaxError) {
        self.pattern = pattern
        let expanded = try Self.expandBraces(Array(pattern.utf8), pattern: pattern)
        var alternatives: [[Segment]] = []
        for alternative in expanded {
            var segments: [Segment] = []
            for part in alternative.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
                let bytes = Array(part)
                if bytes == Array("**".utf8) {
                    if segments.last != .anyDirectories { segments.append(.anyDirectories) }
                } else if bytes.contains(where: { Self.special.contains($0) }) {
                    try Self.checkClasses(bytes, pattern: pattern)
                    segments.append(.wildcard(bytes))
                } else {
                    segments.append(.literal(bytes))
                }
            }
            if !alternatives.contains(segments) { alternatives.append(segments) }
        }
        self.alternatives = alternatives
    }

    private static let special: Set<UInt8> = [UInt8(ascii: "*"), UInt8(ascii: "?"), UInt8(ascii: "["), UInt8(ascii: "\\")]

    /// Whether the pattern is an absolute path (targets must be).
    public var isAbsolute: Bool { pattern.hasPrefix("/") }

    /// Whether `path` (absolute, `/`-separated) matches.
    public func matches(_ path: String) -> Bool {
        let parts = path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true).map(Array.init)
        return alternatives.contains { Self.match(segments: $0[...], parts: parts[...]) }
    }

    private static func match(segments: ArraySlice<Segment>, parts: ArraySlice<[UInt8]>) -> Bool {
        guard let first = segments.first else { return parts.isEmpty }
        switch first {
        case .anyDirectories:
            var rest = parts
            while true {
                if match(segments: segments.dropFirst(), parts: rest) { return true }
                guard !rest.isEmpty else { return false }
                rest = rest.dropFirst()
            }
        case .literal(let bytes):
            guard let part = parts.first, part == bytes else { return false }
            return match(segments: segments.dropFirst(), parts: parts.dropFirst())
        case .wildcard(let bytes):
            guard let part = parts.first, WildcardMatcher.matches(pattern: bytes[...], name: part[...]) else { return false }
            return match(segments: segments.dropFirst(), parts: parts.dropFirst())
        }
    }

    /// The regular files (or links to them) the pattern matches now, sorted, without duplicates. Directories
    /// under `**` are walked without following symbolic links, so a link loop cannot trap the walk; unreadable
    /// directories are skipped.
    public func expand() -> [String] {
        var found = Set<String>()
        for segments in alternatives {
            Self.walk(directory: "", segments: segments[...], into: &found)
        }
        return found.sorted()
    }

    private static func walk(directory: String, segments: ArraySlice<Segment>, into found: inout Set<String>) {
        guard let first = segments.first else {
            if isRegularFile(directory) { found.insert(directory) }
            return
        }
        let rest = segments.dropFirst()
        switch first {
        case .literal(let bytes):
            let path = directory + "/" + String(decoding: bytes, as: UTF8.self)
            if rest.isEmpty {
                if isRegularFile(path) { found.insert(path) }
            } else {
                walk(directory: path, segments: rest, into: &found)
            }
        case .wildcard(let bytes):
            for name in entries(of: directory) where WildcardMatcher.matches(pattern: bytes[...], name: Array(name.utf8)[...]) {
                walk(directory: directory + "/" + name, segments: rest, into: &found)
            }
        case .anyDirectories:
            // Zero directories, then each subdirectory (not through links) with `**` still in front.
            walk(directory: directory, segments: rest, into: &found)
            for name in entries(of: directory) {
                let path = directory + "/" + name
                if isDirectoryNotLink(path) { walk(directory: path, segments: segments, into: &found) }
            }
        }
    }

    static func entries(of directory: String) -> [String] {
        guard let handle = opendir(directory.isEmpty ? "/" : directory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            var raw = entry.pointee.d_name
            let capacity = MemoryLayout.size(ofValue: raw)
            let name = withUnsafePointer(to: &raw) { tuple in
                // d_name is a NUL-terminated array of 256 chars.
                tuple.withMemoryRebound(to: CChar.self, capacity: capacity) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    private static func isDirectoryNotLink(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    // MARK: Parsing

    /// `a{b,c}d` → `abd`, `acd`, nested and repeated; `\{` is literal.
    private static func expandBraces(_ bytes: [UInt8], pattern: String) throws(SyntaxError) -> [[UInt8]] {
        var index = 0
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\\"):
                guard index + 1 < bytes.count else { throw SyntaxError(pattern: pattern, reason: "trailing backslash") }
                index += 2
            case UInt8(ascii: "["):
                index = try classEnd(bytes, from: index, pattern: pattern) + 1
            case UInt8(ascii: "{"):
                // Find the matching `}` and the top-level commas inside.
                var depth = 0
                var cursor = index
                var commas: [Int] = []
                var close: Int?
                while cursor < bytes.count {
                    let byte = bytes[cursor]
                    if byte == UInt8(ascii: "\\") {
                        cursor += 2
                        continue
                    }
                    if byte == UInt8(ascii: "[") {
                        cursor = try classEnd(bytes, from: cursor, pattern: pattern) + 1
                        continue
                    }
                    if byte == UInt8(ascii: "{") { depth += 1 }
                    if byte == UInt8(ascii: "}") {
                        depth -= 1
                        if depth == 0 {
                            close = cursor
                            break
                        }
                    }
                    if byte == UInt8(ascii: ","), depth == 1 { commas.append(cursor) }
                    cursor += 1
                }
                guard let close else { throw SyntaxError(pattern: pattern, reason: "unclosed '{'") }
                let prefix = bytes[..<index]
                let suffix = bytes[(close + 1)...]
                let bounds = [index] + commas + [close]
                var results: [[UInt8]] = []
                for pair in 0..<(bounds.count - 1) {
                    let choice = bytes[(bounds[pair] + 1)..<bounds[pair + 1]]
                    results.append(contentsOf: try expandBraces(Array(prefix + choice + suffix), pattern: pattern))
                }
                return results
            default:
                index += 1
            }
        }
        return [bytes]
    }

    /// The index of the `]` closing the class that starts at `start`.
    private static func classEnd(_ bytes: [UInt8], from start: Int, pattern: String) throws(SyntaxError) -> Int {
        var cursor = start + 1
        if cursor < bytes.count, bytes[cursor] == UInt8(ascii: "^") || bytes[cursor] == UInt8(ascii: "!") { cursor += 1 }
        if cursor < bytes.count, bytes[cursor] == UInt8(ascii: "]") { cursor += 1 }
        while cursor < bytes.count {
            if bytes[cursor] == UInt8(ascii: "\\") {
                cursor += 2
                continue
            }
            if bytes[cursor] == UInt8(ascii: "]") { return cursor }
            cursor += 1
        }
        throw SyntaxError(pattern: pattern, reason: "unclosed '['")
    }

    private static func checkClasses(_ bytes: [UInt8], pattern: String) throws(SyntaxError) {
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\\") {
                guard index + 1 < bytes.count else { throw SyntaxError(pattern: pattern, reason: "trailing backslash") }
                index += 2
            } else if bytes[index] == UInt8(ascii: "[") {
                index = try classEnd(bytes, from: index, pattern: pattern) + 1
            } else {
                index += 1
            }
        }
    }
}

/// Matches one path segment against `*`, `?`, `[class]` and `\x` (a segment never holds `/`).
enum WildcardMatcher {
    static func matches(pattern: ArraySlice<UInt8>, name: ArraySlice<UInt8>) -> Bool {
        var p = pattern.startIndex
        var n = name.startIndex
        // The last `*` seen and the name position it was tried at: backtrack there on a mismatch (linear for the
        // common patterns, never exponential).
        var starPattern: Int?
        var starName = n
        while n < name.endIndex {
            if p < pattern.endIndex {
                switch pattern[p] {
                case UInt8(ascii: "*"):
                    starPattern = p
                    starName = n
                    p += 1
                    continue
                case UInt8(ascii: "?"):
                    p += 1
                    n += 1
                    continue
                case UInt8(ascii: "["):
                    if let (matched, next) = matchClass(pattern, at: p, byte: name[n]), matched {
                        p = next
                        n += 1
                        continue
                    }
                case UInt8(ascii: "\\") where p + 1 < pattern.endIndex:
                    if pattern[p + 1] == name[n] {
                        p += 2
                        n += 1
                        continue
                    }
                default:
                    if pattern[p] == name[n] {
                        p += 1
                        n += 1
                        continue
                    }
                }
            }
            guard let star = starPattern else { return false }
            p = star + 1
            starName += 1
            n = starName
        }
        while p < pattern.endIndex, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.endIndex
    }

    /// Whether `byte` is in the class at `start`, and the index after the class; nil for a malformed class.
    private static func matchClass(_ pattern: ArraySlice<UInt8>, at start: Int, byte: UInt8) -> (Bool, Int)? {
        var cursor = start + 1
        var negated = false
        if cursor < pattern.endIndex, pattern[cursor] == UInt8(ascii: "^") || pattern[cursor] == UInt8(ascii: "!") {
            negated = true
            cursor += 1
        }
        var matched = false
        var first = true
        while cursor < pattern.endIndex {
            var low = pattern[cursor]
            if low == UInt8(ascii: "]") && !first { return (matched != negated, cursor + 1) }
            first = false
            if low == UInt8(ascii: "\\"), cursor + 1 < pattern.endIndex {
                cursor += 1
                low = pattern[cursor]
            }
            var high = low
            if cursor + 2 < pattern.endIndex, pattern[cursor + 1] == UInt8(ascii: "-"), pattern[cursor + 2] != UInt8(ascii: "]") {
                high = pattern[cursor + 2]
                cursor += 2
            }
            if low <= byte && byte <= high { matched = true }
            cursor += 1
        }
        return nil
    }
}
