import Synchronization
import SystemCalls
import Testing

@testable import OopsService

@Suite struct WatchdogFeederTests {
    /// The main loop is busy for the whole test (this thread sleeps): the feeder pings on its own, and not after stop.
    @Test func feedsWhileTheCallerIsBusyAndStopsWhenTold() throws {
        let pings = Atomic<Int>(0)
        let feeder = try WatchdogFeeder(every: 0.05) { pings.add(1, ordering: .relaxed) }
        DetachedThread.sleep(seconds: 0.5)
        let whileBusy = pings.load(ordering: .relaxed)
        #expect(whileBusy >= 3, "only \(whileBusy) pings in 0.5 s at one per 0.05 s")
        feeder.stop()
        DetachedThread.sleep(seconds: 0.2)  // the thread notices within 0.1 s
        let afterStop = pings.load(ordering: .relaxed)
        DetachedThread.sleep(seconds: 0.3)
        #expect(pings.load(ordering: .relaxed) == afterStop)
        #expect(feeder.count == afterStop)
    }
}
