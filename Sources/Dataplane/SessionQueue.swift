// Sessions in the order they entered a short-lived state (half-open, closed), so that the oldest
// is found first when it expires or when its room is needed.
//
// Trade-offs, as for the flow table: fixed capacity, allocated once. Entries are never removed
// from the middle: a session that leaves the state (established, ended, its slot reused) leaves
// a stale entry, recognised by the session's start time no longer matching, and dropped when it
// reaches the head or a scan passes it. A push into a full queue hands back the head entry for
// the caller to deal with (end it, or drop it when stale): the queue never grows.

struct SessionQueue {
    /// A session and the start time of the incarnation that was queued.
    struct Entry {
        var session: Int
        var flowStart: Int64
    }

    let capacity: Int
    private let sessions: UnsafeMutablePointer<UInt32>
    private let starts: UnsafeMutablePointer<Int64>
    private var head = 0
    private(set) var count = 0

    /// Touched at once (zeroed), so that no first use of a page faults on the hot path.
    init(capacity: Int) {
        self.capacity = max(capacity, 1)
        sessions = .allocate(capacity: self.capacity)
        starts = .allocate(capacity: self.capacity)
        sessions.initialize(repeating: 0, count: self.capacity)
        starts.initialize(repeating: 0, count: self.capacity)
    }

    /// Frees the storage; the queue is not used afterwards.
    func deallocate() {
        sessions.deallocate()
        starts.deallocate()
    }

    static func bytes(capacity: Int) -> Int { max(capacity, 1) * 12 }

    @inline(__always)
    var first: Entry? { count == 0 ? nil : self[0] }

    /// The entry `offset` places from the head.
    @inline(__always)
    subscript(offset: Int) -> Entry {
        var slot = head + offset
        if slot >= capacity { slot -= capacity }
        return Entry(session: Int(sessions[slot]), flowStart: starts[slot])
    }

    @inline(__always)
    mutating func removeFirst() {
        head += 1
        if head == capacity { head = 0 }
        count -= 1
    }

    /// Appends an entry; when the queue was full, returns the head entry it took out to make
    /// room.
    @inline(__always)
    mutating func push(_ session: Int, flowStart: Int64) -> Entry? {
        var displaced: Entry?
        if count == capacity {
            displaced = self[0]
            removeFirst()
        }
        var slot = head + count
        if slot >= capacity { slot -= capacity }
        sessions[slot] = UInt32(truncatingIfNeeded: session)
        starts[slot] = flowStart
        count += 1
        return displaced
    }
}
