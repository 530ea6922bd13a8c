import Dataplane
import Foundation
import PacketIO
import PacketWire
import Topology

// A worker's loop: between batches, the control (worker 0) or parking for it (the others); then
// a batch of what other workers handed over and what its queues of the devices hold, a packet
// another worker owns handed on to it; the dataplane; and each packet out of the device its
// verdict names, through this worker's own queue, so that the kernel steers the flow's next
// packets back to this worker.

extension LiveNetwork {
    /// Where a port's packets go once the dataplane is done with them.
    enum Output {
        /// A host's TUN device (by plumbing index).
        case device(Int)
        /// An outside network: the outside host that owns the destination.
        case outside
        case resolver(vpc: Int)
        case healthChecks
    }

    func forward(on worker: ForwardingWorker) {
        let dataplane = worker.dataplane, plumbing = self.plumbing, devices = worker.devices
        let leader = worker.index == 0
        // One slot per packet of the batch, with headroom in front (the dataplane may grow a
        // packet's headers in place).
        let headroom = LiveNetwork.headroom, slot = 65536 + headroom
        let pool = UnsafeMutableRawPointer.allocate(byteCount: PacketBatch.capacity * slot, alignment: 64)
        defer { pool.deallocate() }
        // Where a super-packet's segments are built, one at a time, on their way into a tunnel;
        // and where segments out of one are merged again.
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: slot, alignment: 64)
        defer { scratch.deallocate() }
        // Where a super-datagram into a tunnel is gathered (at most 64 KiB).
        let staging = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 64)
        defer { staging.deallocate() }
        var coalescer = SegmentCoalescer(capacity: 65536)
        defer { coalescer.deallocate() }
        // A UDP super-datagram read from a device, cut into its datagrams as the batches take
        // them; where it came from.
        var splitter = DatagramSplitter()
        defer { splitter.deallocate() }
        var splitting = (port: 0, sender: 0)
        let batch = PacketBatch()
        var senders = [Int](repeating: -1, count: PacketBatch.capacity)
        var outputs = outputs(dataplane.tables)
        var healthPort = dataplane.tables.ports.firstIndex { $0.kind == .healthChecks }
        var generation = tablesGeneration
        // The thread's own copy: `reload` replaces `topology` on another thread.
        lock.lock()
        var current = topology
        lock.unlock()
        if leader { checker = HealthChecker(topology: current, tables: dataplane.tables, now: LiveNetwork.monotonic(), workers: workerCount) }
        var probes: [[UInt8]] = []
        let ledger = OffloadLedger(capacity: PacketBatch.capacity)
        // Per worker: packets handed to it in this batch (it is woken once for them all); and
        // per ring into this worker, the slots this batch took from it.
        var handedTo = [Int](repeating: 0, count: workerCount)
        var takenFrom = [Int](repeating: 0, count: workerCount)
        defer {
            if leader { gate.stopAll { workers[$0].wake.signal() } }
        }

        func add(_ bytes: UnsafeRawBufferPointer, port: Int, sender: Int) {
            let start = pool + batch.count * slot + headroom
            start.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
            senders[batch.count] = sender
            ledger.madeHere(batch.count)
            batch.append(start, length: bytes.count, capacity: slot - headroom, ingressPort: port, headroom: headroom)
        }
        func failed(_ error: IOError) {
            worker.deviceErrors &+= 1
            worker.lastDeviceError = error
        }
        func send(_ bytes: UnsafeRawBufferPointer, to device: TUNDevice, header: UnsafePointer<VirtioNetHeader>? = nil) {
            do throws(IOError) {
                if try !device.write(bytes, header: header) { worker.queueFull &+= 1 }
            } catch { failed(error) }
        }
        func writeMerged(_ writer: Int, _ bytes: UnsafeRawBufferPointer, _ header: VirtioNetHeader?) {
            if var header {
                withUnsafePointer(to: &header) { send(bytes, to: devices[writer], header: $0) }
                worker.tunnelMerges &+= 1
            } else {
                send(bytes, to: devices[writer])
            }
        }
        /// A health change of worker 0's batch, for every worker before the next.
        func found(_ change: HealthChecker.Change) { healthChanges.append(change) }
        /// A packet read into the batch's next slot: to the worker that owns its flow, as it
        /// came (offload header and all), or into the batch.
        func admit(_ packet: UnsafeMutableRawBufferPointer, header: VirtioNetHeader, port: Int, sender: Int) {
            if workerCount > 1 {
                let owner = Shard.owner(of: UnsafeRawBufferPointer(packet), workers: workerCount)
                if owner != worker.index {
                    let entry = HandoffRing.Entry(length: packet.count, port: port, sender: sender, header: header)
                    if workers[owner].inbound[worker.index]!.push(UnsafeRawBufferPointer(packet), entry) {
                        worker.handedOff &+= 1
                        handedTo[owner] += 1
                    } else {
                        worker.handoffRingFull &+= 1
                    }
                    return
                }
            }
            guard let segmentLength = ledger.arrived(batch.count, header: header, packet: packet) else {
                worker.badOffloads &+= 1
                return
            }
            senders[batch.count] = sender
            batch.append(packet.baseAddress!, length: packet.count, capacity: slot - headroom, ingressPort: port,
                         segmentLength: segmentLength, headroom: headroom)
        }
        /// The datagrams of the super-datagram being split, while the batch has room.
        func admitSplitDatagrams() {
            guard !splitter.isEmpty else { return }
            let header = splitter.datagramHeader
            while !batch.isFull {
                let start = pool + batch.count * slot + headroom
                guard let length = splitter.next(into: start) else { return }
                admit(UnsafeMutableRawBufferPointer(start: start, count: length), header: header,
                      port: splitting.port, sender: splitting.sender)
            }
        }

        while true {
            if leader {
                lock.lock()
                let keepGoing = running
                let reloaded = pendingTopology, reloadedSpec = pendingSpec
                pendingTopology = nil
                pendingSpec = nil
                let questions = pendingQuestions
                pendingQuestions.removeAll()
                lock.unlock()
                guard keepGoing else { return }
                for change in checker.poll(now: LiveNetwork.monotonic(), send: { probes.append($0) }) { found(change) }
                if reloaded != nil || !questions.isEmpty || !healthChanges.isEmpty {
                    // Every other worker parked between its batches: what follows reaches all.
                    gate.pauseOthers { workers[$0].wake.signal() }
                    if let reloaded {
                        current = reloaded
                        currentSpec = reloadedSpec
                        let tables = reloaded.forwardingTables()
                        for other in workers {
                            // Records of the old tables are written under the old ENI names.
                            writeFlowLog(other.dataplane, now: LiveNetwork.monotonic(), final: false)
                            other.dataplane.replaceTables(tables)
                            other.resolver = VPCResolver(reloaded)
                        }
                        flowLog?.use(reloaded)
                        tablesGeneration += 1
                        checker = HealthChecker(topology: reloaded, tables: dataplane.tables, now: LiveNetwork.monotonic(),
                                                workers: workerCount, carrying: checker)
                    }
                    for change in healthChanges {
                        for other in workers { other.dataplane.setTargetHealth(change.targetIndex, healthy: change.healthy) }
                        log(change.healthy ? .info : .warning,
                            "target \(change.target) is \(change.healthy ? "healthy" : "unhealthy"): \(change.reason)")
                    }
                    healthChanges.removeAll()
                    for question in questions { question(self, current, LiveNetwork.monotonic()) }
                    gate.resume()
                }
            } else {
                if gate.isStopping { return }
                if gate.isRequested { gate.park() }
            }
            if generation != tablesGeneration {
                // A reload while this worker was parked (or worker 0's own).
                generation = tablesGeneration
                outputs = self.outputs(dataplane.tables)
                healthPort = dataplane.tables.ports.firstIndex { $0.kind == .healthChecks }
            }

            let handedIn = worker.inbound.reduce(0) { $0 + ($1?.waiting ?? 0) }
            let ready: Int
            let idle = probes.isEmpty && handedIn == 0 && splitter.isEmpty
            do { ready = try worker.poller.wait(milliseconds: idle ? 20 : 0) } catch {
                // Only a broken poller fails here (EBADF, EINVAL); say so once and stop.
                log(.error, "forwarding stopped: \(error)")
                stoppedByItself?("the poller failed: \(error)")
                return
            }
            batch.removeAll()
            if leader, let healthPort {
                for probe in probes where !batch.isFull { probe.withUnsafeBytes { add($0, port: healthPort, sender: -1) } }
            }
            probes.removeAll(keepingCapacity: true)
            // What other workers handed over, where it lies in their rings.
            for (from, ring) in worker.inbound.enumerated() {
                guard let ring else { continue }
                var taken = 0
                while taken < ring.waiting && !batch.isFull {
                    let (start, entry) = ring.peek(taken)
                    taken += 1
                    let packet = UnsafeMutableRawBufferPointer(start: start, count: entry.length)
                    guard let segmentLength = ledger.arrived(batch.count, header: entry.header, packet: packet) else {
                        worker.badOffloads &+= 1
                        continue
                    }
                    senders[batch.count] = entry.sender
                    batch.append(start, length: entry.length, capacity: ring.packetCapacity, ingressPort: entry.port,
                                 segmentLength: segmentLength, headroom: ring.headroom)
                }
                takenFrom[from] = taken
                worker.handedIn &+= UInt64(taken)
            }
            // The rest of a super-datagram the last batch had no room for, before anything newer.
            admitSplitDatagrams()
            for event in 0..<ready {
                let token = worker.poller.token(event)
                if token == ForwardingWorker.wakeToken {
                    worker.wake.clear()
                    continue
                }
                let index = Int(token)
                let device = devices[index], hostPort = plumbing[index].port
                // Up to 32 packets from one device at a time, so that no device starves the rest.
                var taken = 0
                while taken < 32 && !batch.isFull {
                    let start = pool + batch.count * slot + headroom
                    // With offloads the virtio header lands in the headroom, just before the packet.
                    let front = device.offloads ? VirtioNetHeader.size : 0
                    let buffer = UnsafeMutableRawBufferPointer(start: start - front, count: slot - headroom + front)
                    let read: Int
                    do {
                        guard let count = try device.read(into: buffer), count > front else { break }
                        read = count
                    } catch {
                        // A TUN device fails a read only when it is gone (EBADFD once its
                        // namespace is removed): polling it again would spin on the same error.
                        failed(error)
                        try? worker.poller.unwatch(device.descriptor)
                        worker.lost.insert(index)
                        // Every worker's queue fails alike; worker 0 tells.
                        guard leader else { break }
                        let host = current.hosts[index].name
                        lostHosts.append(host)
                        log(.warning, "host \(host): its device failed (\(error)), its namespace removed under `up`? Forwarding goes on without it")
                        if worker.lost.count == plumbing.count {
                            log(.error, "every host's device is gone: forwarding stops")
                            stoppedByItself?("every host's device is gone")
                            return
                        }
                        break
                    }
                    taken += 1
                    let packet = UnsafeMutableRawBufferPointer(start: start, count: read - front)
                    let header = front > 0 ? (start - front).loadUnaligned(as: VirtioNetHeader.self) : VirtioNetHeader()
                    guard let port = hostPort ?? dataplane.tables.ingressPort(ofPacket: packet) else {
                        worker.unroutable &+= 1
                        continue
                    }
                    if DatagramSplitter.isSuperDatagram(header) {
                        // Many datagrams in one read (an appliance's UDP_SEGMENT answer): each
                        // on its own, into this batch's slots and, if it fills, the next's.
                        guard splitter.load(UnsafeRawBufferPointer(packet), header: header) else {
                            worker.badOffloads &+= 1
                            continue
                        }
                        worker.superDatagramsRead &+= 1
                        splitting = (port, index)
                        admitSplitDatagrams()
                        continue
                    }
                    admit(packet, header: header, port: port, sender: index)
                }
            }
            for owner in handedTo.indices where handedTo[owner] > 0 {
                workers[owner].wake.signal()
                handedTo[owner] = 0
            }
            guard batch.count > 0 else {
                releaseHandedIn(worker, &takenFrom)
                // No packets: the timer's tick still ends the sessions whose time is up.
                dataplane.expire(now: LiveNetwork.monotonic())
                writeFlowLog(dataplane, now: LiveNetwork.monotonic(), final: false)
                continue
            }
            dataplane.process(batch, now: LiveNetwork.monotonic())
            worker.batchSizes[min(8, Int.bitWidth - (batch.count - 1).leadingZeroBitCount)] &+= 1
            worker.batchedPackets &+= UInt64(batch.count)
            logRejects(of: batch)
            writeFlowLog(dataplane, now: LiveNetwork.monotonic(), final: false)
            for index in 0..<batch.count {
                let verdict = batch.verdicts[index]
                guard let port = verdict.port else {
                    // A probe the fabric refused fails now, saying who refused it, not a timeout later.
                    if leader, verdict.isDropped, batch.ingressPorts[index] == healthPort,
                       let change = checker.refused(batch.bytes(index), by: current.refuser(of: verdict) ?? "the fabric",
                                                    reason: verdict.dropReason) {
                        found(change)
                    }
                    continue
                }
                let packet = batch.bytes(index)
                let device = self.device(for: outputs[port], verdict)
                // Out of a tunnel to a device that takes super-packets: merged with the segments
                // around it where they make one; anything else goes out after the run before it.
                if verdict.action == .decapsulated, let device, devices[device].offloads {
                    if coalescer.add(UnsafeRawBufferPointer(packet), writer: device) { continue }
                    coalescer.flush(writeMerged)
                    if coalescer.add(UnsafeRawBufferPointer(packet), writer: device) { continue }
                } else {
                    coalescer.flush(writeMerged)
                }
                switch verdict.action {
                case .dropped:
                    continue
                case .toResolver:
                    guard senders[index] >= 0, case .resolver(let vpc) = outputs[port],
                          let reply = worker.resolver.answer(packet, vpc: vpc) else { continue }
                    reply.withUnsafeBytes { send($0, to: devices[senders[index]]) }
                case .toHealthChecker:
                    // Probes leave from ports whose replies worker 0 owns.
                    guard leader else { continue }
                    if let change = checker.receive(packet, send: { probes.append($0) }) { found(change) }
                case .encapsulated:
                    // Into a tunnel: the offloads the inner packet came with are done here.
                    guard let device else { continue }
                    let arrived = ledger.header(index)
                    if arrived.isSegmented {
                        let writer = devices[device]
                        let count: Int
                        if worker.udpSegmentationOffload && writer.offloads {
                            count = TunnelOffload.segmentForUDPOffload(packet, outerLength: GWLBTunnel.overhead, header: arrived,
                                                                       scratch: scratch, staging: staging) { datagram, offload in
                                guard var offload else { return send(datagram, to: writer) }
                                do throws(IOError) {
                                    let written = try withUnsafePointer(to: &offload) { header throws(IOError) in try writer.write(datagram, header: header) }
                                    if written { worker.tunnelSuperDatagrams &+= 1 } else { worker.queueFull &+= 1 }
                                } catch {
                                    // The kernel refused the offload: one datagram a write from
                                    // now on (these segments are lost; TCP sends them again).
                                    failed(error)
                                    worker.udpSegmentationOffload = false
                                    log(.warning, "the kernel refused UDP segmentation offload on a GWLB tunnel (\(error)); one datagram a write from now on")
                                }
                            }
                        } else {
                            count = TunnelOffload.segment(packet, outerLength: GWLBTunnel.overhead, header: arrived,
                                                          scratch: scratch) { segment in
                                send(segment, to: writer)
                            }
                        }
                        worker.tunnelSegmentations &+= 1
                        worker.tunnelSegments &+= UInt64(count)
                        continue
                    }
                    if arrived.needsChecksum { TunnelOffload.completeChecksum(packet, outerLength: GWLBTunnel.overhead, header: arrived) }
                    send(UnsafeRawBufferPointer(packet), to: devices[device])
                case .replied, .decapsulated, .forwarded:
                    guard let device else {
                        worker.unroutable &+= 1
                        continue
                    }
                    // A reply the dataplane wrote (a RST) is complete in itself, with no offload
                    // header; so is a packet out of a tunnel (the appliance sent it whole).
                    let header = verdict.action == .forwarded ? ledger.departing(index, packet: packet) : nil
                    send(UnsafeRawBufferPointer(packet), to: devices[device], header: header)
                }
            }
            coalescer.flush(writeMerged)
            releaseHandedIn(worker, &takenFrom)
        }
    }

    /// Gives the ring slots this batch worked on back to the workers that handed them over.
    private func releaseHandedIn(_ worker: ForwardingWorker, _ takenFrom: inout [Int]) {
        for from in takenFrom.indices where takenFrom[from] > 0 {
            worker.inbound[from]!.release(takenFrom[from])
            takenFrom[from] = 0
        }
    }

    /// The device a packet with this verdict leaves by: a VPC host's, or the outside host's the
    /// dataplane found beyond an outside network's port.
    @inline(__always)
    private func device(for output: Output, _ verdict: Verdict) -> Int? {
        switch output {
        case .device(let writer): return writer
        case .outside: return verdict.outsideHost.flatMap { plumbingOfOutsideHost[$0] }
        case .resolver, .healthChecks: return nil
        }
    }
}
