import MallocInterposerSwift

/// One benchmark result: median time per call over several rounds, and allocations per call.
struct Measurement {
    var name: String
    var nanosecondsPerCall: Double
    var allocationsPerCall: Double
}

/// Runs `body` `iterations` times per round for `rounds` rounds and keeps the median round, then
/// counts `malloc` calls over a separate run (the interposer is loaded with LD_PRELOAD by
/// Scripts/bench; without it the count reads 0).
func measure(_ name: String, iterations: Int, rounds: Int = 7, _ body: () -> Void) -> Measurement {
    for _ in 0..<(iterations / 10) { body() }  // warm up
    var perCall: [Double] = []
    for _ in 0..<rounds {
        let clock = ContinuousClock()
        let start = clock.now
        for _ in 0..<iterations { body() }
        let elapsed = clock.now - start
        let nanoseconds = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        perCall.append(nanoseconds / Double(iterations))
    }
    perCall.sort()
    let counted = 1_000
    MallocInterposerSwift.initialize()
    MallocInterposerSwift.reset()
    MallocInterposerSwift.hook()
    for _ in 0..<counted { body() }
    MallocInterposerSwift.unhook()
    let allocations = Double(MallocInterposerSwift.getStatistics().mallocCount) / Double(counted)
    return Measurement(name: name, nanosecondsPerCall: perCall[rounds / 2], allocationsPerCall: allocations)
}

/// Keeps the optimiser from discarding work whose result is otherwise unused.
@inline(never)
func blackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}
