import Testing
@testable import Backend

/// `runtime_config`, the retention keys of `limits_config` and Loki's deprecated per-tenant override keys.
@Suite struct RuntimeConfigSectionTests {
    static let text = """
        limits_config:
          retention_period: 31d
          retention_stream:
            - selector: '{namespace="dev"}'
              priority: 1
              period: 24h
            - selector: '{app=~"a|b"}'
              period: 1w
        runtime_config:
          file: /etc/loki/a.yaml, /etc/loki/b.yaml
          period: 30s
        """

    @Test func theSectionAndTheRetentionKeysAreReadAndRenderedBack() throws {
        let (config, warnings) = try parseConfig(Self.text)
        #expect(warnings.isEmpty)
        #expect(config.runtimeConfig.files == ["/etc/loki/a.yaml", "/etc/loki/b.yaml"])
        #expect(config.runtimeConfig.period == .seconds(30))
        #expect(config.limitsConfig.retentionPeriod == .seconds(31 * 24 * 3600))
        let rules = config.limitsConfig.retentionStream
        #expect(rules.map(\.selector) == [#"{namespace="dev"}"#, #"{app=~"a|b"}"#])
        #expect(rules.map(\.priority) == [1, 0])
        let day: Int64 = 24 * 3_600_000_000_000
        #expect(rules.map(\.period) == [day, 7 * day])
        let yaml = config.renderYAML()
        #expect(yaml.contains("""
              retention_period: 31d
              retention_stream:
                - period: 1d
                  priority: 1
                  selector: "{namespace=\\"dev\\"}"
                - period: 1w
                  priority: 0
                  selector: "{app=~\\"a|b\\"}"
              per_tenant_override_config: ""
              per_tenant_override_period: 10s

            """), "\(yaml)")
        #expect(yaml.hasSuffix("runtime_config:\n  file: \"/etc/loki/a.yaml, /etc/loki/b.yaml\"\n  period: 30s\n"))
        #expect(try parseConfig(yaml).config == config)
        let settings = try #require(RuntimeOverrides.Settings(config))
        #expect(settings.files == ["/etc/loki/a.yaml", "/etc/loki/b.yaml"])
        #expect(settings.period == .seconds(30))
    }

    @Test func theDefaultsRenderAsLokisAndNeedNoRuntimeConfiguration() throws {
        let yaml = BackendConfig().renderYAML()
        #expect(yaml.contains("  retention_period: 0s\n  retention_stream: []\n"))
        #expect(yaml.hasSuffix("runtime_config:\n  file: \"\"\n  period: 10s\n"))
        #expect(RuntimeOverrides.Settings(BackendConfig()) == nil)
    }

    @Test func lokisDeprecatedPerTenantKeysApplyOnlyWithoutRuntimeConfigFile() throws {
        let deprecated = try parseConfig("""
            limits_config:
              per_tenant_override_config: /etc/overrides.yaml
              per_tenant_override_period: 1m
            """).config
        let settings = try #require(RuntimeOverrides.Settings(deprecated))
        #expect(settings.files == ["/etc/overrides.yaml"])
        #expect(settings.period == .seconds(60))
        var both = deprecated
        both.runtimeConfig.file = "/etc/runtime.yaml"
        #expect(RuntimeOverrides.Settings(both)?.files == ["/etc/runtime.yaml"])
        #expect(RuntimeOverrides.Settings(both)?.period == .seconds(10))
    }

    @Test(arguments: [
        ("runtime_config:\n  period: 0s\n", "loki.yaml:2:11: runtime_config.period: must be longer than 0s, got \"0s\""),
        ("limits_config:\n  retention_stream:\n    - priority: 1\n      period: 48h\n",
         "loki.yaml:3:7: limits_config.retention_stream[0]: missing selector: the streams the rule keeps, such as selector: '{namespace=\"dev\"}'"),
        ("limits_config:\n  retention_stream:\n    - selector: '{a=\"b\"}'\n",
         "loki.yaml:3:7: limits_config.retention_stream[0].period: retention period must be >= 24h was 0s"),
        ("limits_config:\n  retention_stream:\n    - selector: '{a=~\"\"}'\n      period: 48h\n",
         "loki.yaml:3:17: limits_config.retention_stream[0].selector: invalid labels matchers: parse error : queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will"),
        ("limits_config:\n  retention_stream: {selector: x}\n",
         "loki.yaml:2:21: limits_config.retention_stream: expected a list, got a mapping"),
    ])
    func invalidValuesNameTheirPosition(text: String, expected: String) {
        #expect(configError(text)?.description == expected)
    }

    @Test func unknownRuntimeConfigKeysWarn() throws {
        let (_, warnings) = try parseConfig("runtime_config:\n  fille: x\n  http_client_timeout: 1s\n")
        #expect(warnings.map(\.description) == [
            "loki.yaml:2:3: unknown key runtime_config.fille (ignored; did you mean file?)",
            "loki.yaml:3:3: runtime_config.http_client_timeout is a Loki setting this version does not use (ignored)",
        ])
    }
}
