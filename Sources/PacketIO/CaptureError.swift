/// What can go wrong with a capture file. Messages name the file, and the packet where reading
/// stopped, so a user can find the spot with tshark or editcap.
public enum CaptureError: Error, Equatable, CustomStringConvertible {
    /// The file could not be opened as pcap or pcapng (missing, unreadable, not a capture).
    case cannotOpen(path: String, reason: String)
    /// The capture's link type is not one Privet reads.
    case unsupportedLinkType(path: String, dlt: Int32, name: String)
    /// Reading stopped at packet `packetNumber` (1-based): a truncated or corrupt record.
    /// Every packet before it was handed over.
    case corrupt(path: String, packetNumber: Int, reason: String)
    /// A capture could not be written.
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            return "\(path): cannot open capture: \(reason)"
        case .unsupportedLinkType(let path, let dlt, let name):
            return "\(path): unsupported link type \(dlt) (\(name)); Privet reads Ethernet, raw IP, Linux cooked v1 and v2"
        case .corrupt(let path, let packetNumber, let reason):
            return "\(path): packet \(packetNumber): \(reason)"
        case .cannotWrite(let path, let reason):
            return "\(path): cannot write capture: \(reason)"
        }
    }
}
