import TestSupport
import Testing
@testable import Backend

@Suite struct LineFilterTests {
    private func keeps(_ filter: LineFilter, _ line: [UInt8]) -> Bool {
        line.withUnsafeBytes { filter.matches($0) }
    }

    private func keeps(_ filter: LineFilter, _ line: String) -> Bool {
        keeps(filter, Array(line.utf8))
    }

    private func keeps(_ chain: LineFilterChain, _ line: String) -> Bool {
        Array(line.utf8).withUnsafeBytes { chain.matches($0) }
    }

    @Test func containsAndNotContains() {
        #expect(keeps(.contains("error"), "level=error msg=x"))
        #expect(!keeps(.contains("error"), "level=info"))
        #expect(!keeps(.contains("error"), "err"))
        #expect(keeps(.contains("error"), "error"))
        #expect(!keeps(.contains("Error"), "error"))
        #expect(keeps(.notContains("error"), "level=info"))
        #expect(!keeps(.notContains("error"), "level=error"))
    }

    @Test func emptyNeedleMatchesEveryLineAsLoki() throws {
        #expect(keeps(.contains(""), ""))
        #expect(keeps(.contains(""), "anything"))
        #expect(!keeps(.notContains(""), "anything"))
        #expect(LineFilterChain([.contains("")]).isEmpty)
        #expect(!LineFilterChain([.notContains("")]).isEmpty)
        #expect(LineFilterChain([try LineFilter(.regex, ".*"), try LineFilter(.regex, "")]).isEmpty)
    }

