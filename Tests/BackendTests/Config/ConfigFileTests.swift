import Foundation
import Testing
@testable import Backend

@Suite struct ConfigFileTests {
    func temporaryFile(_ bytes: [UInt8]) throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("estuary-config-\(UInt64.random(in: 0...UInt64.max)).yaml").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func loadsAFileAndNamesItInMessages() throws {
        let path = try temporaryFile(Array("auth_enabled: false\nlimits_config:\n  bogus: 1\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (config, warnings) = try ConfigLoader.load(path: path, expandEnv: false, environment: [:])
        #expect(config.authEnabled == false)
        #expect(warnings.map(\.description) == ["\(path):3:3: unknown key limits_config.bogus (ignored)"])
    }

    @Test func expandsFromTheGivenEnvironment() throws {
        let path = try temporaryFile(Array("common:\n  path_prefix: ${ROOT:-/srv}/loki\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let expanded = try ConfigLoader.load(path: path, expandEnv: true, environment: ["ROOT": "/data"])
        #expect(expanded.config.common.pathPrefix == "/data/loki")
        let fallback = try ConfigLoader.load(path: path, expandEnv: true, environment: [:])
        #expect(fallback.config.common.pathPrefix == "/srv/loki")
    }

    @Test func invalidUTF8IsAnErrorWithItsPosition() throws {
        let path = try temporaryFile(Array("auth_enabled: false\nserver:\n  x: ".utf8) + [0xFF, 0xFE] + Array("\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try ConfigLoader.load(path: path, expandEnv: false, environment: [:])
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "\(path):3:6: the configuration file is not valid UTF-8 text")
        }
    }

    @Test func aDirectoryIsNotAConfigFile() {
        do {
            _ = try ConfigLoader.load(path: FileManager.default.temporaryDirectory.path, expandEnv: false,
                                      environment: [:])
            Issue.record("expected an error")
        } catch {
            #expect(error.message.hasPrefix("cannot read the configuration file: Is a directory"), "\(error)")
        }
    }
}
