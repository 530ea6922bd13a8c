import AllocationCounter
import Foundation
import PacketIO
import Testing

/// The ring between two forwarding workers: what goes in comes out whole and in order across
/// threads, a full ring refuses rather than waits, and handing over allocates nothing.
@Suite("Handoff ring")
struct HandoffRingTests {
    static func entry(_ sender: Int) -> HandoffRing.Entry {
        HandoffRing.Entry(length: 0, port: 3, sender: sender, header: VirtioNetHeader())
    }

    @Test func aFullRingRefusesAndTakesAgainOnceSlotsAreGivenBack() {
        let ring = HandoffRing(capacity: 4, packetCapacity: 64, headroom: 16)
        let packet: [UInt8] = [1, 2, 3]
        for sender in 0..<4 { #expect(packet.withUnsafeBytes { ring.push($0, Self.entry(sender)) }) }
        #expect(!packet.withUnsafeBytes { ring.push($0, Self.entry(9)) }, "a full ring refuses")
        #expect(ring.waiting == 4)
        #expect(ring.peek(2).entry.sender == 2)
        #expect(ring.peek(2).entry.length == 3)
        ring.release(2)
        #expect(ring.waiting == 2)
        #expect(ring.peek(0).entry.sender == 2)
        #expect(packet.withUnsafeBytes { ring.push($0, Self.entry(4)) })
        #expect(!([UInt8](repeating: 0, count: 65)).withUnsafeBytes { ring.push($0, Self.entry(5)) }, "a packet over a slot's size is refused")
        // Room in front of the packet for headers the dataplane adds.
        let (start, _) = ring.peek(0)
        (start - 16).storeBytes(of: 0xAB, as: UInt8.self)
        #expect(start.load(as: UInt8.self) == 1)
    }

    /// Two threads: 200,000 packets of lengths 1 to 1500, each carrying its number, come out in
    /// order and intact; the producer retries what a full ring refused.
    @Test func packetsCrossThreadsInOrderAndWhole() async {
        let ring = HandoffRing(capacity: 64, packetCapacity: 2048, headroom: 128)
        let total = 200_000
        let producer = Thread {
            var packet = [UInt8](repeating: 0, count: 1500)
            for number in 0..<total {
                let length = 1 + number % 1500
                withUnsafeBytes(of: UInt32(number)) { for (index, byte) in $0.enumerated() where index < length { packet[index] = byte } }
                if length > 4 { packet[length - 1] = UInt8(truncatingIfNeeded: number) }
                while !packet.withUnsafeBytes({ ring.push(UnsafeRawBufferPointer(rebasing: $0[..<length]), Self.entry(number)) }) {
                    sched_yield()
                }
            }
        }
        producer.start()
        var next = 0, damaged = 0
        while next < total {
            let waiting = ring.waiting
            if waiting == 0 {
                sched_yield()
                continue
            }
            for offset in 0..<waiting {
                let (start, entry) = ring.peek(offset)
                let length = 1 + next % 1500
                var number: UInt32 = 0
                withUnsafeMutableBytes(of: &number) { $0.copyMemory(from: UnsafeRawBufferPointer(start: start, count: min(4, length))) }
                let expectedNumber = length >= 4 ? UInt32(next) : UInt32(next) & (UInt32(1) << (8 * UInt32(length)) - 1)
                if entry.sender != next || entry.length != length || number != expectedNumber
                    || (length > 4 && start.load(fromByteOffset: length - 1, as: UInt8.self) != UInt8(truncatingIfNeeded: next)) {
                    damaged += 1
                }
                next += 1
            }
            ring.release(waiting)
        }
        #expect(damaged == 0)
        #expect(ring.waiting == 0)
    }

    /// Pushing, looking and giving back a million packets allocates nothing (the forwarding
    /// workers' hot path), counted by malloc itself; the probe's one allocation proves the
    /// counter counts.
    @Test func handingOverAllocatesNothing() {
        let ring = HandoffRing(capacity: 256, packetCapacity: 2048, headroom: 128)
        let packet = [UInt8](repeating: 0x45, count: 1500)
        var moved = 0
        allocation_counter_start()
        packet.withUnsafeBytes { bytes in
            for round in 0..<4096 {
                for sender in 0..<256 where ring.push(bytes, Self.entry(sender ^ round)) { moved += 1 }
                for offset in 0..<ring.waiting { moved += ring.peek(offset).entry.length > 0 ? 1 : 0 }
                ring.release(ring.waiting)
            }
        }
        allocation_counter_probe()
        let counted = allocation_counter_stop()
        #expect(counted == 1, "one allocation: the probe's")
        #expect(moved == 2 * 4096 * 256)
    }
}
