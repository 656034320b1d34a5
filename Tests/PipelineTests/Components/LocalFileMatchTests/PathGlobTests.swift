import Glibc
import Logging
import Testing
import PipelineTestSupport
import TestSupport
@testable import Pipeline

@Suite struct PathGlobTests {
    @Test(arguments: [
        ("/var/log/*.log", "/var/log/app.log", true),
        ("/var/log/*.log", "/var/log/sub/app.log", false),  // `*` stays within a segment
        ("/var/log/**/*.log", "/var/log/app.log", true),  // `**` is zero or more directories
        ("/var/log/**/*.log", "/var/log/a/b/c/app.log", true),
        ("/var/log/**", "/var/log/a/b", true),
        ("/var/log/pods/*/*/*.log", "/var/log/pods/ns_pod_uid/app/0.log", true),
        ("/var/log/pods/*/*/*.log", "/var/log/pods/ns_pod_uid/app/0.log.20261202-000000", false),
        ("/var/log/{syslog,messages}", "/var/log/messages", true),
        ("/var/log/{a/b,c}/x.log", "/var/log/a/b/x.log", true),  // alternatives may hold `/`
        ("/var/log/{a,{b,c}d}.log", "/var/log/cd.log", true),
        ("/var/log/?.log", "/var/log/1.log", true),
        ("/var/log/?.log", "/var/log/12.log", false),
        ("/var/log/[0-9].log", "/var/log/7.log", true),
        ("/var/log/[!0-9].log", "/var/log/7.log", false),
        ("/var/log/[^0-9].log", "/var/log/x.log", true),
        ("/var/log/\\*.log", "/var/log/*.log", true),
        ("/var/log/\\*.log", "/var/log/a.log", false),
        ("/a/*b*c", "/a/xxbyyc", true),
        ("/a/*b*c", "/a/xxbyyd", false),
    ])
    func matches(pattern: String, path: String, expected: Bool) throws {
        #expect(try PathGlob(pattern).matches(path) == expected)
    }

    @Test(arguments: ["/var/log/[a.log", "/var/log/{a,b.log", "/var/log/a\\"])
    func malformedPatternsAreRefused(pattern: String) {
        #expect(throws: PathGlob.SyntaxError.self) { try PathGlob(pattern) }
    }

    @Test func randomPatternsNeverCrashOrHang() {
        var random = SeededRandom(seed: 6)
        let alphabet = Array("ab/*?[]{},!^-\\.".utf8)
        let start = ContinuousClock.now
        for _ in 0..<20_000 {
            let length = Int(random.next() % 24)
            let pattern = "/" + String(decoding: (0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }, as: UTF8.self)
            let path = "/" + String(decoding: (0..<Int(random.next() % 16)).map { _ in alphabet[Int(random.next() % 4)] }, as: UTF8.self)
            if let glob = try? PathGlob(pattern) { _ = glob.matches(path) }
        }
        #expect(ContinuousClock.now - start < .seconds(60))
    }

    @Test func expandingFindsFilesNotDirectoriesAndSkipsExcludedAndOldOnes() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        for pod in ["default_web-1_u1/nginx", "default_web-1_u1/sidecar", "kube-system_dns_u2/coredns"] {
            dir.makeDirectory("pods/\(pod)")
            append("x\n", to: dir.file("pods/\(pod)/0.log"))
        }
        dir.makeDirectory("pods/default_web-1_u1/nginx/1.log")  // a directory with a file's name
        append("x\n", to: dir.file("pods/kube-system_dns_u2/coredns/old.log"))
        var times = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000_000, tv_nsec: 0)]
        _ = utimensat(AT_FDCWD, dir.file("pods/kube-system_dns_u2/coredns/old.log"), &times, 0)

        let targets = LocalFileMatch.expand(
            [Target(["__path__": "\(dir.path)/pods/*/*/*.log", "__path_exclude__": "\(dir.path)/pods/*/sidecar/*", "job": "pods"])],
            ignoreOlderThan: .seconds(3600), logger: Logger(label: "test"))
        #expect(targets.map { $0["__path__"] ?? "" } == [
            dir.file("pods/default_web-1_u1/nginx/0.log"), dir.file("pods/kube-system_dns_u2/coredns/0.log"),
        ])
        #expect(targets.allSatisfy { $0["job"] == "pods" })
    }

    @Test func theComponentExportsTargetsAndRefusesBadGlobs() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        append("x\n", to: dir.file("a.log"))
        let (_, arguments) = try ComponentHarness.decode(
            LocalFileMatch.Arguments.self, "local.file_match \"t\" {\n path_targets = [{__path__ = \"\(dir.path)/*.log\"}]\n}")
        let component = try LocalFileMatch(context: FileTailHarness.context(storage: dir.path), arguments: arguments)
        guard case .array(let items) = component.exports["targets"] else {
            Issue.record("targets is not a list")
            return
        }
        #expect(items.count == 1)
        #expect(items.first?.objectValue?["__path__"]?.stringValue == dir.file("a.log"))
        let problem = ComponentHarness.problem(
            LocalFileMatch.Arguments.self, "local.file_match \"t\" {\n path_targets = [{__path__ = \"/x/[a\"}]\n}")
        #expect(problem?.contains("path_targets[0].__path__: invalid glob \"/x/[a\": unclosed '['") == true)
    }
}

@Suite struct PositionsFileTests {
    @Test func readsAlloysFormatAndPromtailsLegacyOne() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let alloy = dir.file("alloy.yml")
        append("positions:\n  ? path: /tmp/foo.txt\n    labels: '{color=\"pink\"}'\n  : \"1234\"\n  ? path: /tmp/bad.txt\n    labels: '{}'\n  : \"x\"\n", to: alloy)
        let (positions, corrupt) = try PositionsFile(path: alloy).load()
        #expect(positions[.init(path: "/tmp/foo.txt", labels: "{color=\"pink\"}")]?.offset == 1234)
        #expect(corrupt == [.init(path: "/tmp/bad.txt", labels: "{}")])
        let legacy = dir.file("legacy.yaml")
        append("positions:\n  /var/log/syslog: \"42\"\n", to: legacy)
        #expect(try PositionsFile(path: legacy).load().positions[.init(path: "/var/log/syslog", labels: "")]?.offset == 42)
    }

    @Test func savedPositionsReadBackIncludingOddPaths() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let file = PositionsFile(path: dir.file("positions.yml"))
        let saved: [PositionsFile.Key: PositionsFile.Position] = [
            .init(path: "/var/log/a \"quoted\" \\ path.log", labels: "{job=\"a\"}"): .init(offset: 7, identity: FileIdentity(device: 1, inode: 2)),
            .init(path: "/var/log/b.log", labels: ""): .init(offset: 0, identity: nil),
        ]
        try file.save(saved)
        #expect(try file.load().positions == saved)
    }

    @Test func garbageIsAnErrorNotACrash() {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var random = SeededRandom(seed: 9)
        let pieces = ["positions:", "\n", "  ", "? ", ": ", "path: ", "\"", "'", "{", "}", "[", "-", "12", "x", "labels: "]
        for round in 0..<300 {
            let path = dir.file("p\(round).yml")
            append((0..<Int(random.next() % 30)).map { _ in pieces[Int(random.next() % UInt64(pieces.count))] }.joined(), to: path)
            _ = try? PositionsFile(path: path).load()
        }
    }
}
