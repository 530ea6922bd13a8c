import Dataplane
import PacketIO
import PacketWire

/// What the forwarding loop keeps per packet of a batch for TUN offloads: the virtio header the
/// packet came with, and for a packet whose checksum the kernel left to the device
/// (VIRTIO_NET_HDR_F_NEEDS_CSUM) the partial checksum and address sum it arrived with.
///
/// The L4 checksum field of such a packet holds only the pseudo-header sum; the device on the
/// far side sums [checksumStart, end) (ports, options and payload included) on top of it. So when
/// the dataplane has translated the packet, the field must become the arrival value adjusted by
/// the change of the addresses alone (RFC 1624 arithmetic, without the complement), whatever the
/// dataplane's own incremental update wrote there: ports and the MSS option are summed by the
/// device. Nothing is ever summed over the payload. Preallocated; nothing allocated per packet.
final class OffloadLedger {
    private let headers = UnsafeMutablePointer<VirtioNetHeader>.allocate(capacity: PacketBatch.capacity)
    private let partials = UnsafeMutablePointer<UInt16>.allocate(capacity: PacketBatch.capacity)
    private let addressSums = UnsafeMutablePointer<UInt32>.allocate(capacity: PacketBatch.capacity)

    init() {
        headers.initialize(repeating: VirtioNetHeader(), count: PacketBatch.capacity)
        partials.initialize(repeating: 0, count: PacketBatch.capacity)
        addressSums.initialize(repeating: 0, count: PacketBatch.capacity)
    }

    deinit {
        headers.deallocate()
        partials.deallocate()
        addressSums.deallocate()
    }

    /// A packet Privet made itself (a probe): complete, no header.
    @inline(__always)
    func madeHere(_ index: Int) { headers[index] = VirtioNetHeader() }

    /// Records a packet read with `header`; returns the length of each of its segments for the
    /// MTU rules (0 when it is not segmented), or nil when the header points outside the packet.
    @inline(__always)
    func arrived(_ index: Int, header: VirtioNetHeader, packet: UnsafeMutableRawBufferPointer) -> Int? {
        headers[index] = header
        guard header.needsChecksum else { return header.isSegmented ? nil : 0 }
        let field = Int(header.checksumStart) + Int(header.checksumOffset)
        guard let base = packet.baseAddress, field + 2 <= packet.count,
              let sum = InternetChecksum.addressSum(ofPacket: base) else { return nil }
        partials[index] = UInt16(bigEndian: base.loadUnaligned(fromByteOffset: field, as: UInt16.self))
        addressSums[index] = sum
        guard header.isSegmented else { return 0 }
        // checksumStart is where TCP begins; its data offset gives the header length.
        let transport = Int(header.checksumStart)
        guard transport + 13 <= packet.count else { return nil }
        return transport + Int(base.load(fromByteOffset: transport + 12, as: UInt8.self) >> 4) * 4 + Int(header.gsoSize)
    }

    /// The header packet `index` arrived with.
    @inline(__always)
    func header(_ index: Int) -> VirtioNetHeader { headers[index] }

    /// The header to write a forwarded packet behind, after mending its partial checksum.
    @inline(__always)
    func departing(_ index: Int, packet: UnsafeMutableRawBufferPointer) -> UnsafePointer<VirtioNetHeader> {
        let header = headers[index]
        if header.needsChecksum, let base = packet.baseAddress, let sum = InternetChecksum.addressSum(ofPacket: base) {
            let delta = InternetChecksum.add(UInt32(~InternetChecksum.fold(addressSums[index])), sum)
            base.storeBytes(of: InternetChecksum.applyToPartial(delta, to: partials[index]).bigEndian,
                            toByteOffset: Int(header.checksumStart) + Int(header.checksumOffset), as: UInt16.self)
        }
        return UnsafePointer(headers + index)
    }
}
