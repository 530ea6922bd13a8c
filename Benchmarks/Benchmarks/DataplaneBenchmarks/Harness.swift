import Dataplane

/// A dataplane on the default topology's tables, a batch and the slots its packets live in.
final class Harness {
    let dataplane: Dataplane
    let batch = PacketBatch()
    let slot: Int
    let headroom: Int
    let buffer: UnsafeMutableRawPointer
    /// The dataplane's clock, a millisecond further at each batch a run processes.
    var clock: Int64 = 1_000_000_000
    /// The verdict each packet of the batch must get.
    private let expected: UnsafeMutablePointer<Verdict>
    /// Packets whose verdict was not the one expected, over every run.
    private(set) var mismatches = 0

    init(flowCapacity: Int, slot: Int, headroom: Int) {
        var configuration = DataplaneConfiguration()
        configuration.flowCapacity = flowCapacity
        configuration.prefaultFlowTable = true
        dataplane = Dataplane(tables: defaultTables, configuration: configuration)
        self.slot = slot
        self.headroom = headroom
        buffer = .allocate(byteCount: slot * PacketBatch.capacity, alignment: 64)
        expected = .allocate(capacity: PacketBatch.capacity)
    }

    deinit {
        buffer.deallocate()
        expected.deallocate()
    }

    /// Sends the packets as one batch (at most a batch's capacity).
    func send(_ packets: [(bytes: [UInt8], port: Int)]) {
        batch.removeAll()
        for (index, packet) in packets.enumerated() {
            let start = buffer + index * slot + headroom
            packet.bytes.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            batch.append(start, length: packet.bytes.count, capacity: slot - headroom, ingressPort: packet.port, headroom: headroom)
        }
        dataplane.process(batch, now: clock)
    }

    /// Deals `count` packets from `deck`, every `every`-th of them from `other` instead (when
    /// given), processes them as one batch a millisecond after the last, and checks each verdict.
    @inline(__always)
    func run(_ deck: PacketDeck, count: Int = PacketBatch.capacity, every: Int = 0, from other: PacketDeck? = nil) {
        batch.removeAll()
        for index in 0..<count {
            let source = other != nil && index % every == every - 1 ? other! : deck
            expected[index] = source.deal(into: batch, slot: buffer + index * slot, capacity: slot, headroom: headroom)
        }
        clock += 1_000_000
        dataplane.process(batch, now: clock)
        for index in 0..<count where batch.verdicts[index] != expected[index] { mismatches += 1 }
        dataplane.flowRecords.drain { _ in }
    }
}
