package io.epp4j.bench.load;

import com.google.protobuf.ByteString;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.service.ext_proc.v3.BodyMutation;
import io.envoyproxy.envoy.service.ext_proc.v3.BodyResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.CommonResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.HeadersResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.StreamedBodyResponse;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RawProcessTest {

    private static ProcessingResponse echo(boolean endOfStream, boolean withMetadata) {
        ProcessingResponse.Builder b = ProcessingResponse.newBuilder().setResponseBody(BodyResponse.newBuilder()
                .setResponse(CommonResponse.newBuilder().setBodyMutation(BodyMutation.newBuilder()
                        .setStreamedResponse(StreamedBodyResponse.newBuilder()
                                .setBody(ByteString.copyFromUtf8("data: {}\n\n")).setEndOfStream(endOfStream)))));
        if (withMetadata) {
            b.setDynamicMetadata(Struct.newBuilder().putFields("k", Value.newBuilder().setStringValue("v").build()));
        }
        return b.build();
    }

    @Test
    void tellsResponseBodyAnswersFromOthersWithoutParsing() {
        assertTrue(RawProcess.isResponseBody(echo(false, false).toByteArray()));
        assertTrue(RawProcess.isResponseBody(echo(true, true).toByteArray()), "metadata is written after the body");
        assertFalse(RawProcess.isResponseBody(ProcessingResponse.newBuilder()
                .setRequestHeaders(HeadersResponse.getDefaultInstance()).build().toByteArray()));
        assertFalse(RawProcess.isResponseBody(ProcessingResponse.newBuilder()
                .setRequestBody(BodyResponse.getDefaultInstance()).build().toByteArray()));
        assertFalse(RawProcess.isResponseBody(new byte[0]));
    }

    @Test
    void sendsAndReadsTheSerializedBytesAsTheyAre() throws Exception {
        byte[] bytes = "serialized message".getBytes(StandardCharsets.UTF_8);
        InputStream sent = RawProcess.METHOD.streamRequest(bytes);
        assertEquals(bytes.length, sent.available());
        ByteArrayOutputStream wire = new ByteArrayOutputStream();
        assertEquals(bytes.length, ((io.grpc.Drainable) sent).drainTo(wire));
        assertArrayEquals(bytes, wire.toByteArray());
        assertArrayEquals(bytes, RawProcess.METHOD.parseResponse(new java.io.ByteArrayInputStream(bytes)));
        assertEquals("envoy.service.ext_proc.v3.ExternalProcessor/Process", RawProcess.METHOD.getFullMethodName());
    }
}
