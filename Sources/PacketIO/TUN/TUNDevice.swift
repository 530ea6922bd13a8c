import CLinux
import Glibc

/// The header a TUN device opened with `IFF_VNET_HDR` puts before each packet and expects
/// before each packet written (struct virtio_net_hdr, in the host's byte order): what the kernel
/// left undone for the device to finish, the checksum and the segmentation.
@frozen
public struct VirtioNetHeader: Sendable {
    /// VIRTIO_NET_HDR_F_NEEDS_CSUM: the L4 checksum field holds only the pseudo-header sum; the
    /// checksum over [checksumStart, end) goes at checksumStart + checksumOffset.
    public static let needsChecksum: UInt8 = 1
    /// Segmentation types (gsoType's low bits).
    public static let tcpV4: UInt8 = 1
    public static let tcpV6: UInt8 = 4
    /// VIRTIO_NET_HDR_GSO_UDP_L4: UDP segmentation (Linux 6.2+).
    public static let udpL4: UInt8 = 5
    public static let size = 10

    public var flags: UInt8 = 0
    /// VIRTIO_NET_HDR_GSO_NONE (0), TCPV4 (1), UDP (3), TCPV6 (4), | ECN (0x80).
    public var gsoType: UInt8 = 0
    /// The length of the headers before the payload that segmentation splits.
    public var headerLength: UInt16 = 0
    /// The payload bytes of each segment (the MSS).
    public var gsoSize: UInt16 = 0
    public var checksumStart: UInt16 = 0
    public var checksumOffset: UInt16 = 0

    public init() {}

    @inlinable public var isSegmented: Bool { gsoType & 0x7F != 0 }
    @inlinable public var needsChecksum: Bool { flags & VirtioNetHeader.needsChecksum != 0 }
}

/// A layer-3 TUN device: the port of a host when Privet runs live. Each read gives one IP
/// packet, each write sends one; the descriptor is non-blocking (the forwarder polls it). With
/// offloads, each packet comes and goes behind a `VirtioNetHeader`, checksums may be left for
/// the device to finish, and TCP packets may be up to 64 KB, segmented by the kernel on the far
/// side (TUNSETOFFLOAD: TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6); and where the kernel has it (6.2+),
/// a read may give a UDP super-datagram (TUN_F_USO4, TUN_F_USO6), many datagrams of one socket's
/// `UDP_SEGMENT` send, for the reader to cut apart (`DatagramSplitter`).
public final class TUNDevice {
    public let name: String
    public let descriptor: Int32
    public let offloads: Bool
    /// Whether reads may give UDP super-datagrams (the kernel took TUN_F_USO4 and TUN_F_USO6).
    public let readsUDPSuperDatagrams: Bool

    /// Creates (or attaches to) the device `name` (at most 15 characters). With `multiQueue`,
    /// each one made for the same name is another queue of one device: the kernel hands a flow's
    /// packets to the queue that last wrote that flow's packets (tun.c, automatic queue
    /// selection, by a hash the same both ways), else to one its hash picks.
    public init(name: String, offloads: Bool = false, multiQueue: Bool = false) throws(IOError) {
        guard name.utf8.count <= 15 else { throw IOError.failed("TUN name '\(name)' is longer than 15 characters") }
        let result = privet_tun_open(name, offloads ? 1 : 0, multiQueue ? 1 : 0)
        guard result >= 0 else {
            throw IOError.systemCall("cannot create TUN device \(name)", errno: -result)
        }
        var udp = false
        if offloads {
            // A kernel before 6.2 refuses the UDP flags (EINVAL): TCP's offloads alone, then.
            udp = privet_tun_set_offload(result, 1, 1) == 0
            let set = udp ? 0 : privet_tun_set_offload(result, 1, 0)
            guard set == 0 else {
                close(result)
                throw IOError.systemCall("cannot enable offloads on \(name)", errno: -set)
            }
        }
        readsUDPSuperDatagrams = udp
        self.name = name
        self.offloads = offloads
        descriptor = result
    }

    deinit { close(descriptor) }

    /// Whether the running kernel takes `VIRTIO_NET_HDR_GSO_UDP_L4` from a TUN device's writer
    /// and gives it to its reader (TUN_F_USO4, TUN_F_USO6): 6.2 and later.
    public static let kernelTakesUDPSegmentation: Bool = {
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let version = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return version.count == 2 && (version[0], version[1]) >= (6, 2)
    }()

    /// Makes this multi-queue device give each packet a host sends to the queue of the worker,
    /// of `workers`, that owns its flow (an eBPF steering program computing the dataplane's
    /// `Shard.owner`), instead of the kernel's own choice.
    public func steerByFlow(workers: Int) throws(IOError) {
        let result = privet_tun_steer_by_flow(descriptor, UInt32(workers))
        guard result == 0 else { throw IOError.systemCall("cannot attach a steering program to \(name)", errno: -result) }
    }

    /// Reads one packet into `buffer`; nil when none is waiting.
    @inline(__always)
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(IOError) -> Int? {
        try SystemCall.unlessWouldBlock("read") { Glibc.read(descriptor, buffer.baseAddress, buffer.count) }
    }

    /// Writes one packet; false when the device's queue is full (the caller counts it). With
    /// offloads, behind `header` (a packet complete in itself when nil). Any other refusal is
    /// thrown: the kernel found the packet malformed, or the device is down.
    @inline(__always)
    public func write(_ bytes: UnsafeRawBufferPointer, header: UnsafePointer<VirtioNetHeader>? = nil) throws(IOError) -> Bool {
        guard offloads else {
            return try SystemCall.unlessWouldBlock("write") { Glibc.write(descriptor, bytes.baseAddress, bytes.count) } != nil
        }
        var none = VirtioNetHeader()
        return try withUnsafeMutablePointer(to: &none) { plain throws(IOError) in
            var parts = (iovec(iov_base: UnsafeMutableRawPointer(mutating: header.map(UnsafeRawPointer.init) ?? UnsafeRawPointer(plain)),
                               iov_len: VirtioNetHeader.size),
                         iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count))
            return try SystemCall.unlessWouldBlock("writev") {
                withUnsafePointer(to: &parts) { $0.withMemoryRebound(to: iovec.self, capacity: 2) { writev(descriptor, $0, 2) } }
            } != nil
        }
    }
}
