import Dataplane

/// Packets made in advance, each with the port it enters by and the verdict it must get, laid
/// out one after another in a shuffled order: dealt in that order, the flows they belong to come
/// up as no cache can predict, while the deck itself is read front to back, as a NIC's ring is.
/// Dealing copies each packet into the batch's slot (the dataplane rewrites packets in place), so
/// the same deck serves any number of rounds.
final class PacketDeck {
    let recordSize: Int
    let count: Int
    private let records: UnsafeMutableRawPointer
    private let lengths: UnsafeMutablePointer<Int>
    private let ports: UnsafeMutablePointer<Int>
    private let expected: UnsafeMutablePointer<Verdict>
    /// The next packet to deal.
    private var cursor = 0

    init(_ packets: [(bytes: [UInt8], port: Int, expected: Verdict)], seed: UInt64) {
        precondition(!packets.isEmpty, "a deck needs packets")
        let order = Array(packets.indices).shuffled(seed: seed)
        recordSize = (packets.map(\.bytes.count).max()! + 63) & ~63
        count = packets.count
        records = .allocate(byteCount: recordSize * count, alignment: 64)
        lengths = .allocate(capacity: count)
        ports = .allocate(capacity: count)
        expected = .allocate(capacity: count)
        for (position, index) in order.enumerated() {
            let packet = packets[index]
            packet.bytes.withUnsafeBytes { (records + position * recordSize).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            lengths[position] = packet.bytes.count
            ports[position] = packet.port
            expected[position] = packet.expected
        }
    }

    deinit {
        records.deallocate()
        lengths.deallocate()
        ports.deallocate()
        expected.deallocate()
    }

    /// Copies the next packet into `batch`, into slot `buffer`, `headroom` bytes into it, and
    /// returns the verdict it must get.
    @inline(__always)
    func deal(into batch: PacketBatch, slot buffer: UnsafeMutableRawPointer, capacity: Int, headroom: Int) -> Verdict {
        let start = buffer + headroom
        start.copyMemory(from: records + cursor * recordSize, byteCount: lengths[cursor])
        batch.append(start, length: lengths[cursor], capacity: capacity - headroom, ingressPort: ports[cursor], headroom: headroom)
        let verdict = expected[cursor]
        cursor = cursor + 1 == count ? 0 : cursor + 1
        return verdict
    }
}

/// A small seeded generator (SplitMix64): the same seed gives the same deck in every run.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}

extension Array {
    /// The elements in an order drawn from `seed` (Fisher-Yates): the same in every run.
    func shuffled(seed: UInt64) -> [Element] {
        var result = self
        var random = SplitMix64(seed: seed)
        for index in stride(from: result.count - 1, to: 0, by: -1) {
            result.swapAt(index, Int(random.next() % UInt64(index + 1)))
        }
        return result
    }
}
