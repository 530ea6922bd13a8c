import PacketWire

// The forwarding tables: what the dataplane knows of the topology, in its own vocabulary.
// Built once by the topology compiler, immutable afterwards; a reload builds a new set and the
// dataplane swaps it in between batches. Indices are positions in these arrays.

public final class ForwardingTables {
    /// A port is where packets enter and leave the fabric: a host's ENI, a VPC's internet
    /// gateway, the network of an AWS service reached through gateway endpoints, or a VPC's
    /// resolver (which answers what it is sent; nothing enters by it), or the health checker,
    /// which sends its probes from the load balancers' node addresses.
    public struct Port: Sendable {
        public enum Kind: Sendable, Equatable {
            case interface(Int)
            case internetGateway(vpc: Int)
            case serviceNetwork(prefixList: Int)
            case resolver(vpc: Int)
            case healthChecks
        }

        public var kind: Kind
        /// For reports and capture file names: the host name, `igw-<vpc>`, the service name.
        public var name: String

        public init(kind: Kind, name: String) {
            self.kind = kind
            self.name = name
        }
    }

    public struct Interface: Sendable {
        public enum Owner: Sendable, Equatable {
            case host(port: Int)
            case endpoint(Int)
            case loadBalancerNode(balancer: Int, node: Int)
        }

        public var id: String
        public var accountID: String
        public var vpc: Int
        public var subnet: Int
        /// Index of the zone by AZ ID (zones of all accounts share one numbering).
        public var zone: Int
        public var ipv4: IPv4Address?
        public var ipv6: IPv6Address?
        public var owner: Owner
        public var securityGroups: [Int]
        public var sourceDestCheck: Bool
        public var denyAllIgwTraffic: Bool

        public init(id: String, accountID: String, vpc: Int, subnet: Int, zone: Int, ipv4: IPv4Address?, ipv6: IPv6Address?,
                    owner: Owner, securityGroups: [Int], sourceDestCheck: Bool, denyAllIgwTraffic: Bool) {
            self.id = id
            self.accountID = accountID
            self.vpc = vpc
            self.subnet = subnet
            self.zone = zone
            self.ipv4 = ipv4
            self.ipv6 = ipv6
            self.owner = owner
            self.securityGroups = securityGroups
            self.sourceDestCheck = sourceDestCheck
            self.denyAllIgwTraffic = denyAllIgwTraffic
        }
    }

    public struct VPC: Sendable {
        public var name: String
        public var cidr: IPv4Prefix
        public var ipv6Cidr: IPv6Prefix?
        public var internetGatewayPort: Int?
        public var edgeRouteTable: Int?
        /// The Amazon-provided resolver, at the VPC's base address plus two; nil when the VPC
        /// does not resolve (enableDnsSupport off).
        public var resolver: IPv4Address?
        public var resolverPort: Int?

        public init(name: String, cidr: IPv4Prefix, ipv6Cidr: IPv6Prefix?, internetGatewayPort: Int?, edgeRouteTable: Int?,
                    resolver: IPv4Address? = nil, resolverPort: Int? = nil) {
            self.name = name
            self.cidr = cidr
            self.ipv6Cidr = ipv6Cidr
            self.internetGatewayPort = internetGatewayPort
            self.edgeRouteTable = edgeRouteTable
            self.resolver = resolver
            self.resolverPort = resolverPort
        }
    }

    public enum RouteTarget: Sendable, Equatable {
        case local
        case internetGateway
        case gatewayLoadBalancerEndpoint(Int)
        /// To the service network port of a gateway endpoint's service.
        case gatewayEndpoint(port: Int)
    }

    public struct RouteTable {
        public var ipv4 = RouteTrie(addressBytes: 4)
        public var ipv6 = RouteTrie(addressBytes: 16)
        public var targets: [RouteTarget] = []

        public init() {}

        /// Routes go in with the longest-prefix rule; at equal length, the later one wins, so
        /// add prefix-list routes first (an explicit route with the same prefix beats them,
        /// docs/aws-behaviour.md §7).
        public mutating func add(_ prefix: IPv4Prefix, _ target: RouteTarget) {
            targets.append(target)
            ipv4.insert(prefix, value: Int32(targets.count - 1))
        }

