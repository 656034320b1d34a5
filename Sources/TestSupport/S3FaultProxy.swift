import AsyncHTTPClient
import Foundation
import NIOCore

/// `scripts/s3-fault-proxy.py` between a test's backend and moto: forwards S3 requests unchanged, or answers
/// them with the faults S3 shows (500, 503, `SlowDown`, 429, connection resets before or after S3 acted, slow
/// answers), in the order a test sets.
public final class S3FaultProxy: @unchecked Sendable {  // invariant: every property is set once in init
    public let port: Int
    private let peer: LoopbackPeer

    public var endpoint: String { "127.0.0.1:\(port)" }

    /// - `stsCredentials`: keys the proxy signs unsigned STS `AssumeRoleWithWebIdentity` calls with, since moto
    ///   checks every signature and AWS's STS takes that call unsigned.
    public init(upstream: String, stsCredentials: (key: String, secret: String)? = nil) async throws {
        let python = LoopbackPeer.checkout.appendingPathComponent(".venv/bin/python3")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            throw LoopbackPeer.Failure(description: "\(python.path) is missing: run scripts/test, which makes .venv")
        }
        var arguments = [LoopbackPeer.checkout.appendingPathComponent("scripts/s3-fault-proxy.py").path,
                         "--upstream", upstream]
        if let stsCredentials { arguments += ["--sts-credentials", "\(stsCredentials.key):\(stsCredentials.secret)"] }
        peer = try await LoopbackPeer(python, arguments, environment: ProcessInfo.processInfo.environment)
        port = peer.port
    }

    /// The faults the next S3 requests get, in order (`pass`, `500`, `503`, `slowdown`, `429`, `reset`,
    /// `reset-after`, `slow`); after them requests pass, or the sequence starts again when `repeat` is set.
    public func setFaults(_ sequence: [String], repeat: Bool = false, delay: Duration = .seconds(1)) async throws {
        let seconds = Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
        let body = try JSONSerialization.data(withJSONObject: ["sequence": sequence, "repeat": `repeat`,
                                                               "delay": seconds])
        var request = HTTPClientRequest(url: "http://\(endpoint)/__faults")
        request.method = .PUT
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 16))
        guard response.status.code == 204 else {
            throw LoopbackPeer.Failure(description: "fault proxy refused the faults: \(text)")
        }
    }

    /// How many S3 requests came through, and how many got each fault.
    public func stats() async throws -> (requests: Int, applied: [String: Int]) {
        let response = try await HTTPClient.shared.execute(
            HTTPClientRequest(url: "http://\(endpoint)/__faults"), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 16)
        let object = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] ?? [:]
        return (object["requests"] as? Int ?? 0, object["applied"] as? [String: Int] ?? [:])
    }

    public func stop() {
        LoopbackPeer.stop(peer.process, log: peer.log)
    }

    deinit { stop() }
}
