import AsyncHTTPClient
import Foundation
import NIOCore
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// The processes `loadgen hostile` attacks: one `estuary backend` (auth enabled, filesystem storage in a temporary
/// directory) and one `estuary run` agent with `loki.source.api` and `otelcol.receiver.otlp` writing to it through
/// `otelcol.exporter.loki` and `loki.write`; all on loopback, ports chosen at start. Also the known good entries
/// pushed before the attack and read back after each family.
struct HostileStack: Sendable {
    let backend: ChildProcess
    let agent: ChildProcess
    let backendPort: Int
    let agentPort: Int
    let sourceAPIPort: Int
    let otlpPort: Int
    let directory: String

    static let goodTenant = "hostile-good"
    static let goodJob = "hostile-good"

    static func backendConfig(data: String) -> String {
        """
        auth_enabled: true
        server:
          http_listen_port: 0
        common:
          path_prefix: \(data)
          replication_factor: 1
        schema_config:
          configs:
            - from: 2024-01-01
              store: tsdb
              object_store: filesystem
              schema: v13
              index:
                prefix: index_
                period: 24h
        storage_config:
          filesystem:
            directory: \(data)/chunks
        ingester:
          chunk_encoding: snappy
        limits_config:
          reject_old_samples: true
          query_timeout: 5s

        """
    }

    static func agentConfig(backendPort: Int, sourceAPIPort: Int, otlpPort: Int) -> String {
        """
        loki.source.api "hostile" {
          http {
            listen_address = "127.0.0.1"
            listen_port    = \(sourceAPIPort)
          }
          labels     = { via = "source_api" }
          forward_to = [loki.write.backend.receiver]
        }

        otelcol.receiver.otlp "hostile" {
          http {
            endpoint = "127.0.0.1:\(otlpPort)"
          }
          output {
            logs = [otelcol.exporter.loki.backend.input]
          }
        }

        otelcol.exporter.loki "backend" {
          forward_to = [loki.write.backend.receiver]
        }

        loki.write "backend" {
          endpoint {
            url       = "http://127.0.0.1:\(backendPort)/loki/api/v1/push"
            tenant_id = "hostile-agent"
          }
        }

        """
    }

