import Dataplane
import Glibc
import PacketIO
import PacketWire

/// A text file written through a 1 MB buffer that lines are formatted straight into (digits and
/// addresses without building Strings): the flow log of a long replay has millions of fields.
final class TextFile {
    let path: String
    private let file: BackgroundFile
    /// The file's current buffer, and how much of it is filled.
    private var buffer: UnsafeMutablePointer<UInt8>
    private var used = 0
    private var closed = false
    static let capacity = 1 << 20

    init(path: String) throws(ForwarderError) {
        do { file = try BackgroundFile(path: path, capacity: TextFile.capacity) } catch { throw ForwarderError(error) }
        self.path = path
        buffer = file.buffer
    }

    deinit { try? close() }

    /// Makes room for `count` bytes.
    @inline(__always)
    private func reserve(_ count: Int) {
        if used + count > TextFile.capacity { flush() }
    }

    /// What is buffered, to the file (written on another thread; a live log is read while it
    /// grows, so it is handed over every second).
    func flush() {
        file.handOff(count: used)
        buffer = file.buffer
        used = 0
    }

    func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            // Longer than a buffer: in buffer-sized pieces.
            var offset = 0
            while offset < bytes.count {
                let piece = min(bytes.count - offset, TextFile.capacity)
                reserve(piece)
                (buffer + used).update(from: bytes.baseAddress! + offset, count: piece)
                used += piece
                offset += piece
            }
        }
    }

    /// One CSV field (RFC 4180 §2): as it is, or in double quotes with its quotes doubled when it
    /// holds a comma, a quote or a line break, so that no value can split a record.
    func write(csvField text: String) {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }) else {
            write(text)
            return
        }
        write(byte: UInt8(ascii: "\""))
        for byte in text.utf8 {
            if byte == UInt8(ascii: "\"") { write(byte: byte) }
            write(byte: byte)
        }
        write(byte: UInt8(ascii: "\""))
    }

    func write(bytes: [UInt8]) {
        reserve(bytes.count)
        bytes.withUnsafeBufferPointer { (buffer + used).update(from: $0.baseAddress!, count: $0.count) }
        used += bytes.count
    }

    @inline(__always)
    func write(byte: UInt8) {
        reserve(1)
        buffer[used] = byte
        used += 1
    }

    @inline(__always)
    func write(decimal value: UInt64) {
        reserve(20)
        var digits = 1
        var scale: UInt64 = 10
        while digits < 20 && value >= scale {
            digits += 1
            scale = scale &* 10
        }
        var rest = value
        var position = used + digits - 1
        repeat {
            buffer[position] = UInt8(truncatingIfNeeded: rest % 10) &+ 0x30
            rest /= 10
            position -= 1
        } while rest > 0
        used += digits
    }

    func write(decimal value: Int64) {
        if value < 0 {
            write(byte: 0x2D)
            write(decimal: UInt64(-value))
        } else {
            write(decimal: UInt64(value))
        }
    }

    func write(address: FlowAddress) {
        if address.isIPv4 {
            let value = address.ipv4.value
            write(decimal: UInt64(value >> 24))
            write(byte: 0x2E)
            write(decimal: UInt64(value >> 16 & 0xFF))
            write(byte: 0x2E)
            write(decimal: UInt64(value >> 8 & 0xFF))
            write(byte: 0x2E)
            write(decimal: UInt64(value & 0xFF))
        } else {
            write(ipv6: address.high, address.low)
        }
    }

    /// RFC 5952 text (lowercase hex, the longest run of two or more zero groups as "::"),
    /// formatted in place, as `IPv6Address.description` gives it.
    func write(ipv6 high: UInt64, _ low: UInt64) {
        reserve(40)
        @inline(__always) func group(_ index: Int) -> UInt16 {
            UInt16(truncatingIfNeeded: (index < 4 ? high : low) >> UInt64(48 - 16 * (index % 4)))
        }
        var bestStart = -1, bestLength = 1, index = 0
        while index < 8 {
            if group(index) == 0 {
                var end = index
                while end < 8 && group(end) == 0 { end += 1 }
                if end - index > bestLength { (bestStart, bestLength) = (index, end - index) }
                index = end
            } else {
                index += 1
            }
        }
        index = 0
        while index < 8 {
            if index == bestStart {
                buffer[used] = 0x3A
                buffer[used + 1] = 0x3A
                used += 2
                index += bestLength
                continue
            }
            if index > 0 && index != bestStart + bestLength { buffer[used] = 0x3A; used += 1 }
            let value = group(index)
            var started = false
            for shift in stride(from: 12, through: 0, by: -4) {
                let digit = UInt8(truncatingIfNeeded: value >> UInt16(shift)) & 0xF
                if digit != 0 || started || shift == 0 {
                    buffer[used] = digit < 10 ? 0x30 + digit : 0x57 + digit
                    used += 1
                    started = true
                }
            }
            index += 1
        }
    }

    /// Seconds and nanoseconds: "1700000000.000000123".
    func write(time nanoseconds: Int64) {
        write(decimal: nanoseconds / 1_000_000_000)
        write(byte: 0x2E)
        let fraction = nanoseconds % 1_000_000_000
        var divisor: Int64 = 100_000_000
        while divisor > 0 {
            write(byte: UInt8(fraction / divisor % 10) + 0x30)
            divisor /= 10
        }
    }

    func close() throws(ForwarderError) {
        guard !closed else { return }
        closed = true
        flush()
        do { try file.close() } catch { throw ForwarderError(description: "\(path): \(error)") }
    }
}
