// The dataplane's hot path on the default topology. Every benchmark walks the whole working set
// it names, in a shuffled order (PacketDeck), copies each packet into the batch as a NIC would
// (64 bytes, included in the time), and checks every packet's verdict: what was done with it and
// the egress port it must leave by (so a packet turned into a RST fails the check), and the
// number of new sessions where flows are opened. A benchmark that finds one
// wrong verdict stops the run.

import Benchmark
import Dataplane
import PacketWire
import Topology

/// Built once: 100k connections open through the endpoint, and their data segments both ways.
nonisolated(unsafe) let established = EndpointFlows(sessions: 100_000, flowCapacity: 1 << 18)
nonisolated(unsafe) let establishedDeck = PacketDeck(established.forward + established.replies, seed: 1)
nonisolated(unsafe) let replyDeck = PacketDeck(established.replies, seed: 2)

/// Built once: 10k flows through the GWLB endpoint, and their data segments into the tunnel and
/// back out of it.
nonisolated(unsafe) let tunnelled = TunnelFlows(flows: 10_000)
nonisolated(unsafe) let intoTunnelDeck = PacketDeck(tunnelled.into, seed: 3)
nonisolated(unsafe) let outOfTunnelDeck = PacketDeck(tunnelled.outOf, seed: 4)
nonisolated(unsafe) let tunnelDeck = PacketDeck(tunnelled.into + tunnelled.outOf, seed: 5)

/// The mix's established part: 10k connections' segments both ways, the same in every fresh
/// dataplane the mix opens them in (the NLB's choices and ports are deterministic).
let mixSessions = 10_000
nonisolated(unsafe) let mixDeck: PacketDeck = {
    let flows = EndpointFlows(sessions: mixSessions, flowCapacity: 1 << 15)
    return PacketDeck(flows.forward + flows.replies, seed: 6)
}()

/// SYNs of connections `numbers`, each to be forwarded to its zone's target.
func synDeck(_ numbers: Range<Int>, seed: UInt64) -> PacketDeck {
    let reference = EndpointFlows(sessions: 2, flowCapacity: 16)
    return PacketDeck(numbers.map { number in
        let (bytes, port) = EndpointFlows.syn(number)
        return (bytes, port, reference.forward[number % 2].expected)
    }, seed: seed)
}

