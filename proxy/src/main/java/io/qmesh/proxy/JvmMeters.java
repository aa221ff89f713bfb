package io.qmesh.proxy;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;

/**
 * The JVM's and the process's meters on a proxy's registry ({@code jvm_memory_used_bytes}, {@code
 * jvm_threads_live_threads}, {@code process_cpu_time_ns_total}, GC pauses, classes, uptime, file
 * descriptors): what the performance dashboard reads of each proxy. Micrometer's own binders, bound
 * once at startup; the proxies do without Quarkus' Micrometer extension, whose registry wiring
 * loads some 200 classes more into every sidecar.
 */
public final class JvmMeters {

  private JvmMeters() {}

  /** Binds the meters to {@code registry} and returns it. */
  public static <R extends MeterRegistry> R bind(R registry) {
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
    return registry;
  }
}
