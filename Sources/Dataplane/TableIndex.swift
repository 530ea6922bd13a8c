/// An index into one of the forwarding tables' arrays, kept in as few bytes as that table needs
/// (`Storage`) and typed by what it indexes (`Table`, never stored), with an explicit `none` in
/// place of an all-ones sentinel compared by hand: a session's target, endpoint, ENI, node and
/// port pool. A session stays three cache lines, and a target index cannot be taken for an ENI's.
@frozen
public struct TableIndex<Table, Storage: FixedWidthInteger & UnsignedInteger & Sendable>: Equatable, Sendable {
    @usableFromInline var raw: Storage

    /// No entry (all ones, which no table is large enough to reach).
    public static var none: Self { Self(raw: .max) }

    @inlinable init(raw: Storage) { self.raw = raw }

    /// The entry at `index`, which must fit the storage (tables are far smaller).
    @inlinable public init(_ index: Int) { raw = Storage(index) }

    @inlinable public init(_ index: Int?) {
        if let index { raw = Storage(index) } else { raw = .max }
    }

    /// The index; nil for `none`.
    @inlinable public var index: Int? { raw == .max ? nil : Int(raw) }

    /// The index of an entry the session's kind guarantees is set (a GWLB session's endpoint, an
    /// endpoint session's ENI), read without a branch.
    @inlinable public var value: Int { Int(raw) }

    @inlinable public var isNone: Bool { raw == .max }
}

/// A target (`ForwardingTables.targets`).
public typealias TargetIndex = TableIndex<ForwardingTables.Target, UInt32>
/// An interface endpoint or GWLB endpoint (`ForwardingTables.endpoints`).
public typealias EndpointIndex = TableIndex<ForwardingTables.Endpoint, UInt16>
/// An ENI (`ForwardingTables.interfaces`).
public typealias InterfaceIndex = TableIndex<ForwardingTables.Interface, UInt32>
/// A load balancer node by its number across all load balancers (`NodeNumbering`).
public typealias NodeNumber = TableIndex<NodeNumbering, UInt16>
/// A source-port pool of the NLB's port allocators (`PortAllocators`).
public typealias PortPoolIndex = TableIndex<PortAllocators, UInt32>
