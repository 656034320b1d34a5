import Testing
import Wire
@testable import Backend

/// `discover_service_name` and `discover_log_levels` on the Loki push path, as a user sees them in query results.
@Suite struct DistributorDiscoveryTests {
    typealias Engine = EngineTests.Engine

    /// Each stream's labels with the structured metadata of its entries, merged over the streams the querier
    /// splits by metadata.
    static func read(_ engine: Engine, _ selector: String) async throws -> [(labels: String, metadata: [[String: String]])] {
        let parsed = try LogSelection.parse(selector)
        let (streams, _) = try await engine.querier.selectLogs(LogQuery(
            tenant: "t", matchers: parsed.matchers, lineFilters: parsed.lineFilters,
            start: engine.clock.now - 3_600_000_000_000, end: engine.clock.now + 1, limit: 100, direction: .forward))
        var merged: [(labels: String, entries: [(Int64, [String: String])])] = []
        for stream in streams {
            let entries = stream.entries.map { entry in
                (entry.timestamp, Dictionary(entry.structuredMetadata.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 }))
            }
            if let index = merged.firstIndex(where: { $0.labels == stream.labels.description }) {
                merged[index].entries += entries
            } else {
                merged.append((stream.labels.description, entries))
            }
        }
        return merged.map { ($0.labels, $0.entries.sorted { $0.0 < $1.0 }.map(\.1)) }
    }

    @Test func serviceNameAndDetectedLevelAreAddedByDefault() async throws {
        let engine = Engine()
        let t = engine.clock.now
        #expect(try await engine.push(#"{job="api", container="c1"}"#, [(t - 1, "level=error msg=x"), (t, "hello")]).status == 204)
        #expect(try await engine.push(#"{env="dev"}"#, [(t, "[WARN] low disk")]).status == 204)
        #expect(try await engine.push(#"{service_name="own", app="other", level="Debug"}"#, [(t, "[ERROR] x")]).status == 204)

        let api = try await Self.read(engine, #"{job="api"}"#)
        #expect(api.map(\.labels) == [#"{container="c1", job="api", service_name="c1"}"#])
        #expect(api.first?.metadata == [["detected_level": "error"], ["detected_level": "unknown"]])
        let dev = try await Self.read(engine, #"{env="dev"}"#)
        #expect(dev.map(\.labels) == [#"{env="dev", service_name="unknown_service"}"#])
        #expect(dev.first?.metadata == [["detected_level": "warn"]])
        let own = try await Self.read(engine, #"{service_name="own"}"#)
        #expect(own.map(\.labels) == [#"{app="other", level="Debug", service_name="own"}"#])
        #expect(own.first?.metadata == [["detected_level": "debug"]])
    }

    @Test func bothDiscoveriesCanBeTurnedOff() async throws {
        var limits = Limits()
        limits.discoverServiceName = []
        limits.discoverLogLevels = false
        let engine = Engine(limits: limits)
        let t = engine.clock.now
        #expect(try await engine.push(#"{job="api"}"#, [(t, "level=error")]).status == 204)
        let read = try await Self.read(engine, #"{job="api"}"#)
        #expect(read.map(\.labels) == [#"{job="api"}"#])
        #expect(read.first?.metadata == [[:]])
    }

    @Test func levelsAreNotAddedWhereStructuredMetadataIsNotAllowed() async throws {
        var limits = Limits()
        limits.allowStructuredMetadata = false
        let engine = Engine(limits: limits)
        #expect(try await engine.push(#"{job="api"}"#, [(engine.clock.now, "level=error")]).status == 204)
        #expect(try await Self.read(engine, #"{job="api"}"#).first?.metadata == [[:]])
    }

    @Test func theAddedServiceNameCountsTowardsTheLabelLimit() async throws {
        var limits = Limits()
        limits.maxLabelNamesPerSeries = 1
        let engine = Engine(limits: limits)
        let outcome = try await engine.push(#"{job="api"}"#, [(engine.clock.now, "x")])
        #expect(outcome.status == 400)
        #expect(outcome.rejected.summary.contains("service_name"))
    }
}
