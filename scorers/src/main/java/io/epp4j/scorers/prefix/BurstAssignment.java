package io.epp4j.scorers.prefix;

import io.epp4j.spi.Endpoint;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The joint placement of one burst window's requests (see {@link BurstPrefixCacheProducer}); a pure function of its
 * inputs, run once per window by the thread that seals it.
 *
 * <p>Requests with the same prompt prefix (the same chain of block hashes) form a group. Groups of two or more are
 * placed first and kept whole; a lone request is placed only when it shares at least {@code minColocateBlocks}
 * leading blocks with another request of the window. Within each tier, longer prefixes go first. A unit prefers the
 * replica already holding the longest share of its prefix (at least {@code minColocateBlocks} blocks) while that
 * replica is under its fair share of the window; otherwise it goes to the least loaded replica, then the one with
 * fewer running requests, then the lower name. {@code maxPerReplica} caps the members of one group on one replica,
 * the rest spilling to the next least loaded one. Load counts requests, or with {@code byTokens} the prefix blocks a
 * replica must still prefill (blocks it already holds from an earlier unit of the window are free).
 */
final class BurstAssignment {

    static final int UNLIMITED = -1;

    /** One request of the window: its block hashes, candidates, and (once sealed) the replica it goes to. */
    static final class Entry {
        final long[] hashes;
        final List<Endpoint> candidates;
        volatile String assigned;

        Entry(long[] hashes, List<Endpoint> candidates) {
            this.hashes = hashes;
            this.candidates = candidates;
        }
    }

    private final int maxPerReplica;
    private final int minColocateBlocks;
    private final boolean byTokens;
    private final Map<String, Endpoint> replicas = new LinkedHashMap<>();
    private final Map<String, Integer> load = new HashMap<>();
    private final Map<Long, Set<String>> holders = new HashMap<>();
    private int maxShare;

    private BurstAssignment(int maxPerReplica, int minColocateBlocks, boolean byTokens) {
        this.maxPerReplica = maxPerReplica;
        this.minColocateBlocks = minColocateBlocks;
        this.byTokens = byTokens;
    }

    /** Sets {@link Entry#assigned} of the entries that get an affinity; the others keep null. */
    static void assign(List<Entry> entries, int maxPerReplica, int minColocateBlocks, boolean byTokens) {
        new BurstAssignment(maxPerReplica, minColocateBlocks, byTokens).run(entries);
    }

    /** The key of a whole prefix: its length and last chained hash. */
    private record Prefix(int blocks, long last) {
        static Prefix of(long[] hashes, int blocks) {
            return new Prefix(blocks, hashes[blocks - 1]);
        }
    }

    private void run(List<Entry> entries) {
        Map<Prefix, List<Entry>> groups = new LinkedHashMap<>();
        for (Entry e : entries) {
            if (e.hashes.length == 0) {
                continue;
            }
            groups.computeIfAbsent(Prefix.of(e.hashes, e.hashes.length), k -> new ArrayList<>()).add(e);
            if (replicas.isEmpty()) {
                e.candidates.forEach(c -> replicas.put(c.info().name(), c));
            }
        }
        if (replicas.isEmpty()) {
            return;
        }
        Set<Prefix> sharedSingles = sharedSingles(groups);
        List<List<Entry>> multi = new ArrayList<>();
        List<List<Entry>> single = new ArrayList<>();
        int total = 0;
        for (Map.Entry<Prefix, List<Entry>> g : groups.entrySet()) {
            List<Entry> members = g.getValue();
            if (members.size() >= 2) {
                multi.add(members);
            } else if (sharedSingles.contains(g.getKey())) {
                single.add(members);
            } else {
                continue;
            }
            total += byTokens ? g.getKey().blocks() : members.size();
        }
        Comparator<List<Entry>> longestFirst = Comparator.comparingInt((List<Entry> m) -> m.get(0).hashes.length)
                .reversed();
        multi.sort(longestFirst);
        single.sort(longestFirst);
        maxShare = (total + replicas.size() - 1) / replicas.size();
        multi.forEach(this::place);
        single.forEach(this::place);
    }

