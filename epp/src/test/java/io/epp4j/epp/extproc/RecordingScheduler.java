package io.epp4j.epp.extproc;

import io.epp4j.epp.director.RequestScheduler;
import io.epp4j.epp.director.ScheduledRequest;
import io.epp4j.epp.request.RequestParsers;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.ResponseUsage;
import io.epp4j.spi.SchedulingException;
import io.epp4j.spi.SchedulingResult;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/** A scheduler for tests: picks the first candidate (or fails as told) and records what it is told. */
final class RecordingScheduler implements RequestScheduler {

    /** What onComplete received. */
    record Completion(InferenceRequest request, Endpoint target, ResponseUsage usage, boolean success) {
    }

    volatile String admissionDenial;
    volatile String schedulingFailure;
    volatile RuntimeException crash;
    volatile int targets = 1;
    volatile RequestParsers parsers = RequestParsers.GAIE_DEFAULT;
    final List<InferenceRequest> scheduled = new CopyOnWriteArrayList<>();
    final List<String> schedulingThreads = new CopyOnWriteArrayList<>();
    final List<Completion> completions = new CopyOnWriteArrayList<>();
    final Map<String, AtomicInteger> completionsPerRequest = new ConcurrentHashMap<>();
    final AtomicInteger picked = new AtomicInteger();
    final AtomicInteger responseBodies = new AtomicInteger();

    @Override
    public RequestParsers parsers() {
        return parsers;
    }

    @Override
    public String admissionDenial(InferenceRequest request, List<Endpoint> candidates) {
        return admissionDenial;
    }

    @Override
    public ScheduledRequest schedule(InferenceRequest request, List<Endpoint> candidates)
            throws SchedulingException {
        if (crash != null) {
            throw crash;
        }
        if (schedulingFailure != null) {
            throw new SchedulingException(schedulingFailure);
        }
        scheduled.add(request);
        schedulingThreads.add(Thread.currentThread().getName());
        SchedulingResult result = new SchedulingResult("default",
                candidates.subList(0, Math.min(targets, candidates.size())));
        return new ScheduledRequest() {
            @Override
            public SchedulingResult result() {
                return result;
            }

            @Override
            public void preRequest() {
                picked.incrementAndGet();
            }

            @Override
            public void onResponseBody(ByteSlice chunk, boolean endOfStream) {
                responseBodies.incrementAndGet();
            }

            @Override
            public void onComplete(ResponseUsage usage, boolean success) {
                completions.add(new Completion(request, result.primary(), usage, success));
                completionsPerRequest.computeIfAbsent(request.requestId(), k -> new AtomicInteger())
                        .incrementAndGet();
            }
        };
    }
}
