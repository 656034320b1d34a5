import Testing
@testable import Backend

@Suite struct ConfigErrorTests {
    @Test(arguments: [
        ("limits_config:\n  max_line_size: lots",
         #"loki.yaml:2:18: limits_config.max_line_size: expected a size such as 256KB or 1MB, got "lots""#),
        ("server:\n  http_listen_port: abc",
         #"loki.yaml:2:21: server.http_listen_port: expected an integer, got "abc""#),
        ("server:\n  http_listen_port: \"3100\"",
         #"loki.yaml:2:21: server.http_listen_port: expected an integer, got the string "3100" (write the number without quotes)"#),
        ("server:\n  http_listen_port: 70000",
         "loki.yaml:2:21: server.http_listen_port: must be between 0 and 65535, got 70000"),
        ("server:\n  http_listen_port: 1.5",
         #"loki.yaml:2:21: server.http_listen_port: expected an integer, got "1.5""#),
        ("server:\n  grpc_server_max_recv_msg_size: 0",
         "loki.yaml:2:34: server.grpc_server_max_recv_msg_size: must be at least 1, got 0"),
        ("ingester:\n  wal:\n    disk_full_threshold: 1.5",
         "loki.yaml:3:26: ingester.wal.disk_full_threshold: must be a fraction between 0 and 1 (0 turns the check off), got 1.5"),
        ("ingester:\n  wal:\n    sync_policy: sometimes",
         #"loki.yaml:3:18: ingester.wal.sync_policy: expected segment or always, got "sometimes""#),
        ("ingester:\n  wal:\n    checkpoint_duration: 0s",
         #"loki.yaml:3:26: ingester.wal.checkpoint_duration: must be longer than 0s, got "0s""#),
        ("auth_enabled: maybe",
         #"loki.yaml:1:15: auth_enabled: expected true or false, got "maybe""#),
        ("auth_enabled:\n  nested: true",
         "loki.yaml:2:3: auth_enabled: expected true or false, got a mapping"),
        ("server: [1, 2]",
         "loki.yaml:1:9: server: expected a mapping, got a list"),
        ("server: on",
         #"loki.yaml:1:9: server: expected a mapping, got "on""#),
        ("- a\n- b",
         "loki.yaml:1:1: expected a mapping of configuration sections (server:, limits_config:, ...) at the top level, got a list"),
        ("target: ruler",
         #"loki.yaml:1:9: target: expected one of all, distributor, ingester, querier, query-frontend, index-gateway, compactor, read, write, backend, got "ruler""#),
        ("limits_config:\n  ingestion_rate_mb: fast",
         #"loki.yaml:2:22: limits_config.ingestion_rate_mb: expected a number such as 4 or 1.5, got "fast""#),
        ("limits_config:\n  ingestion_rate_mb: -1",
         "loki.yaml:2:22: limits_config.ingestion_rate_mb: must not be negative, got -1"),
        ("limits_config:\n  ingestion_rate_mb: .inf",
         #"loki.yaml:2:22: limits_config.ingestion_rate_mb: expected a number such as 4 or 1.5, got ".inf""#),
        ("limits_config:\n  max_label_name_length: -5",
         "loki.yaml:2:26: limits_config.max_label_name_length: must be at least 0, got -5"),
        ("limits_config:\n  per_stream_rate_limit: -3MB",
         #"loki.yaml:2:26: limits_config.per_stream_rate_limit: must not be negative, got "-3MB""#),
        ("limits_config:\n  reject_old_samples_max_age: soon",
         #"loki.yaml:2:31: limits_config.reject_old_samples_max_age: expected a duration such as 30s, 5m or 1h, got "soon""#),
        ("limits_config:\n  creation_grace_period: 30",
         #"loki.yaml:2:26: limits_config.creation_grace_period: expected a duration such as 30s, 5m or 1h, got "30": a duration needs a unit (ns, us, ms, s, m, h, d, w, y)"#),
        ("limits_config:\n  max_query_length: 3 fortnights",
         #"loki.yaml:2:21: limits_config.max_query_length: expected a duration such as 30s, 5m or 1h, got "3 fortnights": unknown unit " fortnights" (use ns, us, ms, s, m, h, d, w or y)"#),
        ("ingester:\n  max_chunk_age: -1h",
         #"loki.yaml:2:18: ingester.max_chunk_age: must not be negative, got "-1h""#),
        ("ingester:\n  flush_check_period: 0s",
         #"loki.yaml:2:23: ingester.flush_check_period: must be longer than 0s, got "0s""#),
        ("ingester:\n  concurrent_flushes: 0",
         "loki.yaml:2:23: ingester.concurrent_flushes: must be at least 1, got 0"),
        ("ingester:\n  chunk_encoding: zstd",
         #"loki.yaml:2:19: ingester.chunk_encoding: chunk encoding "zstd" is not supported yet; use one of none, gzip, snappy, flate"#),
        ("ingester:\n  chunk_encoding: lz4-64k",
         #"loki.yaml:2:19: ingester.chunk_encoding: chunk encoding "lz4-64k" is not supported yet; use one of none, gzip, snappy, flate"#),
        ("ingester:\n  chunk_encoding: brotli",
         #"loki.yaml:2:19: ingester.chunk_encoding: expected one of none, gzip, snappy, flate, got "brotli""#),
    ])
    func wrongValuesNamePositionKeyAndExpectation(yaml: String, expected: String) {
        #expect(configError(yaml)?.description == expected)
    }

    static let period = """
        schema_config:
          configs:
            - from: 2024-01-01
              store: tsdb
              object_store: filesystem
              schema: SCHEMA
              index:
                prefix: index_
                period: PERIOD
        """

    @Test func onlySchemaV13() {
        let yaml = Self.period.replacing("SCHEMA", with: "v12").replacing("PERIOD", with: "24h")
        #expect(configError(yaml)?.description == #"loki.yaml:6:15: schema_config.configs[0].schema: schema "v12" is not supported; this version reads and writes only v13 (Loki's current schema): add a period with schema: v13"#)
    }

    @Test func only24hIndexPeriods() {
        let yaml = Self.period.replacing("SCHEMA", with: "v13").replacing("PERIOD", with: "168h")
        #expect(configError(yaml)?.description == "loki.yaml:9:17: schema_config.configs[0].index.period: index period 1w is not supported; only 24h index periods are")
    }

    @Test func badDates() {
        for date in ["2024-13-01", "2023-02-29", "24-01-01", "2024-1-1", "yesterday"] {
            let yaml = "schema_config:\n  configs:\n    - from: \(date)\n      schema: v13"
            #expect(configError(yaml)?.description == "loki.yaml:3:13: schema_config.configs[0].from: expected a date such as 2024-01-01 (YYYY-MM-DD), got \"\(date)\"")
        }
    }

    @Test func periodsMustBeOldestFirst() {
        let yaml = """
            schema_config:
              configs:
                - from: 2024-01-01
                  schema: v13
                - from: 2023-01-01
                  schema: v13
            """
        #expect(configError(yaml)?.description == "loki.yaml:5:13: schema_config.configs[1].from: 2023-01-01 is not after the previous period's from (2024-01-01); list periods oldest first, each starting on a later day")
    }

    @Test func periodsNeedFromAndSchema() {
        #expect(configError("schema_config:\n  configs:\n    - schema: v13")?.description
                == "loki.yaml:3:7: schema_config.configs[0]: missing from: the first day (UTC) this period applies to, such as from: 2024-01-01")
        #expect(configError("schema_config:\n  configs:\n    - from: 2024-01-01")?.description
                == "loki.yaml:3:7: schema_config.configs[0]: missing schema: this version reads and writes schema: v13")
        #expect(configError("schema_config:\n  configs: v13")?.description
                == #"loki.yaml:2:12: schema_config.configs: expected a list, got "v13""#)
        #expect(configError("schema_config:\n  configs:\n    - v13")?.description
                == #"loki.yaml:3:7: schema_config.configs[0]: expected a schema period (a mapping with from:, store:, object_store:, schema:, index:), got "v13""#)
    }

    @Test func yamlSyntaxErrorsHavePositions() {
        #expect(configError("server:\n\thttp_listen_port: 3100")?.description
                == "loki.yaml:2:1: invalid YAML: found character that cannot start any token; YAML is indented with spaces, not tabs")
        let indent = configError("server:\n  http_listen_port: 3100\n   grpc: 1\n")
        #expect(indent?.line == 3, "\(String(describing: indent))")
        #expect(indent?.description.hasPrefix("loki.yaml:3:") == true)
        let unclosed = configError("server: {http_listen_port: 3100\n")
        #expect(unclosed?.description.hasPrefix("loki.yaml:2:") == true, "\(String(describing: unclosed))")
        let alias = configError("server: *missing\n")
        #expect(alias?.description.hasPrefix("loki.yaml:1:9: invalid YAML: found undefined alias") == true,
                "\(String(describing: alias))")
        let twoDocuments = configError("auth_enabled: false\n---\nauth_enabled: true\n")
        #expect(twoDocuments?.description
                == "loki.yaml:2:1: invalid YAML: a second document starts here; a configuration file holds one document")
    }

    @Test func duplicateKeys() {
        let error = configError("server:\n  http_listen_port: 1\n  http_listen_port: 2\n")
        #expect(error?.description == #"loki.yaml:2:3: invalid YAML: duplicate key "http_listen_port" in one mapping; keep one"#)
    }

    @Test func unexpandedVariablesGetAHint() {
        let error = configError("limits_config:\n  max_line_size: ${MAX_LINE}")
        #expect(error?.description == #"loki.yaml:2:18: limits_config.max_line_size: expected a size such as 256KB or 1MB, got "${MAX_LINE}" (pass -config.expand-env=true to expand environment variables)"#)
    }

    @Test func errorsAndWarningsRenderTheirPositions() {
        #expect(ConfigError(file: "a.yaml", line: 3, column: 7, path: "x.y", message: "bad").description
                == "a.yaml:3:7: x.y: bad")
        #expect(ConfigError(file: "", path: "x", message: "bad").description == "x: bad")
        #expect(ConfigError(file: "a.yaml", message: "bad").description == "a.yaml: bad")
        #expect(ConfigWarning(file: "config.yaml", line: 12, column: 3, path: "limits_config.foo",
                              message: "unknown key limits_config.foo (ignored)").description
                == "config.yaml:12:3: unknown key limits_config.foo (ignored)")
    }
}
