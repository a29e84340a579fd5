import COpenSSL

/// One entry of an `OSSL_PARAM` array.
enum OSSLParam {
    case utf8(String, String)
    /// Not copied: the bytes must stay valid for the whole `withOSSLParams` call.
    case octets(String, UnsafeRawBufferPointer)
}

/// Runs `body` with a terminated `OSSL_PARAM` array. `OSSL_PARAM`s keep raw pointers to their
/// names and values, so the C strings live in one buffer that outlives the call and is then freed.
func withOSSLParams<R>(_ entries: [OSSLParam], _ body: (UnsafeMutablePointer<OSSL_PARAM>) throws -> R) rethrows -> R {
    var byteCount = 0
    for entry in entries {
        switch entry {
        case let .utf8(name, value): byteCount += name.utf8.count + value.utf8.count + 2
        case let .octets(name, _): byteCount += name.utf8.count + 1
        }
    }
    let strings = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 1)
    let params = UnsafeMutablePointer<OSSL_PARAM>.allocate(capacity: entries.count + 1)
    defer {
        params.deallocate()
        strings.deallocate()
    }
    var cursor = strings
    func cString(_ string: String) -> UnsafeMutablePointer<CChar> {
        let start = cursor.assumingMemoryBound(to: CChar.self)
        for byte in string.utf8 {
            cursor.storeBytes(of: byte, as: UInt8.self)
            cursor += 1
        }
        cursor.storeBytes(of: 0, as: UInt8.self)
        cursor += 1
        return start
    }
    // A zero-length value still needs a non-NULL pointer: some providers read NULL as "not set".
    var empty: UInt8 = 0
    return try withUnsafeMutableBytes(of: &empty) { emptyBytes in
        for (index, entry) in entries.enumerated() {
            switch entry {
            case let .utf8(name, value):
                let key = cString(name)
                (params + index).initialize(to: OSSL_PARAM_construct_utf8_string(key, cString(value), 0))
            case let .octets(name, value):
                let data = value.count == 0 ? emptyBytes.baseAddress! : UnsafeMutableRawPointer(mutating: value.baseAddress!)
                (params + index).initialize(to: OSSL_PARAM_construct_octet_string(cString(name), data, value.count))
            }
        }
        (params + entries.count).initialize(to: OSSL_PARAM_construct_end())
        return try body(params)
    }
}
