import Testing
@testable import Backend

@Suite struct ConfigWarningTests {
    @Test func unknownKeysWarnWithPositionAndStartupContinues() throws {
        let (config, warnings) = try parseConfig("""
            auth_enabled: false
            limits_config:
              max_line_size: 1MB
              foo: bar
              max_line_sise: 2MB
            ingester:
              chunk_encodin: gzip
            bogus_section:
              anything: 1
            """)
        #expect(config.authEnabled == false)
        #expect(config.limitsConfig.maxLineSize == 1 << 20)
        #expect(warnings.map(\.description) == [
            "loki.yaml:4:3: unknown key limits_config.foo (ignored)",
            "loki.yaml:5:3: unknown key limits_config.max_line_sise (ignored; did you mean max_line_size?)",
            "loki.yaml:7:3: unknown key ingester.chunk_encodin (ignored; did you mean chunk_encoding?)",
            "loki.yaml:8:1: unknown key bogus_section (ignored)",
        ])
        #expect(warnings.map(\.path) == [
            "limits_config.foo", "limits_config.max_line_sise", "ingester.chunk_encodin", "bogus_section",
        ])
    }

    @Test func lokiKeysThisVersionDoesNotUseWarnOncePerSection() throws {
        // Loki's own cmd/loki/loki-local-config.yaml.
        let (config, warnings) = try parseConfig("""
            auth_enabled: false

            server:
              http_listen_port: 3100
              grpc_listen_port: 9096
              log_level: debug
              grpc_server_max_concurrent_streams: 1000

            common:
              instance_addr: 127.0.0.1
              path_prefix: /tmp/loki
              storage:
                filesystem:
                  chunks_directory: /tmp/loki/chunks
                  rules_directory: /tmp/loki/rules
              replication_factor: 1
              ring:
                kvstore:
                  store: inmemory

            query_range:
              results_cache:
                cache:
                  embedded_cache:
                    enabled: true
                    max_size_mb: 100

            limits_config:
              metric_aggregation_enabled: true
              split_metadata_queries_by_interval: 15m

            schema_config:
              configs:
                - from: 2020-10-24
                  store: tsdb
                  object_store: filesystem
                  schema: v13
                  index:
                    prefix: index_
                    period: 24h

            pattern_ingester:
              enabled: true

            ruler:
              alertmanager_url: http://localhost:9093

            frontend:
              encoding: protobuf
            """)
        #expect(config.common.pathPrefix == "/tmp/loki")
        #expect(config.schemaConfig.configs.count == 1)
        #expect(warnings.map(\.description) == [
            "loki.yaml:5:3: server.grpc_listen_port is a Loki setting this version does not use (ignored)",
            "loki.yaml:6:3: server.log_level is a Loki setting this version does not use (ignored)",
            "loki.yaml:7:3: server.grpc_server_max_concurrent_streams is a Loki setting this version does not use (ignored)",
            "loki.yaml:10:3: common.instance_addr is a Loki setting this version does not use (ignored)",
            "loki.yaml:17:3: common.ring is a Loki setting this version does not use (ignored)",
            "loki.yaml:29:3: limits_config.metric_aggregation_enabled is a Loki setting this version does not use (ignored)",
            "loki.yaml:30:3: limits_config.split_metadata_queries_by_interval is a Loki setting this version does not use (ignored)",
            "loki.yaml:42:1: pattern_ingester is a Loki setting this version does not use (ignored)",
            "loki.yaml:45:1: ruler is a Loki setting this version does not use (ignored)",
            "loki.yaml:49:3: frontend.encoding is a Loki setting this version does not use (ignored)",
        ])
    }

    @Test func unexpandedVariablesInStringsWarn() throws {
        let (config, warnings) = try parseConfig("common:\n  path_prefix: ${DATA}/loki")
        #expect(config.common.pathPrefix == "${DATA}/loki")
        #expect(warnings.map(\.description) == [
            #"loki.yaml:2:3: common.path_prefix is "${DATA}/loki", taken as written: pass -config.expand-env=true to expand environment variables"#,
        ])
    }

    @Test func nonNameKeysWarn() throws {
        let (_, warnings) = try parseConfig("limits_config:\n  ? [a, b]\n  : 1\n")
        #expect(warnings.map(\.description) == [
            "loki.yaml:2:5: limits_config has a key that is not a name (a list) (ignored)",
        ])
    }
}
