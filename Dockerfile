# epp4j endpoint picker image.
#
# Build the jar first, then the image (the image does not build Java code, so it stays small and the build
# uses your local Maven cache):
#   ./mvnw -B -ntp -DskipTests -pl epp -am package
#   docker build -t ghcr.io/epp4j/epp4j:0.1.0 .
# No registry publishes this image: push it to one your cluster pulls from and point the chart's
# inferenceExtension.image.* at it (docs/deploy.md).
FROM eclipse-temurin:25-jre

# A fixed numeric non-root user, so Kubernetes' runAsNonRoot can verify it; the chart runs as 65532 too.
RUN groupadd --system --gid 65532 epp \
 && useradd --system --uid 65532 --gid 65532 --home-dir /home/epp --create-home --shell /usr/sbin/nologin epp

COPY --chown=0:0 --chmod=0444 epp/target/epp.jar /app/epp.jar

USER 65532:65532
WORKDIR /home/epp

# ext_proc (gRPC), gRPC health, Prometheus metrics.
EXPOSE 9002 9003 9090

# The heap follows the container memory limit; exit (and let Kubernetes restart the pod) rather than limp on
# after an OutOfMemoryError. The root filesystem may be read-only: the JVM only writes to /tmp. gRPC's Netty
# loads its native transport; allowing native access keeps JDK 25 from warning about it at start-up.
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-XX:+ExitOnOutOfMemoryError", "--enable-native-access=ALL-UNNAMED", \
            "-Djava.io.tmpdir=/tmp", "-jar", "/app/epp.jar"]
