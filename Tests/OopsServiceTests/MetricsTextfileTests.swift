import OopsConfig
import SystemCalls
import TestSupport
import Testing

@testable import OopsService

/// The Prometheus textfile: written where node_exporter's collector directory exists, never creating it (on a
/// machine without node_exporter nobody reads it, and the unit's ProtectSystem=strict would refuse the mkdir).
@Suite struct MetricsTextfileTests {
    @Test func nothingIsWrittenOrCreatedWhenTheDirectoryIsMissing() throws {
        let directory = try TemporaryDirectory("service")
        let configuration = OopsConfiguration(MergedConfiguration.load(root: directory.root))
        #expect(configuration.upload.metricsFile == "/var/lib/prometheus/node-exporter/oopsd.prom")
        try MetricsTextfile.write(root: directory.root, configuration: configuration)
        #expect(!FileSystem.exists(directory.path("/var/lib/prometheus")))
    }

    @Test func theFileIsWrittenWhenTheDirectoryExists() throws {
        let directory = try TemporaryDirectory("service")
        try directory.makeDirectory("/var/lib/prometheus/node-exporter")
        let configuration = OopsConfiguration(MergedConfiguration.load(root: directory.root))
        try MetricsTextfile.write(root: directory.root, configuration: configuration)
        let text = try FileSystem.readText(directory.path("/var/lib/prometheus/node-exporter/oopsd.prom"))
        #expect(text.contains("\noopsd_dumps_pending_upload 0\n"))
    }
}
