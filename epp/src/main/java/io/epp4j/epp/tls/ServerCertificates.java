package io.epp4j.epp.tls;

import io.epp4j.epp.concurrent.DaemonThreads;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The ext_proc server's TLS identity: a self-signed certificate generated at start (GAIE's default; gateways do
 * not verify it), or {@code tls.crt} + {@code tls.key} from {@code --cert-path}, optionally reloaded when they
 * change. The key manager is swapped in place, so reloads apply to new connections without a restart.
 */
public final class ServerCertificates implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ServerCertificates.class);

    private final ReloadableKeyManager keyManager = new ReloadableKeyManager();
    private ScheduledExecutorService reloader;
    private volatile X509Certificate current;

    private ServerCertificates() {
    }

    private static SelfSigned processCertificate;

    /**
     * A self-signed RSA certificate (O=Inference Ext, 10 years, serverAuth, no SANs), as GAIE makes at start.
     * Generated once per process (as GAIE does) and shared by every server the process starts.
     */
    public static ServerCertificates selfSigned() throws IOException {
        SelfSigned generated;
        synchronized (ServerCertificates.class) {
            if (processCertificate == null) {
                processCertificate = SelfSigned.generate();
            }
            generated = processCertificate;
        }
        ServerCertificates certs = new ServerCertificates();
        certs.install(generated.key(), generated.chain());
        return certs;
    }

    /** Loads {@code dir/tls.crt} and {@code dir/tls.key}; with {@code reloadEvery} non-null, polls them. */
    public static ServerCertificates fromDirectory(Path dir, Duration reloadEvery) throws IOException {
        ServerCertificates certs = new ServerCertificates();
        Path crt = dir.resolve("tls.crt");
        Path key = dir.resolve("tls.key");
        certs.load(crt, key);
        if (reloadEvery != null) {
            certs.reloader = DaemonThreads.scheduler("epp-cert-reload");
            FileTime[] seen = {modified(crt), modified(key)};
            long period = Math.max(1, reloadEvery.toMillis());
            certs.reloader.scheduleWithFixedDelay(() -> {
                FileTime c = modified(crt);
                FileTime k = modified(key);
                if (c.equals(seen[0]) && k.equals(seen[1])) {
                    return;
                }
                try {
                    certs.load(crt, key);
                    seen[0] = c;
                    seen[1] = k;
                    LOG.info("Reloaded the TLS certificate from {}", dir);
                } catch (IOException | RuntimeException e) {
                    // often a half-written pair; the next poll retries
                    LOG.warn("Cannot reload the TLS certificate from {} yet: {}", dir, e.getMessage());
                }
            }, period, period, TimeUnit.MILLISECONDS);
        }
        return certs;
    }

    private static FileTime modified(Path p) {
        try {
            return Files.getLastModifiedTime(p);
        } catch (IOException e) {
            return FileTime.fromMillis(0);
        }
    }

    private void load(Path crt, Path key) throws IOException {
        X509Certificate[] chain = readCertificates(Files.readAllBytes(crt));
        PrivateKey privateKey = readPrivateKey(Files.readString(key, StandardCharsets.US_ASCII));
        install(privateKey, chain);
    }

    private void install(PrivateKey key, X509Certificate[] chain) {
        keyManager.update(key, chain);
        current = chain[0];
    }

    public javax.net.ssl.X509ExtendedKeyManager keyManager() {
        return keyManager;
    }

    /** The certificate currently served. */
    public X509Certificate certificate() {
        return current;
    }

    static X509Certificate[] readCertificates(byte[] pem) throws IOException {
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            List<X509Certificate> out = new ArrayList<>();
            for (Certificate c : cf.generateCertificates(new ByteArrayInputStream(pem))) {
                out.add((X509Certificate) c);
            }
            if (out.isEmpty()) {
                throw new IOException("no certificate in tls.crt");
            }
            return out.toArray(new X509Certificate[0]);
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot read tls.crt: " + e.getMessage(), e);
        }
    }

    /** Reads a PEM private key: PKCS#8 ({@code PRIVATE KEY}) or PKCS#1 RSA ({@code RSA PRIVATE KEY}). */
    static PrivateKey readPrivateKey(String pem) throws IOException {
        String type;
        if (pem.contains("-----BEGIN PRIVATE KEY-----")) {
            type = "PRIVATE KEY";
        } else if (pem.contains("-----BEGIN RSA PRIVATE KEY-----")) {
            type = "RSA PRIVATE KEY";
        } else if (pem.contains("-----BEGIN EC PRIVATE KEY-----")) {
            throw new IOException("tls.key is a SEC1 EC key; convert it to PKCS#8 "
                    + "(openssl pkcs8 -topk8 -nocrypt -in tls.key)");
        } else {
            throw new IOException("tls.key holds no PEM private key");
        }
        String begin = "-----BEGIN " + type + "-----";
        String end = "-----END " + type + "-----";
        int from = pem.indexOf(begin) + begin.length();
        int to = pem.indexOf(end, from);
        if (to < 0) {
            throw new IOException("tls.key: missing " + end);
        }
        byte[] der = Base64.getMimeDecoder().decode(pem.substring(from, to));
        if (type.equals("RSA PRIVATE KEY")) {
            der = pkcs1ToPkcs8(der);
        }
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
        for (String algorithm : new String[] {"RSA", "EC", "Ed25519"}) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(spec);
            } catch (GeneralSecurityException e) {
                // try the next algorithm
            }
        }
        throw new IOException("tls.key: unsupported private key (RSA, EC or Ed25519 in PKCS#8 expected)");
    }

    // Wraps a PKCS#1 RSAPrivateKey in a PKCS#8 PrivateKeyInfo: SEQ { INT 0, SEQ { OID rsaEncryption, NULL }, OCTETS }.
    private static byte[] pkcs1ToPkcs8(byte[] pkcs1) {
        byte[] algorithm = HexFormat.of().parseHex("020100300d06092a864886f70d0101010500");
        byte[] octets = derHeader(0x04, pkcs1.length);
        int innerLength = algorithm.length + octets.length + pkcs1.length;
        byte[] seq = derHeader(0x30, innerLength);
        byte[] out = new byte[seq.length + innerLength];
        int at = 0;
        for (byte[] part : new byte[][] {seq, algorithm, octets, pkcs1}) {
            System.arraycopy(part, 0, out, at, part.length);
            at += part.length;
        }
        return out;
    }

    private static byte[] derHeader(int tag, int length) {
        if (length < 0x80) {
            return new byte[] {(byte) tag, (byte) length};
        }
        if (length < 0x100) {
            return new byte[] {(byte) tag, (byte) 0x81, (byte) length};
        }
        if (length < 0x10000) {
            return new byte[] {(byte) tag, (byte) 0x82, (byte) (length >> 8), (byte) length};
        }
        return new byte[] {(byte) tag, (byte) 0x83, (byte) (length >> 16), (byte) (length >> 8), (byte) length};
    }

    @Override
    public void close() {
        if (reloader != null) {
            reloader.shutdownNow();
        }
    }

    /** A generated key and certificate. */
    record SelfSigned(PrivateKey key, X509Certificate[] chain) {

        static SelfSigned generate() throws IOException {
            try (Keytool keytool = new Keytool()) {
                keytool.generate("epp", "O=Inference Ext", "KU=digitalSignature,keyEncipherment", "EKU=serverAuth");
                return new SelfSigned(keytool.key("epp"), keytool.chain("epp"));
            }
        }
    }
}
