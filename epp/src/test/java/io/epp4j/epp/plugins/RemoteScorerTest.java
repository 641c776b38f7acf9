package io.epp4j.epp.plugins;

import io.epp4j.epp.config.ConfigLoader;
import io.epp4j.epp.config.LoadedConfig;
import io.epp4j.epp.scheduling.SchedulingEngine;
import io.epp4j.epp.scheduling.TestPool;
import io.epp4j.proto.scorer.v1.RemoteScorerGrpc;
import io.epp4j.proto.scorer.v1.ScoreRequest;
import io.epp4j.proto.scorer.v1.ScoreResponse;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.ResponseUsage;
import io.epp4j.epp.director.ScheduledRequest;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static io.epp4j.epp.scheduling.TestPool.endpoint;
import static io.epp4j.epp.scheduling.TestPool.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The remote-scorer plugin against a real gRPC scorer service on loopback TCP. */
class RemoteScorerTest {

    enum Mode { HEALTHY, SLOW, FAILING, WRONG_COUNT }

    final AtomicReference<Mode> mode = new AtomicReference<>(Mode.HEALTHY);
    final CountDownLatch releaseSlow = new CountDownLatch(1);
    final AtomicReference<ScoreRequest> lastRequest = new AtomicReference<>();
    final PrometheusRegistry registry = new PrometheusRegistry();
    Server server;
    SchedulingEngine engine;

    @BeforeEach
    void startServer() throws Exception {
        server = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
                .addService(new RemoteScorerGrpc.RemoteScorerImplBase() {
                    @Override
                    public void score(ScoreRequest request, StreamObserver<ScoreResponse> response) {
                        lastRequest.set(request);
                        switch (mode.get()) {
                            case SLOW -> {
                                try {
                                    releaseSlow.await(10, TimeUnit.SECONDS);
                                } catch (InterruptedException e) {
                                    Thread.currentThread().interrupt();
                                }
                                response.onNext(ScoreResponse.newBuilder().addScores(1).addScores(1).addScores(1)
                                        .build());
                                response.onCompleted();
                            }
                            case FAILING -> response.onError(Status.INTERNAL.withDescription("boom").asException());
                            case WRONG_COUNT -> {
                                response.onNext(ScoreResponse.newBuilder().addScores(1).build());
                                response.onCompleted();
                            }
                            default -> {
                                // prefers the endpoint whose name ends in "2"
                                ScoreResponse.Builder b = ScoreResponse.newBuilder();
                                request.getEndpointsList().forEach(e -> b.addScores(
                                        e.getName().startsWith("pod-2") ? 1.0 : 0.1));
                                response.onNext(b.build());
                                response.onCompleted();
                            }
                        }
                    }
                }).build().start();
        ConfigLoader loader = TestPool.loader(registry);
        LoadedConfig config = loader.load("""
                apiVersion: inference.networking.x-k8s.io/v1alpha1
                kind: EndpointPickerConfig
                plugins:
                - name: team-scorer
                  type: remote-scorer
                  parameters:
                    target: 127.0.0.1:%d
                    timeout: 2s
                schedulingProfiles:
                - name: default
                  plugins:
                  - pluginRef: team-scorer
                    weight: 5
                """.formatted(server.getPort()), "t");
        engine = new SchedulingEngine(config, registry, TestPool.CLOCK, System::nanoTime, 8);
    }

    @AfterEach
    void stop() throws Exception {
        releaseSlow.countDown();
        engine.close();
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    final List<Endpoint> pool = List.of(endpoint(1, 0, 0), endpoint(2, 0, 0), endpoint(3, 0, 0));

    double[] remoteScores(String id) throws Exception {
        InferenceRequest r = request(id, "the prompt", 0, Map.of("x-team", "a"));
        engine.schedule(r, pool).onComplete(ResponseUsage.NONE, true);
        return engine.decisions().forRequest(id).rawScores()[0];
    }

    @Test
    void healthyServiceDrivesThePick() throws Exception {
        InferenceRequest r = request("h", "the prompt", 0, Map.of("x-team", "a"));
        ScheduledRequest scheduled = engine.schedule(r, pool);
        assertEquals(pool.get(1), scheduled.result().primary());
        ScoreRequest sent = lastRequest.get();
        assertEquals(3, sent.getEndpointsCount());
        assertEquals("10.0.0.2:8000", sent.getEndpoints(1).getAddress());
        assertEquals("the prompt", sent.getPrompt().toStringUtf8());
        assertEquals("a", sent.getHeadersMap().get("x-team"));
        scheduled.onComplete(ResponseUsage.NONE, true);
    }

    @Test
    void slowServiceTimesOutToZeroAndIsCounted() throws Exception {
        mode.set(Mode.SLOW);
        assertEquals(0.0, sum(remoteScores("s")));
        assertTrue(TestPool.scrape(registry).contains(
                "epp4j_remote_scorer_failures_total{plugin_name=\"team-scorer\",reason=\"timeout\"} 1"),
                TestPool.scrape(registry));
    }

    @Test
    void failingServiceScoresZeroAndIsCounted() throws Exception {
        mode.set(Mode.FAILING);
        assertEquals(0.0, sum(remoteScores("f1")));
        assertEquals(0.0, sum(remoteScores("f2")));
        mode.set(Mode.WRONG_COUNT);
        assertEquals(0.0, sum(remoteScores("w")));
        String text = TestPool.scrape(registry);
        assertTrue(text.contains("epp4j_remote_scorer_failures_total{plugin_name=\"team-scorer\",reason=\"error\"} 2"),
                text);
        assertTrue(text.contains("reason=\"bad_response\"} 1"), text);
    }

    @Test
    void unreachableServiceScoresZero() throws Exception {
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        assertEquals(0.0, sum(remoteScores("u")));
        assertTrue(TestPool.scrape(registry).contains("epp4j_remote_scorer_failures_total"));
    }

    static double sum(double[] a) {
        double s = 0;
        for (double v : a) {
            s += v;
        }
        return s;
    }
}
