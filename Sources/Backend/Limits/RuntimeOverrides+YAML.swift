extension RuntimeOverrides {
    /// Loki's answer when no runtime configuration is set.
    static let noRuntimeConfig = "runtime config file doesn't exist"

    /// `/runtime_config`: the runtime configuration in force as YAML, `overrides:` with every overridden tenant's
    /// complete limits (tenants sorted, keys in `/config`'s order); nil without a runtime configuration.
    ///
    /// With `diff`, as Loki's `?mode=diff`: only the keys whose value differs from `limits_config` (Loki compares
    /// each tenant with the global limits, not with built-in defaults), keys sorted as Go's YAML encoder sorts map
    /// keys; tenants with no difference are left out, and `{}` is the answer when nothing differs.
    func renderYAML(diff: Bool) -> String? {
        guard let (tenants, defaults) = current else { return nil }
        let names = tenants.keys.sorted()
        if !diff {
            guard !names.isEmpty else { return "overrides: {}\n" }
            var text = "overrides:\n"
            for name in names {
                guard let limits = tenants[name] else { continue }
                text += "  \(YAMLWriter.string(name)):\n"
                text += Self.indented(Self.render(limits), by: "    ")
            }
            return text
        }
        let defaultBlocks = Dictionary(Self.blocks(Self.render(defaults)), uniquingKeysWith: { first, _ in first })
        var text = ""
        for name in names {
            guard let limits = tenants[name] else { continue }
            let changed = Self.blocks(Self.render(limits)).filter { defaultBlocks[$0.key] != $0.text }
            guard !changed.isEmpty else { continue }
            text += "  \(YAMLWriter.string(name)):\n"
            for block in changed.sorted(by: { $0.key < $1.key }) {
                text += Self.indented(block.text, by: "    ")
            }
        }
        return text.isEmpty ? "{}\n" : "overrides:\n" + text
    }

    private static func render(_ limits: BackendConfig.LimitsConfig) -> String {
        var out = YAMLWriter()
        BackendConfig.render(limits, to: &out)
        return out.text
    }

    /// The top-level keys of block YAML, each with its lines (a key's nested lines follow it, indented).
    private static func blocks(_ text: String) -> [(key: String, text: String)] {
        var blocks: [(key: String, text: String)] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.first == " ", !blocks.isEmpty {
                blocks[blocks.count - 1].text += line + "\n"
            } else {
                let key = line.split(separator: ":", maxSplits: 1).first.map(String.init) ?? String(line)
                blocks.append((key, line + "\n"))
            }
        }
        return blocks
    }

    private static func indented(_ text: String, by prefix: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: true).map { prefix + $0 + "\n" }.joined()
    }
}
