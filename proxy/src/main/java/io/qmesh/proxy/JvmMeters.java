package io.qmesh.proxy;

import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.concurrent.TimeUnit;

/**
 * The JVM's and the process's meters on a proxy's registry ({@code jvm_memory_used_bytes}, {@code
 * jvm_threads_live_threads}, {@code process_cpu_time_ns_total}, GC pauses, classes, uptime, file
 * descriptors): what the performance dashboard reads of each proxy. Micrometer's own binders, bound
 * once at startup; the proxies do without Quarkus' Micrometer extension, whose registry wiring
 * loads some 200 classes more into every sidecar.
 *
 * <p>Garbage collections are read from the collectors' beans when scraped ({@code
 * jvm_gc_pause_seconds_count} and {@code _sum} per collector), not from Micrometer's {@code
 * JvmGcMetrics}: that binder listens to the JVM's GC notifications, and a listener makes the JVM
 * build one (a {@code GcInfo} with every memory pool's usage) on its notification thread after each
 * collection. A proxy under load collects its young generation many times a second; in the
 * benchmark's profile that thread took 0.3-0.4 us of CPU per request, on the proxy's core.
 */
public final class JvmMeters {

  private JvmMeters() {}

  /** Binds the meters to {@code registry} and returns it. */
  public static <R extends MeterRegistry> R bind(R registry) {
    new JvmMemoryMetrics().bindTo(registry);
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      FunctionTimer.builder(
              "jvm.gc.pause",
              gc,
              GarbageCollectorMXBean::getCollectionCount,
              GarbageCollectorMXBean::getCollectionTime,
              TimeUnit.MILLISECONDS)
          .description("Time spent in GC pause")
          .tag("gc", gc.getName())
          .register(registry);
    }
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
    return registry;
  }
}
