import TestSupport
import Testing
@testable import Backend

/// Runtime configuration files are edited by hand while the backend runs: whatever their text, parsing ends in
/// per-tenant limits or a `ConfigError` naming the file and a line inside it, never a crash or a hang.
@Suite struct RuntimeOverridesFuzzTests {
    static let seeds = [
        """
        overrides:
          tenant-a:
            ingestion_rate_mb: 1
            ingestion_burst_size_mb: 2
            max_line_size: 1KB
            retention_period: 744h
            retention_stream:
              - selector: '{namespace="dev"}'
                priority: 1
                period: 24h
              - selector: '{app=~"api|web", env!="prod"}'
                priority: 2
                period: 2w
          "29": {creation_grace_period: 48h, max_global_streams_per_user: 100000}
        configs:
          tenant-a: {log_push_request: true}
        multi_kv_config: {primary: consul}
        """,
        "overrides: {}\n",
        "overrides:\n  t:\n  u: {reject_old_samples: false}\n",
    ]

    static let fragments = ConfigFuzzTests.fragments + [
        "overrides:", "  t:", "    ", "retention_stream:", "- selector: ", "'{a=\"b\"}'", "{a=~\"(\"}", "priority: ",
        "period: 5h", "ingestion_rate_mb: ", "configs:", "|= \"x\"", "{}", "''",
    ]

    @Test func mutatedRuntimeFilesParseOrFailWithAPositionInTheFile() {
        var random = SeededRandom(seed: FuzzBudget.seed(0x0E_2B1D))
        var parsed = 0
        var failed = 0
        for round in 0..<FuzzBudget.scaled(2000) {
            let document = round % 5 == 0
                ? (0..<random.int(0...40)).map { _ in Self.fragments.randomElement(using: &random) ?? "" }.joined()
                : Self.mutate(Self.seeds.randomElement(using: &random) ?? "", &random)
            // Half the rounds put a good file first, so errors must name the second file.
            let files: [(path: String, bytes: [UInt8])] = random.chance(50)
                ? [("first.yaml", Array(Self.seeds[0].utf8)), ("fuzz.yaml", Array(document.utf8))]
                : [("fuzz.yaml", Array(document.utf8))]
            do {
                let (tenants, warnings) = try ConfigLoader.parseRuntimeConfig(files: files, limits: .init())
                parsed += 1
                for warning in warnings {
                    #expect(warning.line >= 1, "\(warning)")
                }
                // Every tenant's limits render as limits_config does and read back to the same values.
                for (name, limits) in tenants {
                    var config = BackendConfig()
                    config.limitsConfig = limits
                    let again = try? ConfigLoader.parse(yaml: config.renderYAML(), file: "render.yaml",
                                                        expandEnv: false, environment: [:]).config.limitsConfig
                    #expect(again == limits, "tenant \(name) of\n\(document)")
                }
            } catch {
                failed += 1
                #expect(error.file == "fuzz.yaml", "\(error)")
                #expect(!error.message.isEmpty)
                if let line = error.line {
                    #expect(line >= 1 && line <= ConfigFuzzTests.lineCount(document) + 1, "\(error) for\n\(document)")
                }
            }
        }
        #expect(parsed > 100)
        #expect(failed > 100)
    }

    @Test func randomBytesNeverCrash() {
        var random = SeededRandom(seed: FuzzBudget.seed(0xB17E5))
        for _ in 0..<FuzzBudget.scaled(500) {
            let bytes = random.bytes(random.int(0...200))
            do {
                _ = try ConfigLoader.parseRuntimeConfig(files: [("bytes.yaml", bytes)], limits: .init())
            } catch {
                #expect(error.file == "bytes.yaml", "\(error)")
            }
        }
    }

    static func mutate(_ seed: String, _ random: inout SeededRandom) -> String {
        var scalars = Array(seed.unicodeScalars)
        for _ in 0..<random.int(1...4) {
            let position = scalars.isEmpty ? 0 : random.int(0...scalars.count)
            switch random.int(0...3) {
            case 0:
                let fragment = fragments.randomElement(using: &random) ?? ""
                scalars.insert(contentsOf: fragment.unicodeScalars, at: position)
            case 1:
                let end = min(scalars.count, position + random.int(1...12))
                if position < end { scalars.removeSubrange(position..<end) }
            case 2:
                var lines = String(String.UnicodeScalarView(scalars)).split(separator: "\n", omittingEmptySubsequences: false)
                if let index = lines.indices.randomElement(using: &random) { lines.insert(lines[index], at: index) }
                scalars = Array(lines.joined(separator: "\n").unicodeScalars)
            default:
                if position < scalars.count { scalars[position] = Unicode.Scalar(UInt8(random.int(0...127))) }
            }
        }
        return String(String.UnicodeScalarView(scalars))
    }
}
