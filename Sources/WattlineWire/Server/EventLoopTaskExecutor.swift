import NIOCore

/// Runs a call's handler task on its connection's event loop thread (SE-0417 task executor
/// preference): the request that arrives there is handled there and the response is written from
/// there, instead of hopping to the cooperative pool and back for each message. Blocking work
/// still belongs elsewhere (the store's pool threads, the password hashers), as on any event loop.
final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: the event loop is thread-safe (`execute` may be called from any thread).
    private let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        eventLoop.execute { job.runSynchronously(on: executor) }
    }
}
