/// Little-endian integer loads from byte arrays, returning nil instead of trapping when out of bounds.
extension Array where Element == UInt8 {
    /// The little-endian `T` at `offset`, or nil when `offset ..< offset + size` is not inside the array.
    @inlinable
    public func littleEndian<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T? {
        let size = MemoryLayout<T>.size
        guard offset >= 0, offset <= count - size else { return nil }
        var value: T = 0
        for index in 0..<size { value |= T(truncatingIfNeeded: self[offset + index]) << (8 * index) }
        return value
    }

    /// Appends `value` as little-endian bytes.
    @inlinable
    public mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        for index in 0..<MemoryLayout<T>.size { append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
    }
}

/// Hexadecimal formatting for error messages (`0x1f`).
@usableFromInline
func hex<T: BinaryInteger>(_ value: T) -> String { "0x" + String(value, radix: 16) }
