import AlloyLanguage
import Wire

extension LokiSourceFile {
    public struct Arguments: ComponentArguments {
        public var targets: [Target]
        public var forwardTo: LogsReceivers
        var encoding: TextEncoding
        public var tailFromEnd: Bool
        public var legacyPositionsFile: String
        public var onPositionsFileError: PositionsErrorAction
        public var minPollFrequency: Duration
        public var maxPollFrequency: Duration
        /// Alloy's default for both poll frequencies of `file_watch`.
        static let defaultPollFrequency: Duration = .milliseconds(250)
        /// The `file_match` block: expand `__path__` globs here instead of in `local.file_match`.
        public var fileMatch: LocalFileMatch.Schedule?
        /// The `decompression` block, when enabled: every file is compressed in that format.
        var decompression: FileReader.Decompression?

        public enum PositionsErrorAction: String, Sendable, Equatable, CaseIterable {
            case skip
            case restartFromEnd = "restart_from_end"
            case restartFromBeginning = "restart_from_beginning"
        }

        public init(_ reader: ArgumentReader) throws(Diagnostic) {
            try reader.requirePresent("targets")
            targets = try reader.targets("targets")
            try reader.requirePresent("forward_to")
            forwardTo = try reader.logsReceivers("forward_to")
            let encodingName = try reader.string("encoding", default: "")
            guard let encoding = TextEncoding(ianaName: encodingName) else {
                throw reader.error("encoding", "encoding: unsupported encoding \(GoQuote.quote(encodingName)); supported: \(TextEncoding.supportedNames)")
            }
            self.encoding = encoding
            tailFromEnd = try reader.bool("tail_from_end", default: false)
            legacyPositionsFile = try reader.string("legacy_positions_file", default: "")
            let action = try reader.string("on_positions_file_error", default: PositionsErrorAction.restartFromBeginning.rawValue)
            guard let parsed = PositionsErrorAction(rawValue: action) else {
                let names = PositionsErrorAction.allCases.map { GoQuote.quote($0.rawValue) }.joined(separator: ", ")
                throw reader.error("on_positions_file_error", "on_positions_file_error: expected one of \(names), got \(GoQuote.quote(action))")
            }
            onPositionsFileError = parsed
            // Alloy's defaults, whether the block is absent or leaves them out.
            let watch = try reader.block("file_watch")
            minPollFrequency = try watch?.duration("min_poll_frequency", default: Self.defaultPollFrequency)
                ?? Self.defaultPollFrequency
            maxPollFrequency = try watch?.duration("max_poll_frequency", default: Self.defaultPollFrequency)
                ?? Self.defaultPollFrequency
            if let match = try reader.block("file_match"), try match.bool("enabled", default: false) {
                fileMatch = try LocalFileMatch.Schedule(match)
            } else {
                fileMatch = nil
            }
            decompression = nil
            if let block = try reader.block("decompression") {
                let enabled = try block.bool("enabled", default: false)
                let format = try block.requiredString("format")
                let delay = try block.duration("initial_delay", default: .zero)
                guard let parsed = FileReader.Decompression.Format(rawValue: format) else {
                    throw block.error("format", "format: \(GoQuote.quote(format)) is not supported; expected \"gz\" or \"z\"\(format == "bz2" ? " (bzip2 is not supported yet)" : "")")
                }
                if enabled { decompression = FileReader.Decompression(format: parsed, initialDelay: delay) }
            }
            for (index, target) in targets.enumerated() {
                guard let path = target["__path__"], !path.isEmpty else {
                    throw reader.error("targets", "targets[\(index)]: every target needs a \"__path__\" label, got \(target)")
                }
                if fileMatch == nil, !path.hasPrefix("/") {
                    throw reader.error("targets", "targets[\(index)].__path__: \(GoQuote.quote(path)) is not an absolute path (enable the file_match block to expand globs)")
                }
            }
        }

        public func validate() throws(ArgumentError) {
            if minPollFrequency <= .zero || maxPollFrequency < minPollFrequency {
                throw ArgumentError("file_watch: min_poll_frequency must be > 0 and max_poll_frequency at least min_poll_frequency")
            }
        }
    }
}
