import Testing
import TestSupport
@testable import AlloyLanguage

/// Random and mutated inputs through parse, evaluate and format: errors are fine, crashes and hangs are not, and
/// whatever parses must format to text that parses to the same tree and formats to itself.
@Suite struct AlloyFuzzTests {
    private static let fragments: [String] = [
        "a", "b.c", "loki.write", "\"x\"", "\"\\u00e9\"", "`raw`", "1", "2.5", "1e3", "true", "null", "=", "==", "!=",
        "<", ">=", "+", "-", "*", "/", "%", "^", "!", "&&", "||", "{", "}", "[", "]", "(", ")", ",", ".", "\n", " ",
        "\t", "// c\n", "/* b */", "f(", "'", "\\", "@", "é", "\r\n",
    ]

    @Test func randomInputsNeverCrash() {
        var random = SeededRandom(seed: FuzzBudget.seed(0xA110_7))
        for _ in 0..<FuzzBudget.scaled(300) {
            var text = ""
            if random.chance(30) {
                text = String(decoding: random.bytes(random.int(0...120)), as: UTF8.self)
            } else {
                for _ in 0..<random.int(0...40) {
                    text += Self.fragments[random.int(0...(Self.fragments.count - 1))]
                }
            }
            check(text)
        }
    }

    @Test func mutatedConfigsNeverCrash() {
        var random = SeededRandom(seed: FuzzBudget.seed(42))
        let sources = AlloyCorpus.all.map(\.1)
        for iteration in 0..<FuzzBudget.scaled(200) {
            var bytes = Array(sources[iteration % sources.count].utf8)
            for _ in 0..<random.int(1...4) {
                let position = random.int(0...bytes.count)
                switch random.int(0...2) {
                case 0:
                    let insert = random.chance(50) ? Array(Self.fragments[random.int(0...(Self.fragments.count - 1))].utf8) : random.bytes(1)
                    bytes.insert(contentsOf: insert, at: position)
                case 1 where position < bytes.count:
                    bytes.removeSubrange(position..<min(bytes.count, position + random.int(1...8)))
                default:
                    if position < bytes.count { bytes[position] = UInt8.random(in: 0x20...0x7E, using: &random) }
                }
            }
            check(String(decoding: bytes, as: UTF8.self))
        }
    }

    /// Valid configs from a small grammar, laid out at random: lists split over lines or not, comments on their
    /// own lines, after commas and between tokens, blank lines. Every one must parse and survive formatting.
    @Test func generatedConfigsFormatStably() {
        var generator = ConfigGenerator(random: SeededRandom(seed: FuzzBudget.seed(7)))
        for _ in 0..<FuzzBudget.scaled(150) {
            let text = generator.body(depth: 0)
            do {
                _ = try AlloyParser.parse(name: "generated.alloy", text: text)
            } catch {
                Issue.record("generated config does not parse: \(error)\n\(text)")
                continue
            }
            check(text)
        }
    }

    private func check(_ text: String) {
        let file: AlloyFile
        do {
            file = try AlloyParser.parse(name: "fuzz.alloy", text: text)
        } catch {
            #expect(!error.items.isEmpty)
            for item in error.items {
                #expect(item.range.start.line >= 1 && item.range.start.column >= 1)
                _ = item.description
            }
            return
        }
        evaluateAll(file.body, in: file)
        let formatted = AlloyFormatter.format(file)
        do {
            let reparsed = try AlloyParser.parse(name: "formatted.alloy", text: formatted)
            #expect(reparsed.body.treeDescription == file.body.treeDescription, "input: \(text.debugDescription)")
            #expect(AlloyFormatter.format(reparsed) == formatted, "input: \(text.debugDescription)")
        } catch {
            Issue.record("formatted output does not parse: \(error) for input \(text.debugDescription)")
        }
    }

    private func evaluateAll(_ body: Body, in file: AlloyFile) {
        for statement in body.statements {
            switch statement {
            case .attribute(let attribute): _ = try? Evaluator.evaluate(attribute.value, in: Scope(), file: file)
            case .block(let block): evaluateAll(block.body, in: file)
            }
        }
    }
}

