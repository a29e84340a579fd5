import COpenSSL

/// A resumable client session (SSL_SESSION), taken from one connection and offered on the next.
public final class TLSSession: @unchecked Sendable {
    // @unchecked: SSL_SESSION is reference counted and not mutated after the handshake that produced it.
    let pointer: OpaquePointer

    init(takingOwnershipOf pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        SSL_SESSION_free(pointer)
    }

    public var isResumable: Bool { SSL_SESSION_is_resumable(pointer) == 1 }
}
