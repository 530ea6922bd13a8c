import CLinux
import Glibc

/// A layer-3 TUN device: the port of a host when Privet runs live. Each read gives one IP
/// packet, each write sends one; the descriptor is non-blocking (the forwarder polls it).
public final class TUNDevice {
    public let name: String
    public let descriptor: Int32

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Creates (or attaches to) the device `name` (at most 15 characters).
    public init(name: String) throws(Failure) {
        guard name.utf8.count <= 15 else { throw Failure(description: "TUN name '\(name)' is longer than 15 characters") }
        let result = privet_tun_open(name, 0)
        guard result >= 0 else {
            throw Failure(description: "cannot create TUN device \(name): \(String(cString: strerror(-result)))"
                          + (-result == EPERM ? " (run as root)" : ""))
        }
        self.name = name
        descriptor = result
    }

    deinit { close(descriptor) }

    /// Reads one packet into `buffer`; nil when none is waiting.
    @inline(__always)
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
        return count > 0 ? count : nil
    }

    /// Writes one packet; false when the device refused it (counted by the caller).
    @inline(__always)
    @discardableResult
    public func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        Glibc.write(descriptor, bytes.baseAddress, bytes.count) == bytes.count
    }
}
