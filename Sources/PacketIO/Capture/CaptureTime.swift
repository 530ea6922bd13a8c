/// When a capture says a packet was taken: seconds since the Unix epoch and nanoseconds, read
/// without arithmetic that can trap, whatever the file holds.
///
/// A classic pcap record's seconds field is an unsigned 32-bit number (draft-ietf-opsawg-pcap
/// §5: good until 2106), which libpcap hands over as a signed one, negative from 2038-01-19 on;
/// a pcapng timestamp is an unsigned 64-bit count of the interface's units (RFC draft
/// draft-ietf-opsawg-pcapng §4.3), which libpcap divides into seconds. Both are read back as
/// tshark reads them.
public struct CaptureTime: Equatable, Comparable, Sendable, CustomStringConvertible {
    public let seconds: UInt64
    /// Below one second.
    public let nanoseconds: UInt32

    public init(seconds: UInt64, nanoseconds: UInt32) {
        precondition(nanoseconds < 1_000_000_000)
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// From libpcap's `tv_sec` and `tv_usec` (nanoseconds, with nanosecond precision asked for);
    /// nil for a fraction below zero, or one that carries the seconds past 64 bits.
    public init?(libpcapSeconds: Int, fraction: Int) {
        let seconds: UInt64
        if libpcapSeconds >= 0 {
            seconds = UInt64(libpcapSeconds)
        } else if libpcapSeconds >= Int(Int32.min) {
            // A classic pcap's unsigned 32-bit seconds, read by libpcap as signed.
            seconds = UInt64(UInt32(truncatingIfNeeded: libpcapSeconds))
        } else {
            // A pcapng count of whole seconds past 2^63, divided by libpcap as unsigned.
            seconds = UInt64(bitPattern: Int64(libpcapSeconds))
        }
        guard fraction >= 0 else { return nil }
        // A fraction of a second or more (a file that counts past its unit) carries over.
        let (carried, overflow) = seconds.addingReportingOverflow(UInt64(fraction / 1_000_000_000))
        guard !overflow else { return nil }
        self.seconds = carried
        nanoseconds = UInt32(fraction % 1_000_000_000)
    }

    /// Nanoseconds since the epoch, the clock the dataplane runs on; nil past 2262-04-11
    /// (where 64 signed bits of nanoseconds end).
    public var nanosecondsSinceEpoch: Int64? {
        guard seconds <= UInt64(Int64.max) else { return nil }
        let (whole, overflow) = Int64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return nil }
        let (total, carry) = whole.addingReportingOverflow(Int64(nanoseconds))
        return carry ? nil : total
    }

    /// `SECONDS.NANOSECONDS`, as `tcpdump -tt --nano` and tshark's `frame.time_epoch` print it.
    public var description: String {
        let fraction = String(nanoseconds)
        return "\(seconds)." + String(repeating: "0", count: 9 - fraction.count) + fraction
    }

    public static func < (lhs: CaptureTime, rhs: CaptureTime) -> Bool {
        (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
    }
}
