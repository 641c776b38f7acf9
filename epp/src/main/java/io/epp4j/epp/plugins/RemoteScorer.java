package io.epp4j.epp.plugins;

import com.google.protobuf.ByteString;
import io.epp4j.proto.scorer.v1.EndpointState;
import io.epp4j.proto.scorer.v1.RemoteScorerGrpc;
import io.epp4j.proto.scorer.v1.ScoreRequest;
import io.epp4j.proto.scorer.v1.ScoreResponse;
import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointMetrics;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginContext;
import io.epp4j.spi.PluginMetrics;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.Scorer;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code remote-scorer}: asks a team's gRPC {@code epp4j.scorer.v1.RemoteScorer} service to score the candidates,
 * within a deadline. On timeout, error or a malformed answer every endpoint scores 0 and the failure is counted in
 * {@code epp4j_remote_scorer_failures_total{plugin_name, reason}}; the request is never failed. Parameters
 * {@code target} (host:port, required), {@code timeout} (50ms), {@code tls} (false).
 */
public final class RemoteScorer extends NamedPlugin implements Scorer, AutoCloseable {

    public static final String TYPE = "remote-scorer";
    private static final Logger LOG = LoggerFactory.getLogger(RemoteScorer.class);

    private final ManagedChannel channel;
    private final RemoteScorerGrpc.RemoteScorerBlockingStub stub;
    private final long timeoutNanos;
    private final PluginMetrics.Counter failures;
    private final Clock clock;

    public RemoteScorer(String name, PluginParameters parameters, PluginContext context) {
        super(TYPE, name);
        String target = parameters.getString("target", "");
        if (target.isBlank()) {
            throw new IllegalArgumentException("parameter 'target' (host:port of the scorer service) is required");
        }
        Duration timeout = parameters.getDuration("timeout", Duration.ofMillis(50));
        if (timeout.isZero() || timeout.isNegative()) {
            throw new IllegalArgumentException("parameter 'timeout' must be > 0");
        }
        this.timeoutNanos = timeout.toNanos();
        ChannelCredentials credentials = parameters.getBoolean("tls", false)
                ? TlsChannelCredentials.create() : InsecureChannelCredentials.create();
        this.channel = Grpc.newChannelBuilder(target, credentials).build();
        this.channel.getState(true); // connect now, so the first request does not pay for it within its deadline
        this.stub = RemoteScorerGrpc.newBlockingStub(channel);
        this.failures = context.metrics().counter("epp4j_remote_scorer_failures_total",
                "Remote scorer calls that failed or timed out (all endpoints scored 0)", "plugin_name", "reason");
        this.clock = context.clock();
    }

    /** The call to the scorer service waits for its answer (up to {@code timeout}). */
    @Override
    public boolean blocksOnIo() {
        return true;
    }

    @Override
    public void score(CycleState state, InferenceRequest request, List<Endpoint> endpoints, double[] scores) {
        int n = endpoints.size();
        ScoreResponse response;
        try {
            response = stub.withDeadlineAfter(timeoutNanos, TimeUnit.NANOSECONDS).score(toProto(request, endpoints));
        } catch (StatusRuntimeException e) {
            Status.Code code = e.getStatus().getCode();
            fail(scores, n, code == Status.Code.DEADLINE_EXCEEDED ? "timeout"
                    : code == Status.Code.UNAVAILABLE ? "unavailable" : "error", e.getStatus().toString());
            return;
        } catch (RuntimeException e) {
            fail(scores, n, "error", e.toString());
            return;
        }
        if (response.getScoresCount() != n) {
            fail(scores, n, "bad_response", "expected " + n + " scores, got " + response.getScoresCount());
            return;
        }
        for (int i = 0; i < n; i++) {
            double s = response.getScores(i);
            scores[i] = Double.isNaN(s) ? 0.0 : s;
        }
    }

    private void fail(double[] scores, int n, String reason, String detail) {
        Arrays.fill(scores, 0, n, 0.0);
        failures.inc(name(), reason);
        LOG.debug("remote scorer {} failed ({}): {}", name(), reason, detail);
    }

    private ScoreRequest toProto(InferenceRequest request, List<Endpoint> endpoints) {
        long now = clock.millis();
        ScoreRequest.Builder b = ScoreRequest.newBuilder()
                .setRequestId(request.requestId())
                .setModel(request.model())
                .setTargetModel(request.targetModel())
                .setPrompt(ByteString.copyFrom(request.prompt().array(), request.prompt().offset(),
                        request.prompt().length()))
                .putAllHeaders(request.headers());
        for (Endpoint e : endpoints) {
            EndpointMetrics m = e.metrics();
            b.addEndpoints(EndpointState.newBuilder()
                    .setName(e.info().name())
                    .setAddress(e.hostPort())
                    .putAllLabels(e.info().labels())
                    .setWaitingQueueSize(m.waitingQueueSize())
                    .setRunningRequests(m.runningRequests())
                    .setKvCacheUsage(Double.isNaN(m.kvCacheUsage()) ? -1 : m.kvCacheUsage())
                    .addAllActiveAdapters(m.activeAdapters())
                    .setInFlightRequests(e.inFlightRequests())
                    .setMetricsAgeMs(m.known() ? Math.max(0, now - m.scrapedAtMillis()) : -1));
        }
        return b.build();
    }

    @Override
    public void close() {
        channel.shutdownNow();
    }
}