        public mutating func add(_ prefix: IPv6Prefix, _ target: RouteTarget) {
            targets.append(target)
            ipv6.insert(prefix, value: Int32(targets.count - 1))
        }
    }

    public struct SecurityGroup: Sendable {
        public var ingress: [Rule]
        public var egress: [Rule]

        public init(ingress: [Rule], egress: [Rule]) {
            self.ingress = ingress
            self.egress = egress
        }

        public struct Rule: Sendable {
            public enum Peer: Sendable {
                case ipv4(IPv4Prefix)
                case ipv6(IPv6Prefix)
                case securityGroup(Int)
                case prefixList([IPv4Prefix])
            }

            /// Nil for every protocol.
            public var proto: IPProtocol?
            public var ports: ClosedRange<UInt16>
            public var peer: Peer

            public init(proto: IPProtocol?, ports: ClosedRange<UInt16>, peer: Peer) {
                self.proto = proto
                self.ports = ports
                self.peer = peer
            }
        }
    }

    /// The state of an endpoint's connection, as far as traffic cares.
    public enum EndpointState: UInt8, Sendable {
        case available, pendingAcceptance, pending, rejected, expired, failed, deleting, deleted
    }

    public struct Endpoint: Sendable {
        public var id: String
        public var state: EndpointState
        /// The NLB each of the endpoint's ENIs uses (one NLB per ENI, docs/aws-behaviour.md §4), or
        /// the GWLB of a Gateway Load Balancer endpoint's service.
        public var loadBalancer: Int?
        /// A GWLB endpoint's ENI: its zone picks the GWLB node, its subnet's route table routes
        /// what comes back from the appliance.
        public var interface: Int?
        /// What a GWLB endpoint's traffic carries in AWS's GENEVE options: the endpoint ID as a
        /// number, and the attachment ID.
        public var tunnelOptions: (endpointID: UInt64, attachmentID: UInt64)

        public init(id: String, state: EndpointState, loadBalancer: Int?, interface: Int? = nil,
                    tunnelOptions: (endpointID: UInt64, attachmentID: UInt64) = (0, 0)) {
            self.id = id
            self.state = state
            self.loadBalancer = loadBalancer
            self.interface = interface
            self.tunnelOptions = tunnelOptions
        }
    }

    public struct LoadBalancer: Sendable {
        public struct Node: Sendable {
            public var zone: Int
            public var interface: Int
            public init(zone: Int, interface: Int) {
                self.zone = zone
                self.interface = interface
            }
        }

        public struct Listener: Sendable {
            public var port: UInt16
            public var targetGroup: Int
            /// Nanoseconds; of TCP flows only, for a GWLB (its other flows have 120 s).
            public var idleTimeout: Int64
            /// A GWLB's `send_tcp_reset.on_idle_timeout.enabled`: a TCP segment of a flow it does
            /// not know gets a RST rather than being dropped (docs/aws-behaviour.md §6).
            public var resetsUnknownFlows: Bool
            /// What an NLB listener takes: TCP (TCP and TLS listeners), UDP, or both (TCP_UDP).
            public var takesTCP: Bool
            public var takesUDP: Bool
            public init(port: UInt16, targetGroup: Int, idleTimeout: Int64, resetsUnknownFlows: Bool = false, takesTCP: Bool = true,
                        takesUDP: Bool = false) {
                self.port = port
                self.targetGroup = targetGroup
                self.idleTimeout = idleTimeout
                self.resetsUnknownFlows = resetsUnknownFlows
                self.takesTCP = takesTCP
                self.takesUDP = takesUDP
            }

            /// Whether the listener takes a flow of `proto` to `port`.
            @inline(__always)
            func takes(_ proto: UInt8, port: UInt16) -> Bool {
                port == self.port && (proto == IPProtocol.tcp.rawValue ? takesTCP : proto == IPProtocol.udp.rawValue && takesUDP)
            }
        }

        public var name: String
        public var nodes: [Node]
        public var listeners: [Listener]
        /// A Gateway Load Balancer: its one listener takes every IP packet, and its targets are
        /// appliances reached over GENEVE.
        public var isGateway: Bool

