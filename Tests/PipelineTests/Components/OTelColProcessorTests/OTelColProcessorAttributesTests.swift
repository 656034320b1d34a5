@testable import AlloyLanguage
import Prometheus
import Testing
import Wire
@testable import Pipeline
import PipelineTestSupport

/// `otelcol.processor.attributes`: each action, include/exclude, and what the configuration refuses.
@Suite struct OTelColProcessorAttributesTests {
    typealias T = OTTLTest

    static func run(_ body: String, _ records: [OTLPLogRecord], resource: [OTLPKeyValue] = [], scope: String = "",
                    metadata: ClientMetadata = ClientMetadata()) async throws -> [OTLPLogRecord] {
        let sink = RecordingConsumer()
        let processor = try ComponentHarness.make(
            OTelColProcessorAttributes.self, "otelcol.processor.attributes \"default\" {\n\(body)\noutput { logs = [sink] }\n}",
            scope: ComponentHarness.scope(consumers: ["sink": sink]))
        try await ClientMetadata.$current.withValue(metadata) {
            try await processor.consume(T.logs(records, resource: resource, scope: scope))
        }
        return sink.records
    }

    static func problem(_ body: String) -> String? {
        ComponentHarness.problem(
            OTelColProcessorAttributes.Arguments.self,
            "otelcol.processor.attributes \"default\" {\n\(body)\noutput { logs = [sink] }\n}",
            scope: ComponentHarness.scope(consumers: ["sink": RecordingConsumer()]))
    }

    static let record = OTLPLogRecord(attributes: [
        T.kv("user", .string("ann")), T.kv("code", .string("500")), T.kv("ratio", .double(2.75)),
        T.kv("path", .string("/api/v1/orders/42")), T.kv("token", .string("s3cr3t")),
    ])