    /** Lone requests whose first {@code minColocateBlocks} blocks another request of the window shares. */
    private Set<Prefix> sharedSingles(Map<Prefix, List<Entry>> groups) {
        Set<Prefix> out = new HashSet<>();
        if (minColocateBlocks <= 0) {
            return out;
        }
        Map<Long, Integer> requestsByLead = new HashMap<>();
        for (List<Entry> members : groups.values()) {
            long[] h = members.get(0).hashes;
            if (h.length >= minColocateBlocks) {
                requestsByLead.merge(h[minColocateBlocks - 1], members.size(), Integer::sum);
            }
        }
        for (Map.Entry<Prefix, List<Entry>> g : groups.entrySet()) {
            long[] h = g.getValue().get(0).hashes;
            if (h.length >= minColocateBlocks && requestsByLead.get(h[minColocateBlocks - 1]) >= 2) {
                out.add(g.getKey());
            }
        }
        return out;
    }

    private void place(List<Entry> members) {
        long[] hashes = members.get(0).hashes;
        boolean preferMatch = minColocateBlocks > 0;
        Map<String, Integer> held = preferMatch || byTokens ? heldPrefix(hashes) : Map.of();
        Map<String, Integer> perReplica = new HashMap<>();
        int i = 0;
        while (i < members.size()) {
            String target = preferMatch ? bestMatch(held, perReplica) : null;
            if (target == null) {
                target = leastLoaded(perReplica);
            }
            int run = members.size() - i;
            if (maxPerReplica != UNLIMITED) {
                run = Math.min(run, Math.max(1, maxPerReplica - perReplica.getOrDefault(target, 0)));
            }
            for (int j = 0; j < run; j++) {
                members.get(i + j).assigned = target;
            }
            boolean firstTouch = !perReplica.containsKey(target);
            perReplica.merge(target, run, Integer::sum);
            if (!byTokens) {
                load.merge(target, run, Integer::sum);
            } else if (firstTouch) {
                load.merge(target, Math.max(0, hashes.length - held.getOrDefault(target, 0)), Integer::sum);
            }
            i += run;
            preferMatch = false;
        }
        for (String replica : perReplica.keySet()) {
            for (long h : hashes) {
                holders.computeIfAbsent(h, k -> new HashSet<>()).add(replica);
            }
        }
    }

    /** Per replica, how many leading blocks of {@code hashes} units placed earlier in the window gave it. */
    private Map<String, Integer> heldPrefix(long[] hashes) {
        Map<String, Integer> out = new HashMap<>();
        for (long h : hashes) {
            Set<String> who = holders.get(h);
            if (who == null || who.isEmpty()) {
                break;
            }
            who.forEach(r -> out.merge(r, 1, Integer::sum));
        }
        return out;
    }

    private boolean full(Map<String, Integer> perReplica, String replica) {
        return maxPerReplica != UNLIMITED && perReplica.getOrDefault(replica, 0) >= maxPerReplica;
    }

    private String bestMatch(Map<String, Integer> held, Map<String, Integer> perReplica) {
        String best = null;
        int bestHeld = 0;
        for (String r : replicas.keySet()) {
            int h = held.getOrDefault(r, 0);
            if (full(perReplica, r) || load.getOrDefault(r, 0) >= maxShare || h < minColocateBlocks) {
                continue;
            }
            if (best == null || h > bestHeld || (h == bestHeld && before(r, best))) {
                best = r;
                bestHeld = h;
            }
        }
        return best;
    }

    private String leastLoaded(Map<String, Integer> perReplica) {
        String best = null;
        for (String r : replicas.keySet()) {
            if (!full(perReplica, r) && (best == null || before(r, best))) {
                best = r;
            }
        }
        if (best == null) {
            for (String r : replicas.keySet()) {
                if (best == null || before(r, best)) {
                    best = r;
                }
            }
        }
        return best;
    }

    /** Whether replica a goes before b: lower window load, then fewer running requests, then lower name. */
    private boolean before(String a, String b) {
        int la = load.getOrDefault(a, 0);
        int lb = load.getOrDefault(b, 0);
        if (la != lb) {
            return la < lb;
        }
        int ra = Math.max(0, replicas.get(a).metrics().runningRequests());
        int rb = Math.max(0, replicas.get(b).metrics().runningRequests());
        return ra != rb ? ra < rb : a.compareTo(b) < 0;
    }
}
