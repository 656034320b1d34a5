import Foundation

/// A test peer process that listens on a free loopback port and says where on stderr as werkzeug does
/// (` * Running on http://127.0.0.1:PORT`): moto's server and the S3 fault proxy.
public struct LoopbackPeer: @unchecked Sendable {  // invariant: immutable after init; Process is only read
    public let process: Process
    public let port: Int
    /// The peer's stderr.
    public let log: URL

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The root of this checkout.
    public static var checkout: URL {
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        return root
    }

    /// Starts `executable` and waits (up to a minute) until it says where it listens.
    public init(_ executable: URL, _ arguments: [String], environment: [String: String]) async throws {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("peer-\(UUID().uuidString).log")
        guard FileManager.default.createFile(atPath: log.path, contents: nil) else {
            throw Failure(description: "cannot create \(log.path)")
        }
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        var port = 0
        let deadline = ContinuousClock.now + .seconds(60)
        while port == 0 {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let range = text.range(of: "Running on http://127.0.0.1:"),
               let end = text[range.upperBound...].firstIndex(where: { !$0.isNumber }) {
                port = Int(text[range.upperBound..<end]) ?? 0
            } else if !process.isRunning || ContinuousClock.now > deadline {
                process.terminate()
                throw Failure(description: "\(executable.lastPathComponent) did not start listening: \(text)")
            } else {
                try await Task.sleep(for: .milliseconds(20))   // its start-up, well under a second
            }
        }
        self.process = process
        self.port = port
        self.log = log
    }

    /// Kills the peer (it keeps nothing worth a clean stop). Does not wait: `waitUntilExit` spins a run loop that a
    /// test's task never gets back from.
    public static func stop(_ process: Process, log: URL) {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: log)
    }
}
