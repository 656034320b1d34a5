import Foundation
@testable import GoCompat
@testable import Pipeline
import Testing
import TestSupport
import Wire

/// Random and mutated input: the translator never crashes, every record becomes one entry or one counted
/// failure, label names are always valid Prometheus names, and what it writes reads back (JSON with Foundation's
/// parser, logfmt with the decoder Go's translator uses).
@Suite struct LokiTranslatorPropertyTests {
    typealias T = LokiTest

    /// Characters that stress escaping and parsing: quotes, `=`, white space, controls, DEL, HTML, separators,
    /// U+FFFD, combining marks, non-BMP.
    static let alphabet: [String] = [
        "a", "b", "Z", "0", "9", ".", "_", "-", "/", " ", "=", "\"", "\\", "'", ",", "\t", "\n", "\r", "\u{00}",
        "\u{07}", "\u{7F}", "<", ">", "&", "é", "e\u{301}", "世", "🎉", "\u{FFFD}", "\u{2028}", "\u{2029}", "\u{85}",
        "\u{A0}", "null", "level", "service.name", "loki.format",
    ]

    struct Generator {
        var random: SeededRandom
        var keys: [String] = []

        mutating func string(maxLength: Int = 8) -> String {
            var text = ""
            for _ in 0..<random.int(0...maxLength) { text += alphabet[random.int(0...(alphabet.count - 1))] }
            return text
        }

        mutating func key() -> String {
            if !keys.isEmpty && random.chance(40) { return keys[random.int(0...(keys.count - 1))] }
            let key = random.chance(50) ? ["host.name", "service.name", "service.namespace", "service.instance.id",
                                            "level", "a.b", "a", "b", "k8s.pod.name", ""][random.int(0...9)] : string(maxLength: 5)
            keys.append(key)
            return key
        }

        mutating func double() -> Double {
            switch random.int(0...5) {
            case 0: return [Double.nan, .infinity, -.infinity, 0, -0.0, 1e21, 1e-7][random.int(0...6)]
            case 1: return Double(random.int(-1000...1000))
            default:
                let value = Double(bitPattern: random.next())
                return value.isNaN ? 1.5 : value
            }
        }

        mutating func value(depth: Int = 0) -> OTLPAnyValue? {
            switch random.int(0...(depth >= 2 ? 5 : 8)) {
            case 0: return nil
            case 1, 2: return .string(string())
            case 3: return .bool(random.chance(50))
            case 4: return .int(Int64(bitPattern: random.next()) >> UInt64(random.int(0...63)))
            case 5: return .double(double())
            case 6: return .bytes(random.bytes(random.int(0...6)))
            case 7: return .array((0..<random.int(0...3)).compactMap { _ in value(depth: depth + 1) })
            default: return .kvlist((0..<random.int(0...3)).map { _ in OTLPKeyValue(key: key(), value: value(depth: depth + 1)) })
            }
        }

        mutating func hint() -> OTLPAnyValue? {
            let names = (0..<random.int(0...3)).map { _ in keys.isEmpty ? string() : keys[random.int(0...(keys.count - 1))] }
            switch random.int(0...4) {
            case 0: return .array(names.map { .string($0) } + (random.chance(20) ? [.int(3)] : []))
            case 1: return value()
            default: return .string(names.joined(separator: random.chance(50) ? "," : ", "))
            }
        }

        mutating func attributes() -> [OTLPKeyValue] {
            var attributes = (0..<random.int(0...5)).map { _ in OTLPKeyValue(key: key(), value: value()) }
            if random.chance(40) { attributes.append(OTLPKeyValue(key: LokiTranslator.attributeLabelsHint, value: hint())) }
            if random.chance(30) { attributes.append(OTLPKeyValue(key: LokiTranslator.resourceLabelsHint, value: hint())) }
            if random.chance(25) {
                let formats: [OTLPAnyValue?] = [.string("json"), .string("logfmt"), .string("raw"), .string("xml"), nil, .int(1)]
                attributes.append(OTLPKeyValue(key: LokiTranslator.formatHint, value: formats[random.int(0...5)]))
            }
            return attributes
        }

        mutating func record() -> OTLPLogRecord {
            OTLPLogRecord(
                timeUnixNano: random.chance(50) ? random.next() : 0, observedTimeUnixNano: random.chance(50) ? random.next() : 0,
                severityNumber: Int32(random.int(-2...30)), severityText: random.chance(50) ? string() : "",
                body: random.chance(70) && random.chance(50) ? .string(logfmtish()) : value(), attributes: attributes(),
                flags: random.chance(20) ? UInt32(truncatingIfNeeded: random.next()) : 0,
                traceID: random.chance(50) ? random.bytes(16) : [], spanID: random.chance(50) ? random.bytes(8) : [])
        }

