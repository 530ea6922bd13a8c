/// Packets waiting to be sent, earliest first (a binary heap; equal times keep their order of
/// arrival, so a simulation with the same seed runs the same way every time).
struct EventQueue {
    struct Event {
        var time: Int64
        var order: Int
        var host: Int
        var bytes: [UInt8]
        /// A connection to open now (its first packet is made when it starts), or -1.
        var connection: Int = -1
    }

    private var heap: [Event] = []
    private var arrivals = 0

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    var earliest: Int64? { heap.first?.time }

    mutating func push(time: Int64, host: Int, bytes: [UInt8], connection: Int = -1) {
        heap.append(Event(time: time, order: arrivals, host: host, bytes: bytes, connection: connection))
        arrivals += 1
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard precedes(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Event? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var first = parent
            if left < heap.count && precedes(heap[left], heap[first]) { first = left }
            if right < heap.count && precedes(heap[right], heap[first]) { first = right }
            guard first != parent else { break }
            heap.swapAt(parent, first)
            parent = first
        }
        return top
    }

    private func precedes(_ a: Event, _ b: Event) -> Bool { (a.time, a.order) < (b.time, b.order) }
}
