package io.epp4j.epp;

import io.epp4j.epp.EppOptions.UsageException;
import io.epp4j.epp.endpoints.HostPort;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class EppOptionsTest {

    private static EppOptions parse(String... args) throws UsageException {
        return EppOptions.parse(Map.of(), args);
    }

    @Test
    void defaultsAreGaies() throws Exception {
        EppOptions o = parse("--pool-name", "pool");
        assertEquals(9002, o.grpcPort());
        assertEquals(9003, o.grpcHealthPort());
        assertEquals(9090, o.metricsPort());
        assertTrue(o.secureServing());
        assertEquals(Duration.ofMillis(50), o.refreshMetricsInterval());
        assertEquals(Duration.ofSeconds(5), o.refreshPrometheusMetricsInterval());
        assertEquals(Duration.ofSeconds(2), o.metricsStalenessThreshold());
        assertEquals("inference.networking.k8s.io", o.poolGroup());
        assertEquals("default", o.poolNamespace());
        assertEquals(2, o.verbosity());
        assertEquals(16L * 1024 * 1024, o.maxRequestBodyBytes());
        assertFalse(o.destinationEndpointFallbacks());
        assertFalse(o.haEnableLeaderElection());
        // the one deliberate difference: GAIE's binary defaults to true (its chart passes false); a bare epp4j does
        // not export spans to a collector nobody started
        assertFalse(o.tracing());
        assertEquals("http", o.modelServerMetricsScheme());
    }

    @Test
    void everyFlagFormIsAccepted() throws Exception {
        EppOptions o = parse("--endpoints", "10.0.0.1:8000,[fd00::1]:9000", "--grpc-port=0", "-v", "4",
                "--secure-serving=false", "--health-checking", "--refresh-metrics-interval=1m30s",
                "--max-request-body-bytes", "2Mi", "--endpoint-target-ports=8000,8001,8000",
                "--zap-encoder", "json", "--tracing=false", "--enable-pprof=false", "--metrics-endpoint-auth=false");
        assertEquals(0, o.grpcPort());
        assertEquals(4, o.verbosity());
        assertFalse(o.secureServing());
        assertTrue(o.healthChecking());
        assertEquals(Duration.ofSeconds(90), o.refreshMetricsInterval());
        assertEquals(2L * 1024 * 1024, o.maxRequestBodyBytes());
        assertEquals(List.of(8000, 8001), o.endpointTargetPorts());
        assertEquals(List.of(new HostPort("10.0.0.1", 8000), new HostPort("fd00::1", 9000)),
                o.staticEndpoints());
        assertTrue(o.staticMode());
    }

    @Test
    void namespaceFallsBackToTheEnvironment() throws Exception {
        assertEquals("prod", EppOptions.parse(Map.of("NAMESPACE", "prod"), "--pool-name=p").poolNamespace());
        assertEquals("flag", EppOptions.parse(Map.of("NAMESPACE", "prod"), "--pool-name=p",
                "--pool-namespace=flag").poolNamespace());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "--nope=1                                           | unknown flag: --nope",
        "--endpoints=1.2.3.4:80 --grpc-port=abc             | invalid value \"abc\" for flag --grpc-port",
        "--endpoints=1.2.3.4:80 --grpc-port=70000           | port out of range",
        "--endpoints=1.2.3.4:80 --secure-serving=maybe      | want true or false",
        "--endpoints=1.2.3.4:80 --grace-period=soon         | for flag --grace-period",
        "--endpoints=1.2.3.4:80 --grpc-port                 | flag needs an argument: --grpc-port",
        "--endpoints=1.2.3.4                                | want ip:port",
        "--endpoints=1.2.3.4:80 --pool-name=p               | exactly one of",
        "--grpc-port=1                                      | exactly one of",
        "--pool-name=p --config-file=a --config-text=b      | mutually exclusive",
        "--pool-name=p --model-server-metrics-scheme=ftp    | want http or https",
        "--endpoint-selector=app=x                          | needs --endpoint-target-ports",
        "--endpoints=1.2.3.4:80 stray                       | unexpected argument",
        "--endpoints=1.2.3.4:80 --max-request-body-bytes=0  | must be positive",
        "--endpoints=1.2.3.4:80 --max-buffered-body-bytes=150% | in (0, 100]",
        "--endpoints=1.2.3.4:80 --max-buffered-body-bytes=lots | for flag --max-buffered-body-bytes",
        "--endpoints=1.2.3.4:80 --max-concurrent-streams=-1 | must be >= 0",
        "--endpoints=1.2.3.4:80 --max-request-header-bytes=x | for flag --max-request-header-bytes",
    })
    void badCommandLinesAreRejectedWithAClearMessage(String commandLine, String message) {
        UsageException e = assertThrows(UsageException.class, () -> parse(commandLine.trim().split(" +")));
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    @Test
    void limitsHaveSafeDefaultsAndTakeSizesOrAShareOfTheHeap() throws Exception {
        EppOptions defaults = parse("--pool-name=p");
        assertEquals(Runtime.getRuntime().maxMemory() / 4, defaults.maxBufferedBodyBytes(), 1.0);
        assertEquals(10000, defaults.maxConcurrentStreams());
        assertEquals(500, defaults.maxRequestHeaderCount());
        assertEquals(256 * 1024, defaults.maxRequestHeaderBytes());
        assertEquals(0, defaults.maxEndpointInFlight());
        assertTrue(defaults.maxConnectionAge().isZero());
        assertEquals(List.of(), defaults.clientSanAllow());

        EppOptions set = parse("--pool-name=p", "--max-buffered-body-bytes=512Mi", "--max-connection-age=5m",
                "--client-ca=/ca", "--client-san-allow=spiffe://a/b, gw.example");
        assertEquals(512L << 20, set.maxBufferedBodyBytes());
        assertEquals(Duration.ofMinutes(5), set.maxConnectionAge());
        assertEquals(List.of("spiffe://a/b", "gw.example"), set.clientSanAllow());
        assertEquals(50L << 20, EppOptions.sizeOrShareOfHeap("10%", 500L << 20));
    }

    @Test
    void deprecatedMetricNameFlagsAreAcceptedAndReported() throws Exception {
        EppOptions o = parse("--pool-name=p", "--total-queued-requests-metric=sglang:num_queue_reqs");
        assertEquals(List.of("total-queued-requests-metric"), o.deprecatedMetricNameFlagsSet());
    }

    @Test
    void usageListsEveryFlag() {
        String usage = EppOptions.usage();
        for (String flag : List.of("--grpc-port", "--endpoints-file", "--grace-period", "--zap-log-level")) {
            assertTrue(usage.contains(flag), flag);
        }
    }
}
