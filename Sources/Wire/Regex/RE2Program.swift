#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A compiled regular expression: a Thompson NFA over Unicode scalars, as Go's `regexp/syntax.Prog`.
///
/// Immutable once built, so one program serves any number of concurrent matches; each match brings its own
/// scratch (``RE2PikeVM``, ``RE2Backtracker``).
struct RE2Program: Sendable {
    enum Opcode: UInt8, Sendable {
        case fail
        case match
        /// Consumes one scalar equal to `argument`.
        case rune1
        /// Consumes one scalar in `sets[argument]`.
        case runeSet
        case anyRune
        case anyRuneNotNewline
        /// Tries `next` first, then `argument`.
        case split
        /// Records the position in capture slot `argument`.
        case save
        /// Continues when every condition of `argument` (``EmptyWidth`` bits) holds at the position.
        case emptyWidth
        case nop
    }

    struct Instruction: Sendable {
        var opcode: Opcode
        var next: Int32
        var argument: Int32
    }

    /// Zero-width assertions, as bits.
    enum EmptyWidth {
        static let beginLine: UInt8 = 1
        static let endLine: UInt8 = 2
        static let beginText: UInt8 = 4
        static let endText: UInt8 = 8
        static let wordBoundary: UInt8 = 16
        static let notWordBoundary: UInt8 = 32

        /// The assertions that hold at `position` of `text`. Only bytes are needed: `\b` is ASCII-only, and a byte
        /// below 0x80 is always a whole scalar in UTF-8, never part of one.
        @inline(__always)
        static func context(_ text: UnsafeRawBufferPointer, _ position: Int) -> UInt8 {
            var flags: UInt8 = 0
            var previousIsWord = false
            var nextIsWord = false
            if position == 0 {
                flags |= beginText | beginLine
            } else {
                let byte = text[position - 1]
                if byte == 0x0A { flags |= beginLine }
                previousIsWord = isWordByte(byte)
            }
            if position == text.count {
                flags |= endText | endLine
            } else {
                let byte = text[position]
                if byte == 0x0A { flags |= endLine }
                nextIsWord = isWordByte(byte)
            }
            flags |= previousIsWord != nextIsWord ? wordBoundary : notWordBoundary
            return flags
        }

        @inline(__always)
        static func isWordByte(_ byte: UInt8) -> Bool {
            switch byte {
            case 0x30...0x39, 0x41...0x5A, 0x5F, 0x61...0x7A: true
            default: false
            }
        }
    }

    var instructions: [Instruction]
    var sets: [RE2RuneSet]
    var start: Int32
    /// Capture slots: two per group, group 0 (the whole match) included.
    var slotCount: Int
    /// Every match starts at the beginning of the text (`^` or `\A` before anything that consumes).
    var anchoredStart: Bool
    /// Bytes every match starts with (a literal prefix, not case-folded), searched for before running an engine.
    var prefix: [UInt8]
    /// Which bytes below 0x80 can begin a match; bytes from 0x80 up always might. Nil when a match can be empty
    /// or begin with an assertion, so that no position can be skipped by its first byte.
    var firstBytes: (UInt64, UInt64)?

    /// Whether an ASCII `byte` cannot begin a match, so a search may step over it.
    @inline(__always)
    func cannotStart(_ byte: UInt8) -> Bool {
        guard let (low, high) = firstBytes, byte < 0x80 else { return false }
        return byte < 64 ? low & (1 << UInt64(byte)) == 0 : high & (1 << UInt64(byte - 64)) == 0
    }

    /// The first occurrence of `needle` (not empty) in `text` at or after `start`: `memchr` for the first byte,
    /// `memcmp` for the rest.
    static func find(_ needle: [UInt8], in text: UnsafeRawBufferPointer, from start: Int) -> Int? {
        let count = needle.count
        guard let base = text.baseAddress, start + count <= text.count else { return nil }
        return needle.withUnsafeBytes { needleBytes -> Int? in
            guard let needleBase = needleBytes.baseAddress else { return nil }
            let first = Int32(needleBytes[0])
            var position = start
            let last = text.count - count
            while position <= last {
                guard let hit = memchr(base + position, first, last - position + 1) else { return nil }
                let offset = base.distance(to: UnsafeRawPointer(hit))
                if count == 1 || memcmp(base + offset + 1, needleBase + 1, count - 1) == 0 { return offset }
                position = offset + 1
            }
            return nil
        }
    }
}
