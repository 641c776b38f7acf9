package io.epp4j.epp.tls;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Keys and certificates made by the JDK's {@code keytool} in a throw-away PKCS#12 store (no extra crypto library,
 * and {@code sun.security.x509} is closed to {@code --release 17} code). Generates key pairs, self-signed or signed
 * by another alias of the same store. Close to delete the store.
 */
final class Keytool implements AutoCloseable {

    private final Path keytool;
    private final Path dir;
    private final Path store;
    private final String password = HexFormat.of().formatHex(new SecureRandom().generateSeed(16));

    Keytool() throws IOException {
        keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        if (!Files.isExecutable(keytool)) {
            throw new IOException("cannot generate a certificate: " + keytool + " not found; pass "
                    + "--cert-path DIR (tls.crt, tls.key) or --secure-serving=false");
        }
        dir = Files.createTempDirectory("epp4j-tls");
        store = dir.resolve("keys.p12");
    }

    /** A new RSA key pair under {@code alias} with a self-signed certificate of {@code dname}; {@code -ext} values. */
    void generate(String alias, String dname, String... extensions) throws IOException {
        List<String> args = new ArrayList<>(List.of("-genkeypair", "-alias", alias, "-keyalg", "RSA",
                "-keysize", "2048", "-validity", "3650", "-dname", dname));
        for (String e : extensions) {
            args.add("-ext");
            args.add(e);
        }
        run(args);
    }

    /**
     * Replaces {@code alias}'s certificate with one signed by {@code issuerAlias}, carrying {@code extensions};
     * returns the chain (the new certificate, then the issuer's).
     */
    X509Certificate[] sign(String alias, String issuerAlias, String... extensions) throws IOException {
        Path request = dir.resolve(alias + ".csr");
        Path signed = dir.resolve(alias + ".crt");
        run(List.of("-certreq", "-alias", alias, "-file", request.toString()));
        List<String> args = new ArrayList<>(List.of("-gencert", "-alias", issuerAlias, "-validity", "3650",
                "-infile", request.toString(), "-outfile", signed.toString(), "-rfc"));
        for (String e : extensions) {
            args.add("-ext");
            args.add(e);
        }
        run(args);
        X509Certificate leaf = ServerCertificates.readCertificates(Files.readAllBytes(signed))[0];
        X509Certificate[] chain = {leaf, chain(issuerAlias)[0]};
        try {
            KeyStore ks = load();
            ks.setKeyEntry(alias, key(alias), password.toCharArray(), chain);
            try (var out = Files.newOutputStream(store)) {
                ks.store(out, password.toCharArray());
            }
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot store the signed certificate: " + e.getMessage(), e);
        }
        return chain;
    }

    PrivateKey key(String alias) throws IOException {
        try {
            return (PrivateKey) load().getKey(alias, password.toCharArray());
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot read the generated key: " + e.getMessage(), e);
        }
    }

    X509Certificate[] chain(String alias) throws IOException {
        try {
            Certificate[] chain = load().getCertificateChain(alias);
            X509Certificate[] x509 = new X509Certificate[chain.length];
            for (int i = 0; i < chain.length; i++) {
                x509[i] = (X509Certificate) chain[i];
            }
            return x509;
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot read the generated certificate: " + e.getMessage(), e);
        }
    }

    private KeyStore load() throws IOException, GeneralSecurityException {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(store)) {
            ks.load(in, password.toCharArray());
        }
        return ks;
    }

    private void run(List<String> args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(keytool.toString());
        command.addAll(args);
        command.addAll(List.of("-storetype", "PKCS12", "-keystore", store.toString(), "-storepass", password,
                "-keypass", password, "-noprompt"));
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            byte[] output;
            try (InputStream in = process.getInputStream()) {
                output = in.readAllBytes();
            }
            if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new IOException("keytool failed: " + new String(output, StandardCharsets.UTF_8).trim());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while generating a certificate", e);
        }
    }

    @Override
    public void close() throws IOException {
        try (var files = Files.list(dir)) {
            for (Path p : files.toList()) {
                Files.deleteIfExists(p);
            }
        }
        Files.deleteIfExists(dir);
    }
}
