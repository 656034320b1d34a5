import Foundation
import PackagePlugin

/// Writes the git commit of the package's checkout into the `BuildStamp` target before every build, so that
/// `estuary --version` and `loki_build_info` name the commit that was built, wherever the binary is copied to.
/// The file is rewritten only when the commit changed, so an unchanged checkout rebuilds nothing. Outside a git
/// checkout (or without git) the commit is `unknown`.
@main
struct BuildStampPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "Generated")
        let script = #"""
            root=$1 out=$2
            mkdir -p "$out"
            rev=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null) || rev=unknown
            case $rev in *[!0-9a-f]*|'') rev=unknown ;; esac
            printf '// Written by the BuildStamp plugin before each build.\nextension BuildStamp {\n    /// The git commit the binary was built from.\n    public static let revision = "%s"\n}\n' "$rev" > "$out/Revision.swift.new"
            if cmp -s "$out/Revision.swift.new" "$out/Revision.swift"; then rm "$out/Revision.swift.new"; else mv "$out/Revision.swift.new" "$out/Revision.swift"; fi
            """#
        return [
            .prebuildCommand(
                displayName: "Stamping the git commit into \(target.name)",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", script, "build-stamp", context.package.directoryURL.path, output.path],
                outputFilesDirectory: output),
        ]
    }
}