    @Test func insertUpdateUpsert() async throws {
        let records = try await Self.run(#"""
            action {
              key = "user"
              value = "bob"
              action = "insert"
            }
            action {
              key = "team"
              value = "core"
              action = "insert"
            }
            action {
              key = "code"
              value = 404
              action = "update"
            }
            action {
              key = "missing"
              value = 1
              action = "update"
            }
            action {
              key = "ratio"
              value = true
              action = "upsert"
            }
            action {
              key = "copy"
              from_attribute = "user"
              action = "upsert"
            }
            action {
              key = "nothing"
              from_attribute = "absent"
              action = "upsert"
            }
            action {
              key = "tenant"
              from_context = "metadata.x-tenant"
              action = "insert"
            }
            action {
              key = "list"
              value = ["a", 1]
              action = "insert"
            }
            """#, [Self.record], metadata: ClientMetadata([("x-tenant", "t1"), ("x-tenant", "t2")]))
        #expect(records.first?.attributes == [
            T.kv("user", .string("ann")), T.kv("code", .int(404)), T.kv("ratio", .bool(true)),
            T.kv("path", .string("/api/v1/orders/42")), T.kv("token", .string("s3cr3t")), T.kv("team", .string("core")),
            T.kv("copy", .string("ann")), T.kv("tenant", .string("t1;t2")), T.kv("list", .array([.string("a"), .int(1)])),
        ])
    }

    @Test func deleteByKeyAndPattern() async throws {
        let records = try await Self.run(#"""
            action {
              key = "token"
              action = "delete"
            }
            action {
              pattern = "^(user|ratio)$"
              action = "delete"
            }
            """#, [Self.record])
        #expect(records.first?.attributes == [T.kv("code", .string("500")), T.kv("path", .string("/api/v1/orders/42"))])
    }

    @Test func hashIsTheCollectorsSHA256() async throws {
        let records = try await Self.run(#"""
            action {
              key = "token"
              action = "hash"
            }
            action {
              pattern = "^(n|f|b|m|empty)$"
              action = "hash"
            }
            """#, [OTLPLogRecord(attributes: [
                T.kv("token", .string("abc")), T.kv("n", .int(1)), T.kv("f", .double(1.5)), T.kv("b", .bool(true)),
                T.kv("m", .kvlist([])), T.kv("empty", .string("")),
            ])])
        #expect(records.first?.attributes == [
            T.kv("token", .string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")),
            // SHA-256 of 01 00 00 00 00 00 00 00 (int64 1, little-endian).
            T.kv("n", .string("7c9fa136d4413fa6173637e883b6998d32e1d675f88cddff9dcbcf331820f4b8")),
            // SHA-256 of the little-endian IEEE bits of 1.5 (00 00 00 00 00 00 f8 3f).
            T.kv("f", .string("e163f8cb0f7067a7fc78ca859a77f849aea3214f38fb75b884e4a16be725c905")),
            // SHA-256 of the single byte 01.
            T.kv("b", .string("4bf5122f344554c53bde2ebb8cd2b7e3d1600ad631c385a5d7cce23c7785459a")),
            T.kv("m", .string("")),
            // An empty string is hashed too, as the current collector does.
            T.kv("empty", .string("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")),
        ])
    }

    @Test func extractNamedGroups() async throws {
        let records = try await Self.run(#"""
            action {
              key     = "path"
              pattern = "^/api/(?P<version>v[0-9]+)/(?P<resource>[a-z]+)/(?P<id>[0-9]+)$"
              action  = "extract"
            }
            action {
              key = "user"
              pattern = "^(?P<initial>x)"
              action = "extract"
            }
            """#, [Self.record])
        #expect(Array(records.first?.attributes.suffix(3) ?? []) == [
            T.kv("version", .string("v1")), T.kv("resource", .string("orders")), T.kv("id", .string("42")),
        ])
        #expect(records.first?.attributes.count == 8)
    }

    @Test func convertTypes() async throws {
        let records = try await Self.run(#"""
            action {
              key = "code"
              converted_type = "int"
              action = "convert"
            }
            action {
              key = "ratio"
              converted_type = "int"
              action = "convert"
            }
            action {
              key = "user"
              converted_type = "int"
              action = "convert"
            }
            action {
              key = "n"
              converted_type = "double"
              action = "convert"
            }
            action {
              key = "b"
              converted_type = "string"
              action = "convert"
            }
            """#, [OTLPLogRecord(attributes: Self.record.attributes + [T.kv("n", .string("0.5")), T.kv("b", .bool(false))])])
        let attributes = records.first?.attributes ?? []
        #expect(attributes.first { $0.key == "code" }?.value == .int(500))
        #expect(attributes.first { $0.key == "ratio" }?.value == .int(2))
        #expect(attributes.first { $0.key == "user" }?.value == .string("ann"))  // not a number: left alone
        #expect(attributes.first { $0.key == "n" }?.value == .double(0.5))
        #expect(attributes.first { $0.key == "b" }?.value == .string("false"))
    }

    @Test func includeAndExcludeSelectRecords() async throws {
        let records: [OTLPLogRecord] = [
            OTLPLogRecord(severityNumber: 17, severityText: "ERROR", body: .string("db down"), attributes: [T.kv("env", .string("prod"))]),
            OTLPLogRecord(severityNumber: 9, severityText: "INFO", body: .string("ok"), attributes: [T.kv("env", .string("prod"))]),
            OTLPLogRecord(severityNumber: 17, severityText: "ERROR", body: .string("db slow"), attributes: [T.kv("env", .string("dev"))]),
            OTLPLogRecord(body: .string("no severity"), attributes: [T.kv("env", .string("prod"))]),
        ]
        func marked(_ body: String) async throws -> [Bool] {
            try await Self.run(body + "\naction {\nkey = \"hit\"\nvalue = true\naction = \"insert\"\n}", records,
                               resource: [T.kv("service.name", .string("api"))], scope: "lib")
                .map { !$0.attributes.filter { $0.key == "hit" }.isEmpty }
        }
        #expect(try await marked(#"include {\#nmatch_type = "strict"\#nlog_severity_texts = ["ERROR"]\#n}"#) == [true, false, true, false])
        #expect(try await marked(#"include {\#nmatch_type = "regexp"\#nlog_bodies = ["^db "]\#nattribute {\#nkey = "env"\#nvalue = "pr.d"\#n}\#n}"#)
            == [true, false, false, false])
        #expect(try await marked(#"exclude {\#nmatch_type = "strict"\#nattribute {\#nkey = "env"\#nvalue = "dev"\#n}\#n}"#) == [true, true, false, true])
        #expect(try await marked(#"include {\#nmatch_type = "strict"\#nresource {\#nkey = "service.name"\#nvalue = "api"\#n}\#n}"#)
            == [true, true, true, true])
        #expect(try await marked(#"include {\#nmatch_type = "strict"\#nlibrary {\#nname = "other"\#n}\#n}"#) == [false, false, false, false])
        #expect(try await marked(#"include {\#nmatch_type = "strict"\#nlog_severity {\#nmin = "WARN"\#n}\#n}"#) == [true, false, true, false])
        #expect(try await marked(#"include {\#nmatch_type = "strict"\#nlog_severity {\#nmin = "WARN"\#nmatch_undefined = true\#n}\#n}"#)
            == [true, false, true, true])
        #expect(try await marked(#"include {\#nmatch_type = "strict"\#nattribute {\#nkey = "env"\#n}\#n}"#) == [true, true, true, true])
    }

    @Test(arguments: [
        (#"action {\#nkey = "a"\#naction = "rename"\#n}"#, #"action: "rename" is not one of insert, update, upsert, delete, hash, extract, convert"#),
        (#"action {\#nkey = "a"\#naction = "insert"\#n}"#, "needs exactly one of value, from_attribute, from_context (got none)"),
        (#"action {\#nkey = "a"\#nvalue = 1\#nfrom_attribute = "b"\#naction = "upsert"\#n}"#, "(got value, from_attribute)"),
        (#"action {\#nvalue = 1\#naction = "insert"\#n}"#, #"action "insert" needs a non-empty key"#),
        (#"action {\#naction = "delete"\#n}"#, "needs a key or a pattern"),
        (#"action {\#nkey = "a"\#nvalue = 1\#naction = "delete"\#n}"#, #"value cannot be used with action "delete""#),
        (#"action {\#nkey = "a"\#naction = "extract"\#n}"#, "needs a pattern with named groups"),
        (#"action {\#nkey = "a"\#npattern = "(x)"\#naction = "extract"\#n}"#, "every group of an extract pattern must be named"),
        (#"action {\#nkey = "a"\#npattern = "("\#naction = "delete"\#n}"#, "pattern: invalid regular expression"),
        (#"action {\#nkey = "a"\#naction = "convert"\#n}"#, "needs converted_type"),
        (#"action {\#nkey = "a"\#nconverted_type = "bool"\#naction = "convert"\#n}"#, #"converted_type: "bool" is not one of int, double, string"#),
        (#"action {\#nkey = "a"\#nfrom_context = "auth.subject"\#naction = "insert"\#n}"#, "from_context: \"auth.subject\" is not supported"),
        (#"include {\#nmatch_type = "strict"\#nservices = ["a"]\#n}"#, "services only selects spans or metrics"),
        (#"exclude {\#nmatch_type = "strict"\#nspan_names = ["a"]\#n}"#, "span_names only selects spans or metrics"),
        (#"include {\#nmatch_type = "glob"\#nlog_bodies = ["a"]\#n}"#, #"match_type: "glob" is not one of "strict", "regexp""#),
        (#"include {\#nlog_bodies = ["a"]\#n}"#, #"missing required attribute "match_type""#),
        (#"include {\#nmatch_type = "strict"\#n}"#, "selects nothing"),
        (#"include {\#nmatch_type = "regexp"\#nlog_bodies = ["("]\#n}"#, "log_bodies: invalid regular expression"),
        (#"include {\#nmatch_type = "strict"\#nlog_severity {\#nmin = "LOUD"\#n}\#n}"#, #"min: unrecognized severity level "LOUD""#),
        (#"include {\#nmatch_type = "strict"\#nlog_bodies = ["a"]\#nunknown = 1\#n}"#, #"unrecognized attribute name "unknown""#),
        (#"include {\#nmatch_type = "strict"\#nlog_severity {\#nmin = "warn"\#n}\#n}"#, #"min: unrecognized severity level "warn""#),
        (#"include {\#nmatch_type = "strict"\#nlog_bodies = ["a"]\#nattributes {\#nkey = "a"\#n}\#n}"#, #"unrecognized block name "attributes""#),
    ])
    func configurationErrors(body: String, expected: String) throws {
        let problem = try #require(Self.problem(body), "accepted: \(body)")
        #expect(problem.contains(expected), "\(problem)")
        #expect(problem.hasPrefix("test.alloy:"), "\(problem)")
    }
}
