import Foundation

extension BackendConfig {
    /// `runtime_config`: files re-read while the backend runs, whose `overrides` set limits per tenant.
    public struct RuntimeConfig: Sendable, Equatable {
        /// `file`: comma-separated paths; a key in a later file overrides the same key in an earlier one.
        /// Empty: no runtime configuration (unless `limits_config.per_tenant_override_config` names one).
        public var file: String = ""
        /// `period`: how often the files are re-read.
        public var period: Duration = .seconds(10)

        public init() {}

        /// `file` split at commas, blanks trimmed, empty entries dropped.
        public var files: [String] {
            file.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
    }

    /// The runtime configuration in effect: `runtime_config`, or, when its `file` is empty, Loki's deprecated
    /// `limits_config.per_tenant_override_config` and `per_tenant_override_period` (as Loki does, the period is
    /// then taken from `per_tenant_override_period` even when no file is named).
    public var effectiveRuntimeConfig: RuntimeConfig {
        guard runtimeConfig.files.isEmpty else { return runtimeConfig }
        var fallback = RuntimeConfig()
        fallback.file = limitsConfig.perTenantOverrideConfig
        fallback.period = limitsConfig.perTenantOverridePeriod
        return fallback
    }
}
