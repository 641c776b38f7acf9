package io.epp4j.e2e;

import io.epp4j.bench.cli.Json;
import io.epp4j.bench.sim.SimConfig;
import io.epp4j.bench.sim.SimServer;
import io.epp4j.epp.precise.TokenizedPrompt;
import io.epp4j.epp.precise.VllmHttpTokenizer;
import io.epp4j.spi.ApiType;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.InferenceRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The render tokenizer's prefix cache against a simulated vLLM's render endpoints: the next turn of a conversation
 * (a completions prompt with text appended, a chat with messages appended) gets the earlier turn's tokens with no
 * round trip, and they begin the tokens the server gives the whole new prompt.
 */
class RenderPrefixCacheE2ETest {

    private static final String MODEL = "Qwen/Qwen3-0.6B";
    private SimServer pod;

    @AfterEach
    void stop() {
        if (pod != null) {
            pod.close();
        }
    }

    private static String text(String seed, int chars) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; sb.length() < chars; i++) {
            sb.append(seed).append(' ').append(i).append(' ');
        }
        return sb.substring(0, chars);
    }

    private static InferenceRequest request(ApiType api, String promptJson) {
        return new InferenceRequest("r", api, MODEL, MODEL, ByteSlice.of(promptJson), "", false, 0, "default-flow",
                Map.of(), promptJson.length() / 4);
    }

    private static String message(String role, String content) {
        return "{\"role\":\"" + role + "\",\"content\":" + Json.quote(content) + "}";
    }

    private VllmHttpTokenizer tokenizer() {
        return new VllmHttpTokenizer("http://" + pod.hostPort(), VllmHttpTokenizer.Endpoint.RENDER,
                Duration.ofSeconds(5), 100);
    }

    @Test
    void theNextTurnOfAConversationStartsWithTheCachedTurnsTokensWithoutARoundTrip() throws Exception {
        pod = SimServer.start(SimConfig.defaults(MODEL).withTimeScale(1000), "pod-a", 0);
        String turn1 = text("the agent's tool prompt and the task", 6000);
        String turn2 = turn1 + text(" the tool's output and the next step", 3000);
        InferenceRequest completions1 = request(ApiType.COMPLETIONS, Json.quote(turn1));
        InferenceRequest completions2 = request(ApiType.COMPLETIONS, Json.quote(turn2));
        String chat1 = "[" + message("system", turn1) + "," + message("user", "go on") + "]";
        String chat2 = chat1.substring(0, chat1.length() - 1) + "," + message("assistant", text("done so far", 400))
                + "," + message("user", "and now?") + "]";
        InferenceRequest chatTurn1 = request(ApiType.CHAT_COMPLETIONS, chat1);
        InferenceRequest chatTurn2 = request(ApiType.CHAT_COMPLETIONS, chat2);
        VllmHttpTokenizer server = tokenizer();
        int[] whole2 = server.tokenize(completions2);
        int[] wholeChat2 = server.tokenize(chatTurn2);

        VllmHttpTokenizer cached = tokenizer();
        TokenizedPrompt first = cached.tokenizePrompt(completions1);
        TokenizedPrompt firstChat = cached.tokenizePrompt(chatTurn1);
        assertEquals(first.tokenIds().length, first.totalTokens(), "a prompt seen for the first time is whole");
        pod.close();
        pod = null;

        for (Object[] c : new Object[][] {{completions2, first, whole2}, {chatTurn2, firstChat, wholeChat2}}) {
            TokenizedPrompt next = cached.tokenizePrompt((InferenceRequest) c[0]);
            int[] earlier = ((TokenizedPrompt) c[1]).tokenIds();
            int[] whole = (int[]) c[2];
            assertEquals(earlier.length - VllmHttpTokenizer.SEAM_TOKENS, next.tokenIds().length);
            assertArrayEquals(Arrays.copyOf(whole, next.tokenIds().length), next.tokenIds(),
                    "the cached turn's tokens begin the next turn's");
            assertTrue(Math.abs(next.totalTokens() - whole.length) <= whole.length / 10,
                    "the whole prompt's tokens estimated: " + next.totalTokens() + " against " + whole.length);
        }
        assertThrows(IOException.class, () -> cached.tokenizePrompt(request(ApiType.COMPLETIONS,
                Json.quote(text("a prompt that extends nothing", 6000)))), "anything else needs the server");
    }
}
