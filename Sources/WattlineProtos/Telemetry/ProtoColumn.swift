/// A read-only column of a decoded message, read in place from the decoder's memory.
///
/// It keeps its owner alive, so it stays valid as long as it exists; copying it copies no elements.
public struct ProtoColumn<Element>: RandomAccessCollection {
    private let owner: AnyObject
    private let buffer: UnsafeBufferPointer<Element>

    init(owner: AnyObject, _ pointer: UnsafePointer<Element>?, count: Int) {
        self.owner = owner
        self.buffer = UnsafeBufferPointer(start: count > 0 ? pointer : nil, count: count > 0 ? count : 0)
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { buffer.count }
    public subscript(position: Int) -> Element { buffer[position] }

    /// Direct access to the elements, for bulk copies or SIMD loops.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Element>) throws -> R) rethrows -> R {
        try withExtendedLifetime(owner) { try body(buffer) }
    }
}
