#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CProtobufC

/// A bump allocator that owns every C structure of one encode or decode.
///
/// protobuf-c allocates through a `ProtobufCAllocator`; giving it an arena turns the many small
/// `malloc`s of an unpack into a few large ones, frees everything at once in `deinit` (no
/// `free_unpacked`, no leaks on any error path) and bounds the memory a hostile message can make
/// the decoder use: past `limit` bytes the arena answers `NULL` and protobuf-c fails cleanly.
package final class ProtoArena {
    /// Bytes at the start of each chunk that link it to the previous one.
    private static let headerSize = 16
    /// protobuf-c expects `malloc`-aligned memory.
    private static let alignment = 16

    private var chunk: UnsafeMutableRawPointer?
    private var cursor = 0
    private var end = 0
    private var nextChunkSize: Int
    private let limit: Int
    /// Bytes obtained from `malloc` so far.
    package private(set) var reservedBytes = 0
    /// Whether an allocation was refused because of `limit`.
    package private(set) var exceededLimit = false

    /// - Parameters:
    ///   - initialCapacity: size of the first chunk, allocated on first use.
    ///   - limit: most bytes the arena will ever reserve.
    package init(initialCapacity: Int, limit: Int = .max) {
        self.nextChunkSize = max(initialCapacity, 256)
        self.limit = limit
    }

    deinit {
        var current = chunk
        while let block = current {
            current = block.load(as: UnsafeMutableRawPointer?.self)
            free(block)
        }
    }

    /// `byteCount` bytes aligned to 16, or `nil` when the limit would be exceeded.
    package func allocate(byteCount: Int) -> UnsafeMutableRawPointer? {
        let size = (max(byteCount, 1) + Self.alignment - 1) & ~(Self.alignment - 1)
        if size > end - cursor, !grow(toFit: size) { return nil }
        let pointer = chunk! + cursor
        cursor += size
        return pointer
    }

    /// Memory for `count` values of `T`, uninitialised; traps only if `malloc` itself fails.
    package func allocate<T>(_ type: T.Type, count: Int = 1) -> UnsafeMutablePointer<T> {
        precondition(MemoryLayout<T>.alignment <= Self.alignment)
        guard let raw = allocate(byteCount: MemoryLayout<T>.stride * count) else {
            preconditionFailure("ProtoArena: allocation past the arena's limit while encoding")
        }
        return raw.bindMemory(to: T.self, capacity: count)
    }

    private func grow(toFit size: Int) -> Bool {
        let needed = size + Self.headerSize
        var chunkSize = max(nextChunkSize, needed)
        if reservedBytes + chunkSize > limit {
            chunkSize = needed
            guard reservedBytes + chunkSize <= limit else {
                exceededLimit = true
                return false
            }
        }
        guard let block = malloc(chunkSize) else { return false }
        block.storeBytes(of: chunk, as: UnsafeMutableRawPointer?.self)
        chunk = block
        cursor = Self.headerSize
        end = chunkSize
        reservedBytes += chunkSize
        nextChunkSize = chunkSize * 2
        return true
    }

    /// Unpacks `bytes` as a message of `descriptor` into this arena.
    package func unpack(
        _ descriptor: UnsafePointer<ProtobufCMessageDescriptor>,
        _ bytes: UnsafeRawBufferPointer
    ) -> UnsafeMutablePointer<ProtobufCMessage>? {
        var allocator = ProtobufCAllocator(
            alloc: arenaAllocate, free: arenaFree,
            allocator_data: Unmanaged.passUnretained(self).toOpaque())
        return withExtendedLifetime(self) {
            guard let base = bytes.baseAddress, bytes.count > 0 else {
                var empty: UInt8 = 0
                return protobuf_c_message_unpack(descriptor, &allocator, 0, &empty)
            }
            return protobuf_c_message_unpack(
                descriptor, &allocator, bytes.count, base.assumingMemoryBound(to: UInt8.self))
        }
    }
}

private func arenaAllocate(_ data: UnsafeMutableRawPointer?, _ size: Int) -> UnsafeMutableRawPointer? {
    Unmanaged<ProtoArena>.fromOpaque(data!).takeUnretainedValue().allocate(byteCount: size)
}

/// Freed with the arena.
private func arenaFree(_ data: UnsafeMutableRawPointer?, _ pointer: UnsafeMutableRawPointer?) {}
