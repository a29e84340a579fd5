/// Values of a block.
///
///     mode 0...15 (decimal scale k):  IntegerColumn of m[i]; value[i] is Double(m[i]) / 10^k bit for bit
///     mode 0x40 | k (decimal with exceptions): varint e (1...n/8), IntegerColumn of the e sample
///                  indexes (strictly increasing), IntegerColumn of their IEEE-754 bit patterns,
///                  then IntegerColumn of m[i] for every sample (at an exception, the previous
///                  mantissa, 0 for the first: it only keeps the predictor smooth)
///     mode 0x80 (raw): IntegerColumn of the IEEE-754 bit patterns (XOR predictor allowed)
///
/// Meters report decimal resolutions (0.01 kWh, 0.1 V, 0.001 kW): as integers those are small
/// steps the integer column packs tightly, where XOR of their binary fractions is mostly noise.
/// The encoder picks the smallest scale at which all but at most 1 in 64 values round-trip
/// exactly; the others (NaN, ±Inf, -0.0, a stray value with more decimals) become exceptions,
/// so a flagged NaN does not turn a whole day of a channel into raw doubles. With more than
/// n/8 exceptions it writes raw mode. Either way a block decodes to the very bits it was given.
enum ValueColumn {
    static let maxScale = 15
    static let exceptionsFlag: UInt8 = 0x40
    static let rawMode: UInt8 = 0x80
    private static let powersOfTen: [Double] = (0...maxScale).map { scale in
        var power = 1.0
        for _ in 0..<scale { power *= 10 }
        return power
    }

    static func encode(_ values: [Double], into writer: inout ByteWriter) {
        guard let (scale, mantissas, exceptions) = decimal(values) else {
            writer.byte(rawMode)
            IntegerColumn.encode(
                values.map { Int64(bitPattern: $0.bitPattern) }, predictors: IntegerColumn.Predictor.allCases, into: &writer)
            return
        }
        if exceptions.isEmpty {
            writer.byte(UInt8(scale))
        } else {
            writer.byte(exceptionsFlag | UInt8(scale))
            writer.varint(UInt64(exceptions.count))
            IntegerColumn.encode(exceptions.map { Int64($0) }, into: &writer)
            IntegerColumn.encode(
                exceptions.map { Int64(bitPattern: values[$0].bitPattern) }, predictors: IntegerColumn.Predictor.allCases,
                into: &writer)
        }
        IntegerColumn.encode(mantissas, into: &writer)
    }

    static func decode(_ count: Int, from reader: inout ByteReader) throws -> [Double] {
        let mode = try reader.byte("value mode")
        if mode == rawMode {
            return try IntegerColumn.decode(count, from: &reader, "raw value").map { Double(bitPattern: UInt64(bitPattern: $0)) }
        }
        let scale = Int(mode & ~exceptionsFlag)
        guard scale <= maxScale else { throw TelemetryBlockError.malformed("value mode \(mode) is unknown") }
        var exceptionIndexes: [Int64] = [], exceptionBits: [Int64] = []
        if mode & exceptionsFlag != 0 {
            let exceptionCount = try reader.count("value exception count", atMost: count / 8)
            guard exceptionCount > 0 else { throw TelemetryBlockError.malformed("value exception list is empty") }
            exceptionIndexes = try IntegerColumn.decode(exceptionCount, from: &reader, "value exception index")
            exceptionBits = try IntegerColumn.decode(exceptionCount, from: &reader, "value exception")
        }
        let power = powersOfTen[scale]
        // Any Int64 converts and divides without trapping.
        var values = try IntegerColumn.decode(count, from: &reader, "decimal value").map { Double($0) / power }
        var previous: Int64 = -1
        for (index, bits) in zip(exceptionIndexes, exceptionBits) {
            guard index > previous, index < Int64(count) else {
                throw TelemetryBlockError.malformed("value exception indexes must increase within 0..<\(count)")
            }
            values[Int(index)] = Double(bitPattern: UInt64(bitPattern: bits))
            previous = index
        }
        return values
    }

    /// The scale, the mantissas and the exception indexes, or nil when raw mode is better.
    private static func decimal(_ values: [Double]) -> (Int, [Int64], [Int])? {
        // Each value's own smallest exact scale (maxScale + 1: none), counted per scale.
        var histogram = [Int](repeating: 0, count: maxScale + 2)
        for value in values { histogram[smallestScale(value)] += 1 }
        let allowedExceptions = values.count / 64
        var covered = 0
        var scale = 0
        while scale <= maxScale {
            covered += histogram[scale]
            if covered >= values.count - allowedExceptions { break }
            scale += 1
        }
        guard scale <= maxScale else { return nil }
        // Exactness at one scale does not imply it at a finer one in binary floating point:
        // convert every value again at the chosen scale.
        var mantissas: [Int64] = []
        mantissas.reserveCapacity(values.count)
        var exceptions: [Int] = []
        for (index, value) in values.enumerated() {
            if let mantissa = mantissa(value, scale: scale) {
                mantissas.append(mantissa)
            } else {
                exceptions.append(index)
                mantissas.append(mantissas.last ?? 0)
            }
        }
        guard exceptions.count <= values.count / 8 else { return nil }
        return (scale, mantissas, exceptions)
    }

    private static func smallestScale(_ value: Double) -> Int {
        for scale in 0...maxScale where mantissa(value, scale: scale) != nil { return scale }
        return maxScale + 1
    }

    private static func mantissa(_ value: Double, scale: Int) -> Int64? {
        let power = powersOfTen[scale]
        guard let mantissa = Int64(exactly: (value * power).rounded()), mantissa.magnitude <= 1 << 53 else { return nil }
        return (Double(mantissa) / power).bitPattern == value.bitPattern ? mantissa : nil
    }
}
