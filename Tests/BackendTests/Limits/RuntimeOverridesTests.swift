import Foundation
import Prometheus
import Testing
import Wire
@testable import Backend

/// The runtime configuration as an operator meets it: files of `overrides:` merged over `limits_config`, errors
/// naming file and line, and reloads that keep the last good overrides.
@Suite struct RuntimeOverridesTests {
    /// Parses runtime files given as (name, text) over `limits`.
    static func parse(
        _ files: [(String, String)], limits: BackendConfig.LimitsConfig = .init()
    ) throws(ConfigError) -> (tenants: [String: BackendConfig.LimitsConfig], warnings: [ConfigWarning]) {
        try ConfigLoader.parseRuntimeConfig(files: files.map { ($0.0, Array($0.1.utf8)) }, limits: limits)
    }

    static func error(_ files: [(String, String)]) -> ConfigError? {
        do {
            _ = try parse(files)
            return nil
        } catch {
            return error
        }
    }

    @Test func aTenantInheritsEveryGlobalKeyItDoesNotOverride() throws {
        var global = BackendConfig.LimitsConfig()
        global.maxLineSize = 1000
        global.ingestionRateMB = 8
        let (tenants, warnings) = try Self.parse([("runtime.yaml", """
            overrides:
              tenant-a:
                ingestion_rate_mb: 1
                retention_period: 2w
              "42":
                max_line_size: 2KB
                tsdb_max_bytes_per_shard: 64MB
            """)], limits: global)
        #expect(warnings.isEmpty)
        #expect(tenants["tenant-a"]?.ingestionRateMB == 1)
        #expect(tenants["tenant-a"]?.maxLineSize == 1000)
        #expect(tenants["tenant-a"]?.retentionPeriod == .seconds(14 * 24 * 3600))
        #expect(tenants["42"]?.ingestionRateMB == 8)
        #expect(tenants["42"]?.maxLineSize == 2048)
        #expect(tenants["42"]?.tsdbMaxBytesPerShard == 64 << 20)
        #expect(tenants["tenant-a"]?.tsdbMaxBytesPerShard == 600 << 20)
        #expect(tenants["other"] == nil)
    }

    @Test func laterFilesOverrideEarlierOnesKeyByKey() throws {
        let (tenants, _) = try Self.parse([
            ("a.yaml", """
                overrides:
                  t1: {ingestion_rate_mb: 1, ingestion_burst_size_mb: 2, max_line_size: 100}
                  t2: {max_line_size: 5}
                """),
            ("b.yaml", """
                overrides:
                  t1: {ingestion_rate_mb: 10}
                  t3: {max_line_size: 7}
                """),
        ])
        #expect(tenants["t1"]?.ingestionRateMB == 10)
        #expect(tenants["t1"]?.ingestionBurstSizeMB == 2)
        #expect(tenants["t1"]?.maxLineSize == 100)
        #expect(tenants["t2"]?.maxLineSize == 5)
        #expect(tenants["t3"]?.maxLineSize == 7)
    }

    @Test func aTenantWithNoKeysGetsTheGlobalLimits() throws {
        let (tenants, _) = try Self.parse([("r.yaml", "overrides:\n  quiet:\n")])
        #expect(tenants["quiet"] == BackendConfig.LimitsConfig())
    }

