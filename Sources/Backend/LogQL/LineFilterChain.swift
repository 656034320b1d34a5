/// The line filters of a log query, all of which a line must pass.
///
/// Called once per scanned line, so this is the query hot path: filters that keep everything are dropped and
/// substring searches run before regexes (the filters are pure, so order does not change the result).
public struct LineFilterChain: Sendable {
    /// The filters as given.
    public let filters: [LineFilter]
    /// What a line must contain to pass, when the filters say: blocks whose sketches rule it out are not read.
    public let requiredLiterals: RequiredLiterals?
    private let program: Program

    public init(_ filters: [LineFilter] = []) {
        self.filters = filters
        requiredLiterals = RequiredLiterals(filters)
        let ordered = filters.filter { !$0.keepsEverything }.enumerated()
            .sorted { ($0.element.cost, $0.offset) < ($1.element.cost, $1.offset) }
            .map(\.element)
        program = Program(ordered)
    }

    /// True when every line passes (no filters, or only ones like `|= ""`): callers can skip filtering.
    public var isEmpty: Bool { program.steps.isEmpty }

    /// Whether `line` passes every filter.
    @inline(__always)
    public func matches(_ line: UnsafeRawBufferPointer) -> Bool {
        program.matches(line)
    }

    /// The filters laid out for the per-line loop. Substring filters, by far the most common, become raw needle
    /// bytes and plain steps, so testing a line touches no reference counts (iterating `[LineFilter]` and binding
    /// each enum payload cost two atomic operations per filter per line, a third of a scan's time).
    // @unchecked Sendable invariant: written only in init, immutable afterwards; it owns and frees its buffers.
    private final class Program: @unchecked Sendable {  // invariant: immutable after init
        struct Step {
            /// Where the needle is in `needles`.
            var start: Int
            var count: Int
            /// The filter drops lines that contain the needle (`!=`).
            var negated: Bool
            /// Index into `general` for any other filter; -1 for a substring step.
            var general: Int
        }

        let steps: UnsafeMutableBufferPointer<Step>
        let needles: UnsafeMutableRawPointer
        let general: [LineFilter]

        init(_ ordered: [LineFilter]) {
            var steps: [Step] = []
            var bytes: [UInt8] = []
            var general: [LineFilter] = []
            for filter in ordered {
                if let (needle, negated) = filter.plainSubstring {
                    steps.append(Step(start: bytes.count, count: needle.count, negated: negated, general: -1))
                    bytes.append(contentsOf: needle)
                } else {
                    steps.append(Step(start: 0, count: 0, negated: false, general: general.count))
                    general.append(filter)
                }
            }
            self.steps = .allocate(capacity: steps.count)
            _ = self.steps.initialize(from: steps)
            let needles = UnsafeMutableRawPointer.allocate(byteCount: max(1, bytes.count), alignment: 16)
            bytes.withUnsafeBytes { if let base = $0.baseAddress { needles.copyMemory(from: base, byteCount: $0.count) } }
            self.needles = needles
            self.general = general
        }

        deinit {
            steps.deallocate()
            needles.deallocate()
        }

        @inline(__always)
        func matches(_ line: UnsafeRawBufferPointer) -> Bool {
            for step in steps {
                if step.general >= 0 {
                    if !general[step.general].matches(line) { return false }
                } else if ByteSearch.contains(line, UnsafeRawBufferPointer(start: needles + step.start, count: step.count))
                    == step.negated
                {
                    return false
                }
            }
            return true
        }
    }
}

/// Literals a line must contain to pass a chain of line filters, for ruling out whole blocks by their
/// sketches: every group must hold, and a group holds when all the literals of one of its alternatives may occur.
/// Only positive filters give groups (`|= "a"`, `|= "a" or "b"`, a regex's required literals); a filter whose
/// alternatives do not all need a literal of five bytes or more (what a block sketch can rule out) gives none.
public struct RequiredLiterals: Sendable {
    let groups: [[[[UInt8]]]]

    init?(_ filters: [LineFilter]) {
        let groups = filters.compactMap { filter -> [[[UInt8]]]? in
            guard let alternatives = filter.literalAlternatives,
                  alternatives.allSatisfy({ $0.contains { $0.count >= BlockSketch.shortestRuledOut } })
            else { return nil }
            return alternatives
        }
        guard !groups.isEmpty else { return nil }
        self.groups = groups
    }

    /// Whether every group holds when `mayContain` says which literals may occur.
    public func holds(_ mayContain: ([UInt8]) -> Bool) -> Bool {
        groups.allSatisfy { alternatives in alternatives.contains { $0.allSatisfy(mayContain) } }
    }
}
