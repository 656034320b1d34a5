import AlloyLanguage
import Glibc
import Logging
import Synchronization
import Wire

/// `local.file_match`: expands the `__path__` glob of each of `path_targets` into one target per matching file
/// (`__path__` set to the file's absolute path, every other label kept), skipping files that match
/// `__path_exclude__` and, with `ignore_older_than`, files not modified within that time. Exports `targets`, and
/// expands again every `sync_period`; when the list changed, the components using it are evaluated again.
public final class LocalFileMatch: Component {
    public static let name = "local.file_match"

    /// `sync_period` and `ignore_older_than`, as `local.file_match` and `loki.source.file`'s `file_match` block
    /// read them, with Alloy's defaults.
    public struct Schedule: Sendable, Equatable {
        /// How often the targets are matched against the file system again.
        public var syncPeriod: Duration = .seconds(10)
        /// Files not modified within this time are skipped; zero keeps every file.
        public var ignoreOlderThan: Duration = .zero

        init(_ reader: ArgumentReader) throws(Diagnostic) {
            syncPeriod = try reader.duration("sync_period", default: syncPeriod)
            if syncPeriod <= .zero {
                throw reader.error("sync_period", "sync_period: must be greater than 0, got \(DurationText.prometheusString(DurationText.nanoseconds(syncPeriod)))")
            }
            ignoreOlderThan = try reader.duration("ignore_older_than", default: ignoreOlderThan)
        }
    }

    public struct Arguments: ComponentArguments {
        public var pathTargets: [Target]
        public var schedule: Schedule

        public init(_ reader: ArgumentReader) throws(Diagnostic) {
            try reader.requirePresent("path_targets")
            pathTargets = try reader.targets("path_targets")
            for (index, target) in pathTargets.enumerated() {
                for label in ["__path__", "__path_exclude__"] {
                    guard let pattern = target[label] else { continue }
                    do throws(PathGlob.SyntaxError) {
                        _ = try PathGlob(pattern)
                    } catch {
                        throw reader.error("path_targets", "path_targets[\(index)].\(label): \(error)")
                    }
                }
            }
            schedule = try Schedule(reader)
        }
    }

    private struct State {
        var arguments: Arguments
        var targets: [Target] = []
    }

    private let context: ComponentContext
    private let state: Mutex<State>
    private let wakeUp = WakeUp()

    public var exports: ValueObject {
        ValueObject([("targets", state.withLock { $0.targets }.value)])
    }

    public init(context: ComponentContext, arguments: Arguments) throws {
        self.context = context
        state = Mutex(State(arguments: arguments))
        try update(arguments)
    }

    public func update(_ arguments: Arguments) throws {
        state.withLock { $0.arguments = arguments }
        _ = refresh()
        wakeUp.signal()
    }

    public func run() async throws {
        while !Task.isCancelled {
            await wakeUp.wait(timeout: state.withLock { $0.arguments.schedule.syncPeriod })
            if Task.isCancelled { break }
            if refresh() { context.exportsChanged(exports) }
        }
    }

    /// Expands the globs now; whether the target list changed.
    private func refresh() -> Bool {
        let arguments = state.withLock { $0.arguments }
        let found = Self.expand(arguments.pathTargets, ignoreOlderThan: arguments.schedule.ignoreOlderThan, logger: context.logger)
        return state.withLock { state in
            guard state.targets != found else { return false }
            state.targets = found
            return true
        }
    }

    /// One target per file matched by any of `pathTargets`, in the order of the path targets, files sorted.
    static func expand(_ pathTargets: [Target], ignoreOlderThan: Duration, logger: Logger) -> [Target] {
        var result: [Target] = []
        var seen = Set<Target>()
        let now = Int64(time(nil))
        for pathTarget in pathTargets {
            guard let pattern = pathTarget["__path__"], !pattern.isEmpty else { continue }
            guard let glob = try? PathGlob(absolute(pattern)) else { continue }
            let exclude = pathTarget["__path_exclude__"].flatMap { $0.isEmpty ? nil : try? PathGlob(absolute($0)) }
            for path in glob.expand() {
                if let exclude, exclude.matches(path) { continue }
                if ignoreOlderThan > .zero {
                    var info = stat()
                    guard stat(path, &info) == 0 else { continue }
                    if now - Int64(info.st_mtim.tv_sec) > ignoreOlderThan.components.seconds { continue }
                }
                var target = pathTarget
                target["__path__"] = path
                if seen.insert(target).inserted { result.append(target) }
            }
        }
        return result
    }

    /// A relative pattern is taken from the working directory, as Go's `filepath.Abs` does.
    static func absolute(_ pattern: String) -> String {
        if pattern.hasPrefix("/") { return pattern }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        guard getcwd(&buffer, buffer.count) != nil else { return "/" + pattern }
        let directory = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return (directory == "/" ? "" : directory) + "/" + pattern
    }
}