        public init(name: String, nodes: [Node], listeners: [Listener], isGateway: Bool = false) {
            self.name = name
            self.nodes = nodes
            self.listeners = listeners
            self.isGateway = isGateway
        }
    }

    public struct TargetGroup: Sendable {
        /// What of a flow a GWLB hashes to pick its appliance (docs/aws-behaviour.md §6).
        public enum Stickiness: UInt8, Sendable {
            /// Protocol, addresses and ports for TCP and UDP; protocol and addresses otherwise.
            case fiveTuple
            /// Protocol and addresses (`source_ip_dest_ip_proto`).
            case threeTuple
            /// Addresses only (`source_ip_dest_ip`).
            case twoTuple
        }

        public var name: String
        public var crossZone: Bool
        public var connectionTermination: Bool
        public var targets: [Int]
        public var stickiness: Stickiness
        /// GWLB `target_failover`: `rebalance` moves the flows of an unhealthy appliance to a
        /// healthy one; `no_rebalance` (false) leaves them where they are.
        public var rebalance: Bool
        /// A PROXY v2 header goes before the first data of each connection to a target.
        public var proxyProtocol: Bool
        /// The targets are reached over IPv6 (an `ipv6` group); otherwise over IPv4, an IPv6
        /// client's flow translated.
        public var ipv6Targets: Bool
        /// Flows that do not come through a VPC endpoint reach the target from the client's own
        /// address (`preserve_client_ip.enabled`).
        public var preserveClientIp: Bool

        public init(name: String, crossZone: Bool, connectionTermination: Bool, targets: [Int],
                    stickiness: Stickiness = .fiveTuple, rebalance: Bool = false, proxyProtocol: Bool = false,
                    ipv6Targets: Bool = false, preserveClientIp: Bool = true) {
            self.name = name
            self.crossZone = crossZone
            self.connectionTermination = connectionTermination
            self.targets = targets
            self.stickiness = stickiness
            self.rebalance = rebalance
            self.proxyProtocol = proxyProtocol
            self.ipv6Targets = ipv6Targets
            self.preserveClientIp = preserveClientIp
        }
    }

    public struct Target: Sendable {
        /// The target's ENI, and so its host port and addresses.
        public var interface: Int
        public var port: UInt16
        public var zone: Int
        public var targetGroup: Int
        /// Who the target is across reloads: the same key keeps its sessions.
        public var stableKey: UInt64
        public var name: String

        public init(interface: Int, port: UInt16, zone: Int, targetGroup: Int, stableKey: UInt64, name: String) {
            self.interface = interface
            self.port = port
            self.zone = zone
            self.targetGroup = targetGroup
            self.stableKey = stableKey
            self.name = name
        }
    }

    public let ports: [Port]
    public let interfaces: [Interface]
    public let vpcs: [VPC]
    /// The route table of each subnet.
    public let subnetRouteTables: [Int]
    public let routeTables: [RouteTable]
    public let securityGroups: [SecurityGroup]
    public let endpoints: [Endpoint]
    public let loadBalancers: [LoadBalancer]
    /// Every load balancer's nodes, numbered across all of them.
    public let nodes: NodeNumbering
    public let targetGroups: [TargetGroup]
    public let targets: [Target]
    /// Zone names by zone index, for reports.
    public let zoneNames: [String]
    /// Outside hosts and the service networks' prefixes (PortMap.swift).
    public let portMap: PortMap
    /// The health checker's port, if there are load balancers to check.
    public let healthCheckPort: Int?
    /// Per port: an outside network's (internet gateway, service network), whose packets reach
    /// outside hosts.
    let leadsOutside: UnsafeMutablePointer<Bool>
    let addresses: AddressMap
    /// What the per-packet path reads of each interface, without the reference-counted fields
    /// (strings, arrays) whose copies would cost a retain and a release each.
    let cores: UnsafeMutablePointer<InterfaceCore>
    /// The GWLB endpoints' options, by endpoint, for the per-packet path.
    let tunnelOptions: UnsafeMutablePointer<(endpointID: UInt64, attachmentID: UInt64)>
    /// AWS's PROXY v2 TLV of each endpoint (its ID), `proxyTLVStride` bytes apart, and its length.
    let proxyTLVs: UnsafeMutableRawPointer
    let proxyTLVLengths: UnsafeMutablePointer<UInt8>
    static let proxyTLVStride = 32
    /// The IPv4 address of every GWLB node, where appliances send back (a handful: scanned).
    let gatewayNodes: UnsafeMutablePointer<UInt32>
    let gatewayNodeCount: Int

