@testable import AlloyLanguage
import Glibc
import Testing
import PipelineTestSupport
import TestSupport
@testable import Pipeline
import Wire

@Suite struct LokiSourceFileTests {
    @Test func readsLinesWithTargetLabelsAndFilenameAndWaitsForTheNewline() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let log = dir.file("app.log")
        append("first\nsecond\r\nthird without newline", to: log)
        let tail = try FileTailHarness(
            "targets = [{__path__ = \"\(log)\", job = \"app\", __internal = \"x\"}]", storage: dir.path)
        #expect(await tail.waitForLines(2) == ["first", "second"])
        let entry = try #require(tail.receiver.entries.first)
        #expect(entry.labels == LabelSet([LabelPair(name: "filename", value: log), LabelPair(name: "job", value: "app")]))
        #expect(tail.receiver.entries[1].timestamp > entry.timestamp)
        append(" ends here\n", to: log)
        #expect(await tail.waitForLines(3) == ["first", "second", "third without newline ends here"])
        await tail.stop()
    }

    @Test func followsRenameRotationReadingTheOldFileToItsEnd() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let log = dir.file("0.log")
        append("a1\na2\n", to: log)
        let tail = try FileTailHarness("targets = [{__path__ = \"\(log)\"}]", storage: dir.path)
        #expect(await tail.waitForLines(2).count == 2)
        // The writer still has the old file open: lines written after the rename belong before the new file's.
        let oldFD = open(log, O_WRONLY | O_APPEND)
        rename(log, dir.file("0.log.20261202-010203"))
        _ = Array("a3\n".utf8).withUnsafeBytes { write(oldFD, $0.baseAddress, $0.count) }
        close(oldFD)
        append("b1\nb2\n", to: log)
        #expect(await tail.waitForLines(5) == ["a1", "a2", "a3", "b1", "b2"])
        await tail.stop()
    }

    @Test func copyTruncateAndShrinkingFilesAreReadFromTheStart() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let log = dir.file("app.log")
        append("one\ntwo\nthree\n", to: log)
        let tail = try FileTailHarness("targets = [{__path__ = \"\(log)\"}]", storage: dir.path)
        #expect(await tail.waitForLines(3).count == 3)
        truncate(log, 0)
        append("four\n", to: log)
        #expect(await tail.waitForLines(4) == ["one", "two", "three", "four"])
        await tail.stop()
    }

    @Test func aVanishedFileIsClosedAndAReappearingOneReadFromItsStart() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let log = dir.file("app.log")
        append("one\n", to: log)
        let tail = try FileTailHarness("targets = [{__path__ = \"\(log)\"}]", storage: dir.path)
        #expect(await tail.waitForLines(1) == ["one"])
        #expect(await eventually { tail.metric("loki_source_file_files_active_total") == 1 })
        unlink(log)
        #expect(await eventually { tail.metric("loki_source_file_files_active_total") == 0 })
        append("again\n", to: log)
        #expect(await tail.waitForLines(2) == ["one", "again"])
        await tail.stop()
    }

    @Test func aRestartResumesFromThePositionsFileWithoutRepeats() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let log = dir.file("app.log")
        append("one\ntwo\n", to: log)
        let first = try FileTailHarness("targets = [{__path__ = \"\(log)\", job = \"x\"}]", storage: dir.path)
        #expect(await first.waitForLines(2).count == 2)
        await first.stop()
        let positions = try #require(PositionsFile.readText(dir.path + "/loki.source.file.test/positions.yml"))
        #expect(positions.contains("path: \"\(log)\""))
        #expect(positions.contains("labels: \"{job=\\\"x\\\"}\""))
        #expect(positions.contains(": \"8\""))
        append("three\n", to: log)
        let second = try FileTailHarness("targets = [{__path__ = \"\(log)\", job = \"x\"}]", storage: dir.path)
        #expect(await second.waitForLines(1) == ["three"])
        await second.stop()
    }

    @Test func aFileRotatedWhileStoppedIsFinishedBeforeTheNewOne() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let log = dir.file("0.log")
        append("old1\n", to: log)
        let first = try FileTailHarness("targets = [{__path__ = \"\(log)\"}]", storage: dir.path)
        #expect(await first.waitForLines(1).count == 1)
        await first.stop()
        append("old2\n", to: log)
        rename(log, dir.file("0.log.20261202-000000"))
        append("new1\n", to: log)
        let second = try FileTailHarness("targets = [{__path__ = \"\(log)\"}]", storage: dir.path)
        #expect(await second.waitForLines(2) == ["old2", "new1"])
        await second.stop()
    }

    /// Rotated three times while the agent was down: the file it was reading is finished, then the two rotated after
    /// it (oldest first), then the current one; an older rotated file and compressed ones are left alone.
    @Test func filesRotatedInBetweenAreReadInOrderAfterARestart() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let log = dir.file("0.log")
        append("older\n", to: log)
        rename(log, dir.file("0.log.20261202-000000"))
        setModified(dir.file("0.log.20261202-000000"), seconds: 1_000)
        append("a1\n", to: log)
        let first = try FileTailHarness("targets = [{__path__ = \"\(log)\"}]", storage: dir.path)
        #expect(await first.waitForLines(1) == ["a1"])
        await first.stop()
        append("a2\n", to: log)
        setModified(log, seconds: 2_000)
        rename(log, dir.file("0.log.20261202-000002"))
        append("b1\n", to: log)
        setModified(log, seconds: 3_000)
        rename(log, dir.file("0.log.20261202-000003"))
        append("c1\nc2\n", to: log)
        setModified(log, seconds: 4_000)
        rename(log, dir.file("0.log.20261202-000004"))
        for compressed in ["0.log.20261202-000001.gz", "0.log.20261202-000005.gz.tmp"] {
            append("not text\n", to: dir.file(compressed))
            setModified(dir.file(compressed), seconds: 5_000)
        }
        append("d1\n", to: log)
        let second = try FileTailHarness("targets = [{__path__ = \"\(log)\"}]", storage: dir.path)
        #expect(await second.waitForLines(5) == ["a2", "b1", "c1", "c2", "d1"])
        #expect(second.receiver.lines.count == 5)
        await second.stop()
    }

    /// Two renames in less than the rotation grace while the agent runs: the file in between is not skipped.
    @Test func aFileRotatedAwayWithinTheGraceIsStillRead() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let log = dir.file("0.log")
        append("a1\n", to: log)
        setModified(log, seconds: 1_000)
        let tail = try FileTailHarness("targets = [{__path__ = \"\(log)\"}]", storage: dir.path)
        #expect(await tail.waitForLines(1) == ["a1"])
        rename(log, dir.file("0.log.1"))
        append("b1\n", to: log)
        setModified(log, seconds: 2_000)
        rename(log, dir.file("0.log.2"))
        append("c1\n", to: log)
        #expect(await tail.waitForLines(3) == ["a1", "b1", "c1"])
        await tail.stop()
    }

    @Test func tailFromEndSkipsWhatIsThereAndBackpressureLosesNothing() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let log = dir.file("app.log")
        append("old\n", to: log)
        let tail = try FileTailHarness(
            "targets = [{__path__ = \"\(log)\"}]\n tail_from_end = true", storage: dir.path,
            receiver: CollectingReceiver(refusing: .backpressure(3)))
        #expect(await eventually { tail.metric("loki_source_file_files_active_total") == 1 })
        append("new\n", to: log)
        #expect(await tail.waitForLines(1) == ["new"])
        await tail.stop()
    }

    @Test func utf16FilesAreDetectedByTheirByteOrderMark() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let log = dir.file("win.log")
        var bytes: [UInt8] = [0xFF, 0xFE]
        for unit in "héllo\r\nwörld\n".utf16 { bytes += [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
        appendBytes(bytes, to: log)
        let tail = try FileTailHarness("targets = [{__path__ = \"\(log)\"}]", storage: dir.path)
        #expect(await tail.waitForLines(2) == ["héllo", "wörld"])
        await tail.stop()
    }

    @Test func changingTheTargetsKeepsReadersOfUnchangedFiles() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let a = dir.file("a.log"), b = dir.file("b.log")
        append("a1\n", to: a)
        append("b1\n", to: b)
        let tail = try FileTailHarness("targets = [{__path__ = \"\(a)\"}]", storage: dir.path)
        #expect(await tail.waitForLines(1) == ["a1"])
        // A partial line in a.log: a restarted reader would lose track of it or read a1 again.
        append("a2 part", to: a)
        try tail.update("targets = [{__path__ = \"\(a)\"}, {__path__ = \"\(b)\"}]")
        #expect(await tail.waitForLines(2).sorted() == ["a1", "b1"])
        append(" done\n", to: a)
        #expect(await tail.waitForLines(3).sorted() == ["a1", "a2 part done", "b1"])
        await tail.stop()
    }

    @Test func globsWithTheFileMatchBlock() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        dir.makeDirectory("pods/ns_p_1/c")
        append("x\n", to: dir.file("pods/ns_p_1/c/0.log"))
        append("ignored\n", to: dir.file("pods/ns_p_1/c/0.txt"))
        let tail = try FileTailHarness(
            "targets = [{__path__ = \"\(dir.path)/pods/**/*.log\"}]\n file_match {\n enabled = true\n }", storage: dir.path)
        #expect(await tail.waitForLines(1) == ["x"])
        await tail.stop()
    }

    @Test func argumentErrorsNameTheProblem() {
        let receiver = CollectingReceiver()
        func problem(_ body: String) -> String? {
            do {
                _ = try FileTailHarness.decode(body, receiver: receiver)
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(problem("targets = [{job = \"x\"}]")?.contains("needs a \"__path__\" label") == true)
        #expect(problem("targets = [{__path__ = \"rel.log\"}]")?.contains("is not an absolute path") == true)
        #expect(problem("targets = []\n encoding = \"EBCDIC\"")?.contains("unsupported encoding \"EBCDIC\"") == true)
        #expect(problem("targets = []\n on_positions_file_error = \"panic\"")?.contains("expected one of") == true)
        #expect(problem("targets = []\n decompression {\n enabled = true\n format = \"bz2\"\n }")?.contains("bzip2 is not supported yet") == true)
        #expect(problem("targets = []\n decompression {\n enabled = true\n }")?.contains("missing required attribute \"format\"") == true)
        #expect(problem("targets = []\n file_match {\n enabled = true\n sync_period = \"0s\"\n }")?.contains("sync_period: must be greater than 0, got 0s") == true)
    }
}

extension LokiSourceFileTests {
    @Test func positionsAdvanceOnlyOnceTheLinesAreDelivered() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let log = dir.file("app.log")
        append("one\ntwo\n", to: log)
        let holding = CollectingReceiver(holdingAcks: true)
        let scope = ComponentHarness.scope(receivers: ["out": holding])
        let arguments = try ComponentHarness.decode(
            LokiSourceFile.Arguments.self, "loki.source.file \"test\" {\n forward_to = [out]\n targets = [{__path__ = \"\(log)\"}]\n}",
            scope: scope).arguments
        let component = try LokiSourceFile(context: FileTailHarness.context(storage: dir.path), arguments: arguments)
        let task = Task { try await component.run() }
        let positions = dir.path + "/loki.source.file.test/positions.yml"
        #expect(await eventually { holding.lines == ["one", "two"] })
        // Accepted but not delivered: a crash now must read the lines again, so no offset is written for them.
        append("three\n", to: log)
        #expect(await eventually { holding.lines.count == 3 })
        #expect(PositionsFile.readText(positions)?.contains(": \"") != true)
        holding.releaseAcks()
        #expect(await eventually { PositionsFile.readText(positions)?.contains(": \"14\"") == true })
        task.cancel()
        _ = await task.result
    }
}

