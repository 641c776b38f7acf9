/**
 * The scheduling plugin SPI: what a team implements to add a filter, scorer or picker to epp4j.
 *
 * <p>Plugins see immutable views of the request ({@link io.epp4j.spi.InferenceRequest}) and of each candidate
 * endpoint ({@link io.epp4j.spi.Endpoint}); scores go into primitive arrays. Nothing here depends on gRPC,
 * Kubernetes or HTTP.
 */
package io.epp4j.spi;
