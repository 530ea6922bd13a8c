import Dataplane
import Foundation
import PacketIO
import Synchronization
import Topology

/// One forwarding thread of `up --workers N` (docs/ARCHITECTURE.md, "Several workers on one
/// machine"): a dataplane of its own owning a shard of the flows (Sharding.swift), a queue of
/// every host's TUN device, and a ring from each other worker for packets that reached it but
/// are not its own. Nothing of it is touched by another worker while it forwards; worker 0 runs
/// the health checker, the flow log's timing and the control (reloads, questions), with the
/// others parked (`WorkerGate`).
final class ForwardingWorker: @unchecked Sendable {
    let index: Int
    let dataplane: Dataplane
    /// Per plumbing index, this worker's queue of that host's device.
    let devices: [TUNDevice]
    let poller: EventPoll
    /// Bumped by a worker that handed this one packets, or by the control, to end a wait.
    let wake: WakeSignal
    /// Per worker, the ring of packets it hands this one (nil for itself).
    var inbound: [HandoffRing?] = []
    var resolver: VPCResolver
    /// Into a tunnel, super-datagrams (UDP segmentation offload) until the kernel refuses one.
    var udpSegmentationOffload: Bool

    // What this worker counted (LiveNetwork sums them).
    var unroutable: UInt64 = 0
    var badOffloads: UInt64 = 0
    var queueFull: UInt64 = 0
    var deviceErrors: UInt64 = 0
    var lastDeviceError: IOError?
    var tunnelSegmentations: UInt64 = 0
    var tunnelSegments: UInt64 = 0
    var tunnelSuperDatagrams: UInt64 = 0
    var tunnelMerges: UInt64 = 0
    var superDatagramsRead: UInt64 = 0
    var batchSizes = [UInt64](repeating: 0, count: 9)
    var batchedPackets: UInt64 = 0
    /// Packets read here that another worker owns, handed to it; and those its full ring refused.
    var handedOff: UInt64 = 0
    var handoffRingFull: UInt64 = 0
    /// Packets other workers handed here.
    var handedIn: UInt64 = 0
    /// Plumbing indices whose device failed a read here.
    var lost: Set<Int> = []

    /// The token `poller` names the wake signal by (plumbing indices are the others).
    static let wakeToken = UInt64.max

    init(index: Int, dataplane: Dataplane, devices: [TUNDevice], resolver: VPCResolver, udpSegmentationOffload: Bool) throws(IOError) {
        self.index = index
        self.dataplane = dataplane
        self.devices = devices
        self.resolver = resolver
        self.udpSegmentationOffload = udpSegmentationOffload
        poller = try EventPoll()
        wake = try WakeSignal()
        for (plumbing, device) in devices.enumerated() { try poller.watch(device.descriptor, token: UInt64(plumbing)) }
        try poller.watch(wake.descriptor, token: ForwardingWorker.wakeToken)
    }
}

/// How worker 0 gets the others to stand still between their batches, so that a reload, the
/// health checker's verdicts or a question reach every dataplane at once and none is half
/// applied; and how they all stop. The others look at one atomic flag a batch: no lock on the
/// way of packets.
final class WorkerGate: @unchecked Sendable {
    private let requested = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    private let condition = NSCondition()
    private var parked = 0
    private var finished = 0
    let others: Int

    init(workers: Int) { others = workers - 1 }

    /// Whether worker 0 asks the others to park (read by them once a batch).
    @inline(__always) var isRequested: Bool { requested.load(ordering: .acquiring) }
    @inline(__always) var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// Worker 0: returns once every other worker is parked (or has stopped).
    func pauseOthers(_ wake: (Int) -> Void) {
        guard others > 0 else { return }
        requested.store(true, ordering: .releasing)
        for worker in 1...others { wake(worker) }
        condition.lock()
        while parked + finished < others { condition.wait() }
        condition.unlock()
    }

    /// Worker 0: lets the others go on.
    func resume() {
        guard others > 0 else { return }
        condition.lock()
        requested.store(false, ordering: .releasing)
        condition.broadcast()
        condition.unlock()
    }

    /// Another worker: waits while worker 0 works on every dataplane.
    func park() {
        condition.lock()
        parked += 1
        condition.broadcast()
        while requested.load(ordering: .acquiring) { condition.wait() }
        parked -= 1
        condition.unlock()
    }

    /// Worker 0, when forwarding stops: the others return at their next batch.
    func stopAll(_ wake: (Int) -> Void) {
        stopping.store(true, ordering: .releasing)
        for worker in 0...others { wake(worker) }
    }

    /// A worker that returned.
    func finish() {
        condition.lock()
        finished += 1
        condition.broadcast()
        condition.unlock()
    }
}
