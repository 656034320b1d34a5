import AlloyLanguage
import Glibc
import Logging
import Prometheus
import Synchronization
import Wire

/// `loki.source.file`: tails the file of each target's `__path__` and sends its lines to `forward_to`, one entry per
/// line ended by `\n` (a trailing `\r` is dropped), labelled with the target's labels (those starting with `__`
/// removed) and `filename`.
///
/// One read loop serves every file: it wakes on inotify events for the files' directories or every poll interval
/// (`file_watch`), reads what was appended, and sends it in batches. Files are followed across rotation by rename
/// and by copy-truncate (see ``FileReader``). A target list change starts readers for new targets, closes those of
/// removed ones (forgetting their positions, as Alloy does) and leaves every other reader as it is.
///
/// Positions (``PositionsFile``) advance only once the lines were delivered: every component behind `forward_to`
/// that took them (`loki.write`'s queues) sent them on or dropped them for a counted reason (``DeliveryAck``).
/// They are written at most ``positionsSyncInterval`` later and when the component stops (after waiting up to
/// ``stopWait`` for what is still in flight). So a restart after SIGTERM repeats nothing that was delivered in time,
/// and one after SIGKILL or a crash loses nothing and repeats at most the lines delivered in the last
/// ``positionsSyncInterval`` plus those still in flight.
public final class LokiSourceFile: Component {
    public static let name = "loki.source.file"

    /// How often accepted positions are written to disk.
    static let positionsSyncInterval: Duration = .seconds(1)
    /// Bytes read from one file per pass, so that one busy file cannot starve the others.
    static let readBudget = 256 * 1024
    /// A batch is sent once it holds this many entries (and at the end of every pass).
    static let batchEntries = 2000
    /// The shortest time between two read passes woken by inotify: lines written meanwhile go out in one batch.
    static let minimumPassInterval: Duration = .milliseconds(10)
    /// With inotify, how often every file is still looked at (for changes inotify does not report).
    static let inotifySweep: Duration = .seconds(1)
    /// How long stopping waits for batches in flight to be delivered before the positions are written.
    static let stopWait: Duration = .seconds(10)

    private struct Shared {
        var arguments: Arguments
        var matched: [Target]? = nil
    }

    private let context: ComponentContext
    private let shared: Mutex<Shared>
    private let wakeUp = WakeUp()
    private let metrics: Metrics
    public let exports = ValueObject()

    public init(context: ComponentContext, arguments: Arguments) throws {
        self.context = context
        shared = Mutex(Shared(arguments: arguments))
        metrics = Metrics(registry: context.metrics, componentID: context.id)
        try update(arguments)
    }

    public func update(_ arguments: Arguments) throws {
        shared.withLock { shared in
            // With `file_match`, changed targets are expanded again at once, not at the next sync.
            if shared.arguments.targets != arguments.targets || shared.arguments.fileMatch != arguments.fileMatch {
                shared.matched = nil
            }
            shared.arguments = arguments
        }
        wakeUp.signal()
    }

    public func run() async throws {
        var loop = try ReadLoop(component: self)
        do {
            try await loop.run()
        } catch {
            await loop.finish()
            throw error
        }
        await loop.finish()
    }

    /// The targets to read now: the arguments' targets, or with `file_match` the files their globs match.
    fileprivate func currentTargets(matchNow: Bool) -> (Arguments, [Target]) {
        let arguments = shared.withLock { $0.arguments }
        guard let match = arguments.fileMatch else { return (arguments, arguments.targets) }
        if matchNow || shared.withLock({ $0.matched }) == nil {
            let found = LocalFileMatch.expand(arguments.targets, ignoreOlderThan: match.ignoreOlderThan, logger: context.logger)
            shared.withLock { $0.matched = found }
            return (arguments, found)
        }
        return (arguments, shared.withLock { $0.matched } ?? [])
    }

    /// The loop that owns the readers and the positions, in `run()`'s task.
    private struct ReadLoop {
        let component: LokiSourceFile
        let positionsFile: PositionsFile
        var positions: [PositionsFile.Key: PositionsFile.Position]
        var corrupt: Set<PositionsFile.Key>
        var readers: [PositionsFile.Key: FileReader] = [:]
        /// Where every reader of this loop reads into: they read one at a time.
        let readBuffer = FileReader.ReadBuffer()
        var targetList: [Target] = []
        var arguments: Arguments
        var positionsDirty = false
        /// Positions of batches sent but not yet delivered.
        var inFlight = AcknowledgedPositions<[PositionsFile.Key: PositionsFile.Position]>()
        var lastSync = ContinuousClock.now
        var lastMatch = ContinuousClock.now
        var lastFullPass = ContinuousClock.now
        var passStarted = ContinuousClock.now
        let watcher: DirectoryWatcher?

