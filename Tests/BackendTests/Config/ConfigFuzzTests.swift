import TestSupport
import Testing
@testable import Backend

/// Configuration files come from people: whatever the text, parsing ends in a config or a `ConfigError` with a
/// position inside the text, never a crash or a hang.
@Suite struct ConfigFuzzTests {
    static let seeds = [
        ConfigLoaderTests.everyKey,
        BackendConfig.quickstart.renderYAML(),
        BackendConfig().renderYAML(),
        """
        auth_enabled: false
        server: {http_listen_port: 3100, grpc_listen_port: 9096}
        common:
          path_prefix: ${DATA:-/tmp/loki}
          ring: {kvstore: {store: inmemory}}
        x: &anchor
          max_line_size: 1MB
        limits_config:
          <<: *anchor
          per_stream_rate_limit: "3MB"
        schema_config:
          configs: [{from: 2020-10-24, store: tsdb, object_store: filesystem, schema: v13, index: {prefix: index_, period: 24h}}]
        ingester: {chunk_encoding: snappy, max_chunk_age: 2h}
        """,
    ]

    static let fragments = [
        ":", " ", "  ", "\n", "\t", "-", "- ", "[", "]", "{", "}", ",", "#", "&a", "*a", "!!str ", "!!int ", "|",
        ">", "'", "\"", "?", "%", "@", "`", "<<: ", "---\n", "...\n", "${", "}", "$$", "${X:-", "0x", "1e9", ".inf",
        "~", "null", "true", "yes", "256KB", "1.5MB", "-1", "30s", "1w", "v12", "v13", "2024-02-30", "zstd",
        "server:", "limits_config:", "schema_config:\n  configs:\n    - ", "ingester:", "\u{0}", "\u{FEFF}", "é",
        "\r\n", "\\", "9999999999999999999999", "max_line_size: ", "from: ", "period: ",
    ]

    @Test func twoThousandMutatedDocumentsNeverCrash() {
        var random = SeededRandom(seed: FuzzBudget.seed(0xE57_0A27))
        var parsed = 0
        var failed = 0
        for round in 0..<FuzzBudget.scaled(2000) {
            let document = round % 5 == 0 ? Self.randomDocument(&random) : Self.mutate(Self.seeds.randomElement(using: &random) ?? "", &random)
            let expandEnv = Bool.random(using: &random)
            do {
                let (config, _) = try ConfigLoader.parse(yaml: document, file: "fuzz.yaml", expandEnv: expandEnv,
                                                         environment: ["X": "1", "DATA": "/d"])
                parsed += 1
                // Whatever parsed renders to YAML that parses back to the same configuration.
                let again = try? ConfigLoader.parse(yaml: config.renderYAML(), file: "render.yaml", expandEnv: false,
                                                    environment: [:]).config
                #expect(again == config, "\(document)")
            } catch {
                failed += 1
                #expect(error.description.hasPrefix("fuzz.yaml"), "\(error)")
                #expect(!error.message.isEmpty)
                if let line = error.line {
                    #expect(line >= 1 && line <= Self.lineCount(document) + 1, "\(error) for\n\(document)")
                }
            }
        }
        // Both outcomes must be exercised for the test to mean anything.
        #expect(parsed > 100)
        #expect(failed > 100)
    }

    /// Lines as YAML counts them: LF, CR, CR LF, NEL, LS and PS all end a line.
    static func lineCount(_ text: String) -> Int {
        var count = 1
        var previous: Unicode.Scalar?
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": if previous != "\r" { count += 1 }
            case "\r", "\u{85}", "\u{2028}", "\u{2029}": count += 1
            default: break
            }
            previous = scalar
        }
        return count
    }

    static func mutate(_ seed: String, _ random: inout SeededRandom) -> String {
        var scalars = Array(seed.unicodeScalars)
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let position = scalars.isEmpty ? 0 : Int.random(in: 0...scalars.count, using: &random)
            switch Int.random(in: 0..<6, using: &random) {
            case 0:   // insert a fragment
                let fragment = fragments.randomElement(using: &random) ?? ""
                scalars.insert(contentsOf: fragment.unicodeScalars, at: position)
            case 1:   // delete a range
                let end = min(scalars.count, position + Int.random(in: 1...12, using: &random))
                if position < end { scalars.removeSubrange(position..<end) }
            case 2:   // truncate
                scalars.removeSubrange(position...)
            case 3:   // duplicate a line
                var lines = String(String.UnicodeScalarView(scalars)).split(separator: "\n", omittingEmptySubsequences: false)
                if let index = lines.indices.randomElement(using: &random) { lines.insert(lines[index], at: index) }
                scalars = Array(lines.joined(separator: "\n").unicodeScalars)
            case 4:   // swap two lines
                var lines = String(String.UnicodeScalarView(scalars)).split(separator: "\n", omittingEmptySubsequences: false)
                if let a = lines.indices.randomElement(using: &random), let b = lines.indices.randomElement(using: &random) {
                    lines.swapAt(a, b)
                }
                scalars = Array(lines.joined(separator: "\n").unicodeScalars)
            default:  // replace one character with random bytes of any kind
                if position < scalars.count {
                    scalars[position] = Unicode.Scalar(UInt8.random(in: 0...127, using: &random))
                }
            }
        }
        return String(String.UnicodeScalarView(scalars))
    }

    static func randomDocument(_ random: inout SeededRandom) -> String {
        (0..<Int.random(in: 0...40, using: &random)).map { _ in fragments.randomElement(using: &random) ?? "" }.joined()
    }

    @Test func deepNestingIsAnErrorNotAStackOverflow() {
        let deep = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
        #expect(configError("server: " + deep)?.description
                == "loki.yaml:1:10: invalid YAML: nested deeper than libyaml's limit of 1000 levels")
        let deepBlock = (0..<2000).map { String(repeating: " ", count: $0) + "k\($0):" }.joined(separator: "\n")
        #expect(configError(deepBlock)?.message == "invalid YAML: nested deeper than libyaml's limit of 1000 levels")
    }
}

extension ConfigFuzzTests {
    @Test func exponentialMergesAreCapped() {
        var lines = ["a0: &a0 {max_line_size: 1KB}"]
        for level in 1...40 {
            lines.append("a\(level): &a\(level) {<<: [*a\(level - 1), *a\(level - 1)]}")
        }
        lines.append("limits_config:\n  <<: *a40")
        let error = configError(lines.joined(separator: "\n"))
        #expect(error?.message == "merge keys (<<) bring in more than 10000 keys; the aliases repeat too deeply",
                "\(String(describing: error))")
    }
}
