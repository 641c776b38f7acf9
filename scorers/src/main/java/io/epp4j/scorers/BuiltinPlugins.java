package io.epp4j.scorers;

import io.epp4j.scorers.admission.ProbabilisticAdmitter;
import io.epp4j.scorers.affinity.HeaderLabelAffinityScorer;
import io.epp4j.scorers.affinity.LoraAffinityScorer;
import io.epp4j.scorers.affinity.NoHitLruScorer;
import io.epp4j.scorers.affinity.SessionAffinityFilter;
import io.epp4j.scorers.affinity.SessionAffinityScorer;
import io.epp4j.scorers.contextlength.ContextLengthAware;
import io.epp4j.scorers.attribute.EndpointAttributeFilter;
import io.epp4j.scorers.attribute.EndpointAttributeScorer;
import io.epp4j.scorers.conformance.DestinationEndpointServedVerifier;
import io.epp4j.scorers.cost.PrefixLoadCostScorer;
import io.epp4j.scorers.conformance.HeaderBasedTestingFilter;
import io.epp4j.scorers.disagg.AlwaysDisaggMultimodalDecider;
import io.epp4j.scorers.disagg.AlwaysDisaggPdDecider;
import io.epp4j.scorers.disagg.DataParallelProfileHandler;
import io.epp4j.scorers.disagg.DisaggHeadersHandler;
import io.epp4j.scorers.disagg.DisaggProfileHandler;
import io.epp4j.scorers.disagg.PrefixBasedPdDecider;
import io.epp4j.scorers.flowcontrol.PriorityHoldbackPolicy;
import io.epp4j.scorers.flowcontrol.ProgramAwareFairness;
import io.epp4j.scorers.flowcontrol.SoftReflectiveCeilingPolicy;
import io.epp4j.scorers.filter.ByLabelFilter;
import io.epp4j.scorers.filter.LabelSelectorFilter;
import io.epp4j.scorers.filter.RoleFilter;
import io.epp4j.scorers.filter.UtilizationFilter;
import io.epp4j.scorers.load.ActiveRequestScorer;
import io.epp4j.scorers.load.PrefillBacklogScorer;
import io.epp4j.scorers.load.KvCacheUtilizationScorer;
import io.epp4j.scorers.load.LoadAwareScorer;
import io.epp4j.scorers.load.QueueScorer;
import io.epp4j.scorers.load.RunningRequestsSizeScorer;
import io.epp4j.scorers.load.TokenLoadScorer;
import io.epp4j.scorers.multimodal.MmEmbeddingsCacheProducer;
import io.epp4j.scorers.multimodal.MmEmbeddingsCacheScorer;
import io.epp4j.scorers.picker.MaxScorePicker;
import io.epp4j.scorers.picker.RandomPicker;
import io.epp4j.scorers.picker.WeightedRandomPicker;
import io.epp4j.scorers.prefix.ApproxPrefixCacheProducer;
import io.epp4j.scorers.prefix.BurstPrefixCacheProducer;
import io.epp4j.scorers.prefix.PrefixCacheAffinityFilter;
import io.epp4j.scorers.prefix.PrefixCacheScorer;
import io.epp4j.scorers.profile.SingleProfileHandler;
import io.epp4j.scorers.saturation.ConcurrencyDetector;
import io.epp4j.scorers.saturation.UtilizationDetector;
import io.epp4j.scorers.topology.TopologyAffinityFilter;
import io.epp4j.scorers.topology.TopologyAffinityScorer;
import io.epp4j.scorers.topology.TopologyExtractor;
import io.epp4j.spi.PluginFactory;

import java.util.List;

/** The factories of every built-in plugin, by GAIE / llm-d type name. */
public final class BuiltinPlugins {

    private BuiltinPlugins() {
    }

