import Glibc

/// Every system call of Privet's I/O goes through here, so that no result goes unchecked: a call a
/// signal interrupted (EINTR) is made again, and any other failure is thrown with the call's name
/// (the way swift-system and swift-nio wrap their calls). The name is a static string, so a call
/// that succeeds allocates nothing.
public enum SystemCall {
    /// The call's result; -1 is thrown as the errno it left.
    @inlinable
    public static func checked<Result: FixedWidthInteger>(_ call: StaticString, _ body: () -> Result) throws(IOError) -> Result {
        while true {
            let result = body()
            if result != -1 { return result }
            let code = errno
            if code == EINTR { continue }
            throw IOError.systemCall(call.description, errno: code)
        }
    }

    /// As `checked`, for a non-blocking descriptor: nil when the call would block (nothing to
    /// read, or no room to write).
    @inlinable
    public static func unlessWouldBlock<Result: FixedWidthInteger>(_ call: StaticString, _ body: () -> Result) throws(IOError) -> Result? {
        while true {
            let result = body()
            if result != -1 { return result }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return nil }
            throw IOError.systemCall(call.description, errno: code)
        }
    }
}

/// Replaces the file at `path` with `text` all at once (a temporary file beside it, renamed over
/// it), so that a reader never sees half of it; a failure is thrown with the call and the path.
public func replaceFile(_ path: String, with text: String) throws(IOError) {
    let temporary = path + ".\(getpid()).partial"
    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw IOError.systemCall("open \(temporary)", errno: errno) }
    do throws(IOError) {
        defer { close(descriptor) }
        var text = text
        let written = text.withUTF8 { bytes in Result { () throws(IOError) in try writeAll(descriptor, UnsafeRawBufferPointer(bytes)) } }
        try written.get()
        _ = try SystemCall.checked("rename") { rename(temporary, path) }
    } catch {
        unlink(temporary)
        guard case .systemCall(let call, let code) = error else { throw error }
        throw IOError.systemCall(call + " " + path, errno: code)
    }
}

/// Writes all of `bytes` to a blocking descriptor, however many calls it takes.
public func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) throws(IOError) {
    var offset = 0
    while offset < bytes.count {
        offset += try SystemCall.checked("write") { write(descriptor, bytes.baseAddress! + offset, bytes.count - offset) }
    }
}
