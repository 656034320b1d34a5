import Foundation
import Testing
import Wire

/// The SigV4 signer against botocore's `S3SigV4Auth` (vectors made by `testdata/make_vectors.py`) and AWS's own
/// published example.
@Suite struct SigV4Tests {
    struct Vectors: Decodable {
        struct Vector: Decodable {
            var name, method, path, body, region, service, time: String
            var query: [[String]]
            var headers: [[String]]
            var access_key_id, secret_access_key: String
            var session_token: String?
            var added: [String: String]
        }
        var vectors: [Vector]
    }

    static let vectors: [Vectors.Vector] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("testdata/sigv4-vectors.json")
        return try! JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url)).vectors
    }()

    /// `yyyyMMdd'T'HHmmss'Z'` as seconds since 1970.
    static func seconds(_ stamp: String) -> Int64 {
        let digits = stamp.filter(\.isNumber).map { Int(String($0))! }
        func number(_ range: Range<Int>) -> Int { digits[range].reduce(0) { $0 * 10 + $1 } }
        return Civil.seconds(year: number(0..<4), month: number(4..<6), day: number(6..<8), hour: number(8..<10),
                             minute: number(10..<12), second: number(12..<14))
    }

    @Test(arguments: vectors.map(\.name))
    func matchesBotocore(name: String) throws {
        let vector = try #require(Self.vectors.first { $0.name == name })
        let signer = SigV4Signer(region: vector.region, service: vector.service)
        let added = signer.sign(
            method: vector.method, path: vector.path, query: vector.query.map { ($0[0], $0[1]) },
            headers: vector.headers.map { ($0[0], $0[1]) }, payloadHash: SigV4Signer.payloadHash(Array(vector.body.utf8)),
            credentials: .init(accessKeyID: vector.access_key_id, secretAccessKey: vector.secret_access_key,
                               sessionToken: vector.session_token),
            time: Self.seconds(vector.time))
        #expect(Dictionary(uniqueKeysWithValues: added.map { ($0.name, $0.value) }) == vector.added)
    }

    /// The `get-vanilla` case of AWS's SigV4 test suite (a service other than S3: no payload hash header).
    @Test func awsGetVanilla() {
        let signer = SigV4Signer(region: "us-east-1", service: "service", sendsPayloadHash: false)
        let added = signer.sign(
            method: "GET", path: "/", query: [], headers: [("Host", "example.amazonaws.com")],
            payloadHash: SigV4Signer.emptyPayloadHash,
            credentials: .init(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            time: Self.seconds("20150830T123600Z"))
        #expect(added.map(\.name) == ["x-amz-date", "authorization"])
        #expect(added.last?.value == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    @Test func encodingKeepsOnlyUnreservedBytes() {
        #expect(SigV4Signer.encode("a b/c~d-e_f.g+h=é", keepSlash: true) == "a%20b/c~d-e_f.g%2Bh%3D%C3%A9")
        #expect(SigV4Signer.encode("a/b", keepSlash: false) == "a%2Fb")
        #expect(SigV4Signer.payloadHash([UInt8]()) == SigV4Signer.emptyPayloadHash)
    }

    @Test func credentialsNeverPrintTheirSecrets() {
        let credentials = SigV4Signer.Credentials(accessKeyID: "AKIA1", secretAccessKey: "s3cr3t", sessionToken: "t0k3n")
        #expect("\(credentials)" == "access key AKIA1 with a session token")
        #expect(!String(reflecting: credentials).contains("s3cr3t"))
    }
}
