import Crypto
import Foundation

/// AWS Signature Version 4: the one signer of every request Estuary sends to AWS APIs (S3, STS).
///
/// Signs with the `Authorization` header, as the AWS SDKs do: the caller gives the request as it will be sent (method,
/// path and query not yet encoded, the headers it sets, the hex SHA-256 of the body) and adds the headers `sign`
/// returns. Canonicalisation follows the S3 flavour of the specification: the path is encoded once and never
/// normalised (`//` and `.` segments are part of an object key), query names and values are encoded and sorted,
/// header values are trimmed and their inner runs of spaces collapsed. Checked against botocore's `S3SigV4Auth` on
/// fixed inputs (`Tests/WireTests/SigV4/testdata`).
public struct SigV4Signer: Sendable {
    /// Long-lived or temporary credentials; `sessionToken` is sent as `X-Amz-Security-Token`.
    public struct Credentials: Sendable, Equatable, CustomStringConvertible {
        public var accessKeyID: String
        public var secretAccessKey: String
        public var sessionToken: String?

        public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
            self.sessionToken = sessionToken
        }

        /// Never the secret or the token: credentials end up in log lines and error messages by accident.
        public var description: String {
            "access key \(accessKeyID)" + (sessionToken == nil ? "" : " with a session token")
        }
    }

    public let region: String
    public let service: String
    /// Whether requests carry (and sign) `x-amz-content-sha256`, which S3 requires and other services do without.
    public let sendsPayloadHash: Bool

    public init(region: String, service: String, sendsPayloadHash: Bool = true) {
        self.region = region
        self.service = service
        self.sendsPayloadHash = sendsPayloadHash
    }

    /// The hex SHA-256 of a body, for `payloadHash`.
    public static func payloadHash(_ body: some DataProtocol) -> String {
        hex(SHA256.hash(data: body))
    }

    /// The hash of an empty body.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// The headers to add to the request so that it is signed: `x-amz-date`, `x-amz-content-sha256` (with
    /// `sendsPayloadHash`), `x-amz-security-token` (with a session token) and `authorization`, in that order.
    ///
    /// - `path`: the request path, not encoded (`/bucket/tenant/key`); it is sent and signed encoded once.
    /// - `query`: names and values, not encoded; an empty value is a bare name (`?uploads`).
    /// - `headers`: every header the request will carry that should be signed, `host` included.
    /// - `time`: seconds since 1970, UTC.
    public func sign(
        method: String, path: String, query: [(name: String, value: String)], headers: [(name: String, value: String)],
        payloadHash: String, credentials: Credentials, time: Int64
    ) -> [(name: String, value: String)] {
        let (date, stamp) = Self.timestamps(time)
        var added: [(name: String, value: String)] = [("x-amz-date", stamp)]
        if sendsPayloadHash { added.append(("x-amz-content-sha256", payloadHash)) }
        if let token = credentials.sessionToken { added.append(("x-amz-security-token", token)) }

        // Canonical headers: lower-case names, sorted; values of a repeated name joined with commas, in order.
        var values: [String: [String]] = [:]
        for (name, value) in headers + added {
            values[name.lowercased(), default: []].append(Self.trimAll(value))
        }
        let sortedValues = values.sorted { $0.key < $1.key }
        let signedHeaders = sortedValues.map(\.key).joined(separator: ";")
        let canonicalHeaders = sortedValues.map { "\($0.key):\($0.value.joined(separator: ","))\n" }.joined()

        let pairs: [(name: String, value: String)] = query.map { pair in
            (Self.encode(pair.name, keepSlash: false), Self.encode(pair.value, keepSlash: false))
        }
        let sorted = pairs.sorted { a, b in a.name != b.name ? a.name < b.name : a.value < b.value }
        let canonicalQuery = sorted.map { pair in pair.name + "=" + pair.value }.joined(separator: "&")
        let lines: [String] = [
            method.uppercased(), Self.encode(path, keepSlash: true), canonicalQuery, canonicalHeaders, signedHeaders,
            payloadHash,
        ]
        let canonicalRequest = lines.joined(separator: "\n")

        let scope = "\(date)/\(region)/\(service)/aws4_request"
        let requestHash = Self.hex(SHA256.hash(data: Array(canonicalRequest.utf8)))
        let stringToSign = "AWS4-HMAC-SHA256\n\(stamp)\n\(scope)\n\(requestHash)"
        var key = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [date, region, service, "aws4_request"] {
            key = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key))
        }
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
        added.append(("authorization", "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), "
                      + "SignedHeaders=\(signedHeaders), Signature=\(signature)"))
        return added
    }

    /// `text` percent-encoded as SigV4 asks: every byte of its UTF-8 but the unreserved `A–Z a–z 0–9 - _ . ~` (and
    /// `/` with `keepSlash`) as `%XX`, upper-case hex. Also how a path or query must be sent for the signature to
    /// hold.
    public static func encode(_ text: String, keepSlash: Bool) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        let digits = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                 UInt8(ascii: "~"):
                out.append(byte)
            case UInt8(ascii: "/") where keepSlash:
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 15)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `yyyyMMdd` and `yyyyMMdd'T'HHmmss'Z'` of `time` (UTC).
    static func timestamps(_ time: Int64) -> (date: String, stamp: String) {
        var days = time / 86_400
        var seconds = time % 86_400
        if seconds < 0 { days -= 1; seconds += 86_400 }
        let day = Civil.date(days: days)
        func two(_ value: some BinaryInteger) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let date = "\(day.year)\(two(day.month))\(two(day.day))"
        let clock = two(seconds / 3600) + two(seconds / 60 % 60) + two(seconds % 60)
        return (date, "\(date)T\(clock)Z")
    }

    /// Leading and trailing spaces removed, inner runs of spaces made one (SigV4's `Trimall`).
    static func trimAll(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes { out += [digits[Int(byte >> 4)], digits[Int(byte & 15)]] }
        return String(decoding: out, as: UTF8.self)
    }
}
