package io.epp4j.epp.precise;

import io.epp4j.spi.PluginFactory;

import java.util.List;

/** The factories of llm-d's precise prefix-cache chain, by type name. */
public final class PrecisePrefixPlugins {

    private PrecisePrefixPlugins() {
    }

    public static List<PluginFactory> factories() {
        return List.of(
                PluginFactory.of(TokenProducer.TYPE, (n, p, c) -> new TokenProducer(TokenProducer.TYPE, n, p, c)),
                PluginFactory.of(TokenProducer.ALIAS, (n, p, c) -> new TokenProducer(TokenProducer.ALIAS, n, p, c)),
                PluginFactory.of(PrecisePrefixCacheProducer.TYPE, PrecisePrefixCacheProducer::new),
                PluginFactory.of(PrecisePrefixCacheScorer.TYPE, PrecisePrefixCacheScorer::new));
    }
}
