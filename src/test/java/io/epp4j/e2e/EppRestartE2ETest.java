package io.epp4j.e2e;

import io.epp4j.bench.gateway.GatewaySim;
import io.epp4j.bench.sim.SimServer;
import io.epp4j.bench.stack.ForkedEpp;
import io.epp4j.e2e.FaultStack.Answer;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.epp4j.e2e.FaultStack.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The EPP process is killed (SIGKILL) while streams flow through it, then started again on the same port, as
 * Kubernetes restarts a crashed container: the requests in flight at the kill fail, the gateway's connection
 * comes back by itself, service resumes without anyone touching the gateway, and neither the new EPP nor the pods
 * hold anything once the traffic stops.
 */
class EppRestartE2ETest {

    private record Timed(long startNanos, long endNanos, Answer answer) {
    }

    @Test
    void killedEppFailsOnlyInFlightStreamsAndServiceResumesByItself() throws Exception {
        List<SimServer> pods = FaultStack.pods(3, 4);
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String[] flags = {"--grpc-port", Integer.toString(port)};
        ForkedEpp first = ForkedEpp.start(FaultStack.addresses(pods), false, null, flags);
        ForkedEpp second = null;
        GatewaySim gateway = FaultStack.gateway(FaultStack.addresses(pods), port);
        ExecutorService clients = Executors.newCachedThreadPool();
        AtomicBoolean running = new AtomicBoolean(true);
        try {
            List<CompletableFuture<List<Timed>>> traffic = new ArrayList<>();
            for (int c = 0; c < 6; c++) {
                traffic.add(CompletableFuture.supplyAsync(() -> {
                    List<Timed> seen = new ArrayList<>();
                    while (running.get()) {
                        long start = System.nanoTime();
                        Answer a = FaultStack.chat(gateway, true, 40);
                        seen.add(new Timed(start, System.nanoTime(), a));
                    }
                    return seen;
                }, clients));
            }
            await("streams through the first EPP", Duration.ofSeconds(30),
                    () -> pods.stream().mapToLong(SimServer::served).sum() > 20);
            long killed = System.nanoTime();
            first.kill();
            second = ForkedEpp.start(FaultStack.addresses(pods), false, null, flags);
            long restarted = System.nanoTime();
            long servedAtRestart = pods.stream().mapToLong(SimServer::served).sum();
            await("service resumes through the new EPP", Duration.ofSeconds(30),
                    () -> pods.stream().mapToLong(SimServer::served).sum() > servedAtRestart + 30);
            running.set(false);
            List<Timed> all = traffic.stream().flatMap(f -> f.join().stream()).toList();

            long recovered = all.stream().filter(t -> t.startNanos() > restarted && t.answer().complete())
                    .mapToLong(Timed::startNanos).min().orElseThrow();
            for (Timed t : all) {
                boolean before = t.endNanos() < killed;
                boolean after = t.startNanos() >= recovered;
                if (before || after) {
                    assertTrue(t.answer().complete(), "only requests around the kill may fail: " + t.answer());
                }
            }
            assertTrue(all.stream().anyMatch(t -> !t.answer().complete()), "the streams in flight at the kill fail");
            assertTrue(Duration.ofNanos(recovered - restarted).compareTo(Duration.ofSeconds(10)) < 0,
                    "the gateway's connection came back within 10 s of the restart: "
                            + Duration.ofNanos(recovered - restarted));
            ForkedEpp epp = second;
            await("the new EPP holds no in-flight slot", Duration.ofSeconds(20),
                    () -> FaultStack.heldByEpp(epp.metricsPort()) == 0);
            await("the pods hold no request", Duration.ofSeconds(20), () -> pods.stream().allMatch(p ->
                    p.snapshot().running() == 0 && p.snapshot().waiting() == 0));
            assertEquals(0, FaultStack.heldByEpp(epp.metricsPort()));
        } finally {
            running.set(false);
            clients.shutdownNow();
            gateway.close();
            first.close();
            if (second != null) {
                second.close();
            }
            pods.forEach(SimServer::close);
        }
    }
}
