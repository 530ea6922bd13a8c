import PacketWire

/// `privet inspect`: one line per packet and a summary of what the capture holds.
public struct CaptureInspector {
    /// Totals over the packets inspected.
    public struct Summary: Equatable {
        public var packets = 0
        public var bytes = 0
        /// Packet counts by class ("IPv4 TCP", ...), in order of first appearance.
        public var byCategory: [(String, Int)] = []
        /// Malformed packet counts by "layer: reason", in order of first appearance.
        public var malformed: [(String, Int)] = []

        public static func == (lhs: Summary, rhs: Summary) -> Bool {
            lhs.packets == rhs.packets && lhs.bytes == rhs.bytes
                && lhs.byCategory.elementsEqual(rhs.byCategory, by: ==)
                && lhs.malformed.elementsEqual(rhs.malformed, by: ==)
        }

        mutating func count(_ key: String, in table: WritableKeyPath<Summary, [(String, Int)]>) {
            if let index = self[keyPath: table].firstIndex(where: { $0.0 == key }) {
                self[keyPath: table][index].1 += 1
            } else {
                self[keyPath: table].append((key, 1))
            }
        }

        public var text: String {
            var lines = ["\(packets) packets, \(bytes) bytes"]
            for (category, count) in byCategory { lines.append("  \(category): \(count)") }
            let malformedTotal = malformed.reduce(0) { $0 + $1.1 }
            lines.append("malformed: \(malformedTotal)")
            for (reason, count) in malformed { lines.append("  \(reason): \(count)") }
            return lines.joined(separator: "\n")
        }
    }

    public let reader: CaptureReader
    public private(set) var summary = Summary()
    /// Packets are copied here: libpcap's buffer is read-only and the views are mutable.
    private var scratch = [UInt8](repeating: 0, count: 1 << 18)

    public init(path: String) throws(IOError) {
        reader = try CaptureReader(path: path)
    }

    /// Inspects up to `limit` packets, handing each line to `emit`. A corrupt record throws after
    /// the lines of every packet before it were emitted and counted.
    /// Describes each packet to `emit`, up to `limit`; `progress` hears the fraction of the file
    /// read and the packets so far, every 65,536 packets.
    public mutating func run(limit: Int? = nil, progress: ((Double, Int) -> Void)? = nil, emit: (String) -> Void) throws(IOError) {
        while limit.map({ summary.packets < $0 }) ?? true, let packet = try reader.next() {
            emit(describe(packet))
            if let progress, summary.packets % 65536 == 0 { progress(reader.progress, summary.packets) }
        }
    }

    mutating func describe(_ packet: CapturedPacket) -> String {
        summary.packets += 1
        summary.bytes += packet.bytes.count
        let length = min(packet.bytes.count, scratch.count)
        let linkType = reader.linkType
        let prefix = "\(packet.number) \(packet.time) "
        return scratch.withUnsafeMutableBytes { buffer -> String in
            if let source = packet.bytes.baseAddress, length > 0 {
                buffer.baseAddress!.copyMemory(from: source, byteCount: length)
            }
            let bytes = UnsafeMutableRawBufferPointer(rebasing: buffer[..<length])
            do throws(Malformation) {
                let dissection = try PacketDissection(linkType: linkType, bytes: bytes)
                summary.count(PacketText.category(dissection), in: \.byCategory)
                return prefix + PacketText.line(dissection)
            } catch {
                summary.count(error.summary, in: \.malformed)
                return prefix + "malformed \(error.summary), length \(packet.bytes.count)"
            }
        }
    }
}