    @Test func unknownKeysWarnAsInLimitsConfigAndOtherLokiSectionsAreIgnored() throws {
        let (_, warnings) = try Self.parse([("r.yaml", """
            overrides:
              t:
                ingestion_rate_mbb: 3
                max_chunks_per_query: 32
            configs:
              t: {log_push_request: true}
            multi_kv_config: {primary: consul}
            overides: {}
            """)])
        let text = warnings.map(\.description)
        #expect(text == [
            "r.yaml:3:5: unknown key overrides.t.ingestion_rate_mbb (ignored; did you mean ingestion_rate_mb?)",
            "r.yaml:4:5: overrides.t.max_chunks_per_query is a Loki setting this version does not use (ignored)",
            "r.yaml:5:1: configs is a Loki setting this version does not use (ignored)",
            "r.yaml:7:1: multi_kv_config is a Loki setting this version does not use (ignored)",
            "r.yaml:8:1: unknown key overides (ignored; did you mean overrides?)",
        ])
    }

    @Test(arguments: [
        ("overrides:\n  t:\n    ingestion_rate_mb: lots\n",
         "b.yaml:3:24: overrides.t.ingestion_rate_mb: expected a number such as 4 or 1.5, got \"lots\""),
        ("overrides:\n  t:\n    reject_old_samples_max_age: 5 days\n",
         "b.yaml:3:33: overrides.t.reject_old_samples_max_age: expected a duration such as 30s, 5m or 1h, got \"5 days\": unknown unit \" days\" (use ns, us, ms, s, m, h, d, w or y)"),
        ("overrides:\n  t:\n    retention_stream:\n      - selector: '{app=foo\"}'\n        period: 48h\n",
         "b.yaml:4:19: overrides.t.retention_stream[0].selector: invalid labels matchers: parse error at line 1, col 6: syntax error: unexpected IDENTIFIER, expecting STRING"),
        ("overrides:\n  t:\n    retention_stream:\n      - selector: '{app=\"foo\"}'\n        period: 5h\n        priority: 1\n",
         "b.yaml:5:17: overrides.t.retention_stream[0].period: retention period must be >= 24h was 5h"),
        ("overrides:\n  t:\n    retention_stream:\n      - selector: '{app=\"foo\"} |= \"x\"'\n        period: 48h\n",
         "b.yaml:4:19: overrides.t.retention_stream[0].selector: invalid labels matchers: parse error : only label matchers are supported"),
        ("overrides:\n  t: [1, 2]\n",
         "b.yaml:2:6: overrides.t: expected the tenant's limits (a mapping of limits_config keys), got a list"),
        ("- overrides\n",
         "b.yaml:1:1: expected a mapping with overrides: at the top level of a runtime configuration file, got a list"),
        ("overrides:\n  t: {a: 1\n", "b.yaml:3:1: invalid YAML: did not find expected ',' or '}' (while parsing a flow mapping at 2:6)"),
    ])
    func anInvalidValueNamesTheFileLineAndKey(text: String, expected: String) {
        // The error is in the second file: positions and names are that file's.
        let error = Self.error([("a.yaml", "overrides: {t: {max_line_size: 1KB}}\n"), ("b.yaml", text)])
        #expect(error?.description == expected)
    }

    @Test func retentionRulesPickTheHighestPriorityThenTheShortestPeriod() throws {
        let (tenants, _) = try Self.parse([("r.yaml", """
            overrides:
              t:
                retention_period: 744h
                retention_stream:
                  - selector: '{namespace="dev"}'
                    priority: 1
                    period: 24h
                  - selector: '{namespace=~"dev|prod", app="api"}'
                    priority: 5
                    period: 72h
                  - selector: '{app="api"}'
                    priority: 5
                    period: 48h
            """)])
        let limits = Limits(try #require(tenants["t"]))
        #expect(limits.retentionPeriod == 744 * 3_600_000_000_000)
        #expect(limits.retentionStreams.map(\.selector) == [
            #"{namespace="dev"}"#, #"{namespace=~"dev|prod", app="api"}"#, #"{app="api"}"#,
        ])
        let day: Int64 = 24 * 3_600_000_000_000
        func period(_ pairs: [(String, String)]) -> Int64 {
            RetentionStreamRule.period(for: LabelSet(pairs.map { LabelPair(name: $0.0, value: $0.1) }),
                                       in: limits.retentionStreams, default: limits.retentionPeriod)
        }
        #expect(period([("namespace", "dev")]) == day)
        #expect(period([("namespace", "dev"), ("app", "api")]) == 2 * day)
        #expect(period([("namespace", "prod"), ("app", "web")]) == 31 * day)
        #expect(limits.retentionStreams[0].matches(LabelSet([LabelPair(name: "namespace", value: "dev")])))
        #expect(!limits.retentionStreams[0].matches(LabelSet([LabelPair(name: "namespace", value: "prod")])))
    }

    // MARK: Reloading

    /// A temporary directory with the runtime files of one test.
    final class Files {
        let directory: URL

        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("runtime-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }

        deinit { try? FileManager.default.removeItem(at: directory) }

        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

        func write(_ name: String, _ text: String) throws {
            try text.write(toFile: path(name), atomically: true, encoding: .utf8)
        }
    }

    static func metric(_ registry: PrometheusCollectorRegistry, _ name: String) -> [String] {
        String(decoding: registry.emitToBuffer(), as: UTF8.self).split(separator: "\n")
            .filter { $0.hasPrefix(name + "{") }.map(String.init)
    }

    @Test func aBadFileKeepsTheLastGoodOverridesUntilItIsFixed() async throws {
        let files = try Files()
        try files.write("runtime.yaml", "overrides:\n  t: {ingestion_rate_mb: 1}\n")
        let registry = PrometheusCollectorRegistry()
        let overrides = try RuntimeOverrides(
            .init(files: [files.path("runtime.yaml")], period: .seconds(10), limits: .init()), registry: registry)
        let mib = 1_048_576.0
        #expect(overrides.limits("t").ingestionRateBytes == 1 * mib)
        #expect(overrides.limits("u").ingestionRateBytes == 4 * mib)
        #expect(Self.metric(registry, "loki_runtime_config_last_reload_successful")
                    == [#"loki_runtime_config_last_reload_successful{config="loki"} 1.0"#])
        let firstHash = SHA256Hex.digest(Array("overrides:\n  t: {ingestion_rate_mb: 1}\n".utf8))
        #expect(Self.metric(registry, "loki_runtime_config_hash")
                    == [#"loki_runtime_config_hash{config="loki",sha256="\#(firstHash)"} 1.0"#])

        #expect(await overrides.reload() == .unchanged)

        try files.write("runtime.yaml", "overrides:\n  t: {ingestion_rate_mb: 2}\n  u: {ingestion_rate_mb: 3}\n")
        #expect(await overrides.reload() == .applied)
        #expect(overrides.limits("t").ingestionRateBytes == 2 * mib)
        #expect(overrides.limits("u").ingestionRateBytes == 3 * mib)
        let hashes = Self.metric(registry, "loki_runtime_config_hash")
        #expect(hashes.count == 1 && !hashes[0].contains(firstHash), "\(hashes)")

        try files.write("runtime.yaml", "overrides:\n  t: {ingestion_rate_mb: -5}\n")
        let outcome = await overrides.reload()
        guard case .failed(let error) = outcome else {
            Issue.record("expected a failed reload, got \(outcome)")
            return
        }
        #expect(error.description == "\(files.path("runtime.yaml")):2:26: overrides.t.ingestion_rate_mb: must not be negative, got -5")
        #expect(overrides.limits("t").ingestionRateBytes == 2 * mib)
        #expect(overrides.limits("u").ingestionRateBytes == 3 * mib)
        #expect(Self.metric(registry, "loki_runtime_config_last_reload_successful")
                    == [#"loki_runtime_config_last_reload_successful{config="loki"} 0.0"#])
        // The same bad bytes again: not parsed again, still failed.
        #expect(await overrides.reload() == outcome)

        try FileManager.default.removeItem(atPath: files.path("runtime.yaml"))
        guard case .failed(let missing) = await overrides.reload() else {
            Issue.record("a missing file must fail the reload")
            return
        }
        #expect(missing.description.hasPrefix("\(files.path("runtime.yaml")): cannot read the runtime configuration file"))
        #expect(overrides.limits("u").ingestionRateBytes == 3 * mib)

        try files.write("runtime.yaml", "overrides:\n  t: {ingestion_rate_mb: 5}\n")
        #expect(await overrides.reload() == .applied)
        #expect(overrides.limits("t").ingestionRateBytes == 5 * mib)
        #expect(overrides.limits("u").ingestionRateBytes == 4 * mib)
        #expect(Self.metric(registry, "loki_runtime_config_last_reload_successful")
                    == [#"loki_runtime_config_last_reload_successful{config="loki"} 1.0"#])
    }

    @Test func aBadFileAtStartUpIsAStartUpErrorNamingFileAndLine() throws {
        let files = try Files()
        try files.write("r.yaml", "overrides:\n  t:\n    max_line_size: huge\n")
        #expect(throws: ConfigError.self) {
            _ = try RuntimeOverrides(.init(files: [files.path("r.yaml")], period: .seconds(1), limits: .init()),
                                     registry: PrometheusCollectorRegistry())
        }
        do {
            _ = try RuntimeOverrides(.init(files: [files.path("r.yaml")], period: .seconds(1), limits: .init()),
                                     registry: PrometheusCollectorRegistry())
        } catch {
            #expect(error.description == "\(files.path("r.yaml")):3:20: overrides.t.max_line_size: expected a size such as 256KB or 1MB, got \"huge\"")
        }
    }

    // MARK: /runtime_config

    @Test func runtimeConfigShowsEveryTenantsLimitsAndTheDiffOnlyWhatDiffersFromLimitsConfig() throws {
        let files = try Files()
        try files.write("r.yaml", """
            overrides:
              b-tenant:
                max_line_size: 1KB
                ingestion_rate_mb: 4
              a-tenant:
                ingestion_rate_mb: 2
                retention_stream:
                  - selector: '{app="x"}'
                    priority: 2
                    period: 2d
              same: {ingestion_rate_mb: 4}
            """)
        var global = BackendConfig.LimitsConfig()
        global.retentionPeriod = .seconds(31 * 24 * 3600)
        let overrides = try RuntimeOverrides(.init(files: [files.path("r.yaml")], period: .seconds(1), limits: global),
                                             registry: PrometheusCollectorRegistry())
        let full = try #require(overrides.renderYAML(diff: false))
        #expect(full.hasPrefix("overrides:\n  a-tenant:\n    ingestion_rate_mb: 2\n    ingestion_burst_size_mb: 6\n"))
        #expect(full.contains("\n  b-tenant:\n    ingestion_rate_mb: 4\n"))
        #expect(full.contains("    retention_period: 31d\n    retention_stream:\n      - period: 2d\n        priority: 2\n        selector: \"{app=\\\"x\\\"}\"\n"))
        #expect(full.contains("\n  same:\n"))
        #expect(overrides.renderYAML(diff: true) == """
            overrides:
              a-tenant:
                ingestion_rate_mb: 2
                retention_stream:
                  - period: 2d
                    priority: 2
                    selector: "{app=\\"x\\"}"
              b-tenant:
                max_line_size: 1KB

            """)
        #expect(RuntimeOverrides(limits: Limits()).renderYAML(diff: false) == nil)
    }

    @Test func nothingDifferingIsAnEmptyMapping() async throws {
        let files = try Files()
        try files.write("r.yaml", "overrides:\n  t: {max_line_size: 256KB}\n")
        let overrides = try RuntimeOverrides(.init(files: [files.path("r.yaml")], period: .seconds(1), limits: .init()),
                                             registry: PrometheusCollectorRegistry())
        #expect(overrides.renderYAML(diff: true) == "{}\n")
        try files.write("r.yaml", "configs: {}\n")
        #expect(await overrides.reload() == .applied)
        #expect(overrides.renderYAML(diff: false) == "overrides: {}\n")
    }
}
