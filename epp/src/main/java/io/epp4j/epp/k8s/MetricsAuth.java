package io.epp4j.epp.k8s;

import io.epp4j.epp.telemetry.MetricsHttpServer;
import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authentication.UserInfo;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReviewBuilder;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code --metrics-endpoint-auth} in Kubernetes, as GAIE's controller-runtime metrics server does it: the request's
 * bearer token is checked with a TokenReview, then the user it names must be allowed {@code get} on the request's
 * path (a non-resource URL such as {@code /metrics}) by a SubjectAccessReview. No token or an unauthenticated one:
 * 401; not allowed: 403; the API server failing: 500. Answers are cached for {@link #CACHE_TTL} per token and path, so
 * a Prometheus scraping every few seconds costs the API server two calls a minute. Thread-safe.
 */
public final class MetricsAuth implements MetricsHttpServer.Access, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(MetricsAuth.class);
    static final Duration CACHE_TTL = Duration.ofSeconds(30);
    private static final int CACHE_SIZE = 256;

    private record Answer(int status, long expiresAtMillis) {
    }

    private final KubernetesClient client;
    private final Clock clock;
    private final Map<String, Answer> cache = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Answer> eldest) {
            return size() > CACHE_SIZE;
        }
    };

    /** Reviews with {@code client} (closed with this object); its retries delay a scrape's answer. */
    public MetricsAuth(KubernetesClient client, Clock clock) {
        this.client = client;
        this.clock = clock;
    }

    /**
     * Reviews with a client configured as {@code client} but without retries, so a failing API server answers a
     * scrape with 500 at once rather than after fabric8's backoff; {@code client} is closed.
     */
    public static MetricsAuth withoutRetries(KubernetesClient client, Clock clock) {
        try (client) {
            return new MetricsAuth(new KubernetesClientBuilder().withConfig(new ConfigBuilder(client.getConfiguration())
                    .withRequestRetryBackoffLimit(0).build()).build(), clock);
        }
    }

    /** Closes the client. */
    @Override
    public void close() {
        client.close();
    }

    @Override
    public int check(String authorization, String path) {
        if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)
                || authorization.substring(7).isBlank()) {
            return 401;
        }
        String token = authorization.substring(7).trim();
        String key = path + ' ' + token;
        long now = clock.millis();
        synchronized (cache) {
            Answer cached = cache.get(key);
            if (cached != null && cached.expiresAtMillis() > now) {
                return cached.status();
            }
        }
        int status = review(token, path);
        if (status != 500) {
            synchronized (cache) {
                cache.put(key, new Answer(status, now + CACHE_TTL.toMillis()));
            }
        }
        return status;
    }

    private int review(String token, String path) {
        try {
            TokenReview review = client.authentication().v1().tokenReviews().create(new TokenReviewBuilder()
                    .withNewSpec().withToken(token).endSpec().build());
            if (review.getStatus() == null || !Boolean.TRUE.equals(review.getStatus().getAuthenticated())) {
                return 401;
            }
            UserInfo user = review.getStatus().getUser();
            SubjectAccessReview access = client.authorization().v1().subjectAccessReview().create(
                    new SubjectAccessReviewBuilder().withNewSpec()
                            .withUser(user.getUsername()).withUid(user.getUid()).withGroups(user.getGroups())
                            .withExtra(user.getExtra())
                            .withNewNonResourceAttributes().withPath(path).withVerb("get")
                            .endNonResourceAttributes()
                            .endSpec().build());
            boolean allowed = access.getStatus() != null && Boolean.TRUE.equals(access.getStatus().getAllowed());
            if (!allowed && LOG.isDebugEnabled()) {
                LOG.debug("{} may not get {}: {}", user.getUsername(), path,
                        access.getStatus() == null ? "no status" : access.getStatus().getReason());
            }
            return allowed ? 200 : 403;
        } catch (KubernetesClientException e) {
            LOG.warn("Could not review a metrics request's token: {}", e.getMessage());
            return 500;
        }
    }
}
