/// The dataplane's knobs, with AWS's values as defaults. Times are in nanoseconds.
public struct DataplaneConfiguration: Sendable {
    public static let second: Int64 = 1_000_000_000

    /// Sessions the flow table holds; fixed at start.
    public var flowCapacity = 1 << 16
    /// Touch all of the flow table's memory at start (live forwarding, benchmarks), rather than
    /// as it is first used (replay).
    public var prefaultFlowTable = false
    /// Seed of every flow hash: the same seed, the same choices, on every run.
    public var seed: UInt64 = 0x5052_4956_4554
    /// Packets over this many bytes arriving at an endpoint are dropped, without ICMP
    /// (docs/aws-behaviour.md §4).
    public var endpointMTU = 8500
    /// Inner packets over this many bytes for a GWLB are dropped, without fragmentation or ICMP
    /// (docs/aws-behaviour.md §6).
    public var gatewayMTU = 8500
    /// A GWLB's idle timeout of flows other than TCP (§6: 120 s, not configurable).
    public var gatewayIdleTimeout: Int64 = 120 * second
    /// The MSS that SYN and SYN-ACK segments through an endpoint are clamped to. AWS says it
    /// clamps but not to what; these leave room for the IP and TCP headers in 8500 bytes
    /// (inferred).
    public var mssClampIPv4: UInt16 = 8460
    public var mssClampIPv6: UInt16 = 8440
    /// How long a session stays after both FINs or a RST, for the last packets in flight.
    public var closedLinger: Int64 = 2 * second
    /// Connection tracking of security groups for flows that are not translated (EC2 defaults:
    /// TCP established 432000 s; UDP 30 s, 180 s once a stream; other protocols 60 s, inferred).
    public var trackedTCPTimeout: Int64 = 432_000 * second
    public var trackedUDPTimeout: Int64 = 30 * second
    public var trackedUDPStreamTimeout: Int64 = 180 * second
    public var trackedOtherTimeout: Int64 = 60 * second
    /// A TCP session whose handshake has not finished after this long ends: the NLB keeps no
    /// half-open connections, and a target must answer a new connection within 30 s
    /// (docs/aws-behaviour.md §1). A shorter idle timeout ends it sooner.
    public var handshakeTimeout: Int64 = 30 * second
    /// The expiry sweep visits the whole flow table at least once in this much of the clock.
    public var sweepPeriod: Int64 = 10 * second
    /// Sessions the expiry sweep visits per batch at the least.
    public var sweepBudget = 64
    /// Sessions that expiry ends in one batch (or one timer tick) at most; the rest wait for the
    /// next. It bounds the flow records a batch can leave for the caller to drain.
    public var expiryBudget = 1024
    /// How far into the queues of closed and half-open sessions a new flow looks for one to end
    /// when its source-port pool or the flow table is full.
    public var evictionScan = 256
    /// Source ports per (NLB address, target) pair (docs/aws-behaviour.md §2: about 55,000).
    public var portsPerPool = 55_000
    /// The flow-log aggregation interval (AWS: 60 s or 600 s, default 600 s).
    public var flowLogInterval: Int64 = 600 * second
    /// Which worker this dataplane is, of how many (Sharding.swift): its NAT ports are those
    /// whose translated flows come back to it.
    public var shard = Shard.whole

    public init() {}
}