/// Generates random valid Alloy text.
private struct ConfigGenerator {
    var random: SeededRandom

    private mutating func pick(_ options: [String]) -> String {
        options[random.int(0...(options.count - 1))]
    }

    private mutating func comment() -> String {
        random.chance(50) ? "// note \(random.int(0...9))" : "/* b\(random.int(0...9)) */"
    }

    mutating func body(depth: Int) -> String {
        var lines: [String] = []
        for _ in 0..<random.int(0...(depth == 0 ? 5 : 3)) {
            var line = ""
            if random.chance(15) { line += comment() + "\n" }
            if random.chance(5) { line += "/* multi\n   line */\n" }
            if random.chance(60) || depth > 2 {
                line += pick(["a", "bb", "ccc_long"]) + (random.chance(50) ? " = " : "=") + expression(depth: 0)
            } else {
                line += pick(["blk", "x.y", "loki.write"]) + (random.chance(50) ? " \"l\(random.int(0...2))\"" : "") + " {"
                let inner = body(depth: depth + 1)
                line += inner.isEmpty ? (random.chance(50) ? "}" : "\n}") : "\n" + inner + "\n}"
            }
            if random.chance(20) { line += " // t\(random.int(0...9))" }
            lines.append(line)
            if random.chance(20) { lines.append("") }
        }
        return lines.joined(separator: "\n")
    }

    private mutating func expression(depth: Int) -> String {
        let core = coreExpression(depth: depth)
        if random.chance(8) { return "/* z */ " + core }
        if random.chance(3) { return core + " /* y */" }
        return core
    }

    private mutating func coreExpression(depth: Int) -> String {
        switch depth > 3 ? random.int(0...2) : random.int(0...10) {
        case 0: return pick(["1", "2.5", "\"s\"", "true", "null", "`raw`", "1e3", "\"a\\tb\""])
        case 1: return pick(["a", "a.b", "loki.write.x.receiver"])
        case 2: return pick(["-1", "!x"])
        case 3, 4: return list("[", "]") { $0.expression(depth: depth + 1) }
        case 5:
            return list("{", "}") { generator in
                (generator.random.chance(50) ? "k\(generator.random.int(0...2))" : "\"q \(generator.random.int(0...2))\"")
                    + (generator.random.chance(50) ? " = " : "=") + generator.expression(depth: depth + 1)
            }
        case 6: return "f" + list("(", ")") { $0.expression(depth: depth + 1) }
        case 7:
            return expression(depth: depth + 1) + pick([" + ", "*", " == ", " || ", " ^ ", " - "])
                + (random.chance(20) ? "/* in */ " : "") + expression(depth: depth + 1)
        case 8: return "(" + expression(depth: depth + 1) + ")"
        case 9: return expression(depth: depth + 1) + "[" + expression(depth: depth + 1) + "]"
        default: return "a.b.c"
        }
    }

    private mutating func list(_ open: String, _ close: String, _ element: (inout ConfigGenerator) -> String) -> String {
        let count = random.int(0...3)
        if count == 0 { return open + (random.chance(20) ? " " : "") + close }
        let multiline = random.chance(50)
        var text = open
        if multiline {
            if random.chance(20) { text += " // open" }
            text += "\n"
        }
        for index in 0..<count {
            text += element(&self)
            guard index + 1 < count else { break }
            if !multiline {
                text += random.chance(80) ? ", " : ","
                continue
            }
            text += ","
            if random.chance(20) { text += " // c\(random.int(0...9))" }
            text += "\n"
            if random.chance(15) { text += "\n" }
            if random.chance(15) { text += "// own\(random.int(0...9))\n" }
            if random.chance(30) { text += "    " }
        }
        if multiline {
            text += ","
            if random.chance(20) { text += " // last" }
            text += "\n"
            if random.chance(20) { text += "// trailing\n" }
        } else if random.chance(20) && open != "(" {
            text += ","
        }
        return text + close
    }
}
