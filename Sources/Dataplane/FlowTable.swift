import CPrefetch
import Glibc
import PacketWire
// The flow table: one session per connection, found from either direction.
//
// Trade-offs, chosen for a hot path that must not allocate or stall:
// - Fixed capacity. Sessions live in one preallocated array, buckets in another; nothing grows
//   after start. A full table refuses the new session; the caller may end a closed or half-open
//   session and try again, never an established one.
// - Two keys per session: the forward key (as the initiator sends) and the reverse key (as the
//   responder sends, after any translation). Each key occupies one slot, so a reply is found with
//   the same one lookup as the request.
// - Buckets are one 64-byte cache line: 8 slots of a 16-bit hash signature and a 32-bit entry
//   (session index and direction). Each key may sit in one of two buckets (two hash choices): its
//   primary one unless that is full, then its secondary (DPDK's rte_hash places keys so). Each
//   bucket counts the keys of which it is the primary but that sit in their secondary (its
//   overflow, as Cuckoo++ keeps), so that a lookup reads one bucket line, then the session to
//   confirm the full key, and reads the secondary only when the primary has overflowed: a hit
//   and a miss alike cost one line, nearly always. Buckets are sized for
//   at most 50% slot load at capacity, where a failed insert (both buckets full) is vanishingly
//   rare; it is counted like a full table, never an eviction.
// - Removal clears its slots at once: no tombstones, no rehash.
// - Expiry is the caller's (Expiry.swift): lazily when a lookup finds an idle session, from
//   queues of half-open and closed sessions, and by a sweep (`sweepCursor`) over the part of the
//   table ever used (`neverUsed`).

/// One connection's state. The forward translation rewrites a forward packet so that it reads
/// as `reverse.reversed`, and a reply packet so that it reads as `forward.reversed`: the two keys
/// are the whole NAT state.
@frozen
public struct Session {
    public var forward: FlowKey
    public var reverse: FlowKey
    /// Where forward and reverse packets leave.
    public var forwardPort: UInt16
    public var reversePort: UInt16
    public var kind: SessionKind
    public var tcpState: TCPTrackState
    /// The TCP flags the flow log reports (`FlowLogTCPFlags`) seen this aggregation interval:
    /// the forward direction's in the low four bits, the reverse direction's in the high four.
    public var tcpFlagsSeen: UInt8
    public var inUse: Bool
    public var lastSeen: Int64
    public var idleTimeout: Int64
    /// The target (translated and GWLB sessions) in the current tables; none once a reload
    /// deregistered it.
    public var target: TargetIndex
    /// The source-port pool whose port (`natPort`) the session holds; none when it holds none.
    public var portPool: PortPoolIndex
    /// The endpoint the session entered by; none for a client in the NLB's own VPC.
    public var endpoint: EndpointIndex
    /// The NLB node that translated it, or the GWLB node that tunnels it.
    public var node: NodeNumber
    /// The port of the session's own choosing, whose meaning its kind gives: `natPort` or
    /// `tunnelSourcePort`.
    public var chosenPort: UInt16
    /// GWLB flows: the port of the appliance's host, where both directions are tunnelled.
    public var appliancePort: UInt16
    /// The endpoint ENI it entered by (endpoint and GWLB sessions).
    public var endpointInterface: InterfaceIndex
    /// GWLB flows: the flow cookie of the third GENEVE option.
    public var cookie: UInt32
    public var flowStart: Int64
    /// Checksum deltas (RFC 1624) of the translation of each direction: IP header, transport.
    public var forwardDelta: (header: UInt32, transport: UInt32)
    public var reverseDelta: (header: UInt32, transport: UInt32)
    public var packets: (forward: UInt32, reverse: UInt32)
    public var bytes: (forward: UInt64, reverse: UInt64)
    /// Start of the current flow-log aggregation interval.
    public var intervalStart: Int64
    /// What only one kind of session keeps, in one word, so that a session stays three cache
    /// lines: a GWLB flow's tunnel (`GatewayTunnel`), a translated flow's Proxy Protocol header
    /// (`ProxyHeaderState`), each made from this word and back into it. A plain stored word:
    /// read through the session's pointer, it costs no copy of the session.
    public var kindState: UInt64

