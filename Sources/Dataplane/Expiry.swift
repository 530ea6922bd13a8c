// When sessions end without a packet to end them, and who gives way when room runs out.
//
// The NLB keeps no half-open connections (docs/aws-behaviour.md §1): a target must answer a new
// connection within 30 s. So a TCP session that has not finished its handshake lives at most the
// handshake window, whatever its idle timeout; a closed one only lingers for its last packets.
// Both kinds wait in a queue in the order they entered the state, and each batch (and each tick
// of a caller's timer when no packets come) ends those whose time is up, oldest first: expiry
// keeps up with any rate of new flows, at a cost per flow, not per table.
//
// Every other session idles out by its own timeout: found by the lookup of its next packet, or
// by the sweep, which visits the whole table once per `sweepPeriod` of the clock, however little
// traffic there is.
//
// When a new flow finds its source-port pool or the flow table full, a session that is closed
// or half-open gives way, the oldest first; an established session never does. So a flood of
// SYNs that are never answered cannot hold the ports or the table against other clients.

extension TCPTrackState {
    /// The handshake has not finished: SYN seen, SYN-ACK or the final ACK still to come.
    @inlinable
    public var isHalfOpen: Bool { self == .synSent || self == .synReceived }
}

extension Dataplane {
    /// Whether the session's time is up at `now`: idle past its timeout, or half-open past the
    /// handshake window.
    @inline(__always)
    func isExpired(_ session: UnsafeMutablePointer<Session>, now: Int64) -> Bool {
        if now &- session.pointee.lastSeen > session.pointee.idleTimeout { return true }
        return session.pointee.tcpState.isHalfOpen && now &- session.pointee.flowStart > configuration.handshakeTimeout
    }

    // MARK: Queues

    /// Queues a session that starts half-open (from a SYN).
    @inline(__always)
    func queueHalfOpen(_ index: Int) {
        if let displaced = halfOpen.push(index, flowStart: flows.sessions[index].flowStart) {
            giveWay(displaced, now: flows.sessions[index].flowStart)
        }
    }

    /// Queues a session that has just closed (both FINs, or a RST).
    @inline(__always)
    func queueClosing(_ index: Int, now: Int64) {
        if let displaced = closing.push(index, flowStart: flows.sessions[index].flowStart) { giveWay(displaced, now: now) }
    }

    /// Whether a queued entry still stands for a session in the queue's state.
    @inline(__always)
    private func isCurrent(_ entry: SessionQueue.Entry, closed: Bool) -> Bool {
        let session = flows.sessions + entry.session
        guard session.pointee.inUse && session.pointee.flowStart == entry.flowStart else { return false }
        return closed ? session.pointee.tcpState == .closed : session.pointee.tcpState.isHalfOpen
    }

    /// An entry pushed out of a full queue: its session, if still in that state, ends now.
    private func giveWay(_ entry: SessionQueue.Entry, now: Int64) {
        let session = flows.sessions + entry.session
        guard session.pointee.inUse && session.pointee.flowStart == entry.flowStart,
              session.pointee.tcpState == .closed || session.pointee.tcpState.isHalfOpen else { return }
        endSession(entry.session, now: now, reason: .evicted)
    }

    // MARK: Expiry

    /// Ends the sessions whose time is up at `now`: the queued half-open and closed ones, then
    /// what the sweep finds. At most `expiryBudget` end in one call; the rest wait for the next.
    /// Called after every batch; a caller with no packets calls it from a timer.
    public func expire(now: Int64) {
        var budget = configuration.expiryBudget
        expireQueue(&halfOpen, closed: false, now: now, budget: &budget)
        expireQueue(&closing, closed: true, now: now, budget: &budget)
        sweep(now: now, budget: &budget)
    }

    /// How many queue entries ahead of its turn a session is asked for; its buckets are asked
    /// for half as many ahead, when its keys have arrived. The sessions a queue ends, long after
    /// their last packet, and their buckets are cold memory.
    static let expiryLookAhead = 8