    public static List<PluginFactory> factories() {
        return List.of(
                PluginFactory.of(QueueScorer.TYPE, (n, p, c) -> new QueueScorer(n)),
                PluginFactory.of(KvCacheUtilizationScorer.TYPE, (n, p, c) -> new KvCacheUtilizationScorer(n)),
                PluginFactory.of(RunningRequestsSizeScorer.TYPE, (n, p, c) -> new RunningRequestsSizeScorer(n)),
                PluginFactory.of(TokenLoadScorer.TYPE, (n, p, c) -> new TokenLoadScorer(n, p)),
                PluginFactory.of(ActiveRequestScorer.TYPE, (n, p, c) -> new ActiveRequestScorer(n, p)),
                PluginFactory.of(LoadAwareScorer.TYPE, (n, p, c) -> new LoadAwareScorer(n, p)),
                PluginFactory.of(LoraAffinityScorer.TYPE, (n, p, c) -> new LoraAffinityScorer(n, p)),
                PluginFactory.of(SessionAffinityScorer.TYPE, (n, p, c) -> new SessionAffinityScorer(n)),
                PluginFactory.of(NoHitLruScorer.TYPE, (n, p, c) -> new NoHitLruScorer(n, p)),
                PluginFactory.of(PrefixCacheScorer.TYPE, (n, p, c) -> new PrefixCacheScorer(n, p)),
                PluginFactory.of(PrefixLoadCostScorer.TYPE, (n, p, c) -> new PrefixLoadCostScorer(n, p)),
                PluginFactory.of(PrefillBacklogScorer.TYPE,
                        (n, p, c) -> new PrefillBacklogScorer(n, p, c.nanoTicker())),
                PluginFactory.of(ApproxPrefixCacheProducer.TYPE, ApproxPrefixCacheProducer::new),
                PluginFactory.of(PrefixCacheAffinityFilter.TYPE, (n, p, c) -> new PrefixCacheAffinityFilter(n, p,
                        synchronizedDoubles(c.random(n)), c.metrics())),
                PluginFactory.of(ByLabelFilter.TYPE, (n, p, c) -> new ByLabelFilter(n, p)),
                PluginFactory.of(LabelSelectorFilter.TYPE,
                        (n, p, c) -> new LabelSelectorFilter(LabelSelectorFilter.TYPE, n, p)),
                PluginFactory.of(LabelSelectorFilter.ALIAS,
                        (n, p, c) -> new LabelSelectorFilter(LabelSelectorFilter.ALIAS, n, p)),
                PluginFactory.of(RoleFilter.DECODE, (n, p, c) -> new RoleFilter(RoleFilter.DECODE, n)),
                PluginFactory.of(RoleFilter.PREFILL, (n, p, c) -> new RoleFilter(RoleFilter.PREFILL, n)),
                PluginFactory.of(RoleFilter.ENCODE, (n, p, c) -> new RoleFilter(RoleFilter.ENCODE, n)),
                PluginFactory.of(MaxScorePicker.TYPE, (n, p, c) -> new MaxScorePicker(n, p, c.random(n))),
                PluginFactory.of(RandomPicker.TYPE, (n, p, c) -> new RandomPicker(n, p, c.random(n))),
                PluginFactory.of(WeightedRandomPicker.TYPE, (n, p, c) -> new WeightedRandomPicker(n, p, c.random(n))),
                PluginFactory.of(SingleProfileHandler.TYPE, (n, p, c) -> new SingleProfileHandler(n)),
                PluginFactory.of(DisaggProfileHandler.TYPE, DisaggProfileHandler::disagg),
                PluginFactory.of(DisaggProfileHandler.LEGACY_TYPE, DisaggProfileHandler::legacy),
                PluginFactory.of(DataParallelProfileHandler.TYPE, (n, p, c) -> new DataParallelProfileHandler(n, p)),
                PluginFactory.of(PrefixBasedPdDecider.TYPE, (n, p, c) -> new PrefixBasedPdDecider(n, p)),
                PluginFactory.of(AlwaysDisaggPdDecider.TYPE, (n, p, c) -> new AlwaysDisaggPdDecider(n)),
                PluginFactory.of(AlwaysDisaggMultimodalDecider.TYPE, (n, p, c) -> new AlwaysDisaggMultimodalDecider(n)),
                PluginFactory.of(DisaggHeadersHandler.TYPE,
                        (n, p, c) -> new DisaggHeadersHandler(DisaggHeadersHandler.TYPE, n, p)),
                PluginFactory.of(DisaggHeadersHandler.ALIAS,
                        (n, p, c) -> new DisaggHeadersHandler(DisaggHeadersHandler.ALIAS, n, p)),
                PluginFactory.of(UtilizationDetector.TYPE, (n, p, c) -> new UtilizationDetector(n, p, c.clock())),
                PluginFactory.of(ConcurrencyDetector.TYPE, (n, p, c) -> new ConcurrencyDetector(n, p)),
                PluginFactory.of(UtilizationFilter.TYPE, (n, p, c) -> new UtilizationFilter(n, p)),
                PluginFactory.of(HeaderLabelAffinityScorer.TYPE, (n, p, c) -> new HeaderLabelAffinityScorer(n, p)),
                PluginFactory.of(SessionAffinityFilter.TYPE, (n, p, c) -> new SessionAffinityFilter(n, p, c.clock())),
                PluginFactory.of(ContextLengthAware.TYPE, (n, p, c) -> new ContextLengthAware(n, p)),
                PluginFactory.of(TopologyExtractor.TYPE, (n, p, c) -> new TopologyExtractor(n, p)),
                PluginFactory.of(TopologyAffinityFilter.TYPE, (n, p, c) -> new TopologyAffinityFilter(n, p)),
                PluginFactory.of(TopologyAffinityScorer.TYPE, (n, p, c) -> new TopologyAffinityScorer(n, p)),
                PluginFactory.of(EndpointAttributeScorer.TYPE, (n, p, c) -> new EndpointAttributeScorer(n, p)),
                PluginFactory.of(EndpointAttributeFilter.TYPE, (n, p, c) -> new EndpointAttributeFilter(n, p)),
                PluginFactory.of(MmEmbeddingsCacheProducer.TYPE, MmEmbeddingsCacheProducer::new),
                PluginFactory.of(MmEmbeddingsCacheScorer.TYPE, (n, p, c) -> new MmEmbeddingsCacheScorer(n)),
                PluginFactory.of(BurstPrefixCacheProducer.TYPE, (n, p, c) -> new BurstPrefixCacheProducer(n, p)),
                PluginFactory.of(HeaderBasedTestingFilter.TYPE, (n, p, c) -> new HeaderBasedTestingFilter(n)),
                PluginFactory.of(DestinationEndpointServedVerifier.TYPE,
                        (n, p, c) -> new DestinationEndpointServedVerifier(n)),
                PluginFactory.of(ProbabilisticAdmitter.TYPE,
                        (n, p, c) -> new ProbabilisticAdmitter(n, p, synchronizedDoubles(c.random(n)))),
                PluginFactory.of(ProgramAwareFairness.TYPE, (n, p, c) -> new ProgramAwareFairness(n, p,
                        c.nanoTicker())),
                PluginFactory.of(SoftReflectiveCeilingPolicy.TYPE, (n, p, c) -> new SoftReflectiveCeilingPolicy(n, p)),
                PluginFactory.of(PriorityHoldbackPolicy.TYPE, (n, p, c) -> new PriorityHoldbackPolicy(n, p)));
    }

    /** Uniform doubles in [0, 1) from {@code random}, safe to call from any thread. */
    private static java.util.function.DoubleSupplier synchronizedDoubles(java.util.Random random) {
        return () -> {
            synchronized (random) {
                return random.nextDouble();
            }
        };
    }
}
