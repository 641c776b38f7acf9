package io.epp4j.epp.tls;

import io.epp4j.epp.EppOptions;
import io.epp4j.epp.EppServer;
import io.epp4j.epp.extproc.Await;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

class CertPathTest {

    /** Accepts any server certificate and remembers the last one (gateways do not verify either). */
    static final class RecordingTrust extends X509ExtendedTrustManager {
        final AtomicReference<X509Certificate> seen = new AtomicReference<>();

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {
            seen.set(chain[0]);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
            seen.set(chain[0]);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
            seen.set(chain[0]);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    private static X509Certificate writePair(Path dir, boolean pkcs1) throws Exception {
        ServerCertificates.SelfSigned generated = ServerCertificates.SelfSigned.generate();
        byte[] pkcs8 = generated.key().getEncoded();
        String key = pkcs1
                ? pem("RSA PRIVATE KEY", Arrays.copyOfRange(pkcs8, pkcs1Offset(pkcs8), pkcs8.length))
                : pem("PRIVATE KEY", pkcs8);
        Files.writeString(dir.resolve("tls.key.tmp"), key);
        Files.writeString(dir.resolve("tls.crt.tmp"), pem("CERTIFICATE", generated.chain()[0].getEncoded()));
        Files.move(dir.resolve("tls.key.tmp"), dir.resolve("tls.key"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.move(dir.resolve("tls.crt.tmp"), dir.resolve("tls.crt"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return generated.chain()[0];
    }

    // PKCS#8 RSA = SEQ { INT 0, SEQ { rsaEncryption, NULL }, OCTET STRING { PKCS#1 } }: skip to the octets' content
    private static int pkcs1Offset(byte[] pkcs8) {
        int at = 1 + lengthBytes(pkcs8, 1); // outer SEQ header
        at += 3 + 15; // INT 0 (3 bytes) + the algorithm SEQ (15 bytes)
        return at + 1 + lengthBytes(pkcs8, at + 1);
    }

    private static int lengthBytes(byte[] der, int at) {
        int first = der[at] & 0xff;
        return first < 0x80 ? 1 : 1 + (first & 0x7f);
    }

    private static X509Certificate servedCertificate(int port) {
        RecordingTrust trust = new RecordingTrust();
        ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", port,
                TlsChannelCredentials.newBuilder().trustManager(trust).build()).build();
        try {
            // any RPC completes the handshake; the health service on the ext_proc port answers it
            HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .check(HealthCheckRequest.getDefaultInstance());
            return trust.seen.get();
        } finally {
            channel.shutdownNow();
        }
    }

    @Test
    void selfSignedCertificateLooksLikeGaies() throws Exception {
        X509Certificate cert = ServerCertificates.selfSigned().certificate();
        assertEquals("O=Inference Ext", cert.getSubjectX500Principal().getName());
        assertTrue(cert.getExtendedKeyUsage().contains("1.3.6.1.5.5.7.3.1"), "serverAuth");
        assertTrue(cert.getNotAfter().toInstant().isAfter(java.time.Instant.now().plus(java.time.Duration.ofDays(3000))));
    }

    @Test
    void servesTheCertificateFromCertPathAndReloadsIt(@TempDir Path dir) throws Exception {
        X509Certificate first = writePair(dir, true);
        try (EppServer server = EppServer.start(EppOptions.parse("--endpoints=10.0.0.1:8000", "--grpc-port=0",
                "--grpc-health-port=0", "--metrics-port=0", "--cert-path=" + dir, "--enable-cert-reload",
                "--health-checking"))) {
            assertEquals(first, servedCertificate(server.grpcPort()));
            X509Certificate second = writePair(dir, false);
            Await.until("reloaded certificate", () -> second.equals(servedCertificate(server.grpcPort())));
        }
    }

    @Test
    void unreadableKeyFailsTheStart(@TempDir Path dir) throws Exception {
        writePair(dir, false);
        Files.writeString(dir.resolve("tls.key"), "garbage");
        assertThrows(java.io.IOException.class, () -> EppServer.start(EppOptions.parse("--endpoints=10.0.0.1:8000",
                "--grpc-port=0", "--grpc-health-port=0", "--metrics-port=0", "--cert-path=" + dir)));
    }
}
