/// What the dataplane did with one packet: the I/O side acts on it as it says, without looking
/// at the packet again. Sixteen bytes, written once per packet into the batch.
@frozen
public struct Verdict: Equatable, Sendable {
    public enum Action: UInt8, Sendable {
        /// Out of `port`, as it came or translated.
        case forwarded
        /// Into a GWLB tunnel, `GWLBTunnel.overhead` bytes of outer headers put in front: out of
        /// `port`, the appliance's.
        case encapsulated
        /// Out of a GWLB tunnel, its outer headers taken off: on out of `port`.
        case decapsulated
        /// Replaced by a reply the dataplane wrote in its place (a TCP RST, for `resetCause`):
        /// back out of `port`, the one it came in by.
        case replied
        /// A DNS query for the VPC resolver behind `port`, which answers it.
        case toResolver
        /// A target's answer to a health check, for the health checker behind `port`.
        case toHealthChecker
        /// Dropped for `dropReason`; `interface` is the ENI where it was refused and `routeTable`
        /// the route table that refused it, when either did.
        case dropped
    }

    public let action: Action
    @usableFromInline let cause: UInt8
    @usableFromInline let reason: UInt16
    @usableFromInline let egress: UInt16
    @usableFromInline let host: UInt16
    @usableFromInline let refusingInterface: UInt32
    @usableFromInline let refusingTable: UInt16

    @usableFromInline static let none16 = UInt16.max
    @usableFromInline static let none32 = UInt32.max

    @inlinable
    init(_ action: Action, port: Int = -1, host: Int = -1, cause: UInt8 = 0, reason: UInt16 = 0, interface: Int = -1,
         routeTable: Int = -1) {
        self.action = action
        self.cause = cause
        self.reason = reason
        egress = port < 0 ? Verdict.none16 : UInt16(truncatingIfNeeded: port)
        self.host = host < 0 ? Verdict.none16 : UInt16(truncatingIfNeeded: host)
        refusingInterface = interface < 0 ? Verdict.none32 : UInt32(truncatingIfNeeded: interface)
        refusingTable = routeTable < 0 ? Verdict.none16 : UInt16(truncatingIfNeeded: routeTable)
    }

    /// Out of `port`; `outsideHost` is the host beyond it, when the port is an outside network's
    /// (the internet gateway, an AWS service's network) and the destination one of its hosts.
    @inlinable public static func forwarded(_ port: Int, outsideHost: Int? = nil) -> Verdict {
        Verdict(.forwarded, port: port, host: outsideHost ?? -1)
    }
    @inlinable public static func encapsulated(_ port: Int) -> Verdict { Verdict(.encapsulated, port: port) }
    @inlinable public static func decapsulated(_ port: Int, outsideHost: Int? = nil) -> Verdict {
        Verdict(.decapsulated, port: port, host: outsideHost ?? -1)
    }
    @inlinable public static func replied(_ port: Int, _ cause: ResetCause) -> Verdict {
        Verdict(.replied, port: port, cause: cause.rawValue)
    }
    @inlinable public static func toResolver(_ port: Int) -> Verdict { Verdict(.toResolver, port: port) }
    @inlinable public static func toHealthChecker(_ port: Int) -> Verdict { Verdict(.toHealthChecker, port: port) }
    @inlinable public static func dropped(_ reason: DropReason, at interface: Int? = nil, routeTable: Int? = nil) -> Verdict {
        Verdict(.dropped, reason: reason.rawValue, interface: interface ?? -1, routeTable: routeTable ?? -1)
    }

    @inlinable public var isDropped: Bool { action == .dropped }
    /// The port the packet leaves by (or is handed to), nil when it was dropped.
    @inlinable public var port: Int? { egress == Verdict.none16 ? nil : Int(egress) }
    /// The outside host a packet to an outside network reaches (see `forwarded`).
    @inlinable public var outsideHost: Int? { host == Verdict.none16 ? nil : Int(host) }
    @inlinable public var dropReason: DropReason? { action == .dropped ? DropReason(rawValue: reason) : nil }
    @inlinable public var resetCause: ResetCause? { action == .replied ? ResetCause(rawValue: cause) : nil }
    /// The ENI where a dropped packet was refused: its security groups, its state, its checks.
    @inlinable public var interface: Int? { refusingInterface == Verdict.none32 ? nil : Int(refusingInterface) }
    /// The route table that had no route for a dropped packet.
    @inlinable public var routeTable: Int? { refusingTable == Verdict.none16 ? nil : Int(refusingTable) }

    /// The verdict with the outside host beyond its port named.
    @inlinable func reaching(outsideHost: Int) -> Verdict {
        Verdict(action, port: port ?? -1, host: outsideHost, cause: cause, reason: reason, interface: interface ?? -1,
                routeTable: routeTable ?? -1)
    }
}
