@testable import AlloyLanguage
import Foundation
import Logging
import Prometheus
import Testing
import Wire
@testable import Pipeline

/// Secrets given to `loki.write` never appear in the UI API, in a failed reload's answer (which is also what is
/// logged) or in a diagnostic's source excerpt.
@Suite(.serialized) struct SecretsStaySecretTests {
    static let secret = "s3cr3t-Pa55w0rd"

    static func lokiWrite(_ auth: String) -> String {
        """
        loki.write "default" {
          endpoint {
            url = "http://127.0.0.1:9/loki/api/v1/push"
        \(auth)
          }
        }
        """
    }

    static let authKinds = [
        "    basic_auth {\n      username = \"estuary\"\n      password = \"\(secret)\"\n    }",
        "    bearer_token = \"\(secret)\"",
        "    authorization {\n      type        = \"Bearer\"\n      credentials = \"\(secret)\"\n    }",
    ]

    private func service(_ text: String) throws -> (AgentService, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("secrets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("config.alloy")
        try text.write(to: path, atomically: true, encoding: .utf8)
        let service = AgentService(
            source: .file(path.path), storagePath: directory.appendingPathComponent("data").path,
            logger: Logger(label: "test"), metrics: PrometheusCollectorRegistry())
        return (service, path)
    }

    @Test(arguments: authKinds)
    func uiAPINeverShowsTheSecret(auth: String) async throws {
        let (service, _) = try service(Self.lokiWrite(auth))
        try await service.load()
        let infos = await service.graph.components()
        var list = JSONWriter()
        list.array(infos) { $0.component($1) }
        var one = JSONWriter()
        one.component(try #require(infos.first { $0.id == "loki.write.default" }))
        for bytes in [list.bytes, one.bytes] {
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(!text.contains(Self.secret))
            #expect(text.contains("\"(secret)\""))
            #expect(text.contains("127.0.0.1:9"), "the rest of the arguments are still shown")
        }
        await service.graph.stop()
    }

    @Test(arguments: [
        "      password = \"\(secret)\" + 1",  // evaluation error on the line
        "      password = \"\(secret)",  // unterminated string: a parse error
        "      password = string.format(\"%d\", \"\(secret)\")",  // a stdlib error about the value
    ])
    func aFailedReloadNeverShowsTheSecret(badLine: String) async throws {
        let good = Self.lokiWrite(Self.authKinds[0])
        let (service, path) = try service(good)
        try await service.load()
        let bad = Self.lokiWrite("    basic_auth {\n      username = \"estuary\"\n\(badLine)\n    }")
        try bad.write(to: path, atomically: true, encoding: .utf8)
        let answer = try #require(await service.reload(), "the reload must fail")
        #expect(answer.contains("config.alloy:"), "the answer still names the position: \(answer)")
        #expect(!answer.contains(Self.secret), "\(answer)")
        #expect(!answer.contains("s3cr3t"), "\(answer)")
        await service.graph.stop()
    }

    @Test func theCaretStillPointsAtTheErrorAfterMasking() throws {
        let text = """
            loki.write "default" {
              endpoint {
                basic_auth { password = "hunter22-long" }
                bearer_token = "tok-abcdef" + nope
              }
            }
            """
        let file = try AlloyParser.parse(name: "c.alloy", text: text)
        // Point at `nope`, after the masked literal on line 4.
        let line4 = file.sourceLine(4)
        let nope = try #require(line4.range(of: "nope"))
        let column = line4.utf8.distance(from: line4.utf8.startIndex, to: nope.lowerBound) + 1
        let diagnostic = file.diagnostic(
            SourceRange(start: SourcePosition(line: 4, column: column, offset: 0), end: SourcePosition(line: 4, column: column + 4, offset: 0)),
            "unknown identifier \"nope\" next to \"tok-abcdef\"")
        let rendered = diagnostic.description
        #expect(!rendered.contains("tok-abcdef"), "\(rendered)")
        #expect(diagnostic.location == "c.alloy:4:\(column)", "the position is the real one")
        let lines = rendered.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[1] == "    bearer_token = (secret) + nope")
        let caretIndex = try #require(lines[2].firstIndex(of: "^"))
        #expect(lines[2].distance(from: lines[2].startIndex, to: caretIndex) == lines[1].distance(
            from: lines[1].startIndex, to: try #require(lines[1].range(of: "nope")).lowerBound))

        // A caret inside the secret points at "(secret)"; one before it does not move.
        let inside = file.diagnostic(
            SourceRange(start: SourcePosition(line: 3, column: 35, offset: 0), end: SourcePosition(line: 3, column: 36, offset: 0)), "x")
        #expect(inside.sourceLine == "    basic_auth { password = (secret) }")
        #expect(inside.caretColumn == 29)
        let before = file.diagnostic(
            SourceRange(start: SourcePosition(line: 3, column: 5, offset: 0), end: SourcePosition(line: 3, column: 6, offset: 0)), "x")
        #expect(before.caretColumn == 5)
        #expect(!inside.description.contains("hunter22") && !before.description.contains("hunter22"))
    }

    @Test func aSecretLiteralIsMaskedWhereverItAppearsOnTheLine() throws {
        let text = """
            local_copy = "hunter22-long"
            loki.write "default" {
              endpoint {
                bearer_token = "hunter22-long"
              }
            }
            """
        // `local_copy` is not an attribute a component reads, but its value is the secret's literal.
        let file = try AlloyParser.parse(name: "c.alloy", text: text)
        let diagnostic = file.diagnostic(
            SourceRange(start: SourcePosition(line: 1, column: 1, offset: 0), end: SourcePosition(line: 1, column: 2, offset: 0)), "x")
        #expect(diagnostic.sourceLine == "local_copy = (secret)")
    }

    @Test func maskingFindsUnparsedAssignmentsByText() {
        func masked(_ line: String) -> [String] {
            let bytes = Array(line.utf8)
            return AlloyFile.assignedSecretSpans(bytes).map { String(decoding: bytes[$0], as: UTF8.self) }
        }
        #expect(masked(#"password = "a\"b" + 1"#) == [#""a\"b""#])
        #expect(masked("password=`raw`") == ["`raw`"])
        #expect(masked(#"  credentials = "never closed"#) == [#""never closed"#])
        #expect(masked(#"user_password = "x""#) == [], "only whole attribute names")
        #expect(masked(#"password == "x""#) == [], "a comparison is not an assignment")
        #expect(masked(#"username = "x""#) == [])
    }
}
