import Backend
import Logging
import Foundation
import ServiceLifecycle

/// Turns a backend configuration into running services and waits for them to stop.
enum BackendRunner {
    static func run(config: BackendConfig, warnings: [ConfigWarning], logger: Logger) async throws {
        try await AgentRunner.runGroup(services(config: config, warnings: warnings, logger: logger), logger: logger)
        logger.info("estuary backend stopped")
    }

    static func services(config: BackendConfig, warnings: [ConfigWarning], logger: Logger) throws -> [any Service] {
        for warning in warnings {
            logger.warning("\(warning)")
        }
        guard config.target == .all else {
            throw BackendRunnerError.targetNotAvailable(config.target.rawValue)
        }
        let settings = try BackendSettings(config)
        if let s3 = settings.s3 {
            let buckets = s3.buckets.joined(separator: ",")
            let note = s3.credentialsNote.isEmpty ? "" : " (\(s3.credentialsNote))"
            logger.info("S3 object store \(s3.scheme)://\(s3.endpoint) bucket(s) \(buckets); credentials: \(s3.credentials)\(note)")
        }
        return try BackendModules.services(settings, logger: logger) { host, port in
            // One stable line on stdout, once the server listens and the WAL is replayed: scripts and tests read the
            // bound port from it and may send at once.
            let line = "estuary backend listening on \(host.isEmpty ? "0.0.0.0" : host):\(port)\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
    }
}

enum BackendRunnerError: Error, CustomStringConvertible {
    case targetNotAvailable(String)

    var description: String {
        switch self {
        case .targetNotAvailable(let target):
            "-target=\(target) is not available yet: this version runs every module in one process (-target=all)"
        }
    }
}
