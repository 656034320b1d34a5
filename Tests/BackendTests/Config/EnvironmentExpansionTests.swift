import Testing
@testable import Backend

/// `-config.expand-env`, as Loki does it with drone/envsubst.
@Suite struct EnvironmentExpansionTests {
    static let environment = ["DATA": "/var/lib/loki", "PORT": "3200", "EMPTY": "", "WITH-DASH": "dash"]

    @Test(arguments: [
        ("path: ${DATA}", "path: /var/lib/loki"),
        ("${DATA}/chunks and ${DATA}/rules", "/var/lib/loki/chunks and /var/lib/loki/rules"),
        ("${UNSET}", ""),
        ("${UNSET:-fallback}", "fallback"),
        ("${EMPTY:-fallback}", "fallback"),
        ("${PORT:-3100}", "3200"),
        ("${UNSET:=x}", "x"),
        ("${UNSET=x}", "x"),
        ("${UNSET:-${DATA}/x}", "/var/lib/loki/x"),
        ("${UNSET:-}", ""),
        ("${WITH-DASH}", "dash"),
        ("${PORT-1}", ""),
        ("$$", "$"),
        ("$${DATA}", "${DATA}"),
        ("$$$", "$$"),
        ("cost: $5 and $DATA", "cost: $5 and $DATA"),
        ("trailing $", "trailing $"),
        ("a: \"x\"\nb: ${PORT}", "a: \"x\"\nb: 3200"),
    ])
    func expands(text: String, expected: String) throws {
        #expect(try EnvironmentExpansion.expand(text, environment: Self.environment) == expected)
    }

    @Test(arguments: [
        ("x: ${DATA", 1, 4, "unterminated ${ (no closing }); write $$ for a literal $"),
        ("a: 1\nb: ${}", 2, 4, "bad substitution: expected a variable name after ${, found \"}\""),
        ("a: 1\n  b: ${DATA^^}", 2, 6, "${DATA^^} is not supported; use ${VAR} or ${VAR:-default}"),
        ("${DATA:1:2}", 1, 1, "${DATA:1:2} is not supported; use ${VAR} or ${VAR:-default}"),
        ("${X:-abc", 1, 1, "unterminated ${X:-... (no closing })"),
    ])
    func rejects(text: String, line: Int, column: Int, message: String) {
        #expect(throws: EnvironmentExpansion.Failure(line: line, column: column, message: message)) {
            try EnvironmentExpansion.expand(text, environment: Self.environment)
        }
    }

    @Test func loaderExpandsBeforeParsing() throws {
        let yaml = """
            server:
              http_listen_port: ${PORT}
            common:
              path_prefix: ${DATA:-/tmp/loki}
            storage_config:
              filesystem:
                directory: ${DATA}/chunks
            limits_config:
              max_line_size: ${MAX_LINE:-512KB}
            """
        let (config, warnings) = try parseConfig(yaml, expandEnv: true, environment: Self.environment)
        #expect(warnings.isEmpty)
        #expect(config.server.httpListenPort == 3200)
        #expect(config.common.pathPrefix == "/var/lib/loki")
        #expect(config.storageConfig.filesystem.directory == "/var/lib/loki/chunks")
        #expect(config.limitsConfig.maxLineSize == 512 << 10)
        // Without expansion the text is taken as written, and a typed key says why it failed.
        #expect(configError(yaml)?.description.hasPrefix(#"loki.yaml:2:21: server.http_listen_port: expected an integer, got "${PORT}""#) == true)
    }

    @Test func loaderReportsExpansionErrorsWithPosition() {
        #expect(configError("server:\n  http_listen_port: ${PORT", expandEnv: true)?.description
                == "loki.yaml:2:21: -config.expand-env: unterminated ${ (no closing }); write $$ for a literal $")
    }
}
