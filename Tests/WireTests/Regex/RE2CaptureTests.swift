import Testing
import Wire

@Suite struct RE2CaptureTests {
    @Test func groupsAreNumberedByOpeningParenthesisWithNames() throws {
        let regex = try RE2Regex("(?P<outer>a(b)(?<inner>c))(?:d)(e)?", dotMatchesNewline: false)
        #expect(regex.captureNames == [nil, "outer", nil, "inner", nil])
        #expect(regex.groupNumber(named: "inner") == 3)
        #expect(regex.groupNumber(named: "missing") == nil)
        let groups = try #require(regex.firstMatchGroups("xxabcd!"))
        #expect(groups.map { $0.map(String.init) } == ["abcd", "abc", "b", "c", nil])
    }

    @Test func wholeMatchIsAnchoredAndFirstMatchIsLeftmostFirst() throws {
        let regex = try RE2Regex("(a|ab)(c|bcd)?", dotMatchesNewline: false)
        // Leftmost-first (Perl/RE2 non-POSIX): the first alternative that leads to a match wins.
        #expect(try #require(regex.firstMatchGroups("abcd")).map { $0.map(String.init) } == ["abcd", "a", "bcd"])
        #expect(regex.wholeMatchGroups("abcdx") == nil)
        #expect(try #require(regex.wholeMatchGroups("ab")).map { $0.map(String.init) } == ["ab", "ab", nil])
    }

    @Test func allMatchesDoNotOverlap() throws {
        let regex = try RE2Regex("(\\d+)", dotMatchesNewline: false)
        let text = "a1 b22 c333"
        let found = regex.allMatchRanges(text).map { ranges in ranges.map { $0.map { String(text[$0]) } } }
        #expect(found == [["1", "1"], ["22", "22"], ["333", "333"]])
    }

    @Test func podPathExpression() throws {
        // What config/daemonset.alloy uses to label logs from the kubelet's path alone.
        let regex = try RE2Regex(
            "/var/log/pods/(?P<namespace>[^_/]+)_(?P<pod>[^_/]+)_[^/]+/(?P<container>[^/]+)/\\d+\\.log(?:\\..*)?",
            dotMatchesNewline: false)
        let groups = try #require(regex.wholeMatchGroups("/var/log/pods/kube-system_coredns-5d78c9869d-x2x7z_1f2e/coredns/0.log"))
        #expect(groups[1] == "kube-system")
        #expect(groups[2] == "coredns-5d78c9869d-x2x7z")
        #expect(groups[3] == "coredns")
    }
}
