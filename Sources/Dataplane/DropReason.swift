/// Why a packet was dropped. Every drop has one, and each is counted.
public enum DropReason: UInt16, CaseIterable, Sendable, Error {
    /// Headers that cannot be read (truncated, bad lengths).
    case malformed
    /// A piece of a fragmented datagram: Privet does not reassemble, and takes none.
    case fragment
    /// An IPv4 header whose checksum does not verify (RFC 1812 §5.2.2: a router drops it).
    case badIPChecksum
    /// An IPv4 loose or strict source route option (RFC 791): the VPC routes, not the sender.
    case sourceRoute
    /// IPv4 options that run past the header or carry a length below 2.
    case malformedIPOptions
    /// An IPv6 routing header of type 0, deprecated by RFC 5095.
    case deprecatedRoutingHeader
    /// A second IPv6 fragment header in one packet: a fragment inside a fragment (RFC 8200 §4.1).
    case fragmentChain
    /// An ICMP or ICMPv6 error about a flow the fabric does not know (never seen, or ended).
    case icmpErrorUnknownFlow
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
    /// Interface endpoints carry TCP only (docs/aws-behaviour.md §4).
    case endpointNotTCP
    /// Over the endpoint MTU of 8500 bytes; dropped without ICMP (§4).
    case endpointOversize
    case noListener
    /// No node of the service's NLB in the endpoint ENI's zone.
    case noLoadBalancerNode
    /// No target the zone's node may send to: an empty zone with cross-zone off, or (in tables
    /// no validated topology compiles to) a node or target without an address of the flow's family.
    case noTarget
    /// An IPv4 client's flow to a group of IPv6 targets, which take IPv6 only.
    case ipv4ClientToIPv6Targets
    /// A target reaching itself through its NLB with its own address preserved: AWS's hairpin
    /// limit (the target would get a packet from itself).
    case loadBalancerHairpin
    /// The target already has a flow with the client's address and port (client IP preserved).
    case targetTupleInUse
    /// No room in front of the packet for the IPv6 header it is translated to.
    case noRoomToTranslate
    /// An ICMP error of a flow translated between the families that has no counterpart in the
    /// other family (RFC 7915: parameter problems, redirects and the like).
    case icmpUntranslatable
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
    /// An inner packet over 8500 bytes for a GWLB: dropped, no fragmentation, no ICMP (§6).
    case gatewayOversize
    /// A TCP segment other than a SYN for a flow the GWLB does not know (never seen, or idle
    /// past its timeout): dropped, unless the listener resets such segments (§6).
    case gatewayNoFlow
    /// A packet from an appliance whose inner flow the GWLB never sent it: appliances cannot
    /// start flows (§6).
    case applianceInitiated
    /// To a GWLB node's UDP 6081 without a GENEVE header that carries an IPv4 or IPv6 packet
    /// and AWS's three options.
    case gatewayBadTunnel
    /// Back from an appliance with options other than those its flow was sent with.
    case gatewayOptionsAltered
    /// Back for a known flow, but from another appliance or address than the flow's (as after
    /// a rebalance, for packets still in flight from the old appliance).
    case gatewayWrongAppliance
    /// After the appliance, the endpoint's subnet routes the packet to an interface endpoint or
    /// another GWLB endpoint: Privet does not chain those.
    case gatewayChain
    /// No room in the packet's buffer for the 68 bytes of GENEVE encapsulation.
    case noRoomToEncapsulate
    /// DNS over TCP to the VPC resolver: Privet's resolver answers UDP only.
    case resolverNotUDP
    /// A client's first data too large for the PROXY v2 header to go in front of it (past the
    /// packet's buffer, or past 65,535 bytes): dropped, for the client to send again smaller.
    case proxyHeaderNoRoom

    /// The reason as reports and the dropped-packets CSV spell it.
    public var name: String {
        switch self {
        case .malformed: return "malformed"
        case .fragment: return "fragment"
        case .badIPChecksum: return "bad-ip-checksum"
        case .sourceRoute: return "source-route"
        case .malformedIPOptions: return "malformed-ip-options"
        case .deprecatedRoutingHeader: return "deprecated-routing-header"
        case .fragmentChain: return "fragment-chain"
        case .icmpErrorUnknownFlow: return "icmp-error-unknown-flow"
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
        case .ipv4ClientToIPv6Targets: return "ipv4-client-to-ipv6-targets"
        case .loadBalancerHairpin: return "load-balancer-hairpin"
        case .targetTupleInUse: return "target-tuple-in-use"
        case .noRoomToTranslate: return "no-room-to-translate"
        case .icmpUntranslatable: return "icmp-untranslatable"
        case .portExhausted: return "port-exhausted"
        case .flowTableFull: return "flow-table-full"
        case .providerInitiated: return "provider-initiated"
        case .noSession: return "no-session"
        case .denyAllIgwTraffic: return "deny-all-igw-traffic"
        case .serviceCannotInitiate: return "service-cannot-initiate"
        case .gatewayOversize: return "gwlb-oversize"
        case .gatewayNoFlow: return "gwlb-no-flow"
        case .applianceInitiated: return "appliance-initiated"
        case .gatewayBadTunnel: return "gwlb-bad-geneve"
        case .gatewayOptionsAltered: return "gwlb-options-altered"
        case .gatewayWrongAppliance: return "gwlb-wrong-appliance"
        case .gatewayChain: return "gwlb-chain-not-supported"
        case .noRoomToEncapsulate: return "no-room-to-encapsulate"
        case .resolverNotUDP: return "resolver-not-udp"
        case .proxyHeaderNoRoom: return "proxy-header-no-room"
        }
    }

    /// Whether a flow log records the drop as REJECT: the packet was refused by the fabric's
    /// rules (security groups, endpoint states) rather than lost to a lack of resources.
    public var isReject: Bool {
        switch self {
        case .securityGroupEgress, .securityGroupIngress, .endpointPendingAcceptance, .endpointPending, .endpointRejected,
             .endpointExpired, .endpointFailed, .endpointDeleting, .endpointDeleted, .endpointNotTCP, .providerInitiated,
             .denyAllIgwTraffic, .serviceCannotInitiate, .applianceInitiated:
            return true
        default:
            return false
        }
    }
}

/// Why the dataplane answered a packet with a TCP RST instead of forwarding it.
public enum ResetCause: UInt8, CaseIterable, Sendable {
    /// A non-SYN segment of no known flow: idle-timed-out, or never seen (docs/aws-behaviour.md
    /// §1).
    case noFlow
    /// The flow's target turned unhealthy and connection termination is on (§2).
    case unhealthyTarget
    /// A GWLB whose listener resets: a non-SYN segment of a flow it does not know (§6).
    case gatewayNoFlow

    public var name: String {
        switch self {
        case .noFlow: return "no-flow"
        case .unhealthyTarget: return "unhealthy-target"
        case .gatewayNoFlow: return "gwlb-no-flow"
        }
    }
}
