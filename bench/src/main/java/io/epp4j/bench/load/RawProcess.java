package io.epp4j.bench.load;

import io.envoyproxy.envoy.service.ext_proc.v3.ExternalProcessorGrpc;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;

/**
 * ext_proc's {@code Process} method with its messages as serialized bytes, for a client that sends the same message
 * many times or reads only some of the answers: what it sends is written as it is, what it gets is not parsed.
 */
final class RawProcess {

    /** The first byte of a serialized {@code ProcessingResponse} whose {@code response_body} comes first. */
    private static final byte RESPONSE_BODY_TAG = (byte) (ProcessingResponse.RESPONSE_BODY_FIELD_NUMBER << 3 | 2);

    static final MethodDescriptor<byte[], byte[]> METHOD =
            ExternalProcessorGrpc.getProcessMethod().toBuilder(new Bytes(), new Bytes()).build();

    private RawProcess() {
    }

    /**
     * Whether {@code answer} is a response-body answer (servers write the oneof, field 4, before the metadata
     * fields 8 and up).
     */
    static boolean isResponseBody(byte[] answer) {
        return answer.length > 0 && answer[0] == RESPONSE_BODY_TAG;
    }

    private static final class Bytes implements MethodDescriptor.Marshaller<byte[]> {
        @Override
        public InputStream stream(byte[] value) {
            return new Serialized(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** Lets gRPC's framer copy the bytes in one write, with no intermediate buffer. */
    private static final class Serialized extends ByteArrayInputStream implements Drainable, KnownLength {
        Serialized(byte[] bytes) {
            super(bytes);
        }

        @Override
        public int drainTo(OutputStream target) throws IOException {
            int n = count - pos;
            target.write(buf, pos, n);
            pos = count;
            return n;
        }
    }
}