        /// Text that is often logfmt, sometimes nearly.
        mutating func logfmtish() -> String {
            (0..<random.int(0...4)).map { _ in
                let key = string(maxLength: 4)
                switch random.int(0...3) {
                case 0: return key
                case 1: return key + "=" + string(maxLength: 4)
                default: return key + "=\"" + string(maxLength: 6).replacingOccurrences(of: "\"", with: "\\\"") + "\""
                }
            }.joined(separator: " ")
        }

        mutating func logs() -> OTLPLogsData {
            OTLPLogsData(resourceLogs: (0..<random.int(0...3)).map { _ in
                OTLPResourceLogs(
                    resource: OTLPResource(attributes: attributes()),
                    scopeLogs: (0..<random.int(0...2)).map { _ in
                        OTLPScopeLogs(
                            scope: OTLPInstrumentationScope(name: random.chance(50) ? string() : "", version: string(maxLength: 2),
                                                            attributes: random.chance(30) ? [OTLPKeyValue(key: key(), value: value())] : []),
                            logRecords: (0..<random.int(0...4)).map { _ in record() })
                    })
            })
        }
    }

    @Test func randomLogsNeverCrashAndAreAccountedFor() throws {
        var generator = Generator(random: SeededRandom(seed: 0x10C1_E5C0))
        var converted = 0
        var failed = 0
        for _ in 0..<400 {
            let logs = generator.logs()
            let result = T.translator.translate(logs)
            #expect(result.entries.count + result.failedCount == logs.recordCount)
            #expect(T.translator.translate(logs) == result, "the same input converts the same way")
            converted += result.entries.count
            failed += result.failedCount
            for entry in result.entries {
                let names = entry.labels.pairs.map(\.name)
                #expect(names.allSatisfy(PrometheusLabelName.isValid), "label names: \(names)")
                #expect(Set(names).count == names.count)
                #expect(entry.labels.pairs.allSatisfy { !$0.value.isEmpty })
            }
            try checkLines(logs)
        }
        // The generator reaches both outcomes.
        #expect(converted > 500)
        #expect(failed > 10)
    }

    /// The shortcuts (per-resource work done once, the plain-record path, the label-set cache) change nothing:
    /// a batch converts exactly as its records do one by one through the general path.
    @Test func shortcutsMatchTheGeneralPath() {
        var generator = Generator(random: SeededRandom(seed: 0xFA57))
        var general = T.translator
        general.plainRecordShortcut = false
        for _ in 0..<300 {
            let logs = generator.logs()
            var expected: [Result<LogEntry, LokiTranslationError>] = []
            for resourceLogs in logs.resourceLogs {
                for scopeLogs in resourceLogs.scopeLogs {
                    for record in scopeLogs.logRecords {
                        expected.append(Result { () throws(LokiTranslationError) in
                            try general.entry(for: record, resource: resourceLogs.resource, scope: scopeLogs.scope)
                        })
                    }
                }
            }
            let batch = T.translator.translate(logs)
            #expect(batch.entries == expected.compactMap { try? $0.get() })
            #expect(batch.failedCount == expected.filter { if case .failure = $0 { true } else { false } }.count)
        }
    }

    /// Each JSON line parses and carries the body; each logfmt line reads back with the logfmt decoder.
    private func checkLines(_ logs: OTLPLogsData) throws {
        for resourceLogs in logs.resourceLogs {
            for scopeLogs in resourceLogs.scopeLogs {
                for record in scopeLogs.logRecords {
                    let format = LokiTranslator.formatName(record.attributes, resourceLogs.resource.attributes)
                    guard let entry = try? T.translator.entry(for: record, resource: resourceLogs.resource, scope: scopeLogs.scope)
                    else { continue }
                    switch format {
                    case "json":
                        let object = try JSONSerialization.jsonObject(with: Data(entry.line)) as? [String: Any]
                        #expect(object != nil, "not a JSON object: \(String(decoding: entry.line, as: UTF8.self))")
                        if case .string(let body) = record.body {
                            #expect((object?["body"] as? String).map { Array($0.unicodeScalars) } == Array(body.unicodeScalars))
                        }
                    case "logfmt":
                        #expect(throws: Never.self) { try LogfmtDecoder.decodeLine(entry.line[...]) }
                    default:
                        break
                    }
                }
            }
        }
    }

