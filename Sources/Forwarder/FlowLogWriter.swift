import Dataplane
import PacketWire

/// A VPC Flow Logs file (version 2, AWS's header line first), written alike by replay and by a
/// live `up --flow-log`: the dataplane's ACCEPT records as they come, and REJECT records made
/// here from the packets the fabric refused, one per ENI, flow and aggregation interval, as VPC
/// Flow Logs aggregate them.
final class FlowLogWriter {
    private struct RejectKey: Hashable {
        var interface: Int
        var sourceHigh: UInt64
        var sourceLow: UInt64
        var destinationHigh: UInt64
        var destinationLow: UInt64
        var ports: UInt32
        var proto: UInt8
        var interval: Int64
    }

    private let file: TextFile
    private let interval: Int64
    /// Added to the dataplane's times to give Unix time: 0 for a replay (a capture's times are
    /// Unix times), the wall clock's lead on the monotonic clock live.
    private let clockOffset: Int64
    /// Each ENI's account and ID as written, made once per set of tables.
    private var names: [(account: [UInt8], id: [UInt8])] = []
    private var rejects: [RejectKey: (packets: UInt64, bytes: UInt64, start: Int64, end: Int64)] = [:]
    /// The refused flows in the order they were first refused: the order their records take.
    private var rejectOrder: [RejectKey] = []
    /// Records written so far.
    private(set) var written: UInt64 = 0

    init(path: String, interval: Int64, clockOffset: Int64 = 0) throws(ForwarderError) {
        file = try TextFile(path: path)
        self.interval = interval
        self.clockOffset = clockOffset
        file.write("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n")
    }

    /// A record of the dataplane's (a session's interval), at once.
    func write(_ record: FlowRecord, interfaces: [ForwardingTables.Interface]) {
        if names.count != interfaces.count { names = interfaces.map { (Array($0.accountID.utf8), Array($0.id.utf8)) } }
        var record = record
        record.start &+= clockOffset
        record.end &+= clockOffset
        file.write(record: record, interface: names[record.interface])
        written += 1
    }

    /// A packet of `bytes` refused at ENI `interface`, of `flow` as that ENI saw it, at `time`.
    func reject(interface: Int, flow: FlowKey, bytes: Int, time: Int64) {
        let key = RejectKey(interface: interface, sourceHigh: flow.sourceHigh, sourceLow: flow.sourceLow,
                            destinationHigh: flow.destinationHigh, destinationLow: flow.destinationLow,
                            ports: UInt32(flow.sourcePort) << 16 | UInt32(flow.destinationPort), proto: flow.proto,
                            interval: time / interval)
        if var entry = rejects[key] {
            entry.packets += 1
            entry.bytes += UInt64(bytes)
            entry.end = time
            rejects[key] = entry
        } else {
            rejects[key] = (1, UInt64(bytes), time, time)
            rejectOrder.append(key)
        }
    }

    /// Writes the REJECT records of the intervals that ended before `time` (all of them when
    /// nil, at the end), in the order their flows were first refused.
    func writeRejects(endedBefore time: Int64?, interfaces: [ForwardingTables.Interface]) {
        var kept: [RejectKey] = []
        for key in rejectOrder {
            guard let entry = rejects[key] else { continue }
            if let time, (key.interval + 1) * interval > time {
                kept.append(key)
                continue
            }
            let flow = FlowKey(source: IPv6Address(high: key.sourceHigh, low: key.sourceLow),
                               destination: IPv6Address(high: key.destinationHigh, low: key.destinationLow),
                               sourcePort: UInt16(key.ports >> 16), destinationPort: UInt16(key.ports & 0xFFFF),
                               proto: IPProtocol(rawValue: key.proto))
            write(FlowRecord(interface: key.interface, key: flow, packets: entry.packets, bytes: entry.bytes,
                             start: entry.start, end: entry.end, accepted: false), interfaces: interfaces)
            rejects[key] = nil
        }
        rejectOrder = kept
    }

    /// What is buffered, to the file (a live log is read while it grows).
    func flush() { file.flush() }

    func close() throws(ForwarderError) { try file.close() }
}
