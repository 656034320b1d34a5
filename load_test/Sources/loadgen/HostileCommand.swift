import ArgumentParser
import Dispatch
import Synchronization
import Foundation

/// `loadgen hostile`: starts a real backend and agent, sends them seeded hostile requests family by family, and
/// checks after each family that both survived, answer ready, answered no 5xx to a client's mistake, did not hang,
/// stayed under a memory bound and still return every entry acknowledged before the attack.
struct HostileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hostile",
        abstract: "Attack a real backend and agent with hostile input; check they survive, answer and lose nothing.",
        discussion: """
            Families, in order: \(HostileFamily.allCases.map(\.rawValue).joined(separator: ", ")).
            Request I of family F depends only on --seed, F and I: --families F --first-index I \
            --requests-per-family 1 sends it again.
            """)

    @Option(help: "The estuary binary (default: $ESTUARY_BIN).")
    var estuaryBin: String?

    @Option(help: "Hostile requests per family.")
    var requestsPerFamily: Int = 10_000

    @Option(help: "Families to run, comma-separated (default: all).")
    var families: String = HostileFamily.allCases.map(\.rawValue).joined(separator: ",")

    @Option(help: "Seed of the generator.")
    var seed: UInt64 = 1

    @Option(help: "Index of the first request of each family (to replay one request).")
    var firstIndex: Int = 0

    @Option(help: "Requests in flight at once.")
    var concurrency: Int = 4

    @Option(help: "Client timeout per request; no answer within it counts as a hang.")
    var timeout: DurationArgument = DurationArgument(.seconds(10))

    @Option(name: .customLong("max-rss-mib"), help: "Bound on each process's peak RSS (VmHWM) during a family, MiB.")
    var maxRSSMiB: Int = 512

    @Option(help: "How long /ready and /-/ready may take to answer 200 after a family.")
    var readyWithin: DurationArgument = DurationArgument(.seconds(30))

    @Option(help: "How long each process may take to exit after SIGTERM at the end.")
    var stopWithin: DurationArgument = DurationArgument(.seconds(30))

    @Option(help: "Time limit per family: requests not started by then are not sent (reported).")
    var familyTimeLimit: DurationArgument = DurationArgument(.seconds(1800))

    @Flag(help: "Print every request and the status and start of its answer.")
    var showAnswers = false

    @Option(help: "Directory for the processes' data and logs (default: a new temporary directory, removed when every check passed).")
    var workDir: String?

    func validate() throws {
        if requestsPerFamily <= 0 { throw ValidationError("--requests-per-family must be positive, got \(requestsPerFamily)") }
        if concurrency <= 0 { throw ValidationError("--concurrency must be positive, got \(concurrency)") }
        if firstIndex < 0 { throw ValidationError("--first-index must be at least 0, got \(firstIndex)") }
        _ = try selectedFamilies()
    }

    func selectedFamilies() throws -> [HostileFamily] {
        let names = families.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var out: [HostileFamily] = []
        for name in names {
            guard let family = HostileFamily(rawValue: name) else {
                throw ValidationError("--families: unknown family '\(name)'; expected some of "
                                      + HostileFamily.allCases.map(\.rawValue).joined(separator: ", "))
            }
            if !out.contains(family) { out.append(family) }
        }
        if out.isEmpty { throw ValidationError("--families: expected at least one family") }
        return out
    }

    /// One family's figures and verdict.
    struct FamilyResult {
        var family: HostileFamily
        var tally: HostileTally
        var wallSeconds: Double
        var notSent: Int
        var ready: [String: String?]
        var peakRSS: [String: Int]
        var readBack: String?
        var failures: [String]

        var fields: [String: Any] {
            [
                "family": family.rawValue,
                "requests": tally.tried,
                "not_sent": notSent,
                "crashes": tally.crashes.count,
                "crashed": tally.crashes.keys.sorted(),
                "hangs": tally.hangs,
                "status_5xx": tally.serverErrors,
                "transport_errors": tally.transportErrors,
                "status_counts": Dictionary(uniqueKeysWithValues: tally.statusCounts.map { ("\($0.key)", $0.value) }),
                "backend_peak_rss_bytes": peakRSS["backend"] ?? 0,
                "agent_peak_rss_bytes": peakRSS["agent"] ?? 0,
                "ready": ready.values.allSatisfy { $0 == nil },
                "good_entries_readable": readBack == nil,
                "wall_seconds": wallSeconds,
                "passed": failures.isEmpty,
                "failures": failures,
            ]
        }
    }

    mutating func run() async throws {
        guard let binary = estuaryBin ?? ProcessInfo.processInfo.environment["ESTUARY_BIN"], !binary.isEmpty else {
            throw ValidationError("--estuary-bin (or $ESTUARY_BIN) must name the estuary binary")
        }
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw ValidationError("--estuary-bin: \(binary) is not an executable file")
        }
        let selected = try selectedFamilies()
        let directory = workDir ?? (NSTemporaryDirectory() + "loadgen-hostile-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let runID = String(format: "%08x", UInt32(truncatingIfNeeded: seed &* 0x9E37_79B9_7F4A_7C15 >> 16))
        Report.say("hostile: families=\(selected.map(\.rawValue).joined(separator: ",")) requests-per-family="
                   + "\(requestsPerFamily) seed=\(seed) first-index=\(firstIndex) concurrency=\(concurrency) "
                   + "timeout=\(timeout) max-rss=\(maxRSSMiB)MiB binary=\(binary) dir=\(directory)")

        var generation = 0
        var stack = try await HostileStack.start(binary: binary, parent: directory, generation: generation)
        let (goodRequest, good) = HostileStack.goodRequest(runID: runID, nowNanos: wallClockNanos())
        try await stack.pushGood(goodRequest)
        Report.say("  started backend pid \(stack.backend.pid) on :\(stack.backendPort), agent pid \(stack.agent.pid) "
                   + "on :\(stack.agentPort) (loki.source.api :\(stack.sourceAPIPort), otlp :\(stack.otlpPort)); "
                   + "\(good.lines.count) good entries acknowledged for tenant \(HostileStack.goodTenant)")
        if let problem = await stack.readBack(good) {
            throw LoadGenError.badArgument("the good entries do not read back before any attack: \(problem)")
        }

        let generator = HostileGenerator(seed: seed, goodTenant: HostileStack.goodTenant,
                                         goodSelector: #"{job="\#(HostileStack.goodJob)"}"#, nowNanos: wallClockNanos())
        var results: [FamilyResult] = []
        for family in selected {
            let result = await attack(family, stack: stack, generator: generator, good: good)
            results.append(result)
            Self.report(result, seed: seed)
            // A process that died, stopped answering ready or still works on requests that hung (a frozen query
            // burns a core) would make the next family fail for this family's bug: start both afresh.
            let broken = !result.tally.crashes.isEmpty || result.ready.values.contains { $0 != nil } || result.tally.hangs > 0
            if broken && family != selected.last {
                Report.say("  restarting both processes for the next family (stopping the old ones: "
                           + (await stack.stop(timeout: stopWithin.duration)).map { "\($0.process) \($0.text)" }
                            .joined(separator: "; ") + ")")
                generation += 1
                stack = try await HostileStack.start(binary: binary, parent: directory, generation: generation)
                try await stack.pushGood(goodRequest)
            }
        }

        let shutdown = await stack.stop(timeout: stopWithin.duration)
        Report.say("")
        Report.say(Self.row(["family", "requests", "crashes", "hangs", "5xx", "backend peak", "agent peak", "verdict"]))
        for result in results {
            Report.say(Self.row([result.family.rawValue, "\(result.tally.tried)", "\(result.tally.crashes.count)",
                                 "\(result.tally.hangs)", "\(result.tally.serverErrors)",
                                 Report.megabytes(result.peakRSS["backend"] ?? 0),
                                 Report.megabytes(result.peakRSS["agent"] ?? 0),
                                 result.failures.isEmpty ? "PASS" : "FAIL"]))
        }
        for (process, ok, text) in shutdown { Report.line("stop \(process)", (ok ? "" : "FAIL: ") + text) }
        let passed = results.allSatisfy { $0.failures.isEmpty } && shutdown.allSatisfy { $0.ok }
        Report.line("verdict", passed ? "PASS" : "FAIL")
        Report.printResult([
            "command": "hostile",
            "seed": seed,
            "first_index": firstIndex,
            "requests_per_family": requestsPerFamily,
            "concurrency": concurrency,
            "timeout_seconds": timeout.duration.seconds,
            "max_rss_mib": maxRSSMiB,
            "families": results.map(\.fields),
            "shutdown": Dictionary(uniqueKeysWithValues: shutdown.map { ($0.process, ["ok": $0.ok, "text": $0.text] as [String: Any]) }),
            "passed": passed,
        ])
        if passed && workDir == nil {
            try? FileManager.default.removeItem(atPath: directory)
        } else if !passed {
            Report.say("  logs and data kept in \(directory)")
        }
        if !passed { throw ExitCode(1) }
    }

    /// Sends one family's requests and runs the checks.
    func attack(_ family: HostileFamily, stack: HostileStack, generator: HostileGenerator,
                good: HostileStack.GoodEntries) async -> FamilyResult {
        Report.say("family \(family.rawValue): \(requestsPerFamily) requests")
        let resetPeak = stack.backend.resetPeakRSS() && stack.agent.resetPeakRSS()
        let shared = SharedHostileTally()
        let next = SharedCounter(firstIndex)
        let end = firstIndex + requestsPerFamily
        let timeout = timeout.duration
        let clock = ContinuousClock()
        let started = clock.now
        let limit = started + familyTimeLimit.duration
        let group = DispatchGroup()
        for _ in 0..<concurrency {
            group.enter()
            // A thread per worker: the exchange blocks on its socket, which the async pool must never do.
            DispatchQueue.global().async {
                defer { group.leave() }
                while true {
                    if shared.stop.withLock({ $0 }) || clock.now >= limit { return }
                    let index = next.take()
                    if index >= end { return }
                    let request = generator.request(family, index: index)
                    shared.state.withLock { $0.inFlight[index] = request.description }
                    let outcome = RawHTTPClient.exchange(port: stack.port(of: request.target), request: request.serialized(),
                                                         halfClose: request.halfClose, timeout: timeout)
                    if showAnswers { Self.show(index: index, request: request, outcome: outcome) }
                    var died = false
                    shared.state.withLock { tally in
                        tally.record(index: index, request: request, outcome: outcome)
                        for process in [stack.backend, stack.agent] where tally.crashes[process.name] == nil {
                            guard let status = process.exitStatus() else { continue }
                            let suspects = tally.inFlight.sorted { $0.key < $1.key }.map { "#\($0.key) \($0.value)" }
                            tally.crashes[process.name] = "\(status), noticed after request #\(index); in flight then:\n      "
                                + suspects.joined(separator: "\n      ")
                            died = true
                        }
                        tally.inFlight[index] = nil
                    }
                    if died { shared.stop.withLock { $0 = true } }
                }
            }
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            group.notify(queue: .global()) { continuation.resume() }
        }
        let wall = (clock.now - started).seconds
        var tally = shared.state.withLock { $0 }
        for process in [stack.backend, stack.agent] where tally.crashes[process.name] == nil {
            if let status = process.exitStatus() { tally.crashes[process.name] = "\(status), noticed after the family" }
        }

        var failures: [String] = []
        var ready: [String: String?] = [:]
        var peakRSS: [String: Int] = [:]
        for (process, port, path) in [(stack.backend, stack.backendPort, "/ready"), (stack.agent, stack.agentPort, "/-/ready")] {
            if let crash = tally.crashes[process.name] {
                failures.append("\(process.name) crashed: \(crash)\n    stderr:\n"
                                + process.stderrTail().split(separator: "\n").map { "      " + $0 }.joined(separator: "\n"))
                ready[process.name] = .some("crashed")
                continue
            }
            let problem = await stack.ready(port: port, path: path, within: readyWithin.duration)
            ready[process.name] = .some(problem)
            if let problem { failures.append("\(process.name) not ready: \(problem)") }
            if let sample = try? ProcessSample.capture(pid: "\(process.pid)") {
                peakRSS[process.name] = sample.peakRSSBytes
                if sample.peakRSSBytes > maxRSSMiB << 20 {
                    failures.append("\(process.name) peak RSS \(Report.megabytes(sample.peakRSSBytes)) is over "
                                    + "--max-rss-mib \(maxRSSMiB)" + (resetPeak ? "" : " (peak since start: clear_refs refused)"))
                }
            }
        }
        if tally.hangs > 0 { failures.append("\(tally.hangs) requests had no answer within \(self.timeout)") }
        if tally.serverErrors > 0 { failures.append("\(tally.serverErrors) requests were answered 5xx") }
        let readBack = stack.backend.isRunning ? await stack.readBack(good) : "the backend is not running"
        if let readBack { failures.append("good entries: \(readBack)") }
        return FamilyResult(family: family, tally: tally, wallSeconds: wall, notSent: requestsPerFamily - tally.tried,
                            ready: ready, peakRSS: peakRSS, readBack: readBack, failures: failures)
    }

    /// One request and its answer, for --show-answers.
    static func show(index: Int, request: HostileRequest, outcome: RawHTTPClient.Outcome) {
        let answer: String
        switch outcome {
        case .response(let response):
            answer = "HTTP \(response.status): " + String(decoding: response.bodyPrefix.prefix(200), as: UTF8.self)
        case .timedOut(let phase): answer = "no answer: \(phase)"
        case .transportError(let message): answer = message
        }
        Report.say("  #\(index) \(request.description)\n      -> \(answer)")
    }

    /// A row of the summary table: the family left-aligned, the figures right-aligned.
    static func row(_ cells: [String]) -> String {
        let widths = [14, 9, 8, 6, 6, 13, 13, 8]
        return "  " + zip(cells, widths).enumerated().map { index, pair in
            let padding = String(repeating: " ", count: max(0, pair.1 - pair.0.count))
            return index == 0 || index == cells.count - 1 ? pair.0 + padding : padding + pair.0
        }.joined(separator: " ")
    }

    static func report(_ result: FamilyResult, seed: UInt64) {
        let tally = result.tally
        Report.line("requests", "\(tally.tried) in \(String(format2: result.wallSeconds))s"
                    + (result.notSent > 0 ? " (\(result.notSent) not sent: a process died or the time limit passed)" : ""))
        Report.line("statuses", tally.statusText.isEmpty ? "none" : tally.statusText)
        Report.line("transport errors", "\(tally.transportErrors)  (refused, reset or closed without an answer)")
        for example in tally.transportExamples { Report.say("    " + example) }
        Report.line("5xx", "\(tally.serverErrors)  (other than 503 with Retry-After, and 504 to a query)")
        for example in tally.serverErrorExamples { Report.say("    " + example) }
        Report.line("hangs", "\(tally.hangs)")
        for example in tally.hangExamples { Report.say("    " + example) }
        Report.line("crashes", tally.crashes.isEmpty ? "0" : tally.crashes.keys.sorted().joined(separator: ", "))
        for name in ["backend", "agent"] {
            let ready: String
            switch result.ready[name] {
            case .some(.none): ready = "ready"
            case .some(.some(let problem)): ready = "NOT READY: \(problem)"
            case .none: ready = "not checked"
            }
            Report.line(name, "\(ready); peak RSS \(Report.megabytes(result.peakRSS[name] ?? 0))")
        }
        Report.line("good entries", result.readBack ?? "all readable")
        if result.failures.isEmpty {
            Report.line("verdict", "PASS")
        } else {
            Report.line("verdict", "FAIL")
            for failure in result.failures { Report.say("    - " + failure) }
            Report.say("    replay one request: loadgen hostile --families \(result.family.rawValue) --seed \(seed) "
                       + "--first-index I --requests-per-family 1")
        }
        Report.printLine("FAMILY", result.fields)
    }
}

/// The next request index, shared by the worker threads.
final class SharedCounter: Sendable {
    private let value: Mutex<Int>

    init(_ start: Int) { value = Mutex(start) }

    func take() -> Int { value.withLock { current in defer { current += 1 }; return current } }

    func peek() -> Int { value.withLock { $0 } }
}
