package io.epp4j.epp.precise;

import io.epp4j.epp.datastore.EndpointStore;
import io.epp4j.epp.kvevents.PreciseIndexStatus;
import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.scorers.prefix.PrefixMatchInfo;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.DataProducer;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointInfo;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.Plugin;
import io.epp4j.spi.PluginContext;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.PreRequest;
import io.epp4j.spi.ResponseObserver;
import io.epp4j.spi.ResponseUsage;
import io.epp4j.spi.SchedulingResult;
import io.epp4j.spi.Scorer;

import java.util.List;

/**
 * {@code precise-prefix-cache-scorer}, llm-d's older single plugin (now a deprecated wrapper there too): a
 * {@link PrecisePrefixCacheProducer} with the same parameters and a scorer of its match,
 * {@code matchedBlocks / totalBlocks}. Token ids still come from a {@code token-producer} declared beside it.
 */
public final class PrecisePrefixCacheScorer extends NamedPlugin
        implements DataProducer, Scorer, PreRequest, ResponseObserver, EndpointStore.Listener, PreciseIndexStatus,
        AutoCloseable {

    public static final String TYPE = "precise-prefix-cache-scorer";

    private final PrecisePrefixCacheProducer producer;

    public PrecisePrefixCacheScorer(String name, PluginParameters parameters, PluginContext context) {
        super(TYPE, name);
        this.producer = new PrecisePrefixCacheProducer(TYPE, name, parameters, context);
    }

    public PrecisePrefixCacheProducer producer() {
        return producer;
    }

    @Override
    public void produce(CycleState state, InferenceRequest request, List<Endpoint> endpoints) {
        producer.produce(state, request, endpoints);
    }

    @Override
    public void score(CycleState state, InferenceRequest request, List<Endpoint> endpoints, double[] scores) {
        PrefixMatchInfo info = state.get(PrefixMatchInfo.keyFor(name()));
        double total = info == null ? 0 : info.totalBlocks();
        for (int i = 0; i < endpoints.size(); i++) {
            scores[i] = total == 0 ? 0.0 : Math.min(1.0, info.matchedBlocks(endpoints.get(i)) / total);
        }
    }

    @Override
    public void preRequest(CycleState state, InferenceRequest request, SchedulingResult result) {
        producer.preRequest(state, request, result);
    }

    @Override
    public void onResponseBody(CycleState state, InferenceRequest request, Endpoint target, ByteSlice chunk,
                               boolean endOfStream) {
        producer.onResponseBody(state, request, target, chunk, endOfStream);
    }

    @Override
    public void onComplete(CycleState state, InferenceRequest request, Endpoint target, ResponseUsage usage,
                           boolean success) {
        producer.onComplete(state, request, target, usage, success);
    }

    @Override
    public Snapshot status() {
        return producer.status();
    }

    @Override
    public void onAdded(EndpointInfo endpoint) {
        producer.onAdded(endpoint);
    }

    @Override
    public void onRemoved(EndpointInfo endpoint) {
        producer.onRemoved(endpoint);
    }

    @Override
    public boolean takeOver(Plugin predecessor) {
        return predecessor instanceof PrecisePrefixCacheScorer previous && producer.takeOver(previous.producer);
    }

    @Override
    public void close() {
        producer.close();
    }
}
