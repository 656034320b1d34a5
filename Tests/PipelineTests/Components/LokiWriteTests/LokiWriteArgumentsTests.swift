import TestSupport
import Testing
import Wire
@testable import Pipeline

/// Every `loki.write` test lives in this suite (`swift test --filter LokiWriteTests`).
@Suite struct LokiWriteTests {}

extension LokiWriteTests {
    @Suite struct Arguments {
        @Test func defaultsAreAlloys() throws {
            let arguments = try LokiWriteHarness.arguments(
                """
                loki.write "default" {
                  endpoint {
                    url = "http://loki:3100/loki/api/v1/push"
                  }
                }
                """)
            #expect(arguments.maxStreams == 0)
            #expect(arguments.externalLabels.isEmpty)
            let endpoint = try #require(arguments.endpoints.first)
            #expect(endpoint.host == "loki:3100")
            #expect(endpoint.batchSize == 1 << 20)
            #expect(endpoint.batchWait == .seconds(1))
            #expect(endpoint.remoteTimeout == .seconds(10))
            #expect(endpoint.minBackoff == .milliseconds(500))
            #expect(endpoint.maxBackoff == .seconds(300))
            #expect(endpoint.maxBackoffRetries == 10)
            #expect(endpoint.retryOnHTTP429)
            #expect(endpoint.tenantID == nil)
            #expect(endpoint.queue.capacity == 10 << 20)
            #expect(endpoint.queue.drainTimeout == .seconds(15))
            #expect(try LokiWrite.EndpointOptions(url: "http://loki:3100/loki/api/v1/push") == endpoint)
        }

        @Test func everyArgumentIsRead() throws {
            let arguments = try LokiWriteHarness.arguments(
                """
                loki.write "default" {
                  external_labels = { cluster = "prod", region = "eu" }
                  max_streams = 50
                  endpoint {
                    name = "primary"
                    url = "https://logs.example.com/loki/api/v1/push"
                    tenant_id = "team-a"
                    headers = { "X-Extra" = "1" }
                    batch_size = "256KiB"
                    batch_wait = "250ms"
                    remote_timeout = "3s"
                    min_backoff_period = "100ms"
                    max_backoff_period = "1m"
                    max_backoff_retries = 3
                    retry_on_http_429 = false
                    basic_auth {
                      username = "user"
                      password = "secret"
                    }
                    queue_config {
                      capacity = "2MiB"
                      drain_timeout = "1m"
                    }
                  }
                  endpoint {
                    url = "http://backup:3100/loki/api/v1/push"
                    bearer_token = "token"
                  }
                  wal {
                    enabled = false
                  }
                }
                """)
            #expect(arguments.externalLabels == ["cluster": "prod", "region": "eu"])
            #expect(arguments.maxStreams == 50)
            #expect(arguments.endpoints.count == 2)
            let primary = arguments.endpoints[0]
            #expect(primary.name == "primary")
            #expect(primary.host == "logs.example.com")
            #expect(primary.tenantID == "team-a")
            #expect(primary.headers == ["X-Extra": "1"])
            #expect(primary.batchSize == 256 << 10)
            #expect(primary.batchWait == .milliseconds(250))
            #expect(primary.remoteTimeout == .seconds(3))
            #expect(primary.minBackoff == .milliseconds(100))
            #expect(primary.maxBackoff == .seconds(60))
            #expect(primary.maxBackoffRetries == 3)
            #expect(!primary.retryOnHTTP429)
            #expect(primary.basicAuth == LokiWrite.BasicAuth(username: "user", password: "secret"))
            #expect(primary.queue == LokiWrite.QueueOptions(capacity: 2 << 20, drainTimeout: .seconds(60)))
            #expect(arguments.endpoints[1].bearerToken == "token")
        }

