// Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
// Balancer", NSDI 2016, §3.4): a lookup table of a prime size M in which every backend owns
// floor(M/N) or ceil(M/N) slots, and removing one backend moves only the slots it owned (plus a
// few more, the "disruption" the paper measures).
//
// Trade-offs: built off the hot path (O(M·N) at worst), read with one modulo and one load;
// M is the smallest prime of a fixed list at least 100 × N, as the paper recommends, capped
// at 65521 (so a table is at most 128 KB of UInt16).

public final class MaglevTable {
    public let size: Int
    public let backendCount: Int
    private let slots: UnsafeMutablePointer<UInt16>

    static let primes = [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521]

    /// A table over backends identified by stable keys (so that the same backend lands in the
    /// same slots whatever others come and go). An empty key list gives an empty table.
    public init(backendKeys: [UInt64]) {
        backendCount = backendKeys.count
        size = MaglevTable.primes.first { $0 >= 100 * backendKeys.count } ?? MaglevTable.primes.last!
        slots = .allocate(capacity: size)
        slots.initialize(repeating: UInt16.max, count: size)
        guard !backendKeys.isEmpty else { return }
        precondition(backendKeys.count < Int(UInt16.max), "too many backends for one table")
        let m = UInt64(size)
        let offsets = backendKeys.map { FlowHash.finalize($0 ^ 0x5851_F42D_4C95_7F2D) % m }
        let skips = backendKeys.map { FlowHash.finalize($0 ^ 0x1405_7B7E_F767_814F) % (m - 1) + 1 }
        var next = [UInt64](repeating: 0, count: backendKeys.count)
        var filled = 0
        while true {
            for backend in 0..<backendKeys.count {
                // The backend's next preferred slot that is still free.
                var slot = (offsets[backend] + next[backend] * skips[backend]) % m
                while slots[Int(slot)] != UInt16.max {
                    next[backend] += 1
                    slot = (offsets[backend] + next[backend] * skips[backend]) % m
                }
                slots[Int(slot)] = UInt16(backend)
                next[backend] += 1
                filled += 1
                if filled == size { return }
            }
        }
    }

    deinit { slots.deallocate() }

    /// The backend index for a flow hash; nil for an empty table.
    @inline(__always)
    public func backend(for hash: UInt64) -> Int? {
        guard backendCount > 0 else { return nil }
        return Int(slots[Int(hash % UInt64(size))])
    }

    /// How many slots each backend owns (for tests and reports).
    public var slotCounts: [Int] {
        var counts = [Int](repeating: 0, count: backendCount)
        for index in 0..<size where slots[index] != UInt16.max { counts[Int(slots[index])] += 1 }
        return counts
    }

    /// The backend of every slot, in order.
    public var assignment: [Int] { (0..<size).map { Int(slots[$0]) } }
}
