import WattlineIngest
import WattlineStore
import WattlineTelemetry

/// A channel's data over a range as time-ordered pieces that each fall into one query bucket:
/// rollup buckets where a level nests in the query's buckets and the compacted blocks are all
/// there is, raw samples elsewhere (the range's ragged ends, and buckets that batches not yet
/// compacted reach into). Summing the pieces of a bucket gives exactly what summing its raw
/// samples would.
struct SummaryPieces {
    struct Piece {
        /// Where the piece falls: a raw sample's time, a rollup bucket's start.
        let timeMs: Int64
        let summary: SampleSummary
    }

    let rollups: RollupReader
    let series: SeriesReader

    /// Pieces of [fromMs, toMs), and with `throughEnd` also a sample exactly at `toMs` (energy
    /// needs the reading that closes the last bucket). `levels`: coarsest first, each nesting in
    /// the query's buckets.
    func pieces(
        _ tx: borrowing TenantTransaction, channels: [UInt64], fromMs: Int64, toMs: Int64, throughEnd: Bool,
        levels: [RollupLevel], site: LocalCalendar?
    ) throws -> [UInt64: [Piece]] {
        var pieces: [UInt64: [Piece]] = [:]
        var raw: [Range<Int64>] = [fromMs..<toMs]
        for level in levels {
            guard let grid = LevelGrid(level, site: site) else { continue }
            let (inner, outer) = (grid.ceil(fromMs), grid.floor(toMs))
            guard inner < outer else { break }
            // Buckets that batches not compacted yet reach into are read raw.
            var uncovered = [fromMs..<inner, outer..<toMs]
            for span in try rollups.uncompactedSpans(tx, fromMs: inner, toMs: outer - 1) {
                let start = max(inner, grid.floor(span.lowerBound))
                let end = min(outer, grid.next(grid.floor(span.upperBound)))
                if start < end { uncovered.append(start..<end) }
            }
            uncovered = Self.merged(uncovered)
            guard let buckets = try rollups.buckets(
                tx, channels: channels, level: level, fromMs: inner, toMs: outer, timeZone: site?.identifier ?? "")
            else { continue }  // local days of another zone: try a finer level
            for (channel, list) in buckets {
                pieces[channel] = list.filter { bucket in !uncovered.contains { $0.contains(bucket.startMs) } }
                    .map { Piece(timeMs: $0.startMs, summary: $0.summary) }
            }
            raw = uncovered
            break
        }
        if throughEnd { raw.append(toMs..<(toMs + 1)) }
        for span in raw {
            for (channel, list) in try series.samples(tx, channels: channels, fromMs: span.lowerBound, toMs: span.upperBound - 1) {
                for block in list {
                    for index in 0..<block.count where block.values[index].isFinite {
                        let reading = Reading(timeMs: block.timesMs[index], value: block.values[index], quality: block.qualities[index])
                        pieces[channel, default: []].append(Piece(timeMs: reading.timeMs, summary: SampleSummary(reading)))
                    }
                }
            }
        }
        return pieces.mapValues { $0.sorted { $0.timeMs < $1.timeMs } }
    }

    /// Disjoint, sorted, without empty ranges.
    static func merged(_ ranges: [Range<Int64>]) -> [Range<Int64>] {
        var result: [Range<Int64>] = []
        for range in ranges.filter({ !$0.isEmpty }).sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = result.last, range.lowerBound <= last.upperBound {
                result[result.count - 1] = last.lowerBound..<max(last.upperBound, range.upperBound)
            } else {
                result.append(range)
            }
        }
        return result
    }
}

/// The bucket boundaries of a rollup level: multiples of its length, or the site's local midnights.
struct LevelGrid {
    let level: RollupLevel
    let site: LocalCalendar?

    init?(_ level: RollupLevel, site: LocalCalendar?) {
        guard level.fixedMs != nil || site != nil else { return nil }
        (self.level, self.site) = (level, site)
    }

    func floor(_ timeMs: Int64) -> Int64 {
        if let length = level.fixedMs { return RollupLevel.floor(timeMs, length) }
        return site!.start(of: .day, containing: timeMs)
    }

    func next(_ startMs: Int64) -> Int64 {
        if let length = level.fixedMs { return startMs + length }
        return site!.next(.day, after: startMs)
    }

    func ceil(_ timeMs: Int64) -> Int64 {
        let start = floor(timeMs)
        return start == timeMs ? start : next(start)
    }
}