    /// logfmt written by the encoder reads back to the same values; keys lose only the characters they cannot hold.
    @Test func logfmtRoundTrip() throws {
        var generator = Generator(random: SeededRandom(seed: 42))
        for _ in 0..<2000 {
            var encoder = LogfmtEncoder()
            var expected: [(String, String)] = []
            for _ in 0..<generator.random.int(1...4) {
                let key = "k" + generator.string(maxLength: 4)
                let value = generator.string(maxLength: 10)
                encoder.append(key, .string(value))
                let kept = key.unicodeScalars.filter { $0.value > 0x20 && $0 != "=" && $0 != "\"" && $0 != "\u{FFFD}" }
                expected.append((String(String.UnicodeScalarView(kept)), value))
            }
            var line: [UInt8] = []
            try encoder.encode(into: &line)
            let pairs = try LogfmtDecoder.decodeLine(line[...])
            #expect(pairs.map { String(decoding: $0.key, as: UTF8.self) } == expected.map(\.0))
            #expect(pairs.map { Array(String(decoding: $0.value, as: UTF8.self).unicodeScalars) }
                == expected.map { Array($0.1.unicodeScalars) })
        }
    }

    /// Random bytes and mutated logfmt lines: the decoder returns or throws, never traps or loops.
    @Test func logfmtDecoderFuzz() {
        var random = SeededRandom(seed: 7)
        let seeds: [[UInt8]] = [
            Array(#"level=info msg="hello world" n=1"#.utf8), Array(#"a="\u00e9\ud83d\ude00\n" b c= d="""#.utf8),
            Array("k=v\r\nnext=line".utf8), Array(#"x="\uZZZZ" y="\"#.utf8),
        ]
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = random.bytes(random.int(0...40))
            } else {
                bytes = seeds[random.int(0...(seeds.count - 1))]
                for _ in 0..<random.int(1...4) where !bytes.isEmpty {
                    let position = random.int(0...(bytes.count - 1))
                    switch random.int(0...2) {
                    case 0: bytes[position] = UInt8(truncatingIfNeeded: random.next())
                    case 1: bytes.remove(at: position)
                    default: bytes.insert([UInt8(ascii: "\""), UInt8(ascii: "="), UInt8(ascii: "\\"), 0xFF][random.int(0...3)], at: position)
                    }
                }
            }
            if let pairs = try? LogfmtDecoder.decodeFirstLine(bytes) {
                for pair in pairs {
                    #expect(!pair.key.isEmpty)
                    #expect(!pair.key.contains { $0 <= 0x20 || $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: "\"") })
                }
            }
        }
    }

    /// Doubles in Go's layouts read back as the same double; `encoding/json` uses an exponent only outside
    /// [1e-6, 1e21), `%v` only outside [1e-4, 1e6).
    @Test func doublesRoundTrip() {
        var random = SeededRandom(seed: 99)
        for index in 0..<20_000 {
            var value = Double(bitPattern: random.next())
            if index % 3 == 0 { value = Double(random.int(-1_000_000...1_000_000)) / Double([1, 10, 1000, 1e7][random.int(0...3)]) }
            guard value.isFinite else { continue }
            var json: [UInt8] = []
            GoFloatFormat.appendJSON(value, to: &json)
            let jsonText = String(decoding: json, as: UTF8.self)
            #expect(Double(jsonText)?.bitPattern == value.bitPattern, "\(value) as JSON: \(jsonText)")
            let magnitude = value.magnitude
            #expect(jsonText.contains("e") == (magnitude != 0 && (magnitude < 1e-6 || magnitude >= 1e21)))
            var printed: [UInt8] = []
            GoFloatFormat.appendPrint(value, to: &printed)
            let printedText = String(decoding: printed, as: UTF8.self)
            #expect(Double(printedText)?.bitPattern == value.bitPattern, "\(value) printed: \(printedText)")
        }
    }

    /// Object keys come out in Go's order (bytewise, the last of a repeated key kept), whether the small-object
    /// insertion sort or the general sort does the work.
    @Test func objectKeysSortLikeGo() {
        var generator = Generator(random: SeededRandom(seed: 0x50_27))
        for _ in 0..<2000 {
            let count = generator.random.int(0...40)
            let pairs = (0..<count).map { _ in OTLPKeyValue(key: generator.string(maxLength: 3), value: nil) }
            var expected: [Int] = []
            for index in pairs.indices.sorted(by: { Array(pairs[$0].key.utf8).lexicographicallyPrecedes(Array(pairs[$1].key.utf8)) || (pairs[$0].key.utf8.elementsEqual(pairs[$1].key.utf8) && $0 < $1) }) {
                if let last = expected.last, pairs[last].key.utf8.elementsEqual(pairs[index].key.utf8) {
                    expected[expected.count - 1] = index
                } else {
                    expected.append(index)
                }
            }
            #expect(GoJSON.uniqueSortedIndices(pairs) == expected, "keys \(pairs.map(\.key))")
        }
    }

    /// JSON strings: whatever the text, Foundation reads back the same scalars.
    @Test func jsonStringsRoundTrip() throws {
        var generator = Generator(random: SeededRandom(seed: 5))
        for _ in 0..<3000 {
            let text = generator.string(maxLength: 12)
            var out: [UInt8] = [UInt8(ascii: "[")]
            GoJSON.appendString(text, to: &out)
            out.append(UInt8(ascii: "]"))
            let parsed = try JSONSerialization.jsonObject(with: Data(out)) as? [String]
            #expect(parsed.map { $0.map { Array($0.unicodeScalars) } } == [Array(text.unicodeScalars)])
            #expect(!out.contains { $0 < 0x20 || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">") || $0 == UInt8(ascii: "&") })
        }
    }
}