        init(component: LokiSourceFile) throws {
            self.component = component
            let context = component.context
            try context.makeDataDirectory()
            positionsFile = PositionsFile(path: context.dataPath + "/positions.yml")
            arguments = component.shared.withLock { $0.arguments }
            var loaded: (positions: [PositionsFile.Key: PositionsFile.Position], corrupt: [PositionsFile.Key])
            do {
                loaded = try positionsFile.load()
                if loaded.positions.isEmpty, !arguments.legacyPositionsFile.isEmpty {
                    loaded = try PositionsFile(path: arguments.legacyPositionsFile).load()
                }
            } catch {
                context.logger.error("cannot read the positions file; every file is read as if new", metadata: ["error": "\(error)"])
                loaded = ([:], [])
            }
            positions = loaded.positions
            corrupt = Set(loaded.corrupt)
            for key in loaded.corrupt {
                context.logger.warning("corrupt positions entry", metadata: [
                    "path": "\(key.path)", "action": "\(arguments.onPositionsFileError.rawValue)",
                ])
            }
            watcher = DirectoryWatcher(wakeUp: component.wakeUp)
        }

        mutating func run() async throws {
            var interval = arguments.minPollFrequency
            var changedDirectories: Set<String>? = nil  // nil: look at every file
            while !Task.isCancelled {
                let matchDue = arguments.fileMatch.map { ContinuousClock.now - lastMatch >= $0.syncPeriod } ?? false
                if matchDue { lastMatch = .now }
                let (latest, targets) = component.currentTargets(matchNow: matchDue)
                arguments = latest
                if targets != targetList { reconcile(targets) }

                passStarted = .now
                if changedDirectories == nil { lastFullPass = passStarted }
                let found = try await readPass(only: changedDirectories)
                commitDelivered()
                if positionsDirty, ContinuousClock.now - lastSync >= LokiSourceFile.positionsSyncInterval {
                    savePositions()
                }
                if found.more {
                    changedDirectories = nil
                    continue
                }
                interval = found.any ? arguments.minPollFrequency : min(interval * 2, arguments.maxPollFrequency)
                // With inotify, a wake-up says what changed and a sweep over every file is only the safety net.
                let sweep = watcher == nil ? arguments.maxPollFrequency : max(arguments.maxPollFrequency, LokiSourceFile.inotifySweep)
                await component.wakeUp.wait(timeout: watcher == nil ? interval : sweep)
                // Busy files wake the loop at every write: gather a few milliseconds of lines into one batch.
                let since = ContinuousClock.now - passStarted
                if since < LokiSourceFile.minimumPassInterval {
                    try? await Task.sleep(for: LokiSourceFile.minimumPassInterval - since)  // not-a-wait: batching delay
                }
                // After a wake-up by inotify, only the files in the directories that changed; after a timeout, and
                // at least every sweep interval however busy other directories are, all.
                let changed = watcher?.takeChanged() ?? []
                if changed.isEmpty || ContinuousClock.now - lastFullPass >= sweep {
                    changedDirectories = nil
                } else {
                    changedDirectories = changed
                }
            }
        }

        /// Starts readers for new targets and stops those of removed ones; the others keep reading.
        mutating func reconcile(_ targets: [Target]) {
            targetList = targets
            var wanted: [PositionsFile.Key: Target] = [:]
            for target in targets {
                guard let path = target["__path__"] else { continue }
                var labels = target.publicLabels
                let key = PositionsFile.Key(path: path, labels: LabelSet(labels).description)
                labels.append(LabelPair(name: "filename", value: path))
                wanted[key] = target
                guard readers[key] == nil else { continue }
                readers[key] = FileReader(
                    key: key, labels: LabelSet(labels), encoding: arguments.encoding, start: startOffset(for: key),
                    decompression: arguments.decompression, buffer: readBuffer)
            }
            for key in readers.keys where wanted[key] == nil {
                readers[key]?.close()
                readers[key] = nil
                positions[key] = nil
                positionsDirty = true
                component.metrics.forget(path: key.path)
            }
            watcher?.watch(Set(readers.values.map(\.directory)))
        }

