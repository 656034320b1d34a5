import Testing
import Wire
@testable import Backend

/// Random input never crashes or hangs a parser, and parsers agree with an encoder where one exists.
@Suite struct PipelineFuzzTests {
    /// A small deterministic generator (SplitMix64), so a failure reproduces.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
        mutating func bytes(_ count: Int, alphabet: [UInt8]? = nil) -> [UInt8] {
            (0..<count).map { _ in alphabet.map { $0[below($0.count)] } ?? UInt8(truncatingIfNeeded: next()) }
        }
    }

    static let jsonAlphabet = Array(#"{}[]":,\ abc019-.tuefnlr"#.utf8) + [0xC3, 0xA9, 0xFF, 0x0A]
    static let logfmtAlphabet = Array(#"= "\abc019-._"#.utf8) + [0xC3, 0xA9, 0xFF, 0x09]

    /// A logfmt parser that stops once the needed labels are set (and the rest of the line cannot set them again)
    /// gives those labels exactly the values a full parse gives, whatever keys repeat, quote or break the syntax.
    @Test func logfmtStoppingEarlyGivesTheFullParsesValues() throws {
        var generator = Generator(state: 0x16_16)
        let keys = ["level", "lvl", "status", "level.x", "xlevel", "msg", "1level"]
        let values = ["info", "error", "\"a level=x\"", "", "\"q\\\"level=warn\"", "level", "=", "\"unterminated", "200"]
        for keepEmpty in [false, true] {
            let stages: [PipelineStage] = [.logfmt(strict: false, keepEmpty: keepEmpty, [])]
            let hinted = try LogPipeline(stages, neededLabels: ["level", "status"]).stream(labels: LabelSet([]))
            let full = try LogPipeline(stages).stream(labels: LabelSet([]))
            for _ in 0..<2000 {
                var line = ""
                for index in 0..<(1 + generator.below(7)) {
                    if index > 0 { line += [" ", "  ", "\t", ""][generator.below(4)] }
                    line += keys[generator.below(keys.count)]
                    if generator.below(5) > 0 { line += "=" + values[generator.below(values.count)] }
                }
                let (a, b) = Array(line.utf8).withUnsafeBytes {
                    (hinted.process(timestamp: 0, line: $0, metadata: []), full.process(timestamp: 0, line: $0, metadata: []))
                }
                for name in ["level", "status"] {
                    #expect(labelsOf(a)[name] == labelsOf(b)[name], "\(line) keepEmpty=\(keepEmpty)")
                }
            }
        }
    }

    /// Whole numbers take a fast path; it gives what parsing gives, sign of zero included.
    @Test func wholeNumbersConvertAsParsingDoes() {
        var generator = Generator(state: 0x90)
        let alphabet = Array("0123456789-+.e".utf8)
        for _ in 0..<5000 {
            let text = String(decoding: generator.bytes(1 + generator.below(18), alphabet: alphabet), as: UTF8.self)
            let expected = Double(text)
            let got = GoConversions.goFloat(text)
            #expect(got == expected && got?.sign == expected?.sign, "\(text)")
        }
        #expect(GoConversions.goFloat("-0")?.sign == .minus && GoConversions.goFloat("007") == 7)
    }

    @Test func randomBytesNeverCrashAnyStage() throws {
        let pipelines: [LogPipeline] = try [
            LogPipeline([.json([])]),
            LogPipeline([.json([ExtractionParameter(label: "a", expression: "a.b[0]"), ExtractionParameter(label: "c")])]),
            LogPipeline([.logfmt(strict: false, keepEmpty: true, [])]),
            LogPipeline([.logfmt(strict: true, keepEmpty: false, [ExtractionParameter(label: "a")])]),
            LogPipeline([.regexp("(?P<a>[a-c]+)=(?P<b>.*)")]),
            LogPipeline([.pattern("<a> <_>=<b>")]),
            LogPipeline([.unpack]),
            LogPipeline([.decolorize]),
            LogPipeline([.json([]), .lineFormat("{{.a}} {{ __line__ | ToUpper }} {{ .b | default \"x\" }}")]),
            LogPipeline([.logfmt(strict: false, keepEmpty: false, []),
                         .labelFilter(.or(.number(name: "a", .greater, 1), .bytes(name: "b", .less, 10)))]),
            LogPipeline([.lineFilters([try LineFilter(.pattern, "<_> a <_>"), try LineFilter(.contains, operands: [.ip("10.0.0.0/8")])])]),
            LogPipeline([.json([])], neededLabels: ["a"]),
        ]
        var generator = Generator(state: 42)
        let stream = LabelSet([LabelPair(name: "a", value: "x")])
        for pipeline in pipelines {
            let streamPipeline = pipeline.stream(labels: stream)
            for round in 0..<3000 {
                let alphabet: [UInt8]? = round % 3 == 0 ? nil : (round % 3 == 1 ? Self.jsonAlphabet : Self.logfmtAlphabet)
                var line = generator.bytes(generator.below(80), alphabet: alphabet)
                if round % 5 == 0 { line.insert(UInt8(ascii: "{"), at: 0) }
                _ = line.withUnsafeBytes { streamPipeline.process(timestamp: 0, line: $0, metadata: []) }
            }
        }
    }

    @Test func deeplyNestedJSONDoesNotOverflowTheStack() throws {
        let line = String(repeating: #"{"a":"#, count: 100_000) + "1" + String(repeating: "}", count: 100_000)
        let result = try runPipeline([.json([])], line: line)
        #expect(result != nil)
    }

    @Test func randomTemplatesNeverCrash() {
        var generator = Generator(state: 7)
        let alphabet = Array("{{}} .a|()\"` -ifelsendToUpperadd1".utf8)
        for _ in 0..<3000 {
            let source = String(decoding: generator.bytes(generator.below(30), alphabet: alphabet), as: UTF8.self)
            if let pipeline = try? LogPipeline([.lineFormat(source)]) {
                let stream = pipeline.stream(labels: LabelSet([LabelPair(name: "a", value: "v")]))
                _ = Array("line".utf8).withUnsafeBytes { stream.process(timestamp: 0, line: $0, metadata: []) }
            }
        }
    }

    @Test func randomPatternsNeverCrash() {
        var generator = Generator(state: 9)
        let alphabet = Array("<>_ab -".utf8)
        for _ in 0..<3000 {
            let source = String(decoding: generator.bytes(generator.below(20), alphabet: alphabet), as: UTF8.self)
            guard let pipeline = try? LogPipeline([.pattern(source)]) else { continue }
            let stream = pipeline.stream(labels: LabelSet([]))
            let line = generator.bytes(generator.below(30), alphabet: alphabet)
            _ = line.withUnsafeBytes { stream.process(timestamp: 0, line: $0, metadata: []) }
        }
    }

    /// Pairs written as logfmt (quoting values that need it) parse back to the same pairs.
    @Test func logfmtRoundTrip() throws {
        var generator = Generator(state: 3)
        let keyAlphabet = Array("abcxyz_".utf8)
        let valueAlphabet = Array("abc 019=\"\\-".utf8)
        let pipeline = try LogPipeline([.logfmt(strict: true, keepEmpty: false, [])])
        for _ in 0..<2000 {
            var expected: [String: String] = [:]
            var line = ""
            for index in 0..<(1 + generator.below(6)) {
                let key = "k\(index)" + String(decoding: generator.bytes(generator.below(4), alphabet: keyAlphabet), as: UTF8.self)
                let value = String(decoding: generator.bytes(1 + generator.below(8), alphabet: valueAlphabet), as: UTF8.self)
                expected[key] = value
                let needsQuotes = value.contains(where: { $0 == " " || $0 == "=" || $0 == "\"" || $0 == "\\" })
                let written = needsQuotes
                    ? "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
                    : value
                line += (line.isEmpty ? "" : " ") + key + "=" + written
            }
            let stream = pipeline.stream(labels: LabelSet([]))
            let result = Array(line.utf8).withUnsafeBytes { stream.process(timestamp: 0, line: $0, metadata: []) }
            #expect(labelsOf(result) == expected, "\(line)")
        }
    }

    /// Flat JSON objects of string fields parse back to their fields.
    @Test func jsonRoundTrip() throws {
        var generator = Generator(state: 5)
        let valueAlphabet: [String] = ["a", "b", "c", " ", "0", "1", "9", "\"", "\\", "/", "é", "😀", "\n"]
        let pipeline = try LogPipeline([.json([])])
        for _ in 0..<2000 {
            var expected: [String: String] = [:]
            var members: [String] = []
            for index in 0..<(1 + generator.below(6)) {
                let key = "k\(index)"
                let value = (0..<generator.below(8)).map { _ in valueAlphabet[generator.below(valueAlphabet.count)] }.joined()
                expected[key] = value
                var encoded: [UInt8] = []
                JSONString.append(value, to: &encoded, options: [])
                members.append("\"\(key)\":" + String(decoding: encoded, as: UTF8.self))
            }
            let line = "{" + members.joined(separator: ",") + "}"
            let stream = pipeline.stream(labels: LabelSet([]))
            let result = Array(line.utf8).withUnsafeBytes { stream.process(timestamp: 0, line: $0, metadata: []) }
            #expect(labelsOf(result) == expected, "\(line)")
        }
    }
}
