@testable import Cluster
import Testing
import Wire

@Suite struct JoinAddressesTests {
    @Test func resolvesEveryKindOfEntry() async throws {
        let server = try await DNSTestServer.start()
        defer { Task { await server.stop() } }
        let v6: [UInt8] = [0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]
        server.set(records: [
            .address(name: "gossip.example", [10, 0, 0, 2]),
            .address(name: "gossip.example", v6),
            DNSRecord(name: "_gossip._tcp.loki.example", type: .srv, ttl: 5,
                      data: .srv(DNSServiceRecord(priority: 0, weight: 0, port: 9001, target: "b.loki.example"))),
            DNSRecord(name: "_gossip._tcp.loki.example", type: .srv, ttl: 5,
                      data: .srv(DNSServiceRecord(priority: 0, weight: 9, port: 9000, target: "a.loki.example"))),
            .address(name: "b.loki.example", [10, 0, 1, 2]),
        ], glue: [.address(name: "a.loki.example", [10, 0, 1, 1])])
        let resolver = DNSJoinResolver(defaultPort: 12345, resolver: server.resolver())
        let entries = ["10.0.0.1:80", " [::1]:81 ", "fd00::9", "gossip.example:7946", "dns+gossip.example",
                       "missing.example:1", "dnssrv+_gossip._tcp.loki.example", "10.0.0.1:80", "dns+[fd00::3]:7946",
                       "nope+host"]
        #expect(await resolver.resolve(entries) == [
            "10.0.0.1:80", "[::1]:81", "[fd00::9]:12345", "10.0.0.2:7946", "[fd00::3]:7946", "10.0.0.2:12345",
            "[fd00::3]:12345", "10.0.1.1:9000", "10.0.1.2:9001",
        ])
        // a.loki.example came with the SRV answer; b.loki.example was looked up, as an absolute name.
        #expect(!server.queries.contains { $0.name.hasPrefix("a.loki.example") })
        #expect(server.queries.contains { $0.name == "b.loki.example" && $0.type == .a })

        // Every call asks again.
        server.set(records: [.address(name: "gossip.example", [10, 0, 0, 4])])
        #expect(await resolver.resolve(["gossip.example", "dnssrv+_gossip._tcp.loki.example"]) == ["10.0.0.4:12345"])
    }

    @Test func anSRVTargetWithoutAddressesSkipsOnlyItself() async throws {
        let server = try await DNSTestServer.start()
        defer { Task { await server.stop() } }
        func srv(_ port: UInt16, _ target: String) -> DNSRecord {
            DNSRecord(name: "gossip.example", type: .srv, ttl: 5,
                      data: .srv(DNSServiceRecord(priority: 0, weight: 0, port: port, target: target)))
        }
        server.set(records: [srv(1, "gone.example"), srv(2, "here.example"), .address(name: "here.example", [10, 0, 0, 8])])
        let resolver = DNSJoinResolver(defaultPort: 7946, resolver: server.resolver())
        #expect(await resolver.resolve(["dnssrv+gossip.example"]) == ["10.0.0.8:2"])
    }

    @Test func aFailingLookupSkipsOnlyItsEntry() async throws {
        let server = try await DNSTestServer.start(mode: .silent)
        defer { Task { await server.stop() } }
        let resolver = DNSJoinResolver(defaultPort: 7946, resolver: server.resolver(timeout: .milliseconds(50), attempts: 1))
        #expect(await resolver.resolve(["gossip.example", "192.0.2.1", "dnssrv+x.example"]) == ["192.0.2.1:7946"])
    }

    @Test(arguments: [
        ("10.0.0.1:80", JoinAddress.literal("10.0.0.1", port: 80)),
        ("10.0.0.1", .literal("10.0.0.1", port: 7946)),
        ("[FD00::1]:80", .literal("fd00::1", port: 80)),
        ("[::1]", .literal("::1", port: 7946)),
        ("::1", .literal("::1", port: 7946)),
        ("dns+[::1]:9", .literal("::1", port: 9)),
        ("loki-gossip-ring", .name("loki-gossip-ring", port: 7946)),
        ("loki-gossip-ring.loki.svc.cluster.local.:7000", .name("loki-gossip-ring.loki.svc.cluster.local.", port: 7000)),
        ("dns+loki-gossip-ring:7946", .name("loki-gossip-ring", port: 7946)),
        ("dnssrv+_tcp-gossip._tcp.loki", .service("_tcp-gossip._tcp.loki")),
        ("dnssrv+loki", .service("loki")),
    ])
    func parsesEntries(entry: String, expected: JoinAddress) throws {
        #expect(try JoinAddress(parsing: entry, defaultPort: 7946) == expected)
    }

    @Test(arguments: [
        ("", "empty"),
        ("   ", "empty"),
        ("dnssrv+_gossip._tcp.loki:7946", "without a port"),
        ("dnssrv+", "the name is empty"),
        ("host:0", "port \"0\""),
        ("host:65536", "port \"65536\""),
        ("host:http", "port \"http\""),
        ("host:+80", "port \"+80\""),
        ("host:", "port \"\""),
        (":80", "the host is empty"),
        ("[::1:80", "no ]"),
        ("[::1]80", "expected :port"),
        ("[10.0.0.1]:80", "not an IPv6 address"),
        ("a:b:c", "more than one :"),
        ("srv+host", "unknown prefix \"srv+\""),
        ("host name", "contains \" \""),
        ("a..b:80", "empty label"),
        (String(repeating: "x", count: 64) + ":80", "longer than 63"),
    ])
    func validateNamesTheBadEntry(entry: String, reason: String) {
        let resolver = DNSJoinResolver(defaultPort: 80, resolver: DNSResolver(configuration: ResolverConfiguration(nameservers: [])))
        do {
            try resolver.validate(["good:1", entry])
            Issue.record("\"\(entry)\" was accepted")
        } catch {
            #expect(error.entry == entry)
            #expect(error.reason.contains(reason), "\(error)")
            #expect(error.description.hasPrefix("join address \"\(entry)\": "))
        }
    }
}