    @Test func binaryLinesAndNeedles() throws {
        let line: [UInt8] = [0x00, 0xFF, 0xFE, 0x41, 0x00, 0x80]
        #expect(keeps(.contains("A"), line))
        #expect(keeps(try LineFilter(.contains, patterns: ["x"], bytes: [[0xFF, 0xFE]]), line))
        #expect(!keeps(try LineFilter(.contains, patterns: ["x"], bytes: [[0xFE, 0xFF]]), line))
        #expect(keeps(try LineFilter(.regex, "A\\x00"), line))
        // Through the parser: `"\xff"` is the byte 0xFF.
        let selection = try LogSelection.parse(#"{a="b"} |= "\xff\xfe""#)
        #expect(line.withUnsafeBytes { selection.lineFilters.matches($0) })
    }

    @Test func regexesAreUnanchored() throws {
        let filter = try LineFilter(.regex, "status=5\\d\\d")
        #expect(keeps(filter, "method=GET status=503 took=1ms"))
        #expect(!keeps(filter, "status=404"))
        #expect(keeps(try LineFilter(.regex, "^level=error"), "level=error x"))
        #expect(!keeps(try LineFilter(.regex, "^level=error"), "x level=error"))
        #expect(keeps(try LineFilter(.notRegex, "debug|trace"), "level=info"))
        #expect(!keeps(try LineFilter(.notRegex, "debug|trace"), "level=trace"))
        // `.` does not match a newline in line filters (Go's default), unlike label matchers.
        #expect(!keeps(try LineFilter(.regex, "a.b"), "a\nb"))
        #expect(keeps(try LineFilter(.regex, "(?s)a.b"), "a\nb"))
    }

    @Test(arguments: [
        // (pattern, line, matches): each exercises a fast path, checked against Loki's meaning.
        ("error", "an error here", true), ("error", "an err0r", false),
        ("(?i)error", "an ERROR here", true), ("(?i)error", "an ErRoR", true), ("(?i)error", "an err", false),
        ("(?i)err-1", "ERR-1", true), ("error|warn", "warn!", true), ("error|warn", "info", false),
        (".*error.*", "xx error yy", true), (".*", "", true), (".+", "", false), (".+", "x", true),
        ("(error)", "error", true), ("err(or|and)", "errand", true), ("err(or|and)", "err", false),
        ("a\\.b", "a.b", true), ("a\\.b", "axb", false), ("(?i)é", "É", true),
    ])
    func regexFastPathsKeepLokisMeaning(pattern: String, line: String, matches: Bool) throws {
        #expect(keeps(try LineFilter(.regex, pattern), line) == matches)
        #expect(keeps(try LineFilter(.notRegex, pattern), line) == !matches)
    }

    @Test func alternativesWithOr() throws {
        let any = try LineFilter(.contains, anyOf: ["a1", "b2"])
        #expect(keeps(any, "x a1"))
        #expect(keeps(any, "x b2"))
        #expect(!keeps(any, "x c3"))
        let none = try LineFilter(.notContains, anyOf: ["a1", "b2"])
        #expect(!keeps(none, "x a1"))
        #expect(!keeps(none, "x b2"))
        #expect(keeps(none, "x c3"))
        let regexes = try LineFilter(.regex, anyOf: ["^a", "b$"])
        #expect(keeps(regexes, "ax"))
        #expect(keeps(regexes, "xb"))
        #expect(!keeps(regexes, "xax"))
    }

    @Test func chainsNeedEveryFilter() throws {
        let chain = LineFilterChain([
            try LineFilter(.regex, "took=\\d+ms"), .contains("error"), .notContains("timeout"),
        ])
        #expect(chain.filters.count == 3)
        #expect(keeps(chain, "level=error took=12ms"))
        #expect(!keeps(chain, "level=error took=12ms timeout"))
        #expect(!keeps(chain, "level=info took=12ms"))
        #expect(!keeps(chain, "level=error took=xms"))
        #expect(LineFilterChain().isEmpty)
        #expect(keeps(LineFilterChain(), "anything"))
    }

    /// A chain keeps a line exactly when every one of its filters does, whatever mix of substring, negated, regex
    /// and alternative filters it holds (the chain runs substring filters on a fast path of its own).
    @Test func chainAgreesWithItsFiltersOneByOne() throws {
        var rng = SeededRandom(seed: 31)
        let words = ["a", "ab", "needle", "NEEDLE", "x=1", "", "level=error", "é", "err"]
        func word() -> String { words[Int(rng.next() % UInt64(words.count))] }
        for _ in 0..<300 {
            var filters: [LineFilter] = []
            for _ in 0..<Int(rng.next() % 4) {
                switch rng.next() % 6 {
                case 0: filters.append(.contains(word()))
                case 1: filters.append(.notContains(word()))
                case 2: filters.append(try LineFilter(.regex, "(?i)" + word()))
                case 3: filters.append(try LineFilter(.notRegex, word() + ".*" + word()))
                case 4: filters.append(try LineFilter(.contains, anyOf: [word(), word()]))
                default: filters.append(try LineFilter(.regex, "[0-9]+"))
                }
            }
            let chain = LineFilterChain(filters)
            for _ in 0..<10 {
                let line = (0..<Int(rng.next() % 5)).map { _ in word() }.joined(separator: " ")
                let expected = filters.allSatisfy { keeps($0, line) }
                #expect(keeps(chain, line) == expected, "\(filters.map { "\($0.kind.rawValue) \($0.patterns)" }) on \(line)")
            }
        }
    }

    @Test func badRegexThrows() {
        #expect(throws: LogQLError.self) { try LineFilter(.regex, "(") }
    }

    @Test func byteSearchAgreesWithNaiveSearch() {
        var generator = SystemRandomNumberGenerator()
        func naive(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
            if needle.isEmpty { return true }
            if needle.count > haystack.count { return false }
            for start in 0...(haystack.count - needle.count) where Array(haystack[start..<(start + needle.count)]) == needle {
                return true
            }
            return false
        }
        func naiveFolded(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
            naive(haystack.map(ByteSearch.lower), needle)
        }
        for round in 0..<20_000 {
            // Small alphabets make partial matches and candidates at every SIMD lane likely.
            let alphabet: [UInt8] = round % 2 == 0 ? [0x61, 0x62, 0x41, 0x00] : Array(0...255)
            let haystack = (0..<Int.random(in: 0...80, using: &generator)).map { _ in
                alphabet.randomElement(using: &generator) ?? 0
            }
            var needle = (0..<Int.random(in: 0...6, using: &generator)).map { _ in
                alphabet.randomElement(using: &generator) ?? 0
            }
            if !haystack.isEmpty && Bool.random(using: &generator) {
                let start = Int.random(in: 0..<haystack.count, using: &generator)
                needle = Array(haystack[start..<min(haystack.count, start + Int.random(in: 1...20, using: &generator))])
            }
            let found = haystack.withUnsafeBytes { h in needle.withUnsafeBytes { ByteSearch.contains(h, $0) } }
            #expect(found == naive(haystack, needle))
            let lowered = needle.map(ByteSearch.lower)
            let foundFolded = haystack.withUnsafeBytes {
                ByteSearch.containsIgnoringASCIICase($0, lowercasedNeedle: lowered)
            }
            #expect(foundFolded == naiveFolded(haystack, lowered))
        }
    }
}