    public init(ports: [Port], interfaces: [Interface], vpcs: [VPC], subnetRouteTables: [Int], routeTables: [RouteTable],
                securityGroups: [SecurityGroup], endpoints: [Endpoint], loadBalancers: [LoadBalancer],
                targetGroups: [TargetGroup], targets: [Target], zoneNames: [String],
                portMap: PortMap = PortMap(outsideHosts: [], serviceNetworks: [])) {
        self.ports = ports
        self.interfaces = interfaces
        self.vpcs = vpcs
        self.subnetRouteTables = subnetRouteTables
        self.routeTables = routeTables
        self.securityGroups = securityGroups
        self.endpoints = endpoints
        self.loadBalancers = loadBalancers
        nodes = NodeNumbering(loadBalancers)
        self.targetGroups = targetGroups
        self.targets = targets
        self.zoneNames = zoneNames
        self.portMap = portMap
        healthCheckPort = ports.firstIndex { $0.kind == .healthChecks }
        leadsOutside = .allocate(capacity: max(1, ports.count))
        for (index, port) in ports.enumerated() {
            switch port.kind {
            case .internetGateway, .serviceNetwork: (leadsOutside + index).initialize(to: true)
            default: (leadsOutside + index).initialize(to: false)
            }
        }
        addresses = AddressMap(interfaces: interfaces)
        cores = .allocate(capacity: max(1, interfaces.count))
        for (index, interface) in interfaces.enumerated() {
            (cores + index).initialize(to: InterfaceCore(
                vpc: interface.vpc, subnet: interface.subnet, zone: interface.zone, ipv4: interface.ipv4, ipv6: interface.ipv6,
                owner: interface.owner, sourceDestCheck: interface.sourceDestCheck,
                hasSecurityGroups: !interface.securityGroups.isEmpty))
        }
        tunnelOptions = .allocate(capacity: max(1, endpoints.count))
        for (index, endpoint) in endpoints.enumerated() { (tunnelOptions + index).initialize(to: endpoint.tunnelOptions) }
        let tlvs = UnsafeMutableRawPointer.allocate(byteCount: max(1, endpoints.count) * ForwardingTables.proxyTLVStride, alignment: 8)
        let tlvLengths = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, endpoints.count))
        for (index, endpoint) in endpoints.enumerated() {
            let tlv = ProxyProtocolV2.awsEndpointTLV(endpoint.id)
            tlv.withUnsafeBytes { (tlvs + index * ForwardingTables.proxyTLVStride).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            tlvLengths[index] = UInt8(tlv.count)
        }
        proxyTLVs = tlvs
        proxyTLVLengths = tlvLengths
        let nodes = loadBalancers.filter(\.isGateway).flatMap { $0.nodes.compactMap { interfaces[$0.interface].ipv4?.value } }
        gatewayNodeCount = nodes.count
        gatewayNodes = .allocate(capacity: max(1, nodes.count))
        gatewayNodes.initialize(from: nodes, count: nodes.count)
    }

    deinit {
        leadsOutside.deallocate()
        cores.deallocate()
        tunnelOptions.deallocate()
        proxyTLVs.deallocate()
        proxyTLVLengths.deallocate()
        gatewayNodes.deallocate()
    }

    /// AWS's PROXY v2 TLV for `endpoint`.
    @inline(__always)
    func proxyTLV(_ endpoint: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: proxyTLVs + endpoint * ForwardingTables.proxyTLVStride, count: Int(proxyTLVLengths[endpoint]))
    }

    /// Whether `address` is a GWLB node's.
    @inline(__always)
    func isGatewayNode(_ address: UInt32) -> Bool {
        for index in 0..<gatewayNodeCount where gatewayNodes[index] == address { return true }
        return false
    }

    /// The interface that owns `address` in `vpc`, if any.
    @inline(__always)
    func interface(vpc: Int, address: FlowAddress) -> Int? { addresses.find(vpc: vpc, address: address) }

    /// The ENI owning an address in any VPC (the first, where VPCs overlap).
    public func interface(owning address: FlowAddress) -> Int? { addresses.find(anyVPC: address) }
}

