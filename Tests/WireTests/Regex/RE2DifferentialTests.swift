import Testing
import TestSupport
@testable import Wire

/// Random small patterns against random short strings: the Pike VM and the backtracker must agree exactly, and
/// both must agree with the old Swift `Regex` translation (fine on tiny inputs) on whether there is a match, and
/// on the submatches where Swift's backtracking has Go's leftmost-first priorities (no loop over something that
/// can match empty, where Go's and Perl's rules for empty iterations differ).
@Suite struct RE2DifferentialTests {
    /// A pattern from a small grammar, with whether it has a loop over a possibly-empty operand.
    private struct PatternGenerator {
        var random: SeededRandom

        mutating func pattern(depth: Int = 0) -> String {
            var items: [String] = []
            for _ in 0..<random.int(1...3) { items.append(repeated(depth: depth)) }
            var text = items.joined()
            if depth < 2 && random.chance(20) { text += "|" + pattern(depth: depth + 1) }
            return text
        }

        private mutating func repeated(depth: Int) -> String {
            let item = atom(depth: depth)
            guard random.chance(35) else { return item }
            let operators = ["*", "+", "?", "{2}", "{1,2}", "{0,3}", "{2,}"]
            let op = operators[random.int(0...(operators.count - 1))]
            return item + op + (random.chance(30) ? "?" : "")
        }

        private mutating func atom(depth: Int) -> String {
            let atoms = ["a", "b", "é", ".", "[ab]", "[^a]", "[a-z]", "\\w", "\\W", "(?i:A)", "(?i:É)", "\\n",
                         "[é\\n]", "(?s:.)"]
            let anchors = ["^", "$", "\\A", "\\z", "(?m:^)", "(?m:$)", "\\b", "\\B"]
            switch random.int(0...9) {
            case 0...5 where depth < 3 && random.chance(40):
                let inner = pattern(depth: depth + 1)
                return random.chance(60) ? "(" + inner + ")" : "(?:" + inner + ")"
            case 9:
                return anchors[random.int(0...(anchors.count - 1))]
            default:
                return atoms[random.int(0...(atoms.count - 1))]
            }
        }

        mutating func text() -> String {
            let alphabet = ["a", "b", "\n", "é"]
            return (0..<random.int(0...7)).map { _ in alphabet[random.int(0...3)] }.joined()
        }
    }

    private static func hasLoopOverEmpty(_ node: RE2Node) -> Bool {
        switch node {
        case .repetition(let inner, _, let max, _):
            return (max != 1 && inner.canMatchEmpty) || hasLoopOverEmpty(inner)
        case .group(let inner), .capture(let inner, _, _):
            return hasLoopOverEmpty(inner)
        case .concatenation(let items), .alternation(let items):
            return items.contains(where: hasLoopOverEmpty)
        default:
            return false
        }
    }

    private static func offsets(_ match: Regex<AnyRegexOutput>.Match, in text: String) -> [Int] {
        var out: [Int] = []
        for index in 0..<match.output.count {
            if let range = match.output[index].range {
                out.append(text.utf8.distance(from: text.startIndex, to: range.lowerBound))
                out.append(text.utf8.distance(from: text.startIndex, to: range.upperBound))
            } else {
                out += [-1, -1]
            }
        }
        return out
    }

    @Test(arguments: [1, 2, 3, 4])
    func newEngineAgreesWithSwiftRegexAndItself(seed: UInt64) throws {
        var generator = PatternGenerator(random: SeededRandom(seed: seed))
        var compared = 0
        for _ in 0..<200 {
            let source = generator.pattern()
            guard let regex = try? RE2Regex(source, dotMatchesNewline: false) else { continue }
            let oracle = try swiftOracle(regex.tree)
            let compareSubmatches = !Self.hasLoopOverEmpty(regex.tree)
            let slots = regex.program.slotCount
            for _ in 0..<8 {
                let text = generator.text()
                let bytes = Array(text.utf8)
                bytes.withUnsafeBytes { buffer in
                    for (anchored, requireEnd) in [(false, false), (true, true)] {
                        let pike = RE2PikeVM.search(regex.program, buffer, from: 0, anchored: anchored,
                                                    requireEnd: requireEnd, slotCount: slots)
                        let backtrack = RE2Backtracker.search(regex.program, buffer, from: 0, anchored: anchored,
                                                              requireEnd: requireEnd, slotCount: slots)
                        #expect(pike == backtrack, "\(source) on \(text.debugDescription)")
                        let pikeFound = RE2PikeVM.search(regex.program, buffer, from: 0, anchored: anchored,
                                                         requireEnd: requireEnd, slotCount: 0) != nil
                        #expect(pikeFound == (pike != nil), "\(source) on \(text.debugDescription)")
                        let swift = anchored ? try? oracle.wholeMatch(in: text) : try? oracle.firstMatch(in: text)
                        #expect((swift != nil) == (pike != nil),
                                "\(source) [\(oracle)] on \(text.debugDescription) anchored \(anchored)")
                        if compareSubmatches, let swift, let pike {
                            #expect(Self.offsets(swift, in: text) == pike, "\(source) on \(text.debugDescription)")
                        }
                    }
                }
                compared += 1
            }
        }
        #expect(compared > 1000)
    }
}

extension RE2Node {
    /// Whether the node can match the empty string.
    fileprivate var canMatchEmpty: Bool {
        switch self {
        case .empty, .beginText, .endText, .beginLine, .endLine, .wordBoundary, .notWordBoundary: true
        case .literal, .anyCharacter, .characterClass: false
        case .group(let inner), .capture(let inner, _, _): inner.canMatchEmpty
        case .concatenation(let items): items.allSatisfy(\.canMatchEmpty)
        case .alternation(let items): items.contains(where: \.canMatchEmpty)
        case .repetition(let inner, let min, _, _): min == 0 || inner.canMatchEmpty
        }
    }
}
