import Testing
import Wire
@testable import Backend

/// `limits_config.otlp_config`, `discover_service_name`, `discover_log_levels` and
/// `distributor.otlp_config`: read with Loki's defaults and rules, refused with file, line and reason, carried
/// through runtime overrides and shown back by `/config`.
@Suite struct OTLPConfigTests {
    @Test func defaultsAreLokis() throws {
        let (config, warnings) = try parseConfig("")
        #expect(warnings.isEmpty)
        let limits = Limits(config.limitsConfig)
        #expect(limits.discoverLogLevels)
        #expect(limits.discoverServiceName.first == "service" && limits.discoverServiceName.last == "k8s_job_name")
        #expect(limits.otlpConfig.action(forResource: "k8s.namespace.name") == .indexLabel)
        #expect(limits.otlpConfig.action(forResource: "host.name") == .structuredMetadata)
    }

    @Test func everyKeyIsReadAndRenderedBack() throws {
        let yaml = """
            distributor:
              otlp_config:
                default_resource_attributes_as_index_labels: [service.name, team]
            limits_config:
              discover_service_name: [app, component]
              discover_log_levels: false
              otlp_config:
                resource_attributes:
                  ignore_defaults: true
                  attributes_config:
                    - action: index_label
                      attributes: [k8s.namespace.name]
                    - action: drop
                      regex: "secret\\\\..*"
                scope_attributes:
                  - action: drop
                    attributes: [noise]
                log_attributes:
                  - attributes: [user.id]
                  - action: index_label
                    attributes: [tier]
                severity_text_as_label: true
            """
        let (config, warnings) = try parseConfig(yaml)
        #expect(warnings.isEmpty, "\(warnings)")
        let otlp = config.limitsConfig.otlpConfig
        #expect(otlp.defaultIndexLabels == ["service.name", "team"])
        #expect(otlp.ignoreDefaults && otlp.severityTextAsLabel)
        #expect(otlp.action(forResource: "service.name") == .structuredMetadata)
        #expect(otlp.action(forResource: "k8s.namespace.name") == .indexLabel)
        #expect(otlp.action(forResource: "secret.key") == .drop)
        #expect(otlp.action(forResource: "secretkey") == .structuredMetadata)
        #expect(otlp.action(forScope: "noise") == .drop)
        #expect(otlp.action(forLog: "user.id") == .structuredMetadata)
        #expect(otlp.action(forLog: "tier") == .indexLabel)
        #expect(config.limitsConfig.discoverServiceName == ["app", "component"])
        #expect(!config.limitsConfig.discoverLogLevels)

        let rendered = config.renderYAML()
        #expect(rendered.contains("    default_resource_attributes_as_index_labels: [service.name, team]\n"))
        #expect(rendered.contains("  discover_service_name: [app, component]\n"))
        let (reread, _) = try parseConfig(rendered)
        #expect(reread == config)
    }

    @Test(arguments: [
        ("otlp_config:\n    resource_attributes:\n      attributes_config:\n        - action: keep\n          attributes: [a]\n",
         #"loki.yaml:6:19: limits_config.otlp_config.resource_attributes.attributes_config[0].action: unsupported action "keep", it must be one of: drop, index_label, structured_metadata"#),
        ("otlp_config:\n    scope_attributes:\n      - action: index_label\n        attributes: [a]\n",
         "loki.yaml:5:17: limits_config.otlp_config.scope_attributes[0].action: index_label action is only supported for resource_attributes and log_attributes"),
        ("otlp_config:\n    log_attributes:\n      - action: drop\n",
         "loki.yaml:5:9: limits_config.otlp_config.log_attributes[0]: attributes or regex must be set"),
        ("otlp_config:\n    log_attributes:\n      - attributes: [a]\n        regex: b.*\n",
         "loki.yaml:5:9: limits_config.otlp_config.log_attributes[0]: only one of attributes or regex must be set"),
        ("discover_log_levels: maybe\n",
         #"loki.yaml:3:24: limits_config.discover_log_levels: expected true or false, got "maybe""#),
        ("discover_service_name: app\n",
         #"loki.yaml:3:26: limits_config.discover_service_name: expected a list, got "app""#),
    ])
    func badValuesStopStartUpNamingTheKey(_ limits: String, _ message: String) {
        let error = configError("auth_enabled: false\nlimits_config:\n  " + limits)
        #expect(error?.description == message)
    }

    @Test func aBadRegexIsRefusedWithItsPosition() {
        let error = configError("limits_config:\n  otlp_config:\n    log_attributes:\n      - regex: \"a(\"\n")
        #expect(error?.description.hasPrefix(#"loki.yaml:4:16: limits_config.otlp_config.log_attributes[0].regex: invalid regex "a(""#) == true)
    }

    @Test func tenantsOverrideOTLPSettingsKeyByKey() throws {
        var global = BackendConfig.LimitsConfig()
        global.otlpConfig.defaultIndexLabels = ["service.name"]
        global.otlpConfig.logAttributes = [OTLPAttributeRule(action: .drop, attributes: ["x"])]
        let (tenants, warnings) = try RuntimeOverridesTests.parse([("runtime.yaml", """
            overrides:
              a:
                discover_log_levels: false
                otlp_config:
                  resource_attributes:
                    attributes_config:
                      - action: index_label
                        attributes: [team]
              b:
                discover_service_name: []
            """)], limits: global)
        #expect(warnings.isEmpty, "\(warnings)")
        let a = try #require(tenants["a"])
        #expect(!a.discoverLogLevels)
        #expect(a.otlpConfig.defaultIndexLabels == ["service.name"])
        #expect(a.otlpConfig.action(forResource: "service.name") == .indexLabel)
        #expect(a.otlpConfig.action(forResource: "team") == .indexLabel)
        #expect(a.otlpConfig.action(forLog: "x") == .drop)   // not overridden: kept
        #expect(tenants["b"]?.discoverServiceName == [])
        #expect(tenants["b"]?.discoverLogLevels == true)
    }
}
