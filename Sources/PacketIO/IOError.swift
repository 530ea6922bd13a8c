import Glibc

/// What can go wrong in PacketIO, the one error type of the module. Messages name what failed (the
/// file and the packet where reading stopped, the system call, the command) so that a user can
/// find the spot with tshark, editcap or `ip`.
public enum IOError: Error, Equatable, CustomStringConvertible {
    /// The file could not be opened as pcap or pcapng (missing, unreadable, not a capture).
    case cannotOpen(path: String, reason: String)
    /// The capture's link type is not one Privet reads.
    case unsupportedLinkType(path: String, dlt: Int32, name: String)
    /// Reading stopped at packet `packetNumber` (1-based): a truncated or corrupt record.
    /// Every packet before it was handed over.
    case corrupt(path: String, packetNumber: Int, reason: String)
    /// A capture could not be written.
    case cannotWrite(path: String, reason: String)
    /// A system call failed: what was being done (the call's name, and its object where one
    /// helps) and the errno it left.
    case systemCall(String, errno: Int32)
    /// A command Privet ran (`ip`), or a thing it asked for, failed; the message says what and why.
    case failed(String)

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
        case .systemCall(let call, let code):
            return "\(call): \(String(cString: strerror(code)))" + (code == EPERM ? " (run as root)" : "")
        case .failed(let message):
            return message
        }
    }

    /// The errno of a failed system call.
    public var errno: Int32? {
        if case .systemCall(_, let code) = self { code } else { nil }
    }
}
