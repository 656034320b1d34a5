import Testing
@testable import Wire

/// Patterns that take exponential time in a backtracking engine finish here (a hang would hang the suite).
@Suite struct RE2PathologicalTests {
    private static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func nestedPlusAgainstManyAs() throws {
        let regex = try RE2Regex("(a+)+b", dotMatchesNewline: true)
        let text = String(repeating: "a", count: 10_000)
        #expect(!regex.firstMatch(text))
        #expect(!regex.wholeMatch(text))
        #expect(regex.firstMatchGroups(text + "b")?[1] == Substring(String(repeating: "a", count: 10_000)))
    }

    @Test func labelMatcherFromTheReport() throws {
        let regex = try RE2Regex("(a+)+b", dotMatchesNewline: true)
        #expect(!regex.wholeMatch(String(repeating: "a", count: 24)))
    }

    @Test func alternationAndStars() throws {
        let text = String(repeating: "a", count: 20_000)
        #expect(try !RE2Regex("(a|aa)*c", dotMatchesNewline: false).firstMatch(text))
        #expect(try !RE2Regex("(x+x+)+y", dotMatchesNewline: false).firstMatch(String(repeating: "x", count: 20_000)))
        #expect(try RE2Regex("(.*)*$", dotMatchesNewline: false).firstMatch(text))
        #expect(try !RE2Regex("(.*a){12}b", dotMatchesNewline: false).firstMatch(text))
    }

    @Test func nestedCountedRepetition() throws {
        let regex = try RE2Regex("((a{1,10}){1,10}){1,10}b", dotMatchesNewline: false)
        let text = String(repeating: "a", count: 2_000)
        #expect(!regex.firstMatch(text))
        #expect(regex.firstMatch(text + "b"))
    }

    @Test func lineFilterOnAMegabyteLine() throws {
        let regex = try RE2Regex("(a+)+$", dotMatchesNewline: false)
        let line = Self.bytes(String(repeating: "a", count: 1 << 20) + "!")
        #expect(!line.withUnsafeBytes { regex.firstMatch($0) })
        let matching = Self.bytes(String(repeating: "a", count: 1 << 14))
        #expect(matching.withUnsafeBytes { regex.firstMatch($0) })
    }

    @Test func deepestNestingTheParserAllowsCompilesAndMatches() throws {
        let regex = try RE2Regex(String(repeating: "(", count: 1000) + "a" + String(repeating: ")", count: 1000),
                                 dotMatchesNewline: false)
        let groups = try #require(regex.firstMatchGroups("xa"))
        #expect(groups.count == 1001)
        #expect(groups.allSatisfy { $0 == "a" })
    }

    @Test func oneRegexServesConcurrentMatches() async throws {
        let regex = try RE2Regex("(?P<k>[a-z]+)=(?P<v>\\d+)", dotMatchesNewline: false)
        let results = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<64 {
                group.addTask {
                    let text = "x key=\(index * 7) y"
                    return regex.firstMatchGroups(text)?[2] == Substring(String(index * 7))
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.count == 64 && results.allSatisfy { $0 })
    }

    @Test func tooLargeProgramIsRejected() {
        let pattern = String(repeating: "[a-z]{1000}", count: 300)
        #expect(throws: RE2Error(code: RE2Error.expressionTooLarge, fragment: pattern)) {
            try RE2Regex(pattern, dotMatchesNewline: false)
        }
    }

    @Test func nestedCountsBeyondAThousandAreRejectedAsGoDoes() {
        #expect(throws: RE2Error(code: RE2Error.invalidRepeatSize, fragment: "{100}")) {
            try RE2Regex("((a{100}){100})", dotMatchesNewline: false)
        }
        #expect(throws: RE2Error(code: RE2Error.invalidRepeatSize, fragment: "{2}")) {
            try RE2Regex("(a{1000}){2}", dotMatchesNewline: false)
        }
    }
}
