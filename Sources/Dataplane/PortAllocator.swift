// Source ports for the NLB's source NAT. PrivateLink traffic always reaches targets from the NLB's
// own address, with about 55,000 simultaneous connections per (NLB IP, target IP:port)
// (docs/aws-behaviour.md §2); beyond that new connections fail.
//
// Trade-offs: one bitmap per (NLB node, target) pair, all in one preallocated block (6.9 KB a
// pair); allocation scans 64 ports per word onward from the last port handed out, so it is O(1)
// amortised while the pool is not nearly full, reuses a released port as late as it can, and is
// deterministic (the same sequence of flows gets the same ports).
//
// With several workers (Sharding.swift) each has its own allocators over the same ports, and
// takes only the ports whose translated flow it owns: the others are marked used from the start,
// so no two workers ever hand out the same port, and each worker gets its share of the 55,000.

public final class PortAllocators {
    /// 55,000 ports per pair: 10000 through 64999.
    public static let firstPort: UInt16 = 10000
    public static let portsPerPool = 55_000
    static let wordsPerPool = (portsPerPool + 63) / 64

    public let poolCount: Int
    public let portsPerPool: Int
    private let words: UnsafeMutablePointer<UInt64>
    private let cursors: UnsafeMutablePointer<Int>
    private let inUse: UnsafeMutablePointer<Int>
    /// Per pool, the ports left to the other workers (counted in `inUse`, not in `used`).
    private let reserved: UnsafeMutablePointer<Int>
    private let wordsPerPool: Int

    /// `poolCount` pools of `portsPerPool` ports (fewer than 55,000 in tests of exhaustion).
    /// With a shard of several workers, `targetPorts` gives each pool's target port, which with
    /// the NAT port names the translated flow's owner.
    public init(poolCount: Int, portsPerPool: Int = PortAllocators.portsPerPool, shard: Shard = .whole,
                targetPorts: [UInt16] = []) {
        precondition(portsPerPool > 0 && portsPerPool <= PortAllocators.portsPerPool)
        self.poolCount = poolCount
        self.portsPerPool = portsPerPool
        wordsPerPool = (portsPerPool + 63) / 64
        words = .allocate(capacity: max(1, poolCount * wordsPerPool))
        cursors = .allocate(capacity: max(1, poolCount))
        inUse = .allocate(capacity: max(1, poolCount))
        reserved = .allocate(capacity: max(1, poolCount))
        reserved.initialize(repeating: 0, count: max(1, poolCount))
        words.initialize(repeating: 0, count: max(1, poolCount * wordsPerPool))
        cursors.initialize(repeating: 0, count: max(1, poolCount))
        inUse.initialize(repeating: 0, count: max(1, poolCount))
        // Bits past the last port of the last word are marked used so they are never handed out.
        let spare = wordsPerPool * 64 - portsPerPool
        if spare > 0 {
            for pool in 0..<poolCount { words[pool * wordsPerPool + wordsPerPool - 1] = ~(UInt64.max >> UInt64(spare)) }
        }
        guard shard.count > 1 else { return }
        precondition(targetPorts.count == poolCount)
        // The ports other workers own, worked out once per target port.
        var others: [UInt16: [Int]] = [:]
        for (pool, targetPort) in targetPorts.enumerated() {
            let offsets = others[targetPort] ?? (0..<portsPerPool).filter { offset in
                Shard.owner(ports: PortAllocators.firstPort + UInt16(offset), targetPort, workers: shard.count) != shard.index
            }
            others[targetPort] = offsets
            for offset in offsets { _ = markUsed(pool: pool, port: PortAllocators.firstPort + UInt16(offset)) }
            reserved[pool] = offsets.count
        }
    }

    deinit {
        words.deallocate()
        cursors.deallocate()
        inUse.deallocate()
        reserved.deallocate()
    }

    /// A free port of `pool`, or nil when all are taken: the first free one after the port last
    /// handed out, so that a released port comes back only after the rest of the pool has had
    /// its turn. The target may still hold the old connection in TIME-WAIT (RFC 9293 §3.6.1), and
    /// a new SYN on the same four-tuple would be answered as the old connection's.
    @inline(__always)
    public func allocate(pool: Int) -> UInt16? {
        guard inUse[pool] < portsPerPool else { return nil }
        let base = words + pool * wordsPerPool
        let next = cursors[pool]
        var word = next / 64
        var free = ~base[word] & (UInt64.max << UInt64(next % 64))
        while free == 0 {
            word += 1
            if word == wordsPerPool { word = 0 }
            free = ~base[word]
        }
        let bit = free.trailingZeroBitCount
        base[word] |= 1 << UInt64(bit)
        let offset = word * 64 + bit
        cursors[pool] = offset + 1 == portsPerPool ? 0 : offset + 1
        inUse[pool] += 1
        return PortAllocators.firstPort + UInt16(offset)
    }

    /// Returns `port` to `pool`.
    @inline(__always)
    public func release(pool: Int, port: UInt16) {
        let offset = Int(port - PortAllocators.firstPort)
        let mask: UInt64 = 1 << UInt64(offset % 64)
        let word = words + pool * wordsPerPool + offset / 64
        guard word.pointee & mask != 0 else { return }
        word.pointee &= ~mask
        inUse[pool] -= 1
    }

    public func used(pool: Int) -> Int { inUse[pool] - reserved[pool] }

    /// Marks `port` used; false when it already was.
    func markUsed(pool: Int, port: UInt16) -> Bool {
        let offset = Int(port - PortAllocators.firstPort)
        let mask: UInt64 = 1 << UInt64(offset % 64)
        let word = words + pool * wordsPerPool + offset / 64
        guard word.pointee & mask == 0 else { return false }
        word.pointee |= mask
        inUse[pool] += 1
        return true
    }
}