extension LokiSourceFileTests {
    /// Reads everything `reader` has now.
    static func drain(_ reader: FileReader) -> [String] {
        var entries: [LogEntry] = []
        while reader.read(into: &entries, budget: 1 << 20, now: 1) != .idle {}
        return entries.map { String(decoding: $0.line, as: UTF8.self) }
    }

    @Test func linesWrittenJustBeforeACopyTruncateAreReadFromTheCopy() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let log = dir.file("app.log")
        append("one\ntwo\n", to: log)
        let reader = FileReader(
            key: .init(path: log, labels: "{}"), labels: LabelSet([]), encoding: .utf8, start: .offset(0, identity: nil))
        #expect(Self.drain(reader) == ["one", "two"])
        // The writer goes on, then logrotate copies the file and truncates it before the reader looked again.
        append("three\nfour\n", to: log)
        #expect(system("cp '\(log)' '\(log).1' && truncate -s 0 '\(log)'") == 0)
        append("five\n", to: log)
        #expect(Self.drain(reader) == ["three", "four", "five"])
        // Without a copy the lines are gone, but what follows is read from the start.
        append("six\nseven\neight\n", to: log)
        #expect(Self.drain(reader) == ["six", "seven", "eight"])
        truncate(log, 0)
        append("nine\n", to: log)
        #expect(Self.drain(reader) == ["nine"])
    }
}

