import Dispatch
import Foundation

// Workers that each own a shard of the flows (issue 15): a dataplane of their own each, with the
// sessions of their shard, on threads of their own, sharing nothing. The second worker is a
// thread made once and woken for each sample, so that a sample allocates nothing. No packet is
// handed from one worker to another here: live forwarding with workers does not exist yet to
// measure how many would be, so this is the ceiling that sharding gives the established path.

/// One worker's thread, running a deck on its own dataplane when told to.
final class ShardWorker: @unchecked Sendable {
    private let flows: EndpointFlows
    private let deck: PacketDeck
    private let start = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private var batches = 0

    init(flows: EndpointFlows, deck: PacketDeck) {
        self.flows = flows
        self.deck = deck
        let thread = Thread { [self] in
            while true {
                start.wait()
                for _ in 0..<batches { self.flows.harness.run(self.deck) }
                finished.signal()
            }
        }
        thread.name = "shard-worker"
        thread.start()
    }

    /// Starts `count` batches on the worker's thread.
    func begin(_ count: Int) {
        batches = count
        start.signal()
    }

    /// Waits for them; the number of wrong verdicts so far.
    func end() -> Int {
        finished.wait()
        return flows.harness.mismatches
    }
}

/// Two shards of 50k connections each (the 100k of the one-worker benchmark, halved), each
/// with its deck of both directions; the first runs on the benchmark's thread.
nonisolated(unsafe) let shardFlows = [EndpointFlows(sessions: 50_000, flowCapacity: 1 << 17),
                                      EndpointFlows(sessions: 50_000, flowCapacity: 1 << 17)]
nonisolated(unsafe) let shardDecks = shardFlows.enumerated().map { PacketDeck($0.element.forward + $0.element.replies, seed: 20 + UInt64($0.offset)) }
nonisolated(unsafe) let secondWorker = ShardWorker(flows: shardFlows[1], deck: shardDecks[1])
