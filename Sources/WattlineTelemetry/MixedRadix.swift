/// Packs integers of a known range `0..<radix` in close to log2(radix) bits each rather than
/// the next whole bit count: a group of g values is written as the one number
/// u0 + u1·radix + … + u(g-1)·radix^(g-1), with g as large as 64 bits allow. For a jitter
/// of 0...40 ms that is 5.36 bits a sample instead of 6; a power-of-two radix packs exactly like
/// plain bit packing.
struct MixedRadix {
    /// `span` = largest minus smallest value; the radix is span + 1.
    let span: UInt64
    /// Values per full group, and the bits a full group takes.
    let groupSize: Int
    let groupBitCount: Int
    /// radix^groupSize - 1, the largest valid group number.
    let groupMaximum: UInt64

    init(span: UInt64) {
        self.span = span
        if span == 0 {
            (groupSize, groupBitCount, groupMaximum) = (Int.max, 0, 0)
        } else if span == .max {
            (groupSize, groupBitCount, groupMaximum) = (1, 64, .max)
        } else {
            let radix = span + 1
            var power: UInt64 = radix
            var size = 1
            while true {
                let (next, overflow) = power.multipliedReportingOverflow(by: radix)
                if overflow { break }
                power = next
                size += 1
            }
            groupSize = size
            groupMaximum = power - 1
            groupBitCount = bitLength(groupMaximum)
        }
    }

    /// The largest group number and its bit count for a last group of `count` < groupSize values.
    func partialGroup(_ count: Int) -> (maximum: UInt64, bitCount: Int) {
        guard span != 0 else { return (0, 0) }
        var power: UInt64 = 1
        for _ in 0..<count { power &*= span &+ 1 }  // no overflow: count < groupSize
        return (power - 1, bitLength(power - 1))
    }

    /// Bits `count` values take.
    func bitCount(of count: Int) -> Int {
        guard span != 0 else { return 0 }
        let full = count / groupSize
        let rest = count % groupSize
        return full * groupBitCount + (rest == 0 ? 0 : partialGroup(rest).bitCount)
    }

    /// Writes `values` (each ≤ span) as groups.
    func write(_ values: ArraySlice<UInt64>, into writer: inout ByteWriter) {
        guard span != 0 else { return }
        var start = values.startIndex
        while start < values.endIndex {
            let stop = min(values.endIndex, start + groupSize)
            let bits = stop - start == groupSize ? groupBitCount : partialGroup(stop - start).bitCount
            if span == .max {
                writer.bits(values[start], count: 64)
            } else {
                var number: UInt64 = 0
                for index in (start..<stop).reversed() { number = number &* (span + 1) &+ values[index] }
                writer.bits(number, count: bits)
            }
            start = stop
        }
    }

    /// Reads `count` values into `output` (as offsets from the miniblock minimum); the caller has
    /// checked that `bitCount(of: count)` bits are there.
    func read(_ count: Int, from reader: inout ByteReader, into output: inout [UInt64]) throws {
        guard span != 0 else {
            output.append(contentsOf: repeatElement(0, count: count))
            return
        }
        var left = count
        while left > 0 {
            let size = min(left, groupSize)
            let (maximum, bits) = size == groupSize ? (groupMaximum, groupBitCount) : partialGroup(size)
            var number = reader.bits(bits)
            if span == .max {
                output.append(number)
            } else {
                guard number <= maximum else { throw TelemetryBlockError.malformed("packed group exceeds its range") }
                let radix = span + 1
                for _ in 0..<size {
                    let (quotient, remainder) = number.quotientAndRemainder(dividingBy: radix)
                    output.append(remainder)
                    number = quotient
                }
            }
            left -= size
        }
    }
}

func bitLength(_ value: UInt64) -> Int { 64 - value.leadingZeroBitCount }
