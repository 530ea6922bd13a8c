/// Up to 256 packets handed to the dataplane together, with their ingress ports; each leaves
/// with a verdict. Storage is allocated once; the packets themselves are the caller's, and the
/// dataplane rewrites them in place (a packet may shrink, as when it becomes a RST).
public final class PacketBatch {
    public static let capacity = 256

    @inlinable public var count: Int { filled }
    /// The count, set only here; visible to inlined code, so that `append` is inlined into the
    /// caller's read loop.
    @usableFromInline var filled = 0
    /// Where each packet starts.
    public let packets: UnsafeMutablePointer<UnsafeMutableRawPointer>
    public let lengths: UnsafeMutablePointer<Int>
    /// Bytes the packet may grow to from its start.
    public let capacities: UnsafeMutablePointer<Int>
    /// Bytes free in front of the packet: encapsulation (GENEVE to an appliance) writes its
    /// outer headers there and moves the packet's start back; decapsulation moves it forward.
    public let headrooms: UnsafeMutablePointer<Int>
    public let ingressPorts: UnsafeMutablePointer<Int>
    /// When each packet arrived, in nanoseconds of the caller's clock.
    public let times: UnsafeMutablePointer<Int64>
    public let verdicts: UnsafeMutablePointer<Verdict>
    /// For a segmentation-offloaded packet (a TCP super-packet from a TUN device with
    /// `IFF_VNET_HDR`), the length of each segment it stands for: MTU rules apply to the
    /// segments, not to the super-packet. Zero for an ordinary packet.
    public let segmentLengths: UnsafeMutablePointer<Int>
    /// For a packet dropped at an ENI (`Verdict.interface`): its flow as that ENI saw it, for the
    /// ENI's REJECT record in a flow log. The packet's own flow, or, where a target's security
    /// groups refused a flow the NLB had already balanced to it, the flow from the node (or the
    /// preserved client) to the target's address and port. Written with such verdicts only.
    public let refusedFlows: UnsafeMutablePointer<FlowKey>

    public init() {
        packets = .allocate(capacity: PacketBatch.capacity)
        lengths = .allocate(capacity: PacketBatch.capacity)
        capacities = .allocate(capacity: PacketBatch.capacity)
        headrooms = .allocate(capacity: PacketBatch.capacity)
        ingressPorts = .allocate(capacity: PacketBatch.capacity)
        times = .allocate(capacity: PacketBatch.capacity)
        verdicts = .allocate(capacity: PacketBatch.capacity)
        verdicts.initialize(repeating: .dropped(.malformed), count: PacketBatch.capacity)
        segmentLengths = .allocate(capacity: PacketBatch.capacity)
        refusedFlows = .allocate(capacity: PacketBatch.capacity)
    }

    deinit {
        packets.deallocate()
        lengths.deallocate()
        capacities.deallocate()
        headrooms.deallocate()
        ingressPorts.deallocate()
        times.deallocate()
        verdicts.deallocate()
        segmentLengths.deallocate()
        refusedFlows.deallocate()
    }

    public var isFull: Bool { count == PacketBatch.capacity }

    /// Adds a packet; false when the batch is full.
    @inlinable @inline(__always)
    @discardableResult
    public func append(_ packet: UnsafeMutableRawPointer, length: Int, capacity: Int, ingressPort: Int, time: Int64 = 0,
                       segmentLength: Int = 0, headroom: Int = 0) -> Bool {
        guard filled < PacketBatch.capacity else { return false }
        headrooms[filled] = headroom
        segmentLengths[filled] = segmentLength
        times[filled] = time
        packets[filled] = packet
        lengths[filled] = length
        capacities[filled] = capacity
        ingressPorts[filled] = ingressPort
        filled += 1
        return true
    }

    public func removeAll() { filled = 0 }

    /// The length the MTU rules judge packet `index` by: its own, or its segments'.
    @inline(__always)
    func wireLength(_ index: Int, ipLength: Int) -> Int {
        segmentLengths[index] == 0 ? ipLength : segmentLengths[index]
    }

    /// Puts `bytes` more in front of packet `index` (its new headers), from its headroom, or by
    /// moving the packet up when the headroom is short; false when neither has the room.
    @inline(__always)
    func prepend(_ index: Int, bytes: Int) -> Bool {
        if headrooms[index] >= bytes {
            packets[index] -= bytes
            headrooms[index] -= bytes
            capacities[index] += bytes
        } else {
            guard lengths[index] + bytes <= capacities[index] else { return false }
            (packets[index] + bytes).copyMemory(from: packets[index], byteCount: lengths[index])
        }
        lengths[index] += bytes
        return true
    }

    /// Takes the first `bytes` off packet `index` (its outer headers), keeping `length` after them.
    @inline(__always)
    func strip(_ index: Int, bytes: Int, keeping length: Int) {
        packets[index] += bytes
        headrooms[index] += bytes
        capacities[index] -= bytes
        lengths[index] = length
    }

    /// The bytes of packet `index` as they are now.
    @inline(__always)
    public func bytes(_ index: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: packets[index], count: lengths[index])
    }
}
