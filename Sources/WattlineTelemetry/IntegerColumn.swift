/// The workhorse of every column: a sequence of Int64 turned into small residuals by a
/// predictor, then packed in miniblocks.
///
///     header (1 byte): predictor (bits 0-1) | miniblock size code (bits 2-3), other bits zero
///     the first `order` values (0, 1 or 2 of them), zigzag varints
///     per miniblock of the remaining residuals (the last may be short):
///         zigzag varint (minimum − previous miniblock's minimum, starting from 0)
///         varint span (maximum − minimum, as UInt64)
///         the residuals minus the minimum, `MixedRadix`-packed, zero-padded to a byte
///
/// All arithmetic wraps (two's complement), so any Int64 sequence round-trips exactly. The encoder
/// tries every predictor and miniblock size and keeps the smallest (ties: lowest codes), so the
/// encoding is a pure function of the input.
enum IntegerColumn {
    enum Predictor: UInt8, CaseIterable {
        /// The value itself: for noise around a level (power, frequency) and grid jitter.
        case none = 0
        /// Minus the previous value: for random walks (voltage, temperature).
        case delta = 1
        /// Minus the linear extrapolation of the previous two: for counters and regular times.
        case deltaOfDelta = 2
        /// XOR with the previous value: for raw IEEE bit patterns.
        case xor = 3

        var order: Int { self == .deltaOfDelta ? 2 : self == .none ? 0 : 1 }
    }

    static let miniblockSizes = [16, 64, 256, 1024]

    static let arithmeticPredictors: [Predictor] = [.none, .delta, .deltaOfDelta]

    static func encode(_ values: [Int64], predictors: [Predictor] = arithmeticPredictors, into writer: inout ByteWriter) {
        var best: (size: Int, predictor: Predictor, sizeCode: Int)?
        var residuals: [Int64] = []
        for predictor in predictors {
            computeResiduals(values, predictor, into: &residuals)
            for (sizeCode, size) in plannedByteCounts(values, predictor, residuals).enumerated()
            where best == nil || size < best!.size {
                best = (size, predictor, sizeCode)
            }
        }
        let (_, predictor, sizeCode) = best!
        computeResiduals(values, predictor, into: &residuals)
        writer.byte(predictor.rawValue | UInt8(sizeCode) << 2)
        for value in values.prefix(predictor.order) { writer.signedVarint(value) }
        let miniblockSize = miniblockSizes[sizeCode]
        var previousMinimum: Int64 = 0
        var offsets: [UInt64] = []
        offsets.reserveCapacity(miniblockSize)
        var start = 0
        while start < residuals.count {
            let block = residuals[start..<min(residuals.count, start + miniblockSize)]
            let (minimum, span) = range(of: block)
            writer.signedVarint(minimum &- previousMinimum)
            writer.varint(span)
            offsets.removeAll(keepingCapacity: true)
            for residual in block { offsets.append(UInt64(bitPattern: residual &- minimum)) }
            MixedRadix(span: span).write(offsets[...], into: &writer)
            writer.alignToByte()
            previousMinimum = minimum
            start += miniblockSize
        }
    }

    /// Reads exactly `count` values (the caller bounds `count`), or throws `.malformed`.
    static func decode(_ count: Int, from reader: inout ByteReader, _ what: String) throws -> [Int64] {
        let header = try reader.byte("\(what) column header")
        guard header >> 4 == 0, let predictor = Predictor(rawValue: header & 3) else {
            throw TelemetryBlockError.malformed("\(what) column header \(header) has unknown bits")
        }
        let miniblockSize = miniblockSizes[Int(header >> 2)]
        var values: [Int64] = []
        values.reserveCapacity(count)
        for _ in 0..<min(count, predictor.order) { values.append(try reader.signedVarint("\(what) first values")) }
        var previousMinimum: Int64 = 0
        var offsets: [UInt64] = []
        offsets.reserveCapacity(miniblockSize)
        while values.count < count {
            let size = min(miniblockSize, count - values.count)
            let minimum = previousMinimum &+ (try reader.signedVarint("\(what) miniblock minimum"))
            let packing = MixedRadix(span: try reader.varint("\(what) miniblock span"))
            let byteCount = (packing.bitCount(of: size) + 7) / 8
            guard byteCount <= reader.remaining else {
                throw TelemetryBlockError.malformed("\(what) miniblock needs \(byteCount) bytes, \(reader.remaining) left")
            }
            offsets.removeAll(keepingCapacity: true)
            try packing.read(size, from: &reader, into: &offsets)
            try reader.alignToByte("\(what) miniblock")
            for offset in offsets {
                let residual = minimum &+ Int64(bitPattern: offset)
                let index = values.count
                switch predictor {
                case .none: values.append(residual)
                case .delta: values.append(values[index - 1] &+ residual)
                case .deltaOfDelta: values.append(residual &+ values[index - 1] &* 2 &- values[index - 2])
                case .xor: values.append(values[index - 1] ^ residual)
                }
            }
            previousMinimum = minimum
        }
        return values
    }

