import Dispatch
import Glibc

/// A file written from two buffers in turn: while the caller fills one, the other is written on
/// another thread, in the order the buffers were handed over. Writing a replay's outputs (a
/// capture per port, the flow log, the drops) then overlaps the work that makes them, on a
/// second core, instead of waiting on each `write`. The first failed write is kept and thrown at
/// `close`; the rest of the file is not written.
public final class BackgroundFile: @unchecked Sendable {
    public let path: String
    public let capacity: Int
    /// The buffer to fill: `handOff` writes it and makes the other one current.
    public private(set) var buffer: UnsafeMutablePointer<UInt8>
    private var spare: UnsafeMutablePointer<UInt8>
    private let descriptor: Int32
    private let queue: DispatchQueue
    /// Signalled when the buffer handed over last has been written (free to fill again).
    private let written = DispatchSemaphore(value: 1)
    private var failure: IOError?
    private var closed = false

    /// Creates (or empties) the file at `path`.
    public convenience init(path: String, capacity: Int = 1 << 20) throws(IOError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw IOError.systemCall("cannot write \(path)", errno: errno) }
        self.init(descriptor: descriptor, path: path, capacity: capacity)
    }

    /// Writes to an open descriptor, from its current offset; it is closed with the file.
    public init(descriptor: Int32, path: String, capacity: Int = 1 << 20) {
        self.descriptor = descriptor
        self.path = path
        self.capacity = capacity
        buffer = .allocate(capacity: capacity)
        spare = .allocate(capacity: capacity)
        queue = DispatchQueue(label: "privet.file")
    }

    deinit {
        try? close()
        buffer.deallocate()
        spare.deallocate()
    }

    /// Hands the first `count` bytes of `buffer` to be written after everything handed before,
    /// and makes the other buffer current once its own write has finished.
    public func handOff(count: Int) {
        guard count > 0 else { return }
        written.wait()
        let filled = buffer
        buffer = spare
        spare = filled
        // The buffer crosses to the writing thread by address: the caller does not touch it
        // again until `written` says it is done.
        let address = UInt(bitPattern: filled)
        queue.async { [self] in
            if failure == nil {
                let bytes = UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: address), count: count)
                do throws(IOError) { try writeAll(descriptor, bytes) } catch { failure = error }
            }
            written.signal()
        }
    }

    /// Waits until everything handed over is written.
    public func drain() {
        written.wait()
        written.signal()
    }

    /// Waits for the writes, closes the file, and throws the first write that failed.
    public func close() throws(IOError) {
        guard !closed else { return }
        closed = true
        drain()
        Glibc.close(descriptor)
        if let failure { throw failure }
    }
}
