import Synchronization

/// Decompression buffers shared by a querier's chunk scans, so that a query over thousands of chunks reuses a few
/// buffers instead of allocating, page-faulting and freeing megabytes per chunk.
///
/// Any task may take and give back at any time; a buffer is used by one scan at a time.
final class ScanBufferPool: Sendable {
    /// Buffers larger than this are dropped rather than kept (one odd huge chunk should not pin its memory).
    static let largestKept = 64 << 20

    private let free = Mutex<[[UInt8]]>([])
    private let keeping: Int

    /// Keeps at most `keeping` idle buffers.
    init(keeping: Int) {
        self.keeping = keeping
    }

    /// A buffer to decompress into: a kept one, or a new empty one.
    func take() -> [UInt8] {
        free.withLock { $0.popLast() } ?? []
    }

    /// Returns a buffer for later scans.
    func give(_ buffer: [UInt8]) {
        guard buffer.count <= Self.largestKept else { return }
        free.withLock { buffers in
            if buffers.count < keeping { buffers.append(buffer) }
        }
    }
}
