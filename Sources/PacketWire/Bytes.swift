// Big-endian field access at fixed offsets.
//
// The contract of this module (after smoltcp's `wire`): every view is made by one validating
// initialiser that checks the lengths its accessors rely on. After it succeeds, accessors read at
// offsets already proven to be inside the buffer, so they use unchecked loads and cannot trap,
// whatever the bytes say. Untrusted input goes through the initialisers only.

extension UnsafeMutableRawPointer {
    @inlinable @inline(__always)
    public func readU8(at offset: Int) -> UInt8 {
        load(fromByteOffset: offset, as: UInt8.self)
    }

    @inlinable @inline(__always)
    public func readU16(at offset: Int) -> UInt16 {
        UInt16(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inlinable @inline(__always)
    public func readU32(at offset: Int) -> UInt32 {
        UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inlinable @inline(__always)
    public func readU64(at offset: Int) -> UInt64 {
        UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inlinable @inline(__always)
    public func writeU8(_ value: UInt8, at offset: Int) {
        storeBytes(of: value, toByteOffset: offset, as: UInt8.self)
    }

    @inlinable @inline(__always)
    public func writeU16(_ value: UInt16, at offset: Int) {
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt16.self)
    }

    @inlinable @inline(__always)
    public func writeU32(_ value: UInt32, at offset: Int) {
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt32.self)
    }

    @inlinable @inline(__always)
    public func writeU64(_ value: UInt64, at offset: Int) {
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt64.self)
    }
}

extension UnsafeMutableRawBufferPointer {
    /// The first byte's address, or nil for an empty buffer (whose base may be nil or dangling).
    @inlinable @inline(__always)
    var nonEmptyBase: UnsafeMutableRawPointer? {
        count > 0 ? baseAddress : nil
    }
}
