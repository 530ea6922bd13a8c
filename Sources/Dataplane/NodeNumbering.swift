/// Every load balancer node numbered once across all load balancers of the tables: balancer 0's
/// nodes first, in zone order, then balancer 1's, and so on. Sessions, counters and the port pools
/// know a node by this number; this is the one place that turns it into (balancer, node) and back.
public struct NodeNumbering: Sendable {
    /// The number of each balancer's first node.
    private let first: [Int]
    /// The ENI of each node, by number.
    public let interfaces: [Int]

    public init(_ loadBalancers: [ForwardingTables.LoadBalancer]) {
        var first: [Int] = []
        var interfaces: [Int] = []
        for balancer in loadBalancers {
            first.append(interfaces.count)
            interfaces += balancer.nodes.map(\.interface)
        }
        self.first = first
        self.interfaces = interfaces
    }

    public var count: Int { interfaces.count }

    @inline(__always)
    public func number(balancer: Int, node: Int) -> Int { first[balancer] + node }

    /// The balancer and its node; nil for a number these tables do not have.
    public func location(_ number: Int) -> (balancer: Int, node: Int)? {
        guard number >= 0 && number < interfaces.count else { return nil }
        var balancer = 0
        while balancer + 1 < first.count && first[balancer + 1] <= number { balancer += 1 }
        return (balancer, number - first[balancer])
    }
}