extension LokiSourceFileTests {
    @Test func compressedFilesAreReadWholeOnceSettledAndAgainFromWhereTheyWereLeft() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let gz = dir.file("app.log.gz"), z = dir.file("other.log.z")
        appendBytes(Gzip.compress(Array("one\ntwo\nthree without newline".utf8)), to: gz)
        appendBytes(Deflate.compress(Array("zlib\n".utf8)), to: z)
        // A fresh file is left alone for initial_delay (it may still be being compressed); this one is older.
        var old = [timespec(tv_sec: time(nil) - 60, tv_nsec: 0), timespec(tv_sec: time(nil) - 60, tv_nsec: 0)]
        _ = utimensat(AT_FDCWD, gz, &old, 0)
        let tail = try FileTailHarness(
            "targets = [{__path__ = \"\(gz)\"}, {__path__ = \"\(z)\"}]\n decompression {\n enabled = true\n format = \"gz\"\n initial_delay = \"30s\"\n }",
            storage: dir.path)
        #expect(await tail.waitForLines(3) == ["one", "two", "three without newline"])
        // other.log.z is new (and not gzip): nothing from it, and no re-reading of the unchanged app.log.gz.
        #expect(tail.receiver.entries.count == 3)
        await tail.stop()

        // The same file grew (rewritten in place with more lines): a restart goes on after what was read.
        truncate(gz, 0)
        appendBytes(Gzip.compress(Array("one\ntwo\nthree without newline\nfour\n".utf8)), to: gz)
        _ = utimensat(AT_FDCWD, gz, &old, 0)
        let again = try FileTailHarness(
            "targets = [{__path__ = \"\(gz)\"}]\n decompression {\n enabled = true\n format = \"gz\"\n }", storage: dir.path)
        #expect(await again.waitForLines(1) == ["four"])
        await again.stop()
    }
}
