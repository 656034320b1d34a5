import Foundation
import Testing
import TestSupport
@testable import Wire

@Suite struct ProcessMetricsTests {
    @Test func parsesStatWithAwkwardCommandNames() {
        let line = "1234 (my (odd) cmd) S 1 1234 1234 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 12 0 4567 1073741824 2560 18446744073709551615 1 1 0 0 0 0 0 4096 17003 0 0 0 17 1 0 0 0 0 0\n"
        #expect(ProcessMetrics.parseStat(line) == ProcessMetrics.Stat(
            userTicks: 250, systemTicks: 50, startTicks: 4567, virtualBytes: 1_073_741_824, residentPages: 2560))
        #expect(ProcessMetrics.parseStat("1234 (cmd) S 1 2") == nil)
        #expect(ProcessMetrics.parseStat("no parenthesis") == nil)
        #expect(ProcessMetrics.parseBootTime("cpu 1 2 3\nbtime 1765000000\nprocesses 5\n") == 1_765_000_000)
    }

    /// Random text never traps the parsers.
    @Test func randomTextNeverTraps() {
        var random = SeededRandom(seed: FuzzBudget.seed(0x9_0001))
        for _ in 0..<FuzzBudget.scaled(2_000) {
            let bytes = random.bytes(random.int(0...120)).map { $0 % 4 == 0 ? UInt8(ascii: " ") : $0 % 3 == 0 ? UInt8(ascii: ")") : $0 }
            let text = String(decoding: bytes, as: UTF8.self)
            _ = ProcessMetrics.parseStat(text)
            _ = ProcessMetrics.parseBootTime(text)
        }
    }

    @Test func thisProcessIsMeasured() throws {
        let sample = try #require(ProcessMetrics.sample())
        #expect(sample.residentBytes > 1 << 20)
        #expect(sample.virtualBytes >= sample.residentBytes)
        #expect(sample.openFileDescriptors > 2 && sample.openFileDescriptors <= sample.maxFileDescriptors)
        let now = Date().timeIntervalSince1970
        #expect(sample.startTimeSeconds <= now + 1 && sample.startTimeSeconds > now - 86_400)
        var buffer: [UInt8] = []
        ProcessMetrics.emit(into: &buffer)
        let text = String(decoding: buffer, as: UTF8.self)
        for name in ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes",
                     "process_open_fds", "process_max_fds", "process_start_time_seconds"] {
            #expect(text.contains("\n\(name) ") || text.contains("# TYPE \(name) "), "\(name) missing")
        }
    }
}