    /// A loopback port nobody listens on right now (for the agent's listeners, whose ports are fixed in its config).
    static func freePort() throws -> Int {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw LoadGenError.badArgument("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard bound == 0 else { throw LoadGenError.badArgument("bind 127.0.0.1:0: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Starts both processes in a new directory under `parent` and waits until both listen and answer ready.
    static func start(binary: String, parent: String, generation: Int) async throws -> HostileStack {
        let directory = parent + "/stack-\(generation)"
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        try backendConfig(data: directory + "/data").write(toFile: directory + "/loki.yaml", atomically: true, encoding: .utf8)
        let backend = try ChildProcess.spawn(
            name: "backend", executable: binary,
            arguments: ["backend", "-config.file=\(directory)/loki.yaml", "-server.http-listen-address=127.0.0.1",
                        "-server.http-listen-port=0"],
            logPrefix: directory + "/backend")
        guard let backendPort = await backend.waitForListening(marker: "listening on ", timeout: .seconds(120)) else {
            _ = await backend.terminate(timeout: .seconds(5))
            let why = backend.exitStatus() ?? "no listening line in 120 s"
            throw LoadGenError.badArgument("estuary backend did not start (\(why)): \(backend.stderrTail())")
        }
        let sourceAPIPort = try freePort()
        let otlpPort = try freePort()
        try agentConfig(backendPort: backendPort, sourceAPIPort: sourceAPIPort, otlpPort: otlpPort)
            .write(toFile: directory + "/config.alloy", atomically: true, encoding: .utf8)
        let agent = try ChildProcess.spawn(
            name: "agent", executable: binary,
            arguments: ["run", directory + "/config.alloy", "--server.http.listen-addr=127.0.0.1:0",
                        "--storage.path=\(directory)/agent-data"],
            logPrefix: directory + "/agent")
        guard let agentPort = await agent.waitForListening(marker: "agent listening on ", timeout: .seconds(120)) else {
            _ = await agent.terminate(timeout: .seconds(5))
            _ = await backend.terminate(timeout: .seconds(30))
            let why = agent.exitStatus() ?? "no listening line in 120 s"
            throw LoadGenError.badArgument("estuary run did not start (\(why)): \(agent.stderrTail())")
        }
        let stack = HostileStack(backend: backend, agent: agent, backendPort: backendPort, agentPort: agentPort,
                                 sourceAPIPort: sourceAPIPort, otlpPort: otlpPort, directory: directory)
        if let problem = await stack.ready(port: backendPort, path: "/ready", within: .seconds(60)) {
            throw LoadGenError.badArgument("estuary backend not ready after start: \(problem)")
        }
        if let problem = await stack.ready(port: agentPort, path: "/-/ready", within: .seconds(60)) {
            throw LoadGenError.badArgument("estuary run not ready after start: \(problem)")
        }
        for port in [sourceAPIPort, otlpPort] {
            if await stack.accepting(port: port, within: .seconds(30)) { continue }
            throw LoadGenError.badArgument("the agent's listener on 127.0.0.1:\(port) did not open within 30 s: "
                + agent.stderrTail())
        }
        return stack
    }

    func port(of target: HostileRequest.Target) -> Int {
        switch target {
        case .backend: return backendPort
        case .sourceAPI: return sourceAPIPort
        case .otlp: return otlpPort
        }
    }

    func process(of target: HostileRequest.Target) -> ChildProcess {
        target == .backend ? backend : agent
    }

    /// True once something answers HTTP on `port` (any status), within `within`.
    func accepting(port: Int, within: Duration) async -> Bool {
        let deadline = ContinuousClock.now + within
        let probe = Array("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        while ContinuousClock.now < deadline {
            if case .response = RawHTTPClient.exchange(port: port, request: probe, halfClose: false, timeout: .seconds(2)) {
                return true
            }
            // Bounded poll: a listener opening has no event to await.
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// Nil once `GET path` answers 200 within `within`; else what it answered last.
    func ready(port: Int, path: String, within: Duration) async -> String? {
        let deadline = ContinuousClock.now + within
        var last = "no answer"
        while ContinuousClock.now < deadline {
            do {
                let response = try await HTTPClient.shared.execute(
                    HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)"), timeout: .seconds(5))
                let body = try await response.body.collect(upTo: 1 << 16)
                if response.status.code == 200 { return nil }
                last = "HTTP \(response.status.code): \(String(buffer: body).prefix(200))"
            } catch {
                last = "\(error)"
            }
            // Bounded poll of a readiness endpoint: readiness has no event to await.
            try? await Task.sleep(for: .milliseconds(200))
        }
        return "GET 127.0.0.1:\(port)\(path) did not answer 200 within \(within): \(last)"
    }

    /// The known good entries: 3 streams of 40 lines, a second ago and before, pushed to the backend under
    /// ``goodTenant``. Their label `a` and every third line are 30 `a`s, so a backtracking regex engine asked
    /// `(a+)+b` of them takes 2^30 steps.
    struct GoodEntries: Sendable {
        var runID: String
        var lines: Set<String>
        var startNanos: Int64
        var endNanos: Int64
        var selector: String { #"{job="\#(HostileStack.goodJob)", run="\#(runID)"}"# }
    }

    static func goodRequest(runID: String, nowNanos: Int64) -> (PushRequest, GoodEntries) {
        var request = PushRequest()
        var lines = Set<String>()
        let start = nowNanos - 120_000_000_000
        for stream in 0..<3 {
            var entries: [PushEntry] = []
            for index in 0..<40 {
                let line = index % 3 == 0 ? "good \(stream).\(index) " + String(repeating: "a", count: 30)
                    : "good \(stream).\(index) level=info msg=\"known entry\""
                lines.insert(line)
                entries.append(PushEntry(timestamp: start + Int64(stream * 1000 + index) * 1_000_000,
                                         line: Array(line.utf8)[...]))
            }
            request.streams.append(PushStream(
                labels: #"{job="\#(goodJob)", run="\#(runID)", stream="\#(stream)", a="\#(String(repeating: "a", count: 30))"}"#,
                entries: entries))
        }
        return (request, GoodEntries(runID: runID, lines: lines, startNanos: start,
                                     endNanos: start + 3_000_000_000))
    }

    /// Pushes the good entries; throws unless the backend acknowledges them (204).
    func pushGood(_ request: PushRequest) async throws {
        var http = HTTPClientRequest(url: "http://127.0.0.1:\(backendPort)/loki/api/v1/push")
        http.method = .POST
        http.headers.add(name: "Content-Type", value: "application/x-protobuf")
        http.headers.add(name: "X-Scope-OrgID", value: Self.goodTenant)
        http.body = .bytes(ByteBuffer(bytes: Snappy.compress(PushProtobufEncoder.encode(request))))
        let response = try await HTTPClient.shared.execute(http, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 16)
        guard (200..<300).contains(Int(response.status.code)) else {
            throw LoadGenError.badResponse(url: "push of the good entries", status: Int(response.status.code),
                                           bodyPrefix: String(String(buffer: body).prefix(300)))
        }
    }

    /// Nil when every good entry reads back from the backend; else what is wrong.
    func readBack(_ good: GoodEntries) async -> String? {
        let query = HostileGenerator.encodeComponent(good.selector)
        let url = "http://127.0.0.1:\(backendPort)/loki/api/v1/query_range?query=\(query)&start=\(good.startNanos)"
            + "&end=\(good.endNanos)&limit=5000&direction=forward"
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "X-Scope-OrgID", value: Self.goodTenant)
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 64 << 20)
            guard response.status.code == 200 else {
                return "query_range of the good entries answered HTTP \(response.status.code): "
                    + String(String(buffer: body).prefix(300))
            }
            guard let json = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
                  let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]] else {
                return "query_range of the good entries answered no data.result: " + String(String(buffer: body).prefix(300))
            }
            var seen = Set<String>()
            for stream in result {
                for value in stream["values"] as? [[Any]] ?? [] {
                    if value.count >= 2, let line = value[1] as? String { seen.insert(line) }
                }
            }
            let missing = good.lines.subtracting(seen)
            if missing.isEmpty { return nil }
            return "\(missing.count) of \(good.lines.count) good entries are missing, e.g. \(missing.sorted().prefix(3))"
        } catch {
            return "query_range of the good entries failed: \(error)"
        }
    }

    /// Stops the agent, then the backend (SIGTERM, then up to `timeout` each). Returns one line per process.
    func stop(timeout: Duration) async -> [(process: String, ok: Bool, text: String)] {
        var out: [(process: String, ok: Bool, text: String)] = []
        for process in [agent, backend] {
            if let (took, status) = await process.terminate(timeout: timeout) {
                out.append((process.name, true, "ended in \(DurationArgument.format(took)) (\(status))"))
            } else {
                out.append((process.name, false, "did not end within \(timeout) of SIGTERM; killed"))
            }
        }
        return out
    }
}
