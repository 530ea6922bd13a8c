// Longest-prefix match: a multibit trie with 8-bit strides (4 levels for IPv4, 16 for IPv6) and
// controlled prefix expansion. A prefix whose last stride is partial is written into every entry
// it covers, where it replaces only entries of shorter (or equal) length: so inserting the
// more specific route after a less specific one, or the other way round, gives the same table.
//
// Trade-offs: lookups read one node per 8 bits of the address matched (usually 2–3 for IPv4),
// only on a flow's first packet; nodes are 256 entries (3 KB), a few per route table.

import PacketWire

public final class RouteTrie {
    struct Entry {
        /// The value of the longest prefix ending in this entry, or -1.
        var value: Int32 = -1
        /// Its length in bits (to decide which of two expanded prefixes wins).
        var length: Int16 = -1
        /// The node for the next 8 bits, or -1.
        var child: Int32 = -1
    }

    /// 4 for IPv4, 16 for IPv6.
    public let addressBytes: Int
    var nodes: [Entry]
    /// A zero-length prefix (a default route) lives here, outside the nodes.
    var defaultValue: Int32 = -1

    public init(addressBytes: Int) {
        precondition(addressBytes == 4 || addressBytes == 16)
        self.addressBytes = addressBytes
        nodes = [Entry](repeating: Entry(), count: 256)
    }

    public func insert(_ prefix: IPv4Prefix, value: Int32) {
        precondition(addressBytes == 4)
        insert(high: UInt64(prefix.network.value) << 32, low: 0, length: prefix.length, value: value)
    }

    public func insert(_ prefix: IPv6Prefix, value: Int32) {
        precondition(addressBytes == 16)
        insert(high: prefix.network.high, low: prefix.network.low, length: prefix.length, value: value)
    }

    public func lookup(_ address: IPv4Address) -> Int32? {
        lookup(high: UInt64(address.value) << 32, low: 0)
    }

    public func lookup(_ address: IPv6Address) -> Int32? {
        lookup(high: address.high, low: address.low)
    }

    /// Byte `depth` of a 128-bit address (IPv4 sits in the top 32 bits).
    @inline(__always)
    static func byte(_ depth: Int, _ high: UInt64, _ low: UInt64) -> Int {
        let half = depth < 8 ? high : low
        return Int(truncatingIfNeeded: (half >> UInt64(56 - 8 * (depth % 8))) & 0xFF)
    }

    /// Adds `value` for a prefix; at equal length the later insert wins.
    func insert(high: UInt64, low: UInt64, length: Int, value: Int32) {
        precondition(length >= 0 && length <= 8 * addressBytes)
        if length == 0 {
            defaultValue = value
            return
        }
        var node = 0
        var depth = 0
        while length > 8 * (depth + 1) {
            let index = node * 256 + RouteTrie.byte(depth, high, low)
            if nodes[index].child < 0 {
                nodes[index].child = Int32(nodes.count / 256)
                nodes += [Entry](repeating: Entry(), count: 256)
            }
            node = Int(nodes[index].child)
            depth += 1
        }
        let remaining = length - 8 * depth
        let span = 1 << (8 - remaining)
        let first = RouteTrie.byte(depth, high, low) & ~(span - 1)
        for entry in first..<(first + span) where nodes[node * 256 + entry].length <= Int16(length) {
            nodes[node * 256 + entry].value = value
            nodes[node * 256 + entry].length = Int16(length)
        }
    }

    /// The value of the longest prefix containing the address, or nil.
    func lookup(high: UInt64, low: UInt64) -> Int32? {
        var best = defaultValue
        var node = 0
        for depth in 0..<addressBytes {
            let entry = nodes[node * 256 + RouteTrie.byte(depth, high, low)]
            if entry.value >= 0 { best = entry.value }
            guard entry.child >= 0 else { break }
            node = Int(entry.child)
        }
        return best >= 0 ? best : nil
    }
}
