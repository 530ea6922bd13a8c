import CPcap
import Glibc
import PacketWire

/// Writes a pcap file with nanosecond timestamps. libpcap writes the file's header (its link
/// type numbering and magic are libpcap's to know); the packets' records, a 16-byte header each
/// as `pcap_dump` writes them, go through a `BackgroundFile`, so that the kernel's copying of
/// them into the file happens on another core while the caller goes on (writing a capture was
/// otherwise most of a replay's time after the dataplane's).
public final class CaptureWriter {
    public static let bufferSize = 1 << 20

    public let path: String
    public let linkType: LinkType
    private let file: BackgroundFile
    private var buffer: UnsafeMutablePointer<UInt8>
    private var used = 0
    private var closed = false

    public init(path: String, linkType: LinkType, snapLength: Int32 = 262_144) throws(IOError) {
        guard let dead = pcap_open_dead_with_tstamp_precision(
            linkType.dlt, snapLength, UInt32(PCAP_TSTAMP_PRECISION_NANO)) else {
            throw .cannotWrite(path: path, reason: "libpcap refused link type \(linkType)")
        }
        defer { pcap_close(dead) }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .cannotWrite(path: path, reason: String(cString: strerror(errno))) }
        // The header through a stream on a duplicate of the descriptor: they share the file's
        // offset, so the records follow it.
        guard let stream = fdopen(dup(descriptor), "wb") else {
            let reason = String(cString: strerror(errno))
            Glibc.close(descriptor)
            throw .cannotWrite(path: path, reason: reason)
        }
        guard let dumper = pcap_dump_fopen(dead, stream) else {
            let reason = String(cString: pcap_geterr(dead))
            fclose(stream)
            Glibc.close(descriptor)
            throw .cannotWrite(path: path, reason: reason)
        }
        let flushed = pcap_dump_flush(dumper)
        pcap_dump_close(dumper)
        guard flushed == 0 else {
            Glibc.close(descriptor)
            throw .cannotWrite(path: path, reason: "the header could not be written")
        }
        self.path = path
        self.linkType = linkType
        file = BackgroundFile(descriptor: descriptor, path: path, capacity: CaptureWriter.bufferSize)
        buffer = file.buffer
    }

    /// Appends one packet. `originalLength` defaults to the bytes given.
    public func write(_ bytes: UnsafeRawBufferPointer, timestampNanoseconds: Int64, originalLength: Int? = nil) {
        // pcap's record header, in the host's order as pcap_dump writes it: seconds and
        // nanoseconds as 32-bit fields (a time past 2106 wraps, as libpcap's does), then the
        // captured and the original length.
        var header: (UInt32, UInt32, UInt32, UInt32) = (
            UInt32(truncatingIfNeeded: timestampNanoseconds / 1_000_000_000),
            UInt32(truncatingIfNeeded: timestampNanoseconds % 1_000_000_000),
            UInt32(truncatingIfNeeded: bytes.count), UInt32(truncatingIfNeeded: originalLength ?? bytes.count))
        withUnsafeBytes(of: &header) { append($0) }
        append(bytes)
    }

    private func append(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count {
            if used == CaptureWriter.bufferSize { handOff() }
            let piece = min(bytes.count - offset, CaptureWriter.bufferSize - used)
            (UnsafeMutableRawPointer(buffer) + used).copyMemory(from: bytes.baseAddress! + offset, byteCount: piece)
            used += piece
            offset += piece
        }
    }

    private func handOff() {
        file.handOff(count: used)
        buffer = file.buffer
        used = 0
    }

    /// Writes what is buffered and closes the file; reports a failed write (a full disk) as an
    /// error.
    public func close() throws(IOError) {
        guard !closed else { return }
        closed = true
        handOff()
        do { try file.close() } catch { throw .cannotWrite(path: path, reason: "\(error)") }
    }

    deinit { try? close() }
}
