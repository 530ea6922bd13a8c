import PacketIO

/// Why running a topology failed (live, replay, a demo), the one error type of the module: a
/// message that names the file, line, host or device concerned, ready to print.
public struct ForwarderError: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) { self.description = description }

    /// A failure of the I/O underneath (a capture, a device, a system call), as it says it.
    init(_ error: IOError) { description = error.description }
}