/// The plain-data part of an interface: what new flows read.
struct InterfaceCore {
    var vpc: Int
    var subnet: Int
    var zone: Int
    var ipv4: IPv4Address?
    var ipv6: IPv6Address?
    var owner: ForwardingTables.Interface.Owner
    var sourceDestCheck: Bool
    var hasSecurityGroups: Bool
}

/// An address of either family as the flow key holds it (IPv4-mapped for IPv4).
public struct FlowAddress: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    @inlinable public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    @inlinable public init(_ address: IPv4Address) {
        high = 0
        low = 0x0000_FFFF_0000_0000 | UInt64(address.value)
    }

    @inlinable public init(_ address: IPv6Address) {
        high = address.high
        low = address.low
    }

    @inlinable public var isIPv4: Bool { high == 0 && low >> 32 == 0xFFFF }
    @inlinable public var ipv4: IPv4Address { IPv4Address(UInt32(truncatingIfNeeded: low)) }
    @inlinable public var ipv6: IPv6Address { IPv6Address(high: high, low: low) }
    /// The address as its family writes it.
    public var description: String { isIPv4 ? ipv4.description : ipv6.description }
}

extension FlowKey {
    @inlinable public var source: FlowAddress { FlowAddress(high: sourceHigh, low: sourceLow) }
    @inlinable public var destination: FlowAddress { FlowAddress(high: destinationHigh, low: destinationLow) }
}

/// Interface addresses by (VPC, address): open addressing with linear probing, sized at twice
/// the entries, built once. Used on a flow's first packet, so it avoids Swift's Dictionary
/// (and its random-seeded Hasher).
struct AddressMap {
    private struct Entry {
        var vpc: Int32 = -1
        var interface: Int32 = -1
        var high: UInt64 = 0
        var low: UInt64 = 0
    }

    private var entries: [Entry]
    private let mask: Int

    init(interfaces: [ForwardingTables.Interface]) {
        var size = 8
        while size < 4 * interfaces.count { size <<= 1 }
        entries = [Entry](repeating: Entry(), count: size)
        mask = size - 1
        for (index, interface) in interfaces.enumerated() {
            if let ipv4 = interface.ipv4 { insert(vpc: interface.vpc, address: FlowAddress(ipv4), interface: index) }
            if let ipv6 = interface.ipv6 { insert(vpc: interface.vpc, address: FlowAddress(ipv6), interface: index) }
        }
    }

    private static func hash(_ address: FlowAddress) -> Int {
        Int(truncatingIfNeeded: FlowHash.mix(address.high, address.low))
    }

    private mutating func insert(vpc: Int, address: FlowAddress, interface: Int) {
        var slot = AddressMap.hash(address) & mask
        while entries[slot].interface >= 0 { slot = (slot + 1) & mask }
        entries[slot] = Entry(vpc: Int32(vpc), interface: Int32(interface), high: address.high, low: address.low)
    }

    func find(vpc: Int, address: FlowAddress) -> Int? {
        var slot = AddressMap.hash(address) & mask
        while entries[slot].interface >= 0 {
            let entry = entries[slot]
            if entry.vpc == vpc && entry.high == address.high && entry.low == address.low { return Int(entry.interface) }
            slot = (slot + 1) & mask
        }
        return nil
    }

    /// The first interface with this address in any VPC (VPCs may overlap; replay attributes by
    /// the first).
    func find(anyVPC address: FlowAddress) -> Int? {
        var slot = AddressMap.hash(address) & mask
        while entries[slot].interface >= 0 {
            let entry = entries[slot]
            if entry.high == address.high && entry.low == address.low { return Int(entry.interface) }
            slot = (slot + 1) & mask
        }
        return nil
    }
}
