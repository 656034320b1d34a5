import Testing
import Wire

@Suite struct LabelSetTests {
    private func pairs(_ list: [(String, String)]) -> [LabelPair] {
        list.map { LabelPair(name: $0.0, value: $0.1) }
    }

    @Test func sortsByNameKeepingDuplicatesInOrder() {
        let set = LabelSet(pairs([("job", "a"), ("env", "x"), ("job", "b"), ("app", "z")]))
        #expect(set.pairs.map(\.name) == ["app", "env", "job", "job"])
        #expect(set.pairs.filter { $0.name == "job" }.map(\.value) == ["a", "b"])
    }

    @Test func subscriptFindsValues() {
        let set = LabelSet(pairs([("job", "api"), ("env", "prod"), ("zone", "eu")]))
        #expect(set["env"] == "prod")
        #expect(set["zone"] == "eu")
        #expect(set["job"] == "api")
        #expect(set["missing"] == nil)
        #expect(LabelSet([])["x"] == nil)
    }

    @Test func fingerprintIsPrometheusHash() {
        // Values from Python's xxhash over Prometheus' byte layout (name 0xff value 0xff ...).
        #expect(LabelSet(pairs([("job", "api"), ("env", "prod")])).fingerprint == 0x27F4_83EF_AD2B_DF50)
        #expect(LabelSet(pairs([("job", "prometheus"), ("instance", "localhost:9090"), ("__name__", "up")]))
            .fingerprint == 0xF28C_8AFC_D224_E55F)
        // Past 1 KiB Prometheus streams the bytes through a digest: same hash.
        #expect(LabelSet(pairs([("a", String(repeating: "x", count: 2000))])).fingerprint == 0xB8CC_FEDD_CC9F_66DE)
    }

    @Test func fingerprintMatchesHashOfLayout() {
        let set = LabelSet(pairs([("b", "2"), ("a", "1")]))
        let layout: [UInt8] = Array("a".utf8) + [0xFF] + Array("1".utf8) + [0xFF] + Array("b".utf8) + [0xFF]
            + Array("2".utf8) + [0xFF]
        #expect(set.fingerprint == XXHash64.hash(layout))
    }

    @Test func fingerprintIgnoresInputOrder() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let list = randomPairs(&generator)
            #expect(LabelSet(list).fingerprint == LabelSet(list.shuffled(using: &generator)).fingerprint)
            #expect(LabelSet(list) == LabelSet(list.shuffled(using: &generator)))
        }
    }

    @Test func differentLabelSetsDiffer() {
        #expect(LabelSet(pairs([("a", "b")])).fingerprint != LabelSet(pairs([("a", "c")])).fingerprint)
        // The separators keep name/value boundaries apart.
        #expect(LabelSet(pairs([("ab", "c")])).fingerprint != LabelSet(pairs([("a", "bc")])).fingerprint)
    }

    @Test func descriptionQuotesValues() {
        let set = LabelSet(pairs([("job", "a\"b"), ("env", "line\nnext\\")]))
        #expect(set.description == #"{env="line\nnext\\", job="a\"b"}"#)
        #expect(LabelSet([]).description == "{}")
    }

    @Test func descriptionParsesBackToTheSameSet() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let set = LabelSet(randomPairs(&generator))
            let parsed = try LabelParser.parse(set.description)
            #expect(LabelSet(parsed) == set, "\(set.description)")
        }
    }

    private func randomPairs(_ generator: inout SystemRandomNumberGenerator) -> [LabelPair] {
        let nameStart = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
        let nameRest = nameStart + Array("0123456789")
        let valueCharacters = Array("abc XYZ 019 _-.:/=,{}\"\\'`\n\t\r") + ["é", "日", "🙂", "\u{7F}", "\u{01}"]
        var names = Set<String>()
        var result: [LabelPair] = []
        for _ in 0..<Int.random(in: 1...8, using: &generator) {
            var name = String(nameStart.randomElement(using: &generator) ?? "a")
            for _ in 0..<Int.random(in: 0...10, using: &generator) { name.append(nameRest.randomElement(using: &generator) ?? "a") }
            guard names.insert(name).inserted else { continue }
            var value = ""
            for _ in 0..<Int.random(in: 1...20, using: &generator) {
                value.append(valueCharacters.randomElement(using: &generator) ?? "v")
            }
            result.append(LabelPair(name: name, value: value))
        }
        return result
    }
}
