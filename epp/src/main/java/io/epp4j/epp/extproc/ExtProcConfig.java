package io.epp4j.epp.extproc;

import io.epp4j.epp.director.Director;
import io.epp4j.epp.models.ModelsEndpoint;
import io.epp4j.epp.telemetry.EppMetrics;
import io.epp4j.epp.tracing.Tracing;

import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * What every ext_proc stream shares.
 *
 * @param director decides requests; their handles carry them to the end
 * @param metrics the EPP's request metrics
 * @param maxRequestBodyBytes bodies above this are answered with 413
 * @param destinationFallbacks whether x-gateway-destination-endpoint lists fallbacks (comma list)
 * @param nanoTicker monotonic time for durations
 * @param requestIds generates x-request-id values when the gateway sent none
 * @param threads where decisions run, off the transport threads
 * @param lbMetadataScores whether the pick's {@code envoy.lb} metadata carries every candidate's score
 * @param tracing starts each request's trace ({@link Tracing#OFF}: none)
 * @param limits what all streams together may hold, and the header limits
 * @param models answers {@code GET /v1/models} from the pool's merged model lists, or null when the gateway's
 *     request goes to a random pod (the default)
 */
public record ExtProcConfig(Director director, EppMetrics metrics, long maxRequestBodyBytes,
                            boolean destinationFallbacks, LongSupplier nanoTicker, Supplier<String> requestIds,
                            DecisionThreads threads, boolean lbMetadataScores, Tracing tracing,
                            StreamLimits limits, ModelsEndpoint models) {
}
