package io.epp4j.epp.tls;

import io.epp4j.epp.concurrent.DaemonThreads;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Who may call the ext_proc port under mutual TLS ({@code --client-ca}, {@code --client-san-allow}): clients whose
 * certificate chains to one of the CA certificates in a PEM file (or in the {@code .crt} / {@code .pem} files of a
 * directory, as a Kubernetes Secret mounts them), and, with an allow-list, whose certificate names one of the listed
 * identities among its subject alternative names (DNS, URI such as a SPIFFE ID, IP or email; exact match). The CA
 * files are polled and re-read when they change; a broken set keeps the previous one. A refused handshake is logged
 * and counted in {@code epp4j_tls_client_rejections_total{reason}}. Thread-safe.
 */
public final class ClientCertificates implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ClientCertificates.class);

    private final Path source;
    private final Set<String> allowed;
    private final Counter rejections;
    private final Trust trust = new Trust();
    private volatile X509ExtendedTrustManager delegate;
    private ScheduledExecutorService reloader;

    private ClientCertificates(Path source, Set<String> allowed, Counter rejections) {
        this.source = source;
        this.allowed = allowed;
        this.rejections = rejections;
    }

    /**
     * Reads the CA certificates of {@code source} (file or directory) and re-reads them every {@code reloadEvery}
     * when they changed.
     *
     * @param allowedSans identities a client certificate must name one of (empty: any the CA signed)
     * @param registry where the rejection counter goes, or null
     * @throws IOException when {@code source} holds no readable CA certificate
     */
    public static ClientCertificates load(Path source, List<String> allowedSans, Duration reloadEvery,
                                          PrometheusRegistry registry) throws IOException {
        Counter rejections = registry == null ? null : Counter.builder().name("epp4j_tls_client_rejections_total")
                .help("TLS handshakes on the ext_proc port refused under --client-ca: untrusted (no certificate, or "
                        + "not signed by the CA), not_allowed (a SAN outside --client-san-allow).")
                .labelNames("reason").register(registry);
        ClientCertificates certs = new ClientCertificates(source, Set.copyOf(allowedSans), rejections);
        certs.delegate = trustManager(source);
        certs.reloader = DaemonThreads.scheduler("epp-client-ca-reload");
        List<Object> seen = new ArrayList<>(List.of(state(source)));
        long period = Math.max(1, reloadEvery.toMillis());
        certs.reloader.scheduleWithFixedDelay(() -> {
            Object now = state(source);
            if (now.equals(seen.get(0))) {
                return;
            }
            try {
                certs.delegate = trustManager(source);
                seen.set(0, now);
                LOG.info("Reloaded the client CA certificates from {}", source);
            } catch (IOException | RuntimeException e) {
                LOG.warn("Cannot reload the client CA certificates from {} yet: {}", source, e.getMessage());
            }
        }, period, period, TimeUnit.MILLISECONDS);
        LOG.info("Mutual TLS: ext_proc clients need a certificate signed by a CA of {}{}", source,
                allowedSans.isEmpty() ? "" : " naming one of " + allowedSans);
        return certs;
    }

    /** The trust manager to give the server's TLS credentials (with client authentication required). */
    public X509ExtendedTrustManager trustManager() {
        return trust;
    }

    /** The files a CA set is read from: the file itself, or a directory's .crt / .pem files, in name order. */
    private static List<Path> files(Path source) throws IOException {
        if (!Files.isDirectory(source)) {
            return List.of(source);
        }
        try (Stream<Path> list = Files.list(source)) {
            return list.filter(p -> {
                String name = p.getFileName().toString();
                return !name.startsWith(".") && (name.endsWith(".crt") || name.endsWith(".pem"))
                        && Files.isRegularFile(p);
            }).sorted().toList();
        }
    }

    /** What the poller compares: each file's name, modification time and size. */
    private static Object state(Path source) {
        try {
            List<Object> out = new ArrayList<>();
            for (Path p : files(source)) {
                out.add(List.of(p.toString(), Files.getLastModifiedTime(p), Files.size(p)));
            }
            return out;
        } catch (IOException e) {
            return List.of(e.toString());
        }
    }

    private static X509ExtendedTrustManager trustManager(Path source) throws IOException {
        try {
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            int n = 0;
            for (Path p : files(source)) {
                for (X509Certificate ca : ServerCertificates.readCertificates(Files.readAllBytes(p))) {
                    ks.setCertificateEntry("ca-" + n++, ca);
                }
            }
            if (n == 0) {
                throw new IOException("no CA certificate in " + source);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            for (TrustManager tm : tmf.getTrustManagers()) {
                if (tm instanceof X509ExtendedTrustManager x) {
                    return x;
                }
            }
            throw new IOException("no X.509 trust manager");
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot use the client CA certificates in " + source + ": " + e.getMessage(), e);
        }
    }

    /** The subject alternative names of {@code cert} as strings (DNS, URI, IP, email). */
    static List<String> sans(X509Certificate cert) {
        List<String> out = new ArrayList<>();
        try {
            var names = cert.getSubjectAlternativeNames();
            if (names != null) {
                for (List<?> entry : names) {
                    if (entry.size() >= 2 && entry.get(1) instanceof String s) {
                        out.add(s);
                    }
                }
            }
        } catch (CertificateParsingException e) {
            // no usable SANs: the allow-list refuses the certificate
        }
        return out;
    }

    private void checkAllowed(X509Certificate[] chain) throws CertificateException {
        if (allowed.isEmpty()) {
            return;
        }
        List<String> names = sans(chain[0]);
        for (String name : names) {
            if (allowed.contains(name)) {
                return;
            }
        }
        refuse("not_allowed", "client certificate " + chain[0].getSubjectX500Principal().getName() + " names "
                + names + ", none in --client-san-allow");
    }

    private void refuse(String reason, String message) throws CertificateException {
        if (rejections != null) {
            rejections.labelValues(reason).inc();
        }
        LOG.warn("Refused an ext_proc client: {}", message);
        throw new CertificateException(message);
    }

    private void check(X509Certificate[] chain, String authType, Verifier verifier) throws CertificateException {
        if (chain == null || chain.length == 0) {
            refuse("untrusted", "no client certificate");
        }
        try {
            verifier.verify(Objects.requireNonNull(delegate));
        } catch (CertificateException e) {
            refuse("untrusted", "client certificate " + chain[0].getSubjectX500Principal().getName()
                    + " is not signed by a CA of " + source + ": " + e.getMessage());
        }
        checkAllowed(chain);
    }

    private interface Verifier {
        void verify(X509ExtendedTrustManager delegate) throws CertificateException;
    }

    /** Checks clients with the current CA set; never used for server certificates. */
    private final class Trust extends X509ExtendedTrustManager {

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            check(chain, authType, d -> d.checkClientTrusted(chain, authType, socket));
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            check(chain, authType, d -> d.checkClientTrusted(chain, authType, engine));
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            check(chain, authType, d -> d.checkClientTrusted(chain, authType));
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            throw new CertificateException("the ext_proc port does not verify servers");
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            throw new CertificateException("the ext_proc port does not verify servers");
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("the ext_proc port does not verify servers");
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return delegate.getAcceptedIssuers();
        }
    }

    @Override
    public void close() {
        reloader.shutdownNow();
    }
}
