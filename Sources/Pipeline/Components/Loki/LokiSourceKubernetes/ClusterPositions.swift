import AsyncHTTPClient
import Cluster
import Logging
import NIOCore

/// Positions handed over between agent cluster members: `GET /api/v0/cluster/positions/{component id}` answers this
/// member's positions file of that component as it is on disk (written at most a second after entries are
/// delivered), and a member taking containers over reads every other member's file and goes on from the latest
/// position. A member that has crashed cannot answer: its containers start where this member last knew them, or,
/// never tailed here, from the start of what the API server keeps (as Alloy does without a position).
enum ClusterPositions {
    static let path = "/api/v0/cluster/positions/"
    /// The most a positions file may take, read or served.
    static let maxBytes = 64 << 20

    /// The positions file of `componentID` under `storagePath`, for the HTTP handler; nil when the id is not a
    /// component id or the component has none.
    static func serve(componentID: String, storagePath: String) -> [UInt8]? {
        guard !componentID.isEmpty, componentID.utf8.allSatisfy({ byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }), !componentID.hasPrefix(".") else { return nil }
        let directory = storagePath.hasSuffix("/") ? storagePath : storagePath + "/"
        guard let bytes = PositionsFile.readBytes(directory + componentID + "/positions.yml"), bytes.count <= maxBytes
        else { return nil }
        return bytes
    }

    /// Every other member's positions of `componentID`, the latest per container; members that do not answer
    /// within two seconds are skipped.
    static func fetch(componentID: String, cluster: ClusterMembership, client: HTTPClient, logger: Logger) async
        -> [PositionsFile.Key: PositionsFile.Position]
    {
        let peers = cluster.snapshot.peers.filter { !$0.isSelf }
        guard !peers.isEmpty else { return [:] }
        let answers = await withTaskGroup(of: [PositionsFile.Key: PositionsFile.Position].self) { group in
            for peer in peers {
                group.addTask {
                    do {
                        let request = HTTPClientRequest(url: "http://\(peer.address)\(path)\(componentID)")
                        let response = try await client.execute(request, timeout: .seconds(2))
                        let body = try await response.body.collect(upTo: maxBytes)
                        guard response.status.code == 200 else { return [:] }
                        return try PositionsFile.parse(String(buffer: body), path: "\(peer.name):\(componentID)").positions
                    } catch {
                        logger.warning("cannot read a cluster member's positions", metadata: [
                            "peer": "\(peer.name)", "error": "\(error)"])
                        return [:]
                    }
                }
            }
            var merged: [PositionsFile.Key: PositionsFile.Position] = [:]
            for await positions in group {
                for (key, position) in positions {
                    guard let time = position.timestamp else { continue }
                    if let current = merged[key], let currentTime = current.timestamp,
                       (currentTime, current.entriesAtTimestamp ?? 0) >= (time, position.entriesAtTimestamp ?? 0) {
                        continue
                    }
                    merged[key] = position
                }
            }
            return merged
        }
        return answers
    }
}
