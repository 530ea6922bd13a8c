// A lazily walked list of options inside a header (TCP options, GENEVE options). The list holds a
// pointer and a length; a walk type says how to read one option and where the next one starts.

/// How one kind of option area is read.
public protocol OptionWalk {
    associatedtype Option
    /// The option at `offset` in the `count` bytes at `base`, advancing `offset` past it; nil when
    /// the walk is over. Must never read at or past `count`.
    static func next(_ base: UnsafeMutableRawPointer, count: Int, offset: inout Int) -> Option?
}

/// The options of a validated header, in order.
@frozen
public struct OptionList<Walk: OptionWalk>: Sequence {
    public let base: UnsafeMutableRawPointer
    public let count: Int

    @inlinable
    public init(base: UnsafeMutableRawPointer, count: Int) {
        self.base = base
        self.count = count
    }

    @inlinable
    public func makeIterator() -> Iterator { Iterator(base: base, count: count) }

    @frozen
    public struct Iterator: IteratorProtocol {
        @usableFromInline let base: UnsafeMutableRawPointer
        @usableFromInline let count: Int
        @usableFromInline var offset = 0

        @inlinable
        init(base: UnsafeMutableRawPointer, count: Int) {
            self.base = base
            self.count = count
        }

        @inlinable
        public mutating func next() -> Walk.Option? {
            guard offset < count else { return nil }
            return Walk.next(base, count: count, offset: &offset)
        }
    }
}