    private static func computeResiduals(_ values: [Int64], _ predictor: Predictor, into residuals: inout [Int64]) {
        let order = predictor.order
        let count = max(0, values.count - order)
        residuals.removeAll(keepingCapacity: true)
        residuals.append(contentsOf: repeatElement(0, count: count))
        guard count > 0 else { return }
        values.withUnsafeBufferPointer { x in
            residuals.withUnsafeMutableBufferPointer { r in
                // One loop per predictor keeps the switch out of the hot loop.
                switch predictor {
                case .none: for i in 0..<count { r[i] = x[i] }
                case .delta: for i in 0..<count { r[i] = x[i + 1] &- x[i] }
                case .deltaOfDelta: for i in 0..<count { r[i] = x[i + 2] &- (x[i + 1] &* 2 &- x[i]) }
                case .xor: for i in 0..<count { r[i] = x[i + 1] ^ x[i] }
                }
            }
        }
    }

    /// Encoded sizes for each miniblock size, from one pass over the residuals: ranges of the
    /// smallest miniblocks are merged (4 at a time) into those of the next size.
    private static func plannedByteCounts(_ values: [Int64], _ predictor: Predictor, _ residuals: [Int64]) -> [Int] {
        var head = 1
        for value in values.prefix(predictor.order) { head += varintByteCount(zigzag(value)) }
        var minimums: [Int64] = [], maximums: [Int64] = [], counts: [Int] = []
        residuals.withUnsafeBufferPointer { r in
            var start = 0
            while start < r.count {
                let stop = min(r.count, start + miniblockSizes[0])
                var minimum = Int64.max, maximum = Int64.min
                for index in start..<stop {
                    minimum = min(minimum, r[index])
                    maximum = max(maximum, r[index])
                }
                minimums.append(minimum)
                maximums.append(maximum)
                counts.append(stop - start)
                start = stop
            }
        }
        var sizes: [Int] = []
        for level in miniblockSizes.indices {
            if level > 0 {  // merge groups of 4 (each size is 4 times the previous)
                var index = 0
                var merged = 0
                while index < minimums.count {
                    let stop = min(minimums.count, index + 4)
                    minimums[merged] = minimums[index..<stop].min()!
                    maximums[merged] = maximums[index..<stop].max()!
                    counts[merged] = counts[index..<stop].reduce(0, +)
                    merged += 1
                    index = stop
                }
                minimums.removeSubrange(merged...)
                maximums.removeSubrange(merged...)
                counts.removeSubrange(merged...)
            }
            var total = head
            var previousMinimum: Int64 = 0
            for block in minimums.indices {
                let span = UInt64(bitPattern: maximums[block] &- minimums[block])
                total += varintByteCount(zigzag(minimums[block] &- previousMinimum)) + varintByteCount(span)
                total += (MixedRadix(span: span).bitCount(of: counts[block]) + 7) / 8
                previousMinimum = minimums[block]
            }
            sizes.append(total)
        }
        return sizes
    }

    private static func range(of block: ArraySlice<Int64>) -> (minimum: Int64, span: UInt64) {
        var minimum = Int64.max, maximum = Int64.min
        for value in block {
            minimum = min(minimum, value)
            maximum = max(maximum, value)
        }
        return (minimum, UInt64(bitPattern: maximum &- minimum))
    }
}