        func startOffset(for key: PositionsFile.Key) -> FileReader.StartOffset {
            if corrupt.contains(key) {
                switch arguments.onPositionsFileError {
                case .restartFromBeginning: return .offset(0, identity: nil)
                case .restartFromEnd, .skip: return .end
                }
            }
            if let position = positions[key] { return .offset(position.offset, identity: position.identity) }
            return arguments.tailFromEnd ? .end : .offset(0, identity: nil)
        }

        /// One pass over the readers (those in `only`'s directories, or all): reads what is new, sends it.
        mutating func readPass(only directories: Set<String>?) async throws -> (any: Bool, more: Bool) {
            var entries: [LogEntry] = []
            var touched: [FileReader] = []
            var any = false
            var more = false
            let now = Self.wallClockNanoseconds()
            for reader in readers.values {
                if let directories, !directories.contains(reader.directory) { continue }
                let before = entries.count
                let wasOpen = reader.isOpen
                if reader.read(into: &entries, budget: LokiSourceFile.readBudget, now: now) == .more {
                    more = true
                }
                if reader.isOpen != wasOpen { component.metrics.filesActive.set(Double(openCount)) }
                if entries.count > before {
                    any = true
                    touched.append(reader)
                }
                if entries.count > before || reader.isOpen != wasOpen { component.metrics.record(reader) }
                if entries.count >= LokiSourceFile.batchEntries {
                    try await send(&entries, touched: &touched)
                }
            }
            try await send(&entries, touched: &touched)
            return (any, more)
        }

        var openCount: Int { readers.values.count { $0.isOpen } }

        /// Sends `entries` until accepted (waiting out backpressure); the readers' positions become final once the
        /// batch is delivered (``commitDelivered()``).
        mutating func send(_ entries: inout [LogEntry], touched: inout [FileReader]) async throws {
            defer {
                entries.removeAll(keepingCapacity: true)
                touched.removeAll(keepingCapacity: true)
            }
            guard !entries.isEmpty else { return }
            var reached: [PositionsFile.Key: PositionsFile.Position] = [:]
            for reader in touched {
                reached[reader.key] = PositionsFile.Position(offset: reader.committedOffset, identity: reader.identity)
            }
            let wakeUp = component.wakeUp
            let ack = inFlight.acknowledgement(for: reached) { wakeUp.signal() }
            let batch = LogBatch(entries: entries, ack: ack)
            let component = self.component
            do {
                try await LogsReceivers.deliver(batch, to: { component.shared.withLock { $0.arguments.forwardTo } }, logger: component.context.logger)
            } catch {
                // Stopping before the batch was taken: its lines were not delivered, so its position must never
                // count (the acknowledgement is abandoned, not released).
                inFlight.abandonLast()
                throw error
            }
            // The source's own hold: released once `forward_to` took the batch (or refused it for good).
            ack.done()
        }

        /// Moves the positions of delivered batches into the positions file's table.
        mutating func commitDelivered() {
            for reached in inFlight.takeAcknowledged() {
                for (key, position) in reached where readers[key] != nil {
                    positions[key] = position
                    positionsDirty = true
                }
            }
        }

        mutating func savePositions() {
            // Only what `send` recorded: lines read but not accepted (a stop in mid-send) are read again next time.
            do {
                try positionsFile.save(positions)
                positionsDirty = false
            } catch {
                component.context.logger.error("cannot write the positions file", metadata: ["error": "\(error)"])
            }
            lastSync = .now
        }

        /// Waits (bounded) for the batches in flight to be delivered, then writes the positions.
        mutating func finish() async {
            watcher?.stop()
            let deadline = ContinuousClock.now + LokiSourceFile.stopWait
            commitDelivered()
            while inFlight.pending > 0 && ContinuousClock.now < deadline {
                // This task is cancelled (the component is stopping): wait in one that is not.
                let wakeUp = component.wakeUp
                await Task.detached { await wakeUp.wait(timeout: .milliseconds(50)) }.value
                commitDelivered()
            }
            savePositions()
            for reader in readers.values { reader.close() }
            component.metrics.filesActive.set(0.0)
        }

        static func wallClockNanoseconds() -> Int64 {
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
        }
    }
}
