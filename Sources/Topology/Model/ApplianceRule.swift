/// A rule of the reference GWLB appliance on the inner packets it is sent: a protocol, and for
/// TCP and UDP optionally a destination port (`tcp`, `udp:53`, `icmp`, `icmpv6`).
public struct ApplianceRule: Equatable, Sendable, CustomStringConvertible {
    public var ipProtocol: UInt8
    public var port: UInt16?

    static let names: [(String, UInt8)] = [("tcp", 6), ("udp", 17), ("icmp", 1), ("icmpv6", 58)]

    /// Nil when the text is none of the forms above.
    public init?(_ text: String) {
        let parts = text.lowercased().split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, let proto = ApplianceRule.names.first(where: { $0.0 == parts[0] })?.1 else { return nil }
        ipProtocol = proto
        if parts.count == 2 {
            guard proto == 6 || proto == 17, let port = UInt16(parts[1]) else { return nil }
            self.port = port
        }
    }

    public func matches(_ proto: UInt8, _ port: UInt16?) -> Bool {
        proto == ipProtocol && (self.port == nil || self.port == port)
    }

    public var description: String {
        let name = ApplianceRule.names.first { $0.1 == ipProtocol }?.0 ?? "\(ipProtocol)"
        return port.map { "\(name):\($0)" } ?? name
    }

    /// What a rule looks like, for error messages.
    public static let forms = "tcp, udp, icmp, icmpv6, tcp:PORT or udp:PORT"
}
