package io.epp4j.epp.kvevents;

import java.util.List;

/**
 * Where decoded KV events go, one pod's events at a time and in that pod's order: the ZMQ subscribers feed it, and
 * so can anything else that produces vLLM's events (a virtual-time simulator, a replay). Implementations are
 * thread-safe across pods.
 */
public interface KvEventSink {

    /**
     * Applies {@code events} published by {@code pod} ({@code ip:port}) for {@code model} (the base model from the
     * topic; a BlockStored's LoRA name takes precedence). Never throws for bad events: it drops and counts them.
     */
    void apply(String pod, String model, List<KvEvent> events);
}
