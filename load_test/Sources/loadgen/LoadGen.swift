import ArgumentParser

/// `loadgen`: load generator for Estuary (and any Loki-compatible backend).
@main
struct LoadGen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadgen",
        abstract: "Push, fill and query load against a Loki-compatible backend; OTLP/HTTP load against an agent.",
        discussion: """
            Every subcommand ends with a machine-readable line: RESULT {json}.
            CPU and memory of the backend (and agent) come from /proc/<pid> (Linux), given --backend-pid (--agent-pid).
            """,
        subcommands: [PushCommand.self, FillCommand.self, QueryCommand.self, EncodeBenchCommand.self, OTLPCommand.self,
                      VerifyCommand.self, FileCommand.self, HostileCommand.self]
    )
}
