import PacketWire

/// Which CIDR blocks overlap blocks written before them, found without comparing every pair, so
/// that a file of thousands of subnets is checked in about N log N steps and reported in at most
/// one line per block.
///
/// Two CIDR blocks overlap only when one contains the other. So the blocks an earlier one can
/// overlap are the same block written again, the blocks that contain it (one per shorter length,
/// found by masking), and the blocks it contains (a run of the blocks sorted by network address).
/// IPv4 blocks are checked as their IPv4-mapped IPv6 blocks, so one search serves both families.
struct BlockOverlaps {
    /// A block overlapping blocks written before it: the first of them, and how many in all.
    struct Overlap: Equatable {
        let block: Int
        let first: Int
        let count: Int
    }

    /// The blocks in file order: `blocks[i]` is the i-th block of one VPC.
    static func find(_ blocks: [IPv6Prefix]) -> [Overlap] {
        // The positions of each distinct block, in file order.
        var positions: [IPv6Prefix: [Int]] = [:]
        for (index, block) in blocks.enumerated() { positions[block, default: []].append(index) }
        let distinct = positions.keys.sorted { ($0.network.high, $0.network.low, $0.length) < ($1.network.high, $1.network.low, $1.length) }
        var order: [IPv6Prefix: Int] = [:]
        for (rank, block) in distinct.enumerated() { order[block] = rank }
        let lengths = Set(distinct.map(\.length)).sorted()

        var overlaps: [Overlap] = []
        for (index, block) in blocks.enumerated() {
            var first = Int.max, count = 0
            func consider(_ other: IPv6Prefix) {
                guard let written = positions[other] else { return }
                // Those written before this one: a prefix of the (ascending) positions.
                let before = BlockOverlaps.countBelow(index, in: written)
                if before > 0 {
                    count += before
                    first = min(first, written[0])
                }
            }
            consider(block)
            for length in lengths where length < block.length { consider(IPv6Prefix(containing: block.network, length: length)) }
            var rank = order[block]! + 1
            let last = block.last
            while rank < distinct.count, (distinct[rank].network.high, distinct[rank].network.low) <= (last.high, last.low) {
                consider(distinct[rank])
                rank += 1
            }
            if count > 0 { overlaps.append(Overlap(block: index, first: first, count: count)) }
        }
        return overlaps
    }

    /// How many of the ascending `values` are below `limit`.
    static func countBelow(_ limit: Int, in values: [Int]) -> Int {
        var low = 0, high = values.count
        while low < high {
            let middle = (low + high) / 2
            if values[middle] < limit { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

extension IPv4Prefix {
    /// The same block as IPv4-mapped IPv6 (::ffff:0:0/96, RFC 4291 §2.5.5.2).
    var mapped: IPv6Prefix {
        IPv6Prefix(containing: IPv6Address(high: 0, low: 0x0000_FFFF_0000_0000 | UInt64(network.value)), length: 96 + length)
    }
}