        /// Each bad configuration is refused with a message naming the attribute, at its position.
        @Test(arguments: [
            (#"url = "ftp://loki/push""#, "test.alloy:3:11: url: invalid URL \"ftp://loki/push\": the scheme must be http or https"),
            (#"url = "http:///push""#, "3:11: url: invalid URL \"http:///push\": it has no host"),
            (#"url = "loki:3100/push""#, "url: invalid URL \"loki:3100/push\": it has no scheme"),
            (#"url = "http://loki:99999/push""#, "the port must be a number from 1 to 65535, got \"99999\""),
            (#"url = "http://lo ki/push""#, "it contains a space or control character at byte 9"),
            (#"url = "http://l/p"|batch_size = "0""#, "test.alloy:4:18: batch_size: must be greater than 0, got 0"),
            (#"url = "http://l/p"|batch_size = "lots""#, "batch_size: invalid size \"lots\""),
            (#"url = "http://l/p"|batch_wait = "0s""#, "batch_wait: must be greater than 0, got 0s"),
            (#"url = "http://l/p"|remote_timeout = "soon""#, "remote_timeout: invalid duration \"soon\""),
            (#"url = "http://l/p"|min_backoff_period = "2s"|max_backoff_period = "1s""#,
             "5:26: max_backoff_period: must be at least min_backoff_period (2s), got 1s"),
            (#"url = "http://l/p"|max_backoff_retries = -1"#, "max_backoff_retries: must be 0 (retry forever) or more, got -1"),
            (#"url = "http://l/p"|retry_on_http_429 = "yes""#, "retry_on_http_429: expected bool, got string"),
            (#"url = "http://l/p"|headers = { "Bad Header" = "x" }"#, "headers: invalid header name \"Bad Header\""),
            (#"url = "http://l/p"|headers = { "X-A" = "a\nb" }"#, "headers.X-A: the value must not contain control characters"),
            (#"url = "http://l/p"|tenant_id = "a\rb""#, "tenant_id: must not contain control characters"),
            (#"url = "http://l/p"|queue_config {|capacity = "0"|}"#, "capacity: must be greater than 0, got 0"),
            (#"url = "http://l/p"|bearer_token = "t"|basic_auth {|username = "u"|}"#,
             "at most one of bearer_token, basic_auth may be given"),
            (#"url = "http://l/p"|bearer_token_file = "/t"|authorization {|credentials = "c"|}"#,
             "at most one of bearer_token_file, authorization may be given"),
            (#"url = "http://l/p"|authorization {|type = "Basic"|}"#,
             "type: authorization type cannot be set to \"basic\", use the basic_auth block instead"),
            (#"url = "http://l/p"|authorization {|credentials = "c"|credentials_file = "/c"|}"#,
             "at most one of authorization credentials and credentials_file may be given"),
            (#"url = "http://l/p"|basic_auth {|password = "p"|password_file = "/p"|}"#,
             "at most one of basic_auth password and password_file may be given"),
            (#"url = "http://l/p"|tls_config {|}"#, "tls_config: not supported by Estuary's loki.write yet"),
            (#"url = "http://l/p"|batchsize = "1MiB""#, "unrecognized attribute name \"batchsize\""),
            (#"name = "a""#, "missing required attribute \"url\""),
        ])
        func endpointErrors(body: String, expected: String) {
            let lines = body.split(separator: "|").map { "    " + $0 }.joined(separator: "\n")
            let config = "loki.write \"test\" {\n  endpoint {\n\(lines)\n  }\n}\n"
            let problem = LokiWriteHarness.problem(config)
            #expect(problem?.contains(expected) == true, "\(problem ?? "accepted")")
        }

        @Test(arguments: [
            (#"external_labels = { "bad-name" = "x" }"#, "external_labels: invalid label name \"bad-name\""),
            (#"max_streams = -2"#, "max_streams: must be 0 (no limit) or more, got -2"),
            (#"wal {|enabled = true|}"#, "enabled: loki.write's write-ahead log is not supported by Estuary"),
            (#"endpoint {|url = "http://a/p"|name = "x"|}|endpoint {|url = "http://b/p"|name = "x"|}"#,
             "loki.write.test: endpoint[1]: name \"x\" is already used by endpoint[0]"),
            (#"endpoint {|url = "http://a/p"|}|endpoint {|url = "http://a/p"|}"#,
             "endpoint[1] is identical to endpoint[0]"),
        ])
        func componentErrors(body: String, expected: String) {
            let lines = body.split(separator: "|").map { "  " + $0 }.joined(separator: "\n")
            let config = "loki.write \"test\" {\n\(lines)\n}\n"
            let problem = LokiWriteHarness.problem(config)
            #expect(problem?.contains(expected) == true, "\(problem ?? "accepted")")
        }

        /// Mutated configurations are accepted or refused with a message, never a trap.
        @Test func fuzz() {
            let seed = Array("""
                loki.write "fuzz" {
                  external_labels = { cluster = "prod" }
                  max_streams = 5
                  endpoint {
                    url = "http://user:pw@loki:3100/loki/api/v1/push"
                    batch_size = "1MiB"
                    min_backoff_period = "10ms"
                    max_backoff_period = "1s"
                    headers = { "X-A" = "b" }
                    queue_config {
                      capacity = "1KiB"
                    }
                  }
                }
                """.utf8)
            var random = SeededRandom(seed: 0xF022)
            var accepted = 0
            for _ in 0..<3_000 {
                var bytes = seed
                for _ in 0..<(1 + Int(random.next() % 3)) {
                    let at = Int(random.next() % UInt64(bytes.count))
                    switch random.next() % 3 {
                    case 0: bytes[at] = UInt8(truncatingIfNeeded: random.next() % 128)
                    case 1: bytes.remove(at: at)
                    default: bytes.insert(bytes[Int(random.next() % UInt64(bytes.count))], at: at)
                    }
                }
                if LokiWriteHarness.problem(String(decoding: bytes, as: UTF8.self)) == nil { accepted += 1 }
            }
            #expect(accepted > 0)
        }

        @Test func noEndpointIsAllowed() throws {
            let arguments = try LokiWriteHarness.arguments("loki.write \"none\" {\n}\n")
            #expect(arguments.endpoints.isEmpty)
        }
    }

    @Suite struct PushURLs {
        @Test(arguments: [
            ("http://loki:3100/loki/api/v1/push", "loki:3100", "http://loki:3100/loki/api/v1/push"),
            ("HTTPS://logs.example.com/loki/api/v1/push?x=1#frag", "logs.example.com",
             "https://logs.example.com/loki/api/v1/push?x=1"),
            ("http://[::1]:3100/push", "[::1]:3100", "http://[::1]:3100/push"),
            ("http://user:p%40ss@loki:3100/push", "loki:3100", "http://loki:3100/push"),
            ("http://loki", "loki", "http://loki"),
        ])
        func accepted(url: String, host: String, request: String) throws {
            let parsed = try HTTPEndpointURL.parse(url).get()
            #expect(parsed.host == host)
            #expect(parsed.requestURL == request)
        }

        @Test func credentialsInTheURLBecomeBasicAuth() throws {
            let parsed = try HTTPEndpointURL.parse("http://user:p%40ss@loki:3100/push").get()
            #expect(parsed.username == "user")
            #expect(parsed.password == "p@ss")
            #expect(Base64Codec.encoded(Array("user:p@ss".utf8)) == "dXNlcjpwQHNz")
            #expect(Base64Codec.encoded(Array("a".utf8)) == "YQ==")
            #expect(Base64Codec.encoded(Array("ab".utf8)) == "YWI=")
            #expect(Base64Codec.encoded([]) == "")
        }

        @Test(arguments: [
            "", "http", "http://", "http://:80/", "http://host:/", "http://host:0/", "http://host:x/", "http://[::1/",
            "http://[zz]/", "http://[::1]x/", "http://ho st/", "mailto://x", "http://a%zz@h/", "http://h\u{7F}/",
            "http://a^b/",
        ])
        func refused(url: String) {
            guard case .failure(let problem) = HTTPEndpointURL.parse(url) else {
                Issue.record("accepted \(url)")
                return
            }
            #expect(!problem.description.isEmpty)
        }

        /// Random and mutated URLs: a result or a problem, never a trap.
        @Test func fuzz() {
            var random = SeededRandom(seed: 0x10C1)
            let alphabet = Array("htps:/[]@%:.?#0123456789abcdefABCDEF-_~ \u{7F}".utf8)
            let seeds = ["http://loki:3100/loki/api/v1/push", "https://u:p@[::1]:443/x?y#z", "http://a%41@h:1/"]
            for round in 0..<20_000 {
                var bytes: [UInt8]
                if round % 2 == 0 {
                    bytes = (0..<Int(random.next() % 40)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }
                } else {
                    bytes = Array(seeds[round % seeds.count].utf8)
                    for _ in 0..<(1 + Int(random.next() % 4)) where !bytes.isEmpty {
                        let at = Int(random.next() % UInt64(bytes.count))
                        switch random.next() % 3 {
                        case 0: bytes[at] = UInt8(truncatingIfNeeded: random.next())
                        case 1: bytes.remove(at: at)
                        default: bytes.insert(alphabet[Int(random.next() % UInt64(alphabet.count))], at: at)
                        }
                    }
                }
                let text = String(decoding: bytes, as: UTF8.self)
                if case .success(let url) = HTTPEndpointURL.parse(text) {
                    #expect(url.requestURL.hasPrefix(url.scheme + "://" + url.host))
                }
            }
        }
    }

    @Suite struct RetryAfterHeader {
        @Test(arguments: [
            ("120", Duration.seconds(120)), ("  7 ", .seconds(7)), ("0", .seconds(0)),
            // RFC 9110's example date is 784111777 seconds after the epoch.
            ("Sun, 06 Nov 1994 08:49:37 GMT", .seconds(784_111_777 - 40)),
            ("Thu, 01 Jan 1970 00:00:10 GMT", .seconds(0)),
            ("Thu, 01 Jan 1970 00:01:40 GMT", .seconds(60)),
            ("99999999999999999999", .seconds(9_999_999_999)),
        ])
        func parsed(value: String, expected: Duration) {
            #expect(RetryAfter.parse(value, nowSeconds: 40) == expected)
        }

        @Test func dateInTheFuture() {
            // 2025-01-01T00:00:00Z is 1735689600.
            let wait = RetryAfter.parse("Wed, 01 Jan 2025 00:00:30 GMT", nowSeconds: 1_735_689_600)
            #expect(wait == .seconds(30))
        }

        @Test(arguments: ["", "soon", "-5", "1.5", "Sun, 06 Nov 1994 08:49:37 UTC", "Sunday, 06-Nov-94 08:49:37 GMT",
                          "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT"])
        func ignored(value: String) {
            #expect(RetryAfter.parse(value, nowSeconds: 0) == nil)
        }

        @Test func fuzz() {
            var random = SeededRandom(seed: 0x429)
            let seed = Array("Sun, 06 Nov 1994 08:49:37 GMT".utf8)
            for _ in 0..<20_000 {
                var bytes = seed
                for _ in 0..<(1 + Int(random.next() % 3)) {
                    bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
                }
                if random.next() % 4 == 0 { bytes = Array(bytes.prefix(Int(random.next() % 30))) }
                if let wait = RetryAfter.parse(String(decoding: bytes, as: UTF8.self), nowSeconds: 1_700_000_000) {
                    #expect(wait >= .zero)
                }
            }
        }
    }
}