/// New connections after the mix's established ones (numbers no established flow has), and the
/// thousand of the new-flow benchmark.
nonisolated(unsafe) let mixSYNs = synDeck(mixSessions..<(mixSessions + 100), seed: 7)
nonisolated(unsafe) let newFlowSYNs = synDeck(0..<1000, seed: 8)

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        timeUnits: .nanoseconds,
        maxDuration: .seconds(3),
        maxIterations: 1000,
        // A regression: any malloc on the hot path, or a median 30% slower than the thresholds
        // kept in Thresholds/ (the machine is shared and noisy).
        thresholds: [.mallocCountTotal: .init(absolute: [.p0: 0, .p50: 0, .p100: 0]),
                     .wallClock: .init(relative: [.p50: 30.0])]
    )

    // Each sample sends about a million packets (3906 batches of 256); the time is per packet.
    Benchmark("Established flows: consumer -> endpoint -> NLB -> target and back, 64-byte TCP, 100k sessions",
              configuration: .init(scalingFactor: .mega)) { benchmark in
        for _ in 0..<(benchmark.scaledIterations.count / PacketBatch.capacity) { established.harness.run(establishedDeck) }
        precondition(established.harness.mismatches == 0, "every packet forwarded where its flow goes")
    }

    // The same established path with the flows split between two workers, each a dataplane of
    // its own on its own thread (ShardedWorkers.swift): the time is per packet of both together,
    // against the one-worker benchmark above.
    Benchmark("Established flows, 2 workers each owning a shard (50k sessions each), no handoff",
              configuration: .init(scalingFactor: .mega)) { benchmark in
        let batches = benchmark.scaledIterations.count / PacketBatch.capacity
        secondWorker.begin(batches / 2)
        for _ in 0..<(batches - batches / 2) { shardFlows[0].harness.run(shardDecks[0]) }
        let mismatches = secondWorker.end()
        precondition(mismatches == 0 && shardFlows[0].harness.mismatches == 0, "every packet forwarded where its flow goes")
    }

    Benchmark("Reply direction only: target -> NLB node -> endpoint -> consumer, 64-byte TCP, 100k sessions",
              configuration: .init(scalingFactor: .mega)) { benchmark in
        for _ in 0..<(benchmark.scaledIterations.count / PacketBatch.capacity) { established.harness.run(replyDeck) }
        precondition(established.harness.mismatches == 0, "every reply forwarded to its consumer")
    }

    // The GWLB endpoint's tunnel, on the same hot path: encapsulation (68 bytes of outer IPv4,
    // UDP and GENEVE with AWS's options, written in front of the packet), decapsulation (the
    // options and cookie checked against the flow's), and the two mixed.
    Benchmark("GWLB tunnel: into it (encapsulate), 64-byte TCP both directions, 10k flows",
              configuration: .init(scalingFactor: .mega)) { benchmark in
        for _ in 0..<(benchmark.scaledIterations.count / PacketBatch.capacity) { tunnelled.harness.run(intoTunnelDeck) }
        precondition(tunnelled.harness.mismatches == 0, "every packet tunnelled to its flow's appliance")
    }

    Benchmark("GWLB tunnel: out of it (decapsulate), data segments both directions as the appliance returns them, 10k flows",
              configuration: .init(scalingFactor: .mega)) { benchmark in
        for _ in 0..<(benchmark.scaledIterations.count / PacketBatch.capacity) { tunnelled.harness.run(outOfTunnelDeck) }
        precondition(tunnelled.harness.mismatches == 0, "every return matched and sent on")
    }

    Benchmark("GWLB tunnel: into and out of it, mixed, 10k flows", configuration: .init(scalingFactor: .mega)) { benchmark in
        for _ in 0..<(benchmark.scaledIterations.count / PacketBatch.capacity) { tunnelled.harness.run(tunnelDeck) }
        precondition(tunnelled.harness.mismatches == 0, "every packet where its flow goes")
    }

    // Each sample: a fresh dataplane with 10k connections open, then 1000 packets (4 batches of
    // 250), every tenth the SYN of a connection never seen. The time is per packet.
    Benchmark("Mix: 90% established (10k sessions), 10% new flows", configuration: .init(scalingFactor: .kilo, maxIterations: 100)) {
        benchmark in
        let flows = EndpointFlows(sessions: mixSessions, flowCapacity: 1 << 15)
        benchmark.startMeasurement()
        for _ in 0..<4 { flows.harness.run(mixDeck, count: 250, every: 10, from: mixSYNs) }
        benchmark.stopMeasurement()
        precondition(flows.harness.mismatches == 0 && flows.harness.dataplane.flows.count == mixSessions + 100,
                     "every packet forwarded, 100 new sessions")
    }

    // Each sample opens 1000 connections (4 batches of 250) in a fresh dataplane: security
    // groups, the NLB's choice (Maglev), a NAT port, two flow-table entries, the translation.
    // The time is per new flow.
    Benchmark("New flows through the endpoint", configuration: .init(scalingFactor: .kilo, maxIterations: 200)) { benchmark in
        let flows = EndpointFlows(sessions: 0, flowCapacity: 1 << 12)
        benchmark.startMeasurement()
        for _ in 0..<4 { flows.harness.run(newFlowSYNs, count: 250) }
        benchmark.stopMeasurement()
        precondition(flows.harness.mismatches == 0 && flows.harness.dataplane.flows.count == 1000,
                     "every SYN forwarded, 1000 new sessions")
    }

    Benchmark("Flow table lookup, 1M sessions, hit", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for index in 0..<benchmark.scaledIterations.count {
            blackHole(lookupTable.lookup(lookupOrder[index % lookupOrder.count]))
        }
    }

    Benchmark("Flow table lookup, 1M sessions, miss", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for index in 0..<benchmark.scaledIterations.count {
            var key = lookupOrder[index % lookupOrder.count]
            key.destinationPort = 81
            blackHole(lookupTable.lookup(key))
        }
    }

    // Measured, not computed: the process's resident memory before a dataplane of 1M sessions
    // is made and after 1M flows are open in it.
    Benchmark("Memory: a dataplane with 1M sessions open",
              configuration: .init(metrics: [.custom("resident MiB", useScalingFactor: false)], maxIterations: 1,
                                   thresholds: [:])) { benchmark in
        benchmark.measurement(.custom("resident MiB", useScalingFactor: false), residentBytesOfOpenSessions(1_000_000) >> 20)
    }
}

/// 1M flows in a flow table, and the order the lookups take them in: shuffled, so that neither
/// the buckets nor the sessions come up in the order they were filled.
nonisolated(unsafe) let lookupKeys: [FlowKey] = (0..<1_000_000).map { index in
    FlowKey(source: IPv4Address(UInt32(0x0A00_0000 + index)), destination: IPv4Address(0x0A01_0001),
            sourcePort: UInt16(truncatingIfNeeded: index &* 7919), destinationPort: 80, proto: .tcp)
}

nonisolated(unsafe) let lookupOrder = lookupKeys.shuffled(seed: 9)

nonisolated(unsafe) let lookupTable: FlowTable = {
    let table = FlowTable(capacity: 1_000_000, seed: 7)
    for key in lookupKeys { _ = table.insert(forward: key, reverse: key.reversed) }
    return table
}()
