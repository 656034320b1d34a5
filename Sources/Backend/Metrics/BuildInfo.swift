import BuildStamp

/// Version and commit of this build, shown by `estuary --version`, `/loki/api/v1/status/buildinfo` and
/// `loki_build_info`.
public enum BuildInfo {
    public static let version = "0.1.0"

    /// The git commit the binary was built from, fixed at build time (`unknown` when it was not built from a git
    /// checkout).
    public static let revision = BuildStamp.revision
}
