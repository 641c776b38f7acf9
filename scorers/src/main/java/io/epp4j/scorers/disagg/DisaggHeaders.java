package io.epp4j.scorers.disagg;

/** The request headers llm-d's disaggregation and data-parallel plugins set for the decode pod's sidecar. */
public final class DisaggHeaders {

    /** {@code ip:port} of the prefill endpoint the sidecar sends the prompt to first. */
    public static final String PREFILLER = "x-prefiller-host-port";
    /** Comma-separated {@code ip:port} of every encode endpoint picked. */
    public static final String ENCODERS = "x-encoder-hosts-ports";
    /** {@code ip:port} of the data-parallel rank picked, when the gateway routes to the pod's primary port. */
    public static final String DATA_PARALLEL = "x-data-parallel-host-port";

    private DisaggHeaders() {
    }
}
