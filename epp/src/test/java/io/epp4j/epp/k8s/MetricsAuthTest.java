package io.epp4j.epp.k8s;

import io.epp4j.epp.EppOptions;
import io.epp4j.epp.EppServer;
import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.http.Headers;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.mockwebserver.utils.ResponseProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@code --metrics-endpoint-auth}: bearer tokens checked with TokenReview and SubjectAccessReview against fabric8's
 * mock API server, on every path of the metrics port.
 */
class MetricsAuthTest {

    private static final String PROMETHEUS = "system:serviceaccount:monitoring:prometheus";
    private static final List<String> PATHS = List.of("/metrics", "/debug/endpoints", "/debug/decisions", "/");

    private final KubernetesMockServer api = new KubernetesMockServer(false);
    private final List<SubjectAccessReview> accessReviews = new CopyOnWriteArrayList<>();
    private final AtomicInteger tokenReviews = new AtomicInteger();
    private KubernetesClient client;

    @BeforeEach
    void startApiServer() {
        api.init();
        api.expect().post().withPath("/apis/authentication.k8s.io/v1/tokenreviews").andReply(new Reply(body -> {
            tokenReviews.incrementAndGet();
            TokenReview review = Serialization.unmarshal(body, TokenReview.class);
            String token = review.getSpec().getToken();
            if (token.equals("api-down")) {
                return null; // 500
            }
            TokenReviewBuilder answer = new TokenReviewBuilder(review);
            switch (token) {
                case "prometheus-token" -> answer.withNewStatus().withAuthenticated(true).withNewUser()
                        .withUsername(PROMETHEUS).withUid("uid-1").withGroups("system:serviceaccounts")
                        .endUser().endStatus();
                case "alice-token" -> answer.withNewStatus().withAuthenticated(true).withNewUser()
                        .withUsername("alice").endUser().endStatus();
                default -> answer.withNewStatus().withAuthenticated(false).withError("invalid token").endStatus();
            }
            return answer.build();
        })).always();
        api.expect().post().withPath("/apis/authorization.k8s.io/v1/subjectaccessreviews").andReply(201, r -> {
            SubjectAccessReview sar = Serialization.unmarshal(r.getUtf8Body(), SubjectAccessReview.class);
            accessReviews.add(sar);
            boolean allowed = sar.getSpec().getUser().equals(PROMETHEUS)
                    && sar.getSpec().getNonResourceAttributes().getVerb().equals("get");
            return new SubjectAccessReviewBuilder(sar).withNewStatus().withAllowed(allowed)
                    .withReason(allowed ? "RBAC: allowed" : "no rule").endStatus().build();
        }).always();
        client = api.createClient();
    }

    /** 201 with the body {@code answer} gives, or 500 when it gives null (the API server failing). */
    private static final class Reply implements ResponseProvider<Object> {
        private final java.util.function.Function<String, Object> answer;
        // a request's body can be read once: keep it for the status and the body
        private final java.util.Map<RecordedRequest, String> bodies =
                java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());
        private Headers headers = Headers.builder().build();

        Reply(java.util.function.Function<String, Object> answer) {
            this.answer = answer;
        }

        @Override
        public Object getBody(RecordedRequest request) {
            Object body = answer.apply(body(request));
            return body == null ? "{\"kind\":\"Status\",\"code\":500}" : body;
        }

        @Override
        public int getStatusCode(RecordedRequest request) {
            return body(request).contains("\"api-down\"") ? 500 : 201;
        }

        private String body(RecordedRequest request) {
            return bodies.computeIfAbsent(request, RecordedRequest::getUtf8Body);
        }

        @Override
        public Headers getHeaders() {
            return headers;
        }

        @Override
        public void setHeaders(Headers headers) {
            this.headers = headers;
        }
    }

    @AfterEach
    void stop() {
        client.close();
        api.destroy();
    }

    private static EppServer start(EppServer.Components components, String... flags) throws Exception {
        List<String> all = new java.util.ArrayList<>(List.of("--grpc-port=0", "--grpc-health-port=0",
                "--metrics-port=0", "--secure-serving=false", "--endpoints=10.0.0.1:8000"));
        all.addAll(List.of(flags));
        return EppServer.start(EppOptions.parse(all.toArray(String[]::new)),
                components.withoutModelServerMetrics());
    }

    private static int status(EppServer server, String path, String authorization) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.metricsPort() + path));
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    @Test
    void everyPathNeedsATokenWhoseUserMayGetIt() throws Exception {
        try (EppServer server = start(EppServer.Components.defaults()
                .metricsAccess(c -> MetricsAuth.withoutRetries(client, Clock.systemUTC())))) {
            for (String path : PATHS) {
                assertEquals(401, status(server, path, null), path + " without a token");
                assertEquals(401, status(server, path, "Basic dXNlcjpwdw=="), path + " with basic auth");
                assertEquals(401, status(server, path, "Bearer forged"), path + " with an invalid token");
                assertEquals(403, status(server, path, "Bearer alice-token"), path + " for a user without RBAC");
                assertEquals(200, status(server, path, "Bearer prometheus-token"), path + " for Prometheus");
            }
            SubjectAccessReview review = accessReviews.stream()
                    .filter(r -> r.getSpec().getUser().equals(PROMETHEUS)).findFirst().orElseThrow();
            assertEquals("get", review.getSpec().getNonResourceAttributes().getVerb());
            assertEquals("/metrics", review.getSpec().getNonResourceAttributes().getPath());
            assertEquals(List.of("system:serviceaccounts"), review.getSpec().getGroups());
            assertEquals("uid-1", review.getSpec().getUid());
            assertEquals(PATHS, accessReviews.stream().filter(r -> r.getSpec().getUser().equals(PROMETHEUS))
                    .map(r -> r.getSpec().getNonResourceAttributes().getPath()).toList(),
                    "each path is authorized on its own");
        }
    }

    @Test
    void answersAreCachedButApiFailuresAreNot() throws Exception {
        try (EppServer server = start(EppServer.Components.defaults()
                .metricsAccess(c -> MetricsAuth.withoutRetries(client, Clock.systemUTC())))) {
            assertEquals(200, status(server, "/metrics", "Bearer prometheus-token"));
            int reviews = tokenReviews.get();
            for (int i = 0; i < 5; i++) {
                assertEquals(200, status(server, "/metrics", "Bearer prometheus-token"));
            }
            assertEquals(reviews, tokenReviews.get(), "a scraper's repeated token is reviewed once");
            assertEquals(500, status(server, "/metrics", "Bearer api-down"));
            assertEquals(500, status(server, "/metrics", "Bearer api-down"));
            assertEquals(reviews + 2, tokenReviews.get(), "a failed review is asked again");
        }
    }

    @Test
    void outsideKubernetesTheFlagLeavesTheMetricsPortOpen() throws Exception {
        try (EppServer server = start(EppServer.Components.defaults(), "--metrics-endpoint-auth=true")) {
            for (String path : PATHS) {
                assertEquals(200, status(server, path, null), path);
            }
        }
    }
}
