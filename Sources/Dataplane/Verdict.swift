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
    @usableFromInline let egress: TableIndex<ForwardingTables.Port, UInt16>
    @usableFromInline let host: TableIndex<OutsideHost, UInt16>
    @usableFromInline let refusingInterface: InterfaceIndex
    @usableFromInline let refusingTable: TableIndex<ForwardingTables.RouteTable, UInt16>

    @inlinable
    init(_ action: Action, port: Int? = nil, host: Int? = nil, cause: UInt8 = 0, reason: UInt16 = 0, interface: Int? = nil,
         routeTable: Int? = nil) {
        self.action = action
        self.cause = cause
        self.reason = reason
        egress = TableIndex(port)
        self.host = TableIndex(host)
        refusingInterface = InterfaceIndex(interface)
        refusingTable = TableIndex(routeTable)
    }

    /// Out of `port`; `outsideHost` is the host beyond it, when the port is an outside network's
    /// (the internet gateway, an AWS service's network) and the destination one of its hosts.
    @inlinable public static func forwarded(_ port: Int, outsideHost: Int? = nil) -> Verdict {
        Verdict(.forwarded, port: port, host: outsideHost)
    }
    @inlinable public static func encapsulated(_ port: Int) -> Verdict { Verdict(.encapsulated, port: port) }
    @inlinable public static func decapsulated(_ port: Int, outsideHost: Int? = nil) -> Verdict {
        Verdict(.decapsulated, port: port, host: outsideHost)
    }
    @inlinable public static func replied(_ port: Int, _ cause: ResetCause) -> Verdict {
        Verdict(.replied, port: port, cause: cause.rawValue)
    }
    @inlinable public static func toResolver(_ port: Int) -> Verdict { Verdict(.toResolver, port: port) }
    @inlinable public static func toHealthChecker(_ port: Int) -> Verdict { Verdict(.toHealthChecker, port: port) }
    @inlinable public static func dropped(_ reason: DropReason, at interface: Int? = nil, routeTable: Int? = nil) -> Verdict {
        Verdict(.dropped, reason: reason.rawValue, interface: interface, routeTable: routeTable)
    }

    @inlinable public var isDropped: Bool { action == .dropped }
    /// The port the packet leaves by (or is handed to), nil when it was dropped.
    @inlinable public var port: Int? { egress.index }
    /// The outside host a packet to an outside network reaches (see `forwarded`).
    @inlinable public var outsideHost: Int? { host.index }
    @inlinable public var dropReason: DropReason? { action == .dropped ? DropReason(rawValue: reason) : nil }
    @inlinable public var resetCause: ResetCause? { action == .replied ? ResetCause(rawValue: cause) : nil }
    /// The ENI where a dropped packet was refused: its security groups, its state, its checks.
    @inlinable public var interface: Int? { refusingInterface.index }
    /// The route table that had no route for a dropped packet.
    @inlinable public var routeTable: Int? { refusingTable.index }

    /// Field by field on the stored integers: the derived comparison would go through the
    /// generic index type's Equatable conformance, whose witness table an unspecialised (debug)
    /// build makes on first use, allocating.
    @inlinable public static func == (a: Verdict, b: Verdict) -> Bool {
        a.action == b.action && a.cause == b.cause && a.reason == b.reason && a.egress.raw == b.egress.raw
            && a.host.raw == b.host.raw && a.refusingInterface.raw == b.refusingInterface.raw
            && a.refusingTable.raw == b.refusingTable.raw
    }

    /// The verdict with the outside host beyond its port named.
    @inlinable func reaching(outsideHost: Int) -> Verdict {
        Verdict(action, port: port, host: outsideHost, cause: cause, reason: reason, interface: interface, routeTable: routeTable)
    }
}
