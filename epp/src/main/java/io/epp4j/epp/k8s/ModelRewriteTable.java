package io.epp4j.epp.k8s;

import io.epp4j.epp.director.ModelRewriter;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * InferenceModelRewrite rules for one pool, compiled into a lookup and swapped atomically on every change.
 *
 * <p>Precedence (gaie-epp.md §2.4): a rule with an Exact match on the model beats a catch-all rule (no matches);
 * among candidates the oldest resource (creationTimestamp, then name) wins; within a resource the first rule in
 * list order. Only the winning rule applies; its target is drawn by weight with the injected {@link Random}.
 */
final class ModelRewriteTable implements ModelRewriter {

    private static final Logger LOG = LoggerFactory.getLogger(ModelRewriteTable.class);

    /** One weighted choice; {@code cumulative[i]} is the sum of weights 0..i. */
    record Targets(String rewriteName, List<String> models, long[] cumulative) {
        String pick(Random random) {
            if (models.size() == 1) {
                return models.get(0);
            }
            long total = cumulative[cumulative.length - 1];
            long draw = (long) (random.nextDouble() * total);
            for (int i = 0; i < cumulative.length; i++) {
                if (draw < cumulative[i]) {
                    return models.get(i);
                }
            }
            return models.get(models.size() - 1);
        }
    }

    /** The compiled view: exact model → winning targets, plus the winning catch-all (nullable). */
    record Compiled(Map<String, Targets> exact, Targets catchAll) {
        static final Compiled EMPTY = new Compiled(Map.of(), null);
    }

    private final String poolName;
    private final String poolGroup;
    private final Random random;
    private volatile Compiled compiled = Compiled.EMPTY;

    ModelRewriteTable(String poolName, String poolGroup, Random random) {
        this.poolName = poolName;
        this.poolGroup = poolGroup;
        this.random = random;
    }

    @Override
    public Choice rewrite(String incomingModel) {
        Compiled c = compiled;
        Targets t = incomingModel == null ? null : c.exact().get(incomingModel);
        if (t == null) {
            t = c.catchAll();
        }
        return t == null ? null : new Choice(t.rewriteName(), t.pick(random));
    }

    /** Replaces the rules with those of the cached rewrites bound to this pool. */
    void rebuild(Collection<GenericKubernetesResource> rewrites) {
        List<GenericKubernetesResource> ordered = new ArrayList<>();
        for (GenericKubernetesResource r : rewrites) {
            if (r.getMetadata().getDeletionTimestamp() == null && PoolRef.refersTo(r, poolName, poolGroup)) {
                ordered.add(r);
            }
        }
        ordered.sort(Comparator.comparing(ModelRewriteTable::createdAt)
                .thenComparing(r -> r.getMetadata().getName()));
        Map<String, Targets> exact = new HashMap<>();
        Targets catchAll = null;
        for (GenericKubernetesResource r : ordered) {
            Object rules = r.get("spec", "rules");
            if (!(rules instanceof List<?> ruleList)) {
                continue;
            }
            for (Object rule : ruleList) {
                if (!(rule instanceof Map<?, ?> ruleMap)) {
                    continue;
                }
                Targets targets = targetsOf(r.getMetadata().getName(), ruleMap.get("targets"));
                if (targets == null) {
                    continue;
                }
                List<String> models = exactModels(ruleMap.get("matches"));
                if (models.isEmpty()) {
                    if (catchAll == null) {
                        catchAll = targets;
                    }
                } else {
                    for (String model : models) {
                        exact.putIfAbsent(model, targets); // oldest resource, then first rule, wins
                    }
                }
            }
        }
        compiled = new Compiled(Map.copyOf(exact), catchAll);
    }

    private static List<String> exactModels(Object matches) {
        List<String> models = new ArrayList<>();
        if (matches instanceof List<?> list) {
            for (Object m : list) {
                if (m instanceof Map<?, ?> match && match.get("model") instanceof Map<?, ?> model) {
                    Object type = model.get("type");
                    Object value = model.get("value");
                    if ((type == null || "Exact".equals(type)) && value != null && !value.toString().isEmpty()) {
                        models.add(value.toString());
                    }
                }
            }
        }
        return models;
    }

    private static Targets targetsOf(String rewriteName, Object targets) {
        if (!(targets instanceof List<?> list) || list.isEmpty()) {
            LOG.warn("InferenceModelRewrite {}: a rule without targets is ignored", rewriteName);
            return null;
        }
        List<String> models = new ArrayList<>();
        long[] cumulative = new long[list.size()];
        long sum = 0;
        for (Object t : list) {
            if (!(t instanceof Map<?, ?> target) || target.get("modelRewrite") == null) {
                LOG.warn("InferenceModelRewrite {}: a target without modelRewrite; rule ignored", rewriteName);
                return null;
            }
            Object w = target.get("weight");
            // Weights are optional as a set: when none is given, targets share traffic equally.
            long weight = w instanceof Number n && n.longValue() > 0 ? n.longValue() : 1;
            sum += weight;
            cumulative[models.size()] = sum;
            models.add(target.get("modelRewrite").toString());
        }
        return new Targets(rewriteName, List.copyOf(models), cumulative);
    }

    private static Instant createdAt(GenericKubernetesResource r) {
        String ts = r.getMetadata().getCreationTimestamp();
        if (ts == null) {
            return Instant.MAX;
        }
        try {
            return Instant.parse(ts);
        } catch (DateTimeParseException e) {
            return Instant.MAX;
        }
    }
}
