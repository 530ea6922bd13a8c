import PacketWire

/// The packets the tests, the fixtures and the benchmarks send, built field by field.
public enum Packets {
    public static func tcp(_ source: IPv4Address, _ sourcePort: UInt16, _ destination: IPv4Address, _ destinationPort: UInt16,
                    _ flags: TCPFlags, seq: UInt32 = 1000, ack: UInt32 = 0, mss: UInt16? = nil, payload: Int = 0) -> [UInt8] {
        PacketBuilder.ipv4Packet(IPv4Fields(source: source, destination: destination),
                                 segment(sourcePort, destinationPort, flags, seq: seq, ack: ack, mss: mss),
                                 payload: [UInt8](repeating: 0x61, count: payload))
    }

    public static func tcp6(_ source: IPv6Address, _ sourcePort: UInt16, _ destination: IPv6Address, _ destinationPort: UInt16,
                     _ flags: TCPFlags, seq: UInt32 = 1000, ack: UInt32 = 0, mss: UInt16? = nil, payload: Int = 0) -> [UInt8] {
        PacketBuilder.ipv6Packet(IPv6Fields(source: source, destination: destination),
                                 segment(sourcePort, destinationPort, flags, seq: seq, ack: ack, mss: mss),
                                 payload: [UInt8](repeating: 0x62, count: payload))
    }

    private static func segment(_ sourcePort: UInt16, _ destinationPort: UInt16, _ flags: TCPFlags, seq: UInt32, ack: UInt32,
                                mss: UInt16?) -> TransportFields {
        var fields = TCPFields(sourcePort: sourcePort, destinationPort: destinationPort, flags: flags)
        fields.sequenceNumber = seq
        fields.acknowledgmentNumber = ack
        fields.maximumSegmentSize = mss
        return .tcp(fields)
    }

    public static func udp(_ source: IPv4Address, _ sourcePort: UInt16, _ destination: IPv4Address, _ destinationPort: UInt16,
                    payload: Int = 8) -> [UInt8] {
        PacketBuilder.ipv4Packet(IPv4Fields(source: source, destination: destination),
                                 .udp(UDPFields(sourcePort: sourcePort, destinationPort: destinationPort)),
                                 payload: [UInt8](repeating: 0x63, count: payload))
    }
}