    private func expireQueue(_ queue: inout SessionQueue, closed: Bool, now: Int64, budget: inout Int) {
        let far = Dataplane.expiryLookAhead, near = far / 2
        var fetching = false
        while budget > 0, let entry = queue.first {
            guard isCurrent(entry, closed: closed) else {
                queue.removeFirst()
                continue
            }
            // The queue is in the order sessions entered the state, so the first one whose
            // time is not up ends the pass.
            guard isExpired(flows.sessions + entry.session, now: now) else { return }
            // Sessions are ending: the memory of those next in line is asked for ahead.
            if !fetching {
                for offset in 1..<min(far, queue.count) { flows.prefetchSession(queue[offset].session) }
                fetching = true
            }
            if far < queue.count { flows.prefetchSession(queue[far].session) }
            if near < queue.count { flows.prefetchBucketsOfSession(queue[near].session) }
            queue.removeFirst()
            endSession(entry.session, now: now, reason: closed ? .closed : .expired)
            budget -= 1
        }
    }

    /// Visits sessions from the sweep cursor, ending those whose time is up: enough of them that
    /// the whole table is visited once per `sweepPeriod` of the clock, and never fewer than
    /// `sweepBudget`.
    /// Only the part of the table ever used is visited: the rest holds no session (and a replay
    /// leaves its pages untouched).
    private func sweep(now: Int64, budget: inout Int) {
        let extent = flows.neverUsed
        let elapsed = lastSweep.map { max(0, now &- $0) } ?? 0
        lastSweep = now
        guard extent > 0 else { return }
        let share = Double(extent) * Double(elapsed) / Double(max(1, configuration.sweepPeriod))
        let visits = min(extent, max(configuration.sweepBudget, share >= Double(extent) ? extent : Int(share)))
        var cursor = flows.sweepCursor < extent ? flows.sweepCursor : 0
        var visited = 0
        while visited < visits && budget > 0 {
            let session = flows.sessions + cursor
            if session.pointee.inUse && isExpired(session, now: now) {
                endSession(cursor, now: now, reason: session.pointee.tcpState == .closed ? .closed : .expired)
                budget -= 1
            }
            cursor += 1
            if cursor == extent { cursor = 0 }
            visited += 1
        }
        flows.sweepCursor = cursor
    }

    // MARK: Giving way

    /// Ends the oldest closed, else the oldest half-open session (holding a port of `pool`, when
    /// given), to make room for a new flow; false when there is none within `evictionScan`
    /// entries of either queue's head.
    func evict(pool: Int?, now: Int64) -> Bool {
        evict(from: &closing, closed: true, pool: pool, now: now) || evict(from: &halfOpen, closed: false, pool: pool, now: now)
    }

    private func evict(from queue: inout SessionQueue, closed: Bool, pool: Int?, now: Int64) -> Bool {
        var offset = 0
        while offset < min(queue.count, configuration.evictionScan) {
            let entry = queue[offset]
            guard isCurrent(entry, closed: closed) else {
                // Stale entries at the head go; further in, they wait their turn.
                if offset == 0 { queue.removeFirst() } else { offset += 1 }
                continue
            }
            if let pool, flows.sessions[entry.session].portPool.index != pool {
                offset += 1
                continue
            }
            if offset == 0 { queue.removeFirst() }
            endSession(entry.session, now: now, reason: .evicted)
            return true
        }
        return false
    }

    /// A source port of `pool`, making room when the pool is full.
    @inline(__always)
    func allocatePort(pool: Int, now: Int64) -> UInt16? {
        if let port = ports.allocate(pool: pool) { return port }
        guard evict(pool: pool, now: now) else { return nil }
        return ports.allocate(pool: pool)
    }

    /// A new session for the two keys, making room when the table is full.
    @inline(__always)
    func insertSession(forward: FlowKey, reverse: FlowKey, now: Int64) -> Int? {
        switch flows.insert(forward: forward, reverse: reverse) {
        case .success(let index):
            return index
        case .failure(.full):
            guard evict(pool: nil, now: now), case .success(let index) = flows.insert(forward: forward, reverse: reverse) else {
                return nil
            }
            return index
        case .failure(.bucketsFull):
            return nil
        }
    }
}
