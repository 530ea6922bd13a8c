import CLinux
import Glibc
import Synchronization

/// A bounded ring of packets from one forwarding worker to another: one producer, one consumer,
/// no lock (VPP's handoff queue). The producer copies a packet in with what the consumer needs
/// to take it on; the consumer works on packets where they lie in the ring (each slot has room
/// in front for headers the dataplane adds) and gives the slots back after its batch. A full ring
/// refuses: the producer drops and counts, never waits.
public final class HandoffRing: @unchecked Sendable {
    /// What travels with a packet.
    public struct Entry: Sendable {
        public var length: Int
        /// The dataplane port it entered by.
        public var port: Int
        /// The plumbing index of the device it was read from (who answers a DNS query).
        public var sender: Int
        /// The offload header it arrived with.
        public var header: VirtioNetHeader

        public init(length: Int, port: Int, sender: Int, header: VirtioNetHeader) {
            self.length = length
            self.port = port
            self.sender = sender
            self.header = header
        }
    }

    public let capacity: Int
    /// Bytes a slot's packet may have, and the room in front of it.
    public let packetCapacity: Int
    public let headroom: Int
    private let slotSize: Int
    private let memory: UnsafeMutableRawPointer
    private let entries: UnsafeMutablePointer<Entry>
    /// The next slot the producer fills; written by it alone.
    private let head = Atomic<Int>(0)
    /// Keeps `head` and `tail` on cache lines of their own, so that each side's writes do not
    /// take the other's line away.
    private let separation: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
    /// The next slot the consumer takes; written by it alone.
    private let tail = Atomic<Int>(0)

    /// `capacity` slots (a power of two) of `packetCapacity` bytes behind `headroom`. The memory
    /// is the kernel's to fault in as slots are first used.
    public init(capacity: Int, packetCapacity: Int, headroom: Int) {
        precondition(capacity > 0 && capacity & (capacity - 1) == 0)
        self.capacity = capacity
        self.packetCapacity = packetCapacity
        self.headroom = headroom
        slotSize = (headroom + packetCapacity + 63) & ~63
        memory = .allocate(byteCount: capacity * slotSize, alignment: 64)
        entries = .allocate(capacity: capacity)
        entries.initialize(repeating: Entry(length: 0, port: 0, sender: 0, header: VirtioNetHeader()), count: capacity)
        _ = separation
    }

    deinit {
        memory.deallocate()
        entries.deallocate()
    }

    // MARK: The producer's side

    /// Copies `packet` into the next slot; false when the ring is full.
    @inline(__always)
    public func push(_ packet: UnsafeRawBufferPointer, _ entry: Entry) -> Bool {
        let next = head.load(ordering: .relaxed)
        guard next - tail.load(ordering: .acquiring) < capacity, packet.count <= packetCapacity else { return false }
        let slot = next & (capacity - 1)
        (memory + slot * slotSize + headroom).copyMemory(from: packet.baseAddress!, byteCount: packet.count)
        var entry = entry
        entry.length = packet.count
        entries[slot] = entry
        head.store(next + 1, ordering: .releasing)
        return true
    }

    // MARK: The consumer's side

    /// Packets waiting.
    @inline(__always)
    public var waiting: Int { head.load(ordering: .acquiring) - tail.load(ordering: .relaxed) }

    /// The `offset`th waiting packet (where it lies, after the slot's headroom) and its entry.
    @inline(__always)
    public func peek(_ offset: Int) -> (packet: UnsafeMutableRawPointer, entry: Entry) {
        let slot = (tail.load(ordering: .relaxed) + offset) & (capacity - 1)
        return (memory + slot * slotSize + headroom, entries[slot])
    }

    /// Gives the first `count` waiting slots back to the producer.
    @inline(__always)
    public func release(_ count: Int) {
        tail.store(tail.load(ordering: .relaxed) + count, ordering: .releasing)
    }
}

/// A counter another thread bumps to wake one waiting in `EventPoll` (an eventfd).
public final class WakeSignal: @unchecked Sendable {
    public let descriptor: Int32

    public init() throws(IOError) {
        let made = privet_eventfd()
        guard made >= 0 else { throw IOError.systemCall("eventfd", errno: -made) }
        descriptor = made
    }

    deinit { close(descriptor) }

    /// Wakes the waiter (a write the kernel cannot refuse but at 2^64 - 2 unread signals).
    public func signal() {
        var one: UInt64 = 1
        _ = Glibc.write(descriptor, &one, 8)
    }

    /// Takes every signal so far, so that the next wait sleeps again.
    public func clear() {
        var count: UInt64 = 0
        _ = Glibc.read(descriptor, &count, 8)
    }
}
