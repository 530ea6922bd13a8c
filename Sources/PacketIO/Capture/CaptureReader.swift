import CPcap
import Glibc
import PacketWire

/// One packet as a capture holds it. `bytes` belongs to the reader and is valid only until the
/// next call to `next()`.
public struct CapturedPacket {
    /// 1-based position in the file.
    public let number: Int
    /// Capture time, as the file gives it.
    public let time: CaptureTime
    /// Length of the packet on the wire; more than `bytes.count` when the capture cut it (snaplen).
    public let originalLength: Int
    public let bytes: UnsafeRawBufferPointer
}

/// Reads pcap and pcapng files through libpcap (`pcap_open_offline`), with nanosecond timestamps.
public final class CaptureReader {
    public let path: String
    public let linkType: LinkType
    private let handle: OpaquePointer
    private var count = 0

    public init(path: String) throws(IOError) {
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let handle = pcap_open_offline_with_tstamp_precision(
            path, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errorBuffer) else {
            var reason = String(decoding: errorBuffer.prefix { $0 != 0 }.map(UInt8.init), as: UTF8.self)
            // libpcap starts some messages with the path; the error names it already.
            if reason.hasPrefix(path + ": ") { reason.removeFirst(path.count + 2) }
            throw .cannotOpen(path: path, reason: reason)
        }
        let dlt = pcap_datalink(handle)
        guard let linkType = LinkType(dlt: dlt) else {
            let name = pcap_datalink_val_to_name(dlt).map { String(cString: $0) } ?? "unknown"
            pcap_close(handle)
            throw .unsupportedLinkType(path: path, dlt: dlt, name: name)
        }
        self.path = path
        self.handle = handle
        self.linkType = linkType
    }

    deinit { pcap_close(handle) }

    /// How far into the file reading has got, 0 to 1 (for a progress bar).
    public var progress: Double {
        guard let file = pcap_file(handle) else { return 0 }
        let position = ftell(file)
        var info = stat()
        guard fstat(fileno(file), &info) == 0, info.st_size > 0, position >= 0 else { return 0 }
        return min(1, Double(position) / Double(info.st_size))
    }

    /// The next packet, nil at the end of the file. A corrupt or truncated record throws, naming
    /// its packet number; every packet before it has already been returned.
    public func next() throws(IOError) -> CapturedPacket? {
        var header: UnsafeMutablePointer<pcap_pkthdr>? = nil
        var data: UnsafePointer<UInt8>? = nil
        switch pcap_next_ex(handle, &header, &data) {
        case 1:
            guard let header, let data else { return nil }
            count += 1
            // With PCAP_TSTAMP_PRECISION_NANO, tv_usec carries nanoseconds.
            guard let time = CaptureTime(libpcapSeconds: header.pointee.ts.tv_sec, fraction: header.pointee.ts.tv_usec) else {
                throw .corrupt(path: path, packetNumber: count,
                               reason: "the fraction of a second of its timestamp (\(header.pointee.ts.tv_usec) ns) is out of range")
            }
            return CapturedPacket(
                number: count,
                time: time,
                originalLength: Int(header.pointee.len),
                bytes: UnsafeRawBufferPointer(start: data, count: Int(header.pointee.caplen)))
        case PCAP_ERROR_BREAK:
            return nil
        default:
            throw .corrupt(path: path, packetNumber: count + 1, reason: String(cString: pcap_geterr(handle)))
        }
    }
}
