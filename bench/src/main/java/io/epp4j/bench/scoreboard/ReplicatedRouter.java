package io.epp4j.bench.scoreboard;

import io.epp4j.bench.sim.FleetSimulation;
import io.epp4j.bench.sim.KvEvent;
import io.epp4j.bench.sim.Seq;

import java.util.List;

/**
 * N EPP replicas of one config behind one gateway, as a Kubernetes Service spreads the gateway's streams: request
 * {@code i} goes to replica {@code i mod N}, which alone hears its first token and its end; every replica scrapes
 * every pod and hears every pod's KV events (each subscribes to all of them).
 */
final class ReplicatedRouter implements FleetSimulation.Router, AutoCloseable {

    private final List<EppRouter> replicas;

    ReplicatedRouter(List<EppRouter> replicas) {
        if (replicas.isEmpty()) {
            throw new IllegalArgumentException("at least one replica");
        }
        this.replicas = List.copyOf(replicas);
    }

    private EppRouter of(int index) {
        return replicas.get(index % replicas.size());
    }

    @Override
    public int route(int index, FleetSimulation.Arrival arrival, long nowNanos, FleetSimulation.Fleet fleet) {
        for (EppRouter r : replicas) {
            r.knowFleet(fleet);
        }
        return of(index).route(index, arrival, nowNanos, fleet);
    }

    @Override
    public void firstToken(int index, int pod, long atNanos) {
        of(index).firstToken(index, pod, atNanos);
    }

    @Override
    public void finished(int index, int pod, Seq seq, int status, long atNanos) {
        of(index).finished(index, pod, seq, status, atNanos);
    }

    @Override
    public void tick(long nowNanos, FleetSimulation.Fleet fleet) {
        for (EppRouter r : replicas) {
            r.tick(nowNanos, fleet);
        }
    }

    @Override
    public long tickNanos() {
        return replicas.get(0).tickNanos();
    }

    @Override
    public boolean wantsKvEvents() {
        return replicas.get(0).wantsKvEvents();
    }

    @Override
    public void kvEvents(int pod, List<KvEvent> batch, long atNanos) {
        for (EppRouter r : replicas) {
            r.kvEvents(pod, batch, atNanos);
        }
    }

    @Override
    public void close() {
        for (EppRouter r : replicas) {
            r.close();
        }
    }
}