    @inlinable
    public func key(_ direction: FlowDirection) -> FlowKey { direction == .forward ? forward : reverse }

    /// Clamp the MSS of SYN and SYN-ACK segments: through an endpoint, where the path's MTU
    /// shrinks (docs/aws-behaviour.md §4).
    @inlinable public var clampMSS: Bool { kind == .endpoint }

    /// Translated sessions: the NLB's source port towards the target (from `portPool`).
    @inlinable public var natPort: UInt16 {
        get { chosenPort }
        set { chosenPort = newValue }
    }

    /// GWLB sessions: the UDP source port of the flow's GENEVE datagrams.
    @inlinable public var tunnelSourcePort: UInt16 {
        get { chosenPort }
        set { chosenPort = newValue }
    }
}

public enum SessionKind: UInt8, Sendable {
    /// Forwarded as it is (VPC-local, internet gateway, gateway endpoint).
    case plain
    /// Consumer → interface endpoint → NLB → target, translated both ways.
    case endpoint
    /// A host of an NLB's VPC → the NLB → target: the destination translated both ways, and the
    /// source too unless the target group preserves the client's address.
    case loadBalancer
    /// Through a GWLB endpoint: each direction goes GENEVE-encapsulated to the flow's appliance,
    /// and on by the route of the endpoint's subnet when the appliance sends it back.
    case gatewayLoadBalancer
}

/// Which key of a session a packet matched.
public enum FlowDirection: UInt8, Sendable {
    case forward = 0
    case reverse = 1
}

public final class FlowTable {
    public let capacity: Int
    public let bucketCount: Int
    private let bucketMask: Int
    public let seed: UInt64
    /// Buckets of 64 bytes: 8 × UInt16 signatures, 8 × UInt32 entries, the overflow count
    /// (UInt32), then padding.
    private let buckets: UnsafeMutableRawPointer
    public let sessions: UnsafeMutablePointer<Session>
    /// Sessions freed after use, to take first; then those never used, from `neverUsed` up.
    private let freeList: UnsafeMutablePointer<UInt32>
    private var freeCount = 0
    /// Sessions from here on have never been used (an expiry sweep need not visit them).
    public private(set) var neverUsed = 0
    public private(set) var count = 0
    /// Where the next expiry sweep starts.
    public var sweepCursor = 0
    /// The keys inserted or removed since `startLookups`, by hash, as a filter of 4096 bits: a
    /// lookup made before stands unless its key's bit is set (a key that shares a bit only costs
    /// a lookup made again). A batch's new flows thus repeat no lookup for each other.
    private let changed: UnsafeMutablePointer<UInt64>
    private var changedAny = false

    static let slotsPerBucket = 8
    static let bucketBytes = 64

    /// Bytes a table of `capacity` sessions takes: sessions, buckets and the free list.
    public static func memoryFootprint(capacity: Int) -> Int {
        capacity * MemoryLayout<Session>.stride + bucketCount(for: capacity) * bucketBytes + capacity * 4
    }

    static func bucketCount(for capacity: Int) -> Int {
        // 2 keys per session, at most half of the slots used at capacity.
        var count = 1
        while count * slotsPerBucket < 4 * max(capacity, 1) { count <<= 1 }
        return count
    }

    public init(capacity: Int, seed: UInt64) {
        precondition(capacity > 0 && capacity < Int(UInt32.max >> 1), "flow table capacity out of range")
        self.capacity = capacity
        self.seed = seed
        bucketCount = FlowTable.bucketCount(for: capacity)
        bucketMask = bucketCount - 1
        // Anonymous pages: page-aligned (so buckets sit on cache lines), zeroed by the kernel
        // lazily, so a large table costs nothing until used. Zero bytes are an empty bucket and
        // an unused session (every field of a session is plain data whose zero is valid).
        buckets = FlowTable.zeroedPages(bucketCount * FlowTable.bucketBytes)
        sessions = FlowTable.zeroedPages(capacity * MemoryLayout<Session>.stride).bindMemory(to: Session.self, capacity: capacity)
        freeList = FlowTable.zeroedPages(capacity * 4).bindMemory(to: UInt32.self, capacity: capacity)
        changed = .allocate(capacity: 64)
        changed.initialize(repeating: 0, count: 64)
    }

