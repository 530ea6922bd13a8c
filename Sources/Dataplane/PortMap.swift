import PacketWire

// The port map: which port a packet enters the fabric by when it comes from outside the hosts'
// ENIs (a capture's packets, an internet host's, an AWS service's), and which outside host a
// packet leaving by an outside network's port reaches. Compiled with the tables, the same for
// live forwarding, replay and simulation; nothing here reads the topology model.

/// A host outside every VPC: on the internet (behind every internet gateway) or in an AWS
/// service's network (behind that service's gateway-endpoint port).
public struct OutsideHost: Sendable {
    public enum Network: Sendable, Equatable {
        case internet
        case service(prefixList: Int)
    }

    public var name: String
    public var network: Network
    public var addresses: [FlowAddress]

    public init(name: String, network: Network, addresses: [FlowAddress]) {
        self.name = name
        self.network = network
        self.addresses = addresses
    }
}

/// The port map's tables, compiled with the forwarding tables.
public struct PortMap: Sendable {
    public let outsideHosts: [OutsideHost]
    /// Every block of every service network's prefix list with its port (IPv4, as AWS's lists
    /// are), and every outside host's address with its network: flat, so that the per-packet
    /// scans read plain values in place, with no array inside an element to retain.
    let serviceBlocks: [(port: Int, block: IPv4Prefix)]
    let outsideAddresses: [(host: Int, network: OutsideHost.Network, address: FlowAddress)]

    public init(outsideHosts: [OutsideHost], serviceNetworks: [(port: Int, prefixList: Int, blocks: [IPv4Prefix])]) {
        self.outsideHosts = outsideHosts
        serviceBlocks = serviceNetworks.flatMap { network in network.blocks.map { (network.port, $0) } }
        outsideAddresses = outsideHosts.enumerated().flatMap { index, host in host.addresses.map { (index, host.network, $0) } }
    }
}

extension ForwardingTables {
    /// The port an IP packet enters by, from its addresses (below); nil when its header cannot
    /// be read that far.
    public func ingressPort(ofPacket bytes: UnsafeMutableRawBufferPointer) -> Int? {
        guard let addresses = FlowAddress.addresses(ofPacket: bytes) else { return nil }
        return ingressPort(source: addresses.source, destination: addresses.destination)
    }

    /// The port a packet with these addresses enters by: the port of the host ENI that owns its
    /// source; for a source outside every VPC, the service network whose prefix list holds it,
    /// else the internet gateway of the VPC that owns its destination. Nil when none does (a
    /// source that is an endpoint's or a node's, which only the fabric sends from).
    public func ingressPort(source: FlowAddress, destination: FlowAddress) -> Int? {
        if let interface = interface(owning: source) {
            if case .host(let port) = interfaces[interface].owner { return port }
            return nil
        }
        if source.isIPv4 {
            for index in 0..<portMap.serviceBlocks.count where portMap.serviceBlocks[index].block.contains(source.ipv4) {
                return portMap.serviceBlocks[index].port
            }
        }
        guard let interface = interface(owning: destination) else { return nil }
        return vpcs[interfaces[interface].vpc].internetGatewayPort
    }

    /// The outside host a packet for `destination` reaches when it leaves by `port`, if the
    /// port is an outside network's and one of its hosts has that address.
    @inline(__always)
    func outsideHost(leaving port: Int, destination: FlowAddress) -> Int? {
        guard leadsOutside[port] else { return nil }
        let network: OutsideHost.Network
        switch ports[port].kind {
        case .internetGateway: network = .internet
        case .serviceNetwork(let list): network = .service(prefixList: list)
        default: return nil
        }
        for index in 0..<portMap.outsideAddresses.count
        where portMap.outsideAddresses[index].address == destination && portMap.outsideAddresses[index].network == network {
            return portMap.outsideAddresses[index].host
        }
        return nil
    }
}

extension FlowAddress {
    /// The source and destination of an IP packet whose header reads as far as its addresses
    /// (as an ICMP error's quote must); nil otherwise.
    public static func addresses(ofPacket bytes: UnsafeMutableRawBufferPointer) -> (source: FlowAddress, destination: FlowAddress)? {
        if let ip = try? IPv4Packet(quoted: bytes) { return (FlowAddress(ip.source), FlowAddress(ip.destination)) }
        if let ip = try? IPv6Packet(quoted: bytes) { return (FlowAddress(ip.source), FlowAddress(ip.destination)) }
        return nil
    }

    /// The destination address of the IP packet at `bytes` (IPv4 or IPv6, by its version),
    /// nil when the header is not all there.
    @inline(__always)
    static func destination(ofPacket bytes: UnsafeRawBufferPointer) -> FlowAddress? {
        guard let base = bytes.baseAddress, bytes.count >= 20 else { return nil }
        switch base.load(as: UInt8.self) >> 4 {
        case 4:
            return FlowAddress(IPv4Address(UInt32(bigEndian: base.loadUnaligned(fromByteOffset: 16, as: UInt32.self))))
        case 6 where bytes.count >= 40:
            return FlowAddress(high: UInt64(bigEndian: base.loadUnaligned(fromByteOffset: 24, as: UInt64.self)),
                               low: UInt64(bigEndian: base.loadUnaligned(fromByteOffset: 32, as: UInt64.self)))
        default:
            return nil
        }
    }
}
