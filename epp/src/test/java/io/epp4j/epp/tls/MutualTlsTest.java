package io.epp4j.epp.tls;

import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.epp4j.epp.EppOptions;
import io.epp4j.epp.EppServer;
import io.epp4j.epp.extproc.Await;
import io.epp4j.epp.extproc.EppFixture;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.GatewayStream;
import io.epp4j.gatewaykit.Messages;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Mutual TLS on the ext_proc port, with real TLS clients: a gateway whose certificate the CA signed and whose SAN is
 * allowed gets its picks; a client without a certificate, with one the CA did not sign, or with a SAN outside the
 * allow-list cannot even open a stream; a replaced CA file applies to new connections.
 */
class MutualTlsTest {

    private static final String GATEWAY_ID = "spiffe://cluster.local/ns/gateway/sa/inference-gateway";

    private static Keytool keys;

    @BeforeAll
    static void certificates() throws Exception {
        keys = new Keytool();
        keys.generate("ca", "CN=epp4j test CA", "bc:c");
        keys.generate("gateway", "CN=gateway");
        keys.sign("gateway", "ca", "SAN=uri:" + GATEWAY_ID + ",dns:gateway.example");
        keys.generate("intruder", "CN=intruder");
        keys.sign("intruder", "ca", "SAN=dns:intruder.example");
        // self-signed, naming the allowed identity: trusted only once its certificate is the CA file
        keys.generate("stranger", "CN=stranger", "SAN=uri:" + GATEWAY_ID);
    }

    @AfterAll
    static void cleanUp() throws Exception {
        keys.close();
    }

    private static void writePem(Path file, X509Certificate cert) throws Exception {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, "-----BEGIN CERTIFICATE-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(cert.getEncoded())
                + "\n-----END CERTIFICATE-----\n");
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
    }

    /** A TLS channel presenting {@code alias}'s certificate (null: none); the server's is not verified. */
    private static ManagedChannel channel(int port, String alias) throws Exception {
        TlsChannelCredentials.Builder tls = TlsChannelCredentials.newBuilder()
                .trustManager(InsecureTrustManagerFactory.INSTANCE.getTrustManagers());
        if (alias != null) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry(alias, keys.key(alias), new char[0], keys.chain(alias));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, new char[0]);
            tls.keyManager(new AlwaysPresent((X509ExtendedKeyManager) kmf.getKeyManagers()[0], alias));
        }
        return Grpc.newChannelBuilderForAddress("127.0.0.1", port, tls.build()).build();
    }

    /**
     * Presents its one certificate whatever CA names the server asks for, as Envoy presents its configured one (the
     * JDK's own choice would send none, and the server would never see a certificate the CA did not sign).
     */
    private static final class AlwaysPresent extends X509ExtendedKeyManager {
        private final X509ExtendedKeyManager keys;
        private final String alias;

        AlwaysPresent(X509ExtendedKeyManager keys, String alias) {
            this.keys = keys;
            this.alias = alias;
        }

        @Override
        public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
            return alias;
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return alias;
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return new String[] {alias};
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return null;
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return null;
        }

        @Override
        public X509Certificate[] getCertificateChain(String a) {
            return keys.getCertificateChain(a);
        }

        @Override
        public PrivateKey getPrivateKey(String a) {
            return keys.getPrivateKey(a);
        }
    }

    /** Sends one chat request as {@code alias}: the pick's destination, or the status that ended the stream. */
    private static Object call(int port, String alias) throws Exception {
        ManagedChannel channel = channel(port, alias);
        try {
            byte[] body = Messages.chatBody("m", false, 50);
            GatewayStream stream = GatewayStream.open(channel).send(Messages.request(Dialect.ENVOY,
                    Messages.post("/v1/chat/completions", body.length), body, 4096));
            try {
                ProcessingResponse r = stream.next(Duration.ofSeconds(20));
                return Messages.setHeader(r.getRequestHeaders().getResponse().getHeaderMutation(),
                        "x-gateway-destination-endpoint");
            } catch (GatewayStream.NoAnswerException e) {
                return e.status() == null ? Status.DEADLINE_EXCEEDED.getCode() : e.status().getCode();
            }
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void onlyClientsWithAnAllowedCertificateSignedByTheCaCanCallExtProc(@TempDir Path dir) throws Exception {
        Path ca = dir.resolve("ca.crt");
        writePem(ca, keys.chain("ca")[0]);
        try (EppServer server = EppServer.start(EppOptions.parse("--endpoints=10.0.0.1:8000", "--grpc-port=0",
                "--grpc-health-port=0", "--metrics-port=0", "--client-ca=" + dir,
                "--client-san-allow=" + GATEWAY_ID + ",spiffe://cluster.local/ns/other/sa/other"))) {
            int port = server.grpcPort();
            assertEquals("10.0.0.1:8000", call(port, "gateway"));
            assertEquals(Status.Code.UNAVAILABLE, call(port, null), "no client certificate");
            assertEquals(Status.Code.UNAVAILABLE, call(port, "stranger"), "not signed by the CA");
            assertEquals(Status.Code.UNAVAILABLE, call(port, "intruder"), "signed, but its SAN is not allowed");
            String metrics = EppFixture.metricsText(server.metricsPort());
            assertTrue(metrics.contains("epp4j_tls_client_rejections_total{reason=\"untrusted\"} 1.0"), metrics);
            assertTrue(metrics.contains("epp4j_tls_client_rejections_total{reason=\"not_allowed\"} 1.0"), metrics);

            // the CA file is replaced (a rotated Secret): new connections are checked against the new one
            writePem(ca, keys.chain("stranger")[0]);
            Await.until("the new CA applies", () -> {
                try {
                    return "10.0.0.1:8000".equals(call(port, "stranger"));
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            });
            assertEquals(Status.Code.UNAVAILABLE, call(port, "gateway"), "signed by the old CA");
        }
    }

    @Test
    void withoutAnAllowListAnyCertificateTheCaSignedMayCall(@TempDir Path dir) throws Exception {
        Path ca = dir.resolve("ca.pem");
        writePem(ca, keys.chain("ca")[0]);
        try (EppServer server = EppServer.start(EppOptions.parse("--endpoints=10.0.0.1:8000", "--grpc-port=0",
                "--grpc-health-port=0", "--metrics-port=0", "--client-ca=" + ca))) {
            assertEquals("10.0.0.1:8000", call(server.grpcPort(), "intruder"));
            assertEquals(Status.Code.UNAVAILABLE, call(server.grpcPort(), "stranger"));
        }
    }

    @Test
    void clientCaWithoutTlsOrAllowListWithoutCaIsAUsageError() {
        EppOptions.UsageException plaintext = assertThrows(EppOptions.UsageException.class,
                () -> EppOptions.parse("--endpoints=10.0.0.1:8000", "--client-ca=/etc/ca.crt",
                        "--secure-serving=false"));
        assertTrue(plaintext.getMessage().contains("--client-ca needs TLS"), plaintext.getMessage());
        EppOptions.UsageException noCa = assertThrows(EppOptions.UsageException.class,
                () -> EppOptions.parse("--endpoints=10.0.0.1:8000", "--client-san-allow=spiffe://x"));
        assertTrue(noCa.getMessage().contains("needs --client-ca"), noCa.getMessage());
    }
}
