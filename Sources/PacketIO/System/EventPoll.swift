import CLinux
import Glibc

/// An epoll instance: which of many descriptors can be read, each known by a token of the
/// caller's (a plumbing index, say). The ready list is kept here, allocated once.
/// One thread waits on it at a time: the one it is handed to.
public final class EventPoll: @unchecked Sendable {
    private let descriptor: Int32
    private let events: UnsafeMutableBufferPointer<epoll_event>

    public init(capacity: Int = 64) throws(IOError) {
        descriptor = try SystemCall.checked("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
        events = .allocate(capacity: capacity)
    }

    deinit {
        close(descriptor)
        events.deallocate()
    }

    /// Watches `file` for input; `wait` names it by `token`.
    public func watch(_ file: Int32, token: UInt64) throws(IOError) {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = token
        _ = try SystemCall.checked("epoll_ctl") { epoll_ctl(descriptor, EPOLL_CTL_ADD, file, &event) }
    }

    /// Stops watching `file`.
    public func unwatch(_ file: Int32) throws(IOError) {
        _ = try SystemCall.checked("epoll_ctl") { epoll_ctl(descriptor, EPOLL_CTL_DEL, file, nil) }
    }

    /// Waits up to `milliseconds` (0: not at all) for input; how many descriptors are ready, whose
    /// tokens `token(_:)` gives. A wait a signal interrupts returns none ready.
    public func wait(milliseconds: Int32) throws(IOError) -> Int {
        let ready = epoll_wait(descriptor, events.baseAddress, Int32(events.count), milliseconds)
        if ready >= 0 { return Int(ready) }
        if errno == EINTR { return 0 }
        throw IOError.systemCall("epoll_wait", errno: errno)
    }

    /// The token of the `index`th ready descriptor of the last wait.
    @inline(__always)
    public func token(_ index: Int) -> UInt64 { events[index].data.u64 }
}
