import Foundation
import HTTPTypes
import Logging
import Hummingbird
import NIOCore
import Synchronization
import Wire

/// A Loki push endpoint for the tests: a real HTTP server on 127.0.0.1 with an ephemeral port that decodes every
/// push with Wire's decoder, records it, and answers as scripted (204 by default).
final class FakeLoki: Sendable {
    /// How the server answers one push.
    enum Answer: Sendable {
        case accept
        case status(Int, retryAfter: String? = nil, body: String = "")
        /// Never answers (until the server stops).
        case hang
    }

    /// One push as received.
    struct Push: Sendable {
        let tenant: String?
        let userAgent: String?
        let contentType: String?
        let authorization: String?
        let headers: [String: String]
        let streams: [(labels: String, lines: [String])]
        let at: ContinuousClock.Instant

        var lines: [String] { streams.flatMap(\.lines) }
        var lineBytes: Int { lines.reduce(0) { $0 + $1.utf8.count } }
    }

    private struct State {
        var script: [Answer] = []
        var always: Answer?
        var pushes: [Push] = []
        var attempts = 0
        var attemptTimes: [ContinuousClock.Instant] = []
    }

    let port: Int
    private let box: StateBox
    private let server: LoopbackServer
    private let gate: Gate

    var url: String { "http://127.0.0.1:\(port)/loki/api/v1/push" }
    var host: String { "127.0.0.1:\(port)" }

    private init(port: Int, box: StateBox, server: LoopbackServer, gate: Gate) {
        self.port = port
        self.box = box
        self.server = server
        self.gate = gate
    }

    /// Starts a server; `always` answers every push the same way (else the script, then 204).
    static func start(always: Answer? = nil) async throws -> FakeLoki {
        let box = StateBox()
        box.state.withLock { $0.always = always }
        let gate = Gate()
        let router = Router()
        router.post("/loki/api/v1/push") { request, _ -> Response in
            var body: [UInt8] = []
            for try await buffer in request.body { body.append(contentsOf: buffer.readableBytesView) }
            let answer = box.state.withLock { state -> Answer in
                state.attempts += 1
                state.attemptTimes.append(.now)
                if let always = state.always { return always }
                return state.script.isEmpty ? .accept : state.script.removeFirst()
            }
            switch answer {
            case .hang:
                await gate.wait()
                return Response(status: .serviceUnavailable)
            case .status(let code, let retryAfter, let text):
                var headers = HTTPFields()
                if let retryAfter { headers[.retryAfter] = retryAfter }
                return Response(
                    status: HTTPResponse.Status(code: code), headers: headers,
                    body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
            case .accept:
                let decoded = try PushBodyDecoder.decode(
                    body: body, contentType: request.headers[.contentType],
                    contentEncoding: request.headers[.contentEncoding], maxDecompressedSize: 64 << 20)
                var headers: [String: String] = [:]
                for field in request.headers { headers[field.name.canonicalName] = field.value }
                let push = Push(
                    tenant: request.headers[HTTPField.Name("X-Scope-OrgID")!],
                    userAgent: request.headers[.userAgent], contentType: request.headers[.contentType],
                    authorization: request.headers[.authorization], headers: headers,
                    streams: decoded.streams.map { stream in
                        (stream.labels, stream.entries.map { String(decoding: $0.line, as: UTF8.self) })
                    },
                    at: .now)
                box.state.withLock { $0.pushes.append(push) }
                return Response(status: .noContent)
            }
        }
        let server = await LoopbackServer.start(router, label: "fake-loki")
        let port = server.port
        return FakeLoki(port: port, box: box, server: server, gate: gate)
    }

    /// Answers the next pushes with `answers`, in order, then accepts again.
    func script(_ answers: [Answer]) {
        box.state.withLock { $0.script = answers }
    }

    var pushes: [Push] { box.state.withLock { $0.pushes } }
    /// Every push request that arrived, accepted or not.
    var attempts: Int { box.state.withLock { $0.attempts } }
    var lines: [String] { pushes.flatMap(\.lines) }
    /// When each push request arrived.
    var attemptTimes: [ContinuousClock.Instant] { box.state.withLock { $0.attemptTimes } }

    /// Releases hanging requests and stops the server.
    func stop() async {
        gate.open()
        await server.stop()
    }

    /// Where hanging requests wait until the server stops.
    private final class Gate: Sendable {
        private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

        func wait() async {
            await withCheckedContinuation { continuation in
                let open = state.withLock { state -> Bool in
                    if !state.open { state.waiters.append(continuation) }
                    return state.open
                }
                if open { continuation.resume() }
            }
        }

        func open() {
            let waiters = state.withLock { state in
                state.open = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    /// `Mutex` is not copyable; the router's closure and the instance share it through this box.
    private final class StateBox: Sendable {
        let state = Mutex(State())
    }
}