    deinit {
        munmap(buckets, bucketCount * FlowTable.bucketBytes)
        munmap(UnsafeMutableRawPointer(sessions), capacity * MemoryLayout<Session>.stride)
        munmap(UnsafeMutableRawPointer(freeList), capacity * 4)
        changed.deallocate()
    }

    /// Touches every page of the table, so that no first use of a page faults on the hot path
    /// later (for live forwarding and benchmarks; a replay prefers to touch only what it uses).
    public func prefault() {
        for (base, bytes) in [(buckets, bucketCount * FlowTable.bucketBytes),
                              (UnsafeMutableRawPointer(sessions), capacity * MemoryLayout<Session>.stride),
                              (UnsafeMutableRawPointer(freeList), capacity * 4)] {
            for offset in stride(from: 0, to: bytes, by: 4096) { base.storeBytes(of: 0, toByteOffset: offset, as: UInt8.self) }
        }
    }

    private static func zeroedPages(_ bytes: Int) -> UnsafeMutableRawPointer {
        guard let memory = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), memory != MAP_FAILED else {
            fatalError("the flow table's \(bytes) bytes could not be mapped")
        }
        _ = madvise(memory, bytes, MADV_HUGEPAGE)
        return memory
    }

    // MARK: Slots

    @inline(__always)
    private func signatures(_ bucket: Int) -> UnsafeMutablePointer<UInt16> {
        (buckets + bucket * FlowTable.bucketBytes).assumingMemoryBound(to: UInt16.self)
    }

    @inline(__always)
    private func entries(_ bucket: Int) -> UnsafeMutablePointer<UInt32> {
        (buckets + bucket * FlowTable.bucketBytes + 16).assumingMemoryBound(to: UInt32.self)
    }

    /// How many keys whose primary bucket this is sit in their secondary.
    @inline(__always)
    private func overflow(_ bucket: Int) -> UnsafeMutablePointer<UInt32> {
        (buckets + bucket * FlowTable.bucketBytes + 48).assumingMemoryBound(to: UInt32.self)
    }

    @inline(__always)
    private static func signature(_ hash: UInt64) -> UInt16 {
        let value = UInt16(truncatingIfNeeded: hash >> 48)
        return value == 0 ? 1 : value
    }

    @inline(__always)
    private func candidates(_ hash: UInt64) -> (primary: Int, secondary: Int) {
        (Int(truncatingIfNeeded: hash) & bucketMask, Int(truncatingIfNeeded: hash >> 24) & bucketMask)
    }

    // MARK: Lookup

    /// Asks for the cache line a lookup of `hash` reads first: its primary bucket, where nearly
    /// every key that is in the table sits.
    @inline(__always)
    public func prefetchBucket(_ hash: UInt64) {
        privet_prefetch(buckets + candidates(hash).primary * FlowTable.bucketBytes)
    }

    /// Asks for the sessions a lookup of `hash` will read: those its primary bucket points to
    /// under the same signature (almost always one, the flow's own), all three lines, to be
    /// written. Reads the bucket, which `prefetchBucket` should have brought in by now.
    @inline(__always)
    public func prefetchSessions(_ hash: UInt64) {
        let bucket = candidates(hash).primary
        let lanes = UnsafeRawPointer(signatures(bucket)).load(as: SIMD8<UInt16>.self)
        let matches = lanes .== SIMD8<UInt16>(repeating: FlowTable.signature(hash))
        guard any(matches) else { return }
        let entries = self.entries(bucket)
        for slot in 0..<FlowTable.slotsPerBucket where matches[slot] {
            let base = UnsafeRawPointer(sessions + Int(entries[slot] >> 1))
            privet_prefetch_for_write(base)
            privet_prefetch_for_write(base + 64)
            privet_prefetch_for_write(base + 128)
        }
    }

    /// Asks for a session's three lines, to be written (one about to end, say).
    @inline(__always)
    public func prefetchSession(_ index: Int) {
        let base = UnsafeRawPointer(sessions + index)
        privet_prefetch_for_write(base)
        privet_prefetch_for_write(base + 64)
        privet_prefetch_for_write(base + 128)
    }

    /// Asks for the buckets a removal of session `index` writes: its two keys' primary ones.
    /// Reads the session's keys, which should be in cache by now.
    @inline(__always)
    public func prefetchBucketsOfSession(_ index: Int) {
        prefetchBucket(sessions[index].forward.hash(seed: seed))
        prefetchBucket(sessions[index].reverse.hash(seed: seed))
    }

    /// Asks for the session the `n`th insert from now will take (if nothing is removed before),
    /// to be written: a new flow's session is otherwise cold memory.
    @inline(__always)
    public func prefetchUpcomingSession(_ n: Int) {
        let index = n < freeCount ? Int(freeList[freeCount - 1 - n]) : neverUsed + n - freeCount
        guard index < capacity else { return }
        let base = UnsafeRawPointer(sessions + index)
        privet_prefetch_for_write(base)
        privet_prefetch_for_write(base + 64)
        privet_prefetch_for_write(base + 128)
    }

    /// From here on, `changedSinceLookups` tells which lookups an insert or a removal may undo.
    @inline(__always)
    public func startLookups() {
        guard changedAny else { return }
        changed.update(repeating: 0, count: 64)
        changedAny = false
    }

    /// Whether a key of `hash` may have been inserted or removed since `startLookups`.
    @inline(__always)
    public func changedSinceLookups(_ hash: UInt64) -> Bool {
        guard changedAny else { return false }
        let bit = Int(truncatingIfNeeded: hash >> 36) & 4095
        return changed[bit >> 6] & (1 << UInt64(bit & 63)) != 0
    }

    @inline(__always)
    private func noteChange(_ hash: UInt64) {
        let bit = Int(truncatingIfNeeded: hash >> 36) & 4095
        changed[bit >> 6] |= 1 << UInt64(bit & 63)
        changedAny = true
    }

    /// The session holding `key` in either direction, or nil.
    @inline(__always)
    public func lookup(_ key: FlowKey) -> (session: Int, direction: FlowDirection)? {
        lookup(key, hash: key.hash(seed: seed))
    }

    @inline(__always)
    public func lookup(_ key: FlowKey, hash: UInt64) -> (session: Int, direction: FlowDirection)? {
        let signature = FlowTable.signature(hash)
        let (primary, secondary) = candidates(hash)
        if let found = find(key, signature: signature, in: primary) { return found }
        guard overflow(primary).pointee > 0, secondary != primary else { return nil }
        return find(key, signature: signature, in: secondary)
    }

    @inline(__always)
    private func find(_ key: FlowKey, signature: UInt16, in bucket: Int) -> (session: Int, direction: FlowDirection)? {
        // The 8 signatures compared at once (one SIMD compare), then only the matching slots.
        let lanes = UnsafeRawPointer(signatures(bucket)).load(as: SIMD8<UInt16>.self)
        let matches = lanes .== SIMD8<UInt16>(repeating: signature)
        guard any(matches) else { return nil }
        let entries = self.entries(bucket)
        for slot in 0..<FlowTable.slotsPerBucket where matches[slot] {
            let entry = entries[slot]
            let index = Int(entry >> 1)
            let direction: FlowDirection = entry & 1 == 0 ? .forward : .reverse
            if sessions[index].key(direction) == key { return (index, direction) }
        }
        return nil
    }

    // MARK: Insert and remove

    /// Why an insert failed.
    public enum InsertFailure: Error {
        /// Every session is in use.
        case full
        /// Both candidate buckets of a key are full.
        case bucketsFull
    }

    /// Takes a free session for `forward`/`reverse` and indexes both keys. The caller fills in the
    /// rest of the session. The keys must not be in the table already.
    public func insert(forward: FlowKey, reverse: FlowKey) -> Result<Int, InsertFailure> {
        guard freeCount > 0 || neverUsed < capacity else { return .failure(.full) }
        let index = freeCount > 0 ? Int(freeList[freeCount - 1]) : neverUsed
        let forwardHash = forward.hash(seed: seed), reverseHash = reverse.hash(seed: seed)
        // The keys first: making room in a full bucket reads the keys of the entries it moves.
        sessions[index].forward = forward
        sessions[index].reverse = reverse
        guard let forwardSlot = freeSlot(for: forwardHash) else { return .failure(.bucketsFull) }
        place(forwardSlot, entry: UInt32(index) << 1)
        guard let reverseSlot = freeSlot(for: reverseHash) else {
            vacate(forwardSlot)
            return .failure(.bucketsFull)
        }
        place(reverseSlot, entry: UInt32(index) << 1 | 1)
        if freeCount > 0 { freeCount -= 1 } else { neverUsed += 1 }
        count += 1
        noteChange(forwardHash)
        noteChange(reverseHash)
        sessions[index].inUse = true
        return .success(index)
    }

    /// Frees a session and its two slots.
    public func remove(_ index: Int) {
        guard sessions[index].inUse else { return }
        for direction in 0..<2 {
            let hash = sessions[index].key(direction == 0 ? .forward : .reverse).hash(seed: seed)
            noteChange(hash)
            let entry = UInt32(index) << 1 | UInt32(direction)
            // In the primary bucket, nearly always: the secondary is read only when it is not.
            let (primary, secondary) = candidates(hash)
            pass: for pass in 0..<2 {
                let bucket = pass == 0 ? primary : secondary
                let entries = self.entries(bucket)
                let signatures = self.signatures(bucket)
                for slot in 0..<FlowTable.slotsPerBucket where signatures[slot] != 0 && entries[slot] == entry {
                    vacate(Slot(bucket: bucket, slot: slot, signature: 0, primary: primary))
                    break pass
                }
            }
        }
        sessions[index].inUse = false
        freeList[freeCount] = UInt32(index)
        freeCount += 1
        count -= 1
    }

    private struct Slot {
        let bucket: Int
        let slot: Int
        let signature: UInt16
        /// The primary bucket of the key the slot holds or is for.
        let primary: Int
    }

    /// A free slot in the key's primary bucket, or else in its secondary one; when both are
    /// full, one of their entries moves to its own other bucket to make room (one step of cuckoo
    /// displacement, as DPDK's rte_hash does), so that buckets do not fill before sessions do.
    private func freeSlot(for hash: UInt64) -> Slot? {
        let (primary, secondary) = candidates(hash)
        let signature = FlowTable.signature(hash)
        for pass in 0..<2 {
            if let slot = freeSlot(in: pass == 0 ? primary : secondary) {
                return Slot(bucket: pass == 0 ? primary : secondary, slot: slot, signature: signature, primary: primary)
            }
        }
        for pass in 0..<2 {
            let bucket = pass == 0 ? primary : secondary
            if let slot = displaceEntry(from: bucket) {
                return Slot(bucket: bucket, slot: slot, signature: signature, primary: primary)
            }
        }
        return nil
    }

    @inline(__always)
    private func freeSlot(in bucket: Int) -> Int? {
        let free = UnsafeRawPointer(signatures(bucket)).load(as: SIMD8<UInt16>.self) .== SIMD8<UInt16>(repeating: 0)
        for slot in 0..<FlowTable.slotsPerBucket where free[slot] { return slot }
        return nil
    }

    /// Moves an entry of a full `bucket` to its other candidate bucket, where that has room, and
    /// returns the slot it left.
    private func displaceEntry(from bucket: Int) -> Int? {
        let signatures = self.signatures(bucket), entries = self.entries(bucket)
        for slot in 0..<FlowTable.slotsPerBucket {
            let entry = entries[slot]
            let hash = sessions[Int(entry >> 1)].key(entry & 1 == 0 ? .forward : .reverse).hash(seed: seed)
            let (primary, secondary) = candidates(hash)
            let other = bucket == primary ? secondary : primary
            guard other != bucket, let free = freeSlot(in: other) else { continue }
            place(Slot(bucket: other, slot: free, signature: signatures[slot], primary: primary), entry: entry)
            vacate(Slot(bucket: bucket, slot: slot, signature: 0, primary: primary))
            return slot
        }
        return nil
    }

    private func place(_ slot: Slot, entry: UInt32) {
        signatures(slot.bucket)[slot.slot] = slot.signature
        entries(slot.bucket)[slot.slot] = entry
        if slot.bucket != slot.primary { overflow(slot.primary).pointee += 1 }
    }

    private func vacate(_ slot: Slot) {
        signatures(slot.bucket)[slot.slot] = 0
        if slot.bucket != slot.primary { overflow(slot.primary).pointee -= 1 }
    }
}
