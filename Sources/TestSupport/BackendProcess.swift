import Foundation

/// A real `estuary backend` process on an ephemeral loopback port, for integration tests.
///
/// Writes the given Loki YAML to a temporary directory (with `${DATA}` replaced by a data directory that
/// survives restarts of the same instance), starts the built binary with `-server.http-listen-port=0`, and
/// reads the bound port from the one line the backend prints on stdout.
// @unchecked Sendable invariant: mutable state is written only by start()/stop(), called in sequence by one task.
public final class BackendProcess: @unchecked Sendable {  // invariant: start()/stop() run in sequence on one task
    public let dataDirectory: URL
    public let configPath: URL
    public private(set) var port: Int = 0
    private var process: Process?
    private var output: Pipe?
    private var stderrFile: URL

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// The estuary binary under test: `ESTUARY_BIN`, else `.build/debug/estuary` of this checkout.
    public static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["ESTUARY_BIN"] { return URL(fileURLWithPath: path) }
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        return root.appendingPathComponent(".build/debug/estuary")
    }

    public init(config: String) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("estuary-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        dataDirectory = dir.appendingPathComponent("data")
        configPath = dir.appendingPathComponent("loki.yaml")
        stderrFile = dir.appendingPathComponent("stderr.log")
        try config.replacingOccurrences(of: "${DATA}", with: dataDirectory.path)
            .write(to: configPath, atomically: true, encoding: .utf8)
    }

    /// Starts the backend and returns once it listens (or throws with its stderr if it exits first);
    /// `environment` is added to the test's own.
    public func start(extraArguments: [String] = [], environment: [String: String] = [:]) throws {
        let process = Process()
        process.executableURL = Self.binary
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.arguments = ["backend", "-config.file=\(configPath.path)", "-server.http-listen-port=0",
                             "-server.http-listen-address=127.0.0.1"] + extraArguments
        let pipe = Pipe()
        process.standardOutput = pipe
        guard FileManager.default.createFile(atPath: stderrFile.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: stderrFile.path])
        }
        process.standardError = try FileHandle(forWritingTo: stderrFile)
        try process.run()
        self.process = process
        self.output = pipe
        var buffer = Data()
        let marker = "listening on "
        while true {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty {
                process.waitUntilExit()
                throw BackendProcessError.exited(status: process.terminationStatus, stderr: stderr())
            }
            buffer.append(chunk)
            if let text = String(data: buffer, encoding: .utf8), let range = text.range(of: marker),
               let newline = text[range.upperBound...].firstIndex(of: "\n") {
                let address = text[range.upperBound..<newline]
                port = Int(address.split(separator: ":").last ?? "") ?? 0
                break
            }
        }
    }

    /// What the backend wrote to stderr so far.
    public func stderr() -> String {
        (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? ""
    }

    /// Sends SIGTERM and waits for a clean exit; returns the exit status.
    @discardableResult
    public func stop() -> Int32 {
        guard let process else { return 0 }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        self.process = nil
        return process.terminationStatus
    }

    /// Kills the process without letting it flush (SIGKILL).
    public func kill() {
        guard let process else { return }
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        self.process = nil
    }

    public var pid: Int32? { process?.processIdentifier }

    deinit {
        if let process, process.isRunning { process.terminate() }
    }
}

public enum BackendProcessError: Error, CustomStringConvertible {
    case exited(status: Int32, stderr: String)

    public var description: String {
        switch self {
        case .exited(let status, let stderr): "estuary exited with status \(status) before listening:\n\(stderr)"
        }
    }
}
