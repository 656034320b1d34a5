import Testing
@testable import Backend

/// The delete-request keys: read for real, with Loki's defaults, and a store that is not the one in use refused at
/// start-up.
@Suite struct DeleteConfigTests {
    @Test func deleteKeysAreReadWithLokisDefaults() throws {
        let defaults = try parseConfig("").config
        #expect(defaults.compactor.deleteRequestCancelPeriod == .seconds(24 * 3600))
        #expect(defaults.limitsConfig.deletionMode == .filterAndDelete)

        let (config, warnings) = try parseConfig("""
            compactor:
              delete_request_store: filesystem
              delete_request_cancel_period: 10m
              delete_max_interval: 1h
            limits_config:
              deletion_mode: filter-only
            """)
        #expect(warnings.isEmpty, "\(warnings)")
        #expect(config.compactor.deleteRequestStore == "filesystem")
        #expect(config.compactor.deleteRequestCancelPeriod == .seconds(600))
        #expect(config.compactor.deleteMaxInterval == .seconds(3600))
        #expect(Limits(config.limitsConfig).deletionMode == .filterOnly)
        #expect(config.renderYAML().contains("  delete_request_cancel_period: 10m0s\n"))
        #expect(config.renderYAML().contains("  deletion_mode: filter-only\n"))
    }

    @Test func anUnknownDeletionModeStopsStartUpNamingTheKey() {
        let error = configError("limits_config:\n  deletion_mode: whole-stream\n")
        #expect(error?.description == """
            loki.yaml:2:18: limits_config.deletion_mode: unknown deletion mode "whole-stream": expected disabled, \
            filter-only or filter-and-delete
            """)
    }

    @Test func deleteRequestStoreMustBeTheObjectStoreInUse() throws {
        var config = BackendConfig.quickstart
        for accepted in ["", "filesystem"] {
            config.compactor.deleteRequestStore = accepted
            _ = try BackendSettings(config, now: BackendSettingsConfigTests.now)
        }
        config.compactor.deleteRequestStore = "gcs"
        #expect(throws: ConfigError(
            file: "", path: "compactor.delete_request_store",
            message: "\"gcs\" is not the object store in use (filesystem); delete requests are kept in the object "
                + "store that holds the chunks: set delete_request_store to filesystem or leave it out")) {
            _ = try BackendSettings(config, now: BackendSettingsConfigTests.now)
        }
    }
}
