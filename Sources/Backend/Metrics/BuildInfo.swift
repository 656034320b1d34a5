import Foundation

/// Version and commit of this build, shown by `estuary --version`, `/loki/api/v1/status/buildinfo` and
/// `loki_build_info`.
public enum BuildInfo {
    public static let version = "0.1.0"

    /// The git commit the binary was built from: read once from the checkout that holds the executable
    /// (`.build/<config>/estuary` lives inside it), or `unknown` for a binary copied elsewhere.
    public static let revision: String = gitRevision(near: executablePath()) ?? "unknown"

    private static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    static func gitRevision(near path: String) -> String? {
        var dir = URL(fileURLWithPath: path).deletingLastPathComponent()
        for _ in 0..<8 {
            let git = dir.appendingPathComponent(".git")
            if let head = try? String(contentsOf: git.appendingPathComponent("HEAD"), encoding: .utf8) {
                let trimmed = head.trimmingCharacters(in: .whitespacesAndNewlines)
                guard trimmed.hasPrefix("ref: ") else { return String(trimmed.prefix(12)) }
                let ref = String(trimmed.dropFirst(5))
                if let hash = try? String(contentsOf: git.appendingPathComponent(ref), encoding: .utf8) {
                    return String(hash.trimmingCharacters(in: .whitespacesAndNewlines).prefix(12))
                }
                let packed = (try? String(contentsOf: git.appendingPathComponent("packed-refs"), encoding: .utf8)) ?? ""
                for line in packed.split(separator: "\n") where line.hasSuffix(" " + ref) {
                    return String(line.prefix(12))
                }
                return nil
            }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }
}
