package io.epp4j.scorers.saturation;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.Filter;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.SaturationDetector;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code concurrency-detector}: saturation = the EPP's aggregate in-flight requests (or estimated tokens) over the
 * aggregate capacity. Parameters {@code concurrencyMode} ({@code requests}|{@code tokens}), {@code maxConcurrency}
 * (100), {@code maxTokenConcurrency} (1,000,000), {@code headroom} (0). As a filter it keeps endpoints below
 * {@code capacity × (1 + headroom)}, or all of them when none qualifies.
 */
public final class ConcurrencyDetector extends NamedPlugin implements SaturationDetector, Filter {

    public static final String TYPE = "concurrency-detector";

    private final boolean tokens;
    private final long capacity;
    private final double headroom;

    public ConcurrencyDetector(String name, PluginParameters parameters) {
        super(TYPE, name);
        String mode = parameters.getString("concurrencyMode", "requests");
        if (!mode.equals("requests") && !mode.equals("tokens")) {
            throw new IllegalArgumentException("parameter 'concurrencyMode' must be requests or tokens, got " + mode);
        }
        this.tokens = mode.equals("tokens");
        this.capacity = tokens ? parameters.getLong("maxTokenConcurrency", 1_000_000)
                : parameters.getLong("maxConcurrency", 100);
        this.headroom = parameters.getDouble("headroom", 0.0);
        if (capacity <= 0 || headroom < 0) {
            throw new IllegalArgumentException("capacity must be > 0 and 'headroom' >= 0");
        }
    }

    private long load(Endpoint e) {
        return tokens ? e.inFlightTokens() : e.inFlightRequests();
    }

    @Override
    public double saturation(List<Endpoint> endpoints) {
        if (endpoints.isEmpty()) {
            return 1.0;
        }
        double total = 0;
        for (Endpoint e : endpoints) {
            total += load(e);
        }
        return total / ((double) capacity * endpoints.size());
    }

    @Override
    public List<Endpoint> filter(CycleState state, InferenceRequest request, List<Endpoint> endpoints) {
        double limit = capacity * (1 + headroom);
        List<Endpoint> out = new ArrayList<>(endpoints.size());
        for (Endpoint e : endpoints) {
            if (load(e) < limit) {
                out.add(e);
            }
        }
        return out.isEmpty() ? endpoints : out;
    }
}
