/// Why a packet was dropped. Every drop has one, and each is counted.
public enum DropReason: UInt16, CaseIterable, Sendable {
    case malformed
    case unknownPort
    /// The ENI's source/destination check: it may only send from its own address.
    case sourceDestinationCheck
    case noRoute
    /// A local destination no ENI owns.
    case noSuchAddress
    case securityGroupEgress
    case securityGroupIngress
    case endpointPendingAcceptance
    case endpointPending
    case endpointRejected
    case endpointExpired
    case endpointFailed
    case endpointDeleting
    case endpointDeleted
    /// Interface endpoints carry TCP only (aws-behaviour.md §4).
    case endpointNotTCP
    /// Over the endpoint MTU of 8500 bytes; dropped without ICMP (§4).
    case endpointOversize
    case noListener
    /// No node of the service's NLB in the endpoint ENI's zone.
    case noLoadBalancerNode
    /// No target the zone's node may send to (an empty zone with cross-zone off).
    case noTarget
    /// An IPv6 flow, and the chosen path has no IPv6 address.
    case noIPv6Path
    /// All ~55,000 source ports of the (NLB address, target) pair are in use (§2).
    case portExhausted
    case flowTableFull
    /// A provider-side SYN to an NLB address: the service cannot start connections (§4).
    case providerInitiated
    /// A stray RST (or other packet that gets no reply) for no known flow.
    case noSession
    /// IPv6 from the internet gateway to an endpoint ENI (`denyAllIgwTraffic`, §5).
    case denyAllIgwTraffic
    /// A flow started from an AWS service's network: gateway endpoints carry replies only.
    case serviceCannotInitiate
    /// A route to a Gateway Load Balancer endpoint (not forwarded yet).
    case gatewayLoadBalancerEndpoint
    /// Traffic to an NLB node address that is not a reply (direct NLB access is not modelled).
    case loadBalancerDirectAccess
    /// DNS over TCP to the VPC resolver: Privet's resolver answers UDP only.
    case resolverNotUDP

    /// The reason as reports and the dropped-packets CSV spell it.
    public var name: String {
        switch self {
        case .malformed: return "malformed"
        case .unknownPort: return "unknown-port"
        case .sourceDestinationCheck: return "source-destination-check"
        case .noRoute: return "no-route"
        case .noSuchAddress: return "no-such-address"
        case .securityGroupEgress: return "security-group-egress"
        case .securityGroupIngress: return "security-group-ingress"
        case .endpointPendingAcceptance: return "endpoint-pending-acceptance"
        case .endpointPending: return "endpoint-pending"
        case .endpointRejected: return "endpoint-rejected"
        case .endpointExpired: return "endpoint-expired"
        case .endpointFailed: return "endpoint-failed"
        case .endpointDeleting: return "endpoint-deleting"
        case .endpointDeleted: return "endpoint-deleted"
        case .endpointNotTCP: return "endpoint-not-tcp"
        case .endpointOversize: return "endpoint-oversize"
        case .noListener: return "no-listener"
        case .noLoadBalancerNode: return "no-load-balancer-node"
        case .noTarget: return "no-target"
        case .noIPv6Path: return "no-ipv6-path"
        case .portExhausted: return "port-exhausted"
        case .flowTableFull: return "flow-table-full"
        case .providerInitiated: return "provider-initiated"
        case .noSession: return "no-session"
        case .denyAllIgwTraffic: return "deny-all-igw-traffic"
        case .serviceCannotInitiate: return "service-cannot-initiate"
        case .gatewayLoadBalancerEndpoint: return "gwlb-endpoint-not-forwarded"
        case .loadBalancerDirectAccess: return "load-balancer-direct-access"
        case .resolverNotUDP: return "resolver-not-udp"
        }
    }

    /// Whether a flow log records the drop as REJECT: the packet was refused by the fabric's
    /// rules (security groups, endpoint states) rather than lost to a lack of resources.
    public var isReject: Bool {
        switch self {
        case .securityGroupEgress, .securityGroupIngress, .endpointPendingAcceptance, .endpointPending, .endpointRejected,
             .endpointExpired, .endpointFailed, .endpointDeleting, .endpointDeleted, .endpointNotTCP, .providerInitiated,
             .denyAllIgwTraffic, .serviceCannotInitiate:
            return true
        default:
            return false
        }
    }
}

/// Why the dataplane answered a packet with a TCP RST instead of forwarding it.
public enum ResetCause: UInt8, CaseIterable, Sendable {
    /// A non-SYN segment of no known flow: idle-timed-out, or never seen (aws-behaviour.md §1).
    case noFlow
    /// The flow's target turned unhealthy and connection termination is on (§2).
    case unhealthyTarget

    public var name: String {
        switch self {
        case .noFlow: return "no-flow"
        case .unhealthyTarget: return "unhealthy-target"
        }
    }
}

/// What becomes of one packet: out of a port, or dropped for a reason.
@frozen
public struct Verdict: Equatable, Sendable {
    public let rawValue: UInt32

    @inlinable public static func forward(_ port: Int) -> Verdict { Verdict(rawValue: UInt32(port)) }
    @inlinable public static func drop(_ reason: DropReason) -> Verdict { Verdict(rawValue: 0x8000_0000 | UInt32(reason.rawValue)) }
    @inlinable init(rawValue: UInt32) { self.rawValue = rawValue }

    @inlinable public var isDrop: Bool { rawValue & 0x8000_0000 != 0 }
    @inlinable public var port: Int? { isDrop ? nil : Int(rawValue) }
    @inlinable public var dropReason: DropReason? { isDrop ? DropReason(rawValue: UInt16(truncatingIfNeeded: rawValue)) : nil }
}
