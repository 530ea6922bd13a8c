import Glibc

/// A text file written through a large stdio buffer (one write syscall per megabyte, not per
/// line), for the CSV and the flow log.
final class TextFile {
    let path: String
    private let file: UnsafeMutablePointer<FILE>
    private let buffer: UnsafeMutablePointer<CChar>
    private var closed = false

    struct OpenError: Error, CustomStringConvertible {
        let description: String
    }

    init(path: String) throws(OpenError) {
        guard let file = fopen(path, "w") else {
            throw OpenError(description: "\(path): cannot write: \(String(cString: strerror(errno)))")
        }
        buffer = .allocate(capacity: 1 << 20)
        setvbuf(file, buffer, _IOFBF, 1 << 20)
        self.path = path
        self.file = file
    }

    func write(_ line: String) {
        fputs(line, file)
    }

    func close() throws(OpenError) {
        guard !closed else { return }
        closed = true
        let failed = fflush(file) != 0 || ferror(file) != 0
        fclose(file)
        buffer.deallocate()
        if failed { throw OpenError(description: "\(path): write failed") }
    }

    deinit { try? close() }
}
