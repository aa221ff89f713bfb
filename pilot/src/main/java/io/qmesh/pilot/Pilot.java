package io.qmesh.pilot;

import io.micrometer.core.instrument.MeterRegistry;
import io.qmesh.ca.BootstrapTokens;
import io.qmesh.ca.CaServer;
import io.qmesh.ca.CaService;
import io.qmesh.ca.CertificateAuthority;
import io.qmesh.pilot.ingest.ConfigStore;
import io.qmesh.pilot.ingest.LocalConfigStore;
import io.qmesh.pilot.xds.MeshCache;
import io.qmesh.pilot.xds.ProxyTracker;
import io.qmesh.pilot.xds.PushScheduler;
import io.qmesh.pilot.xds.WorkloadRegistry;
import io.qmesh.pilot.xds.XdsServer;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The composition root: the one place the pipeline's stages are built and wired. Ingest (the store)
 * and the registry feed the push scheduler, which translates and hands snapshots to the xDS
 * server's cache; the tracker tells the scheduler and registry who is connected.
 */
@Singleton
public class Pilot {

  private final ScheduledExecutorService exec =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "pilot-push");
            t.setDaemon(true);
            return t;
          });
  private final ConfigStore store;
  private final WorkloadRegistry registry;
  private final PushScheduler scheduler;
  private final ProxyTracker tracker;
  private final XdsServer xds;
  private final CaServer ca;

  /**
   * Set when pilot stops: the streams gRPC cancels then report their proxies gone after the push
   * thread has stopped, and a stopping pilot neither schedules their removal nor pushes.
   */
  private volatile boolean stopping;

  public Pilot(PilotConfig config, MeterRegistry metrics) {
    MeshCache cache = new MeshCache();
    this.store = new LocalConfigStore(Path.of(config.stateDir(), "config"));
    PushScheduler[] ref = new PushScheduler[1];
    this.registry =
        new WorkloadRegistry(
            exec,
            config.registrationGrace(),
            () -> ref[0].requestPush(),
            Path.of(config.stateDir(), "registry", "workloads.json"));
    this.scheduler =
        new PushScheduler(
            exec, store, registry, cache, config.debounce(), metrics, config.mesh().toModel());
    ref[0] = scheduler;
    store.onChange(scheduler::requestPush);
    this.tracker =
        new ProxyTracker(
            node -> {
              if (!stopping) {
                registry.connected(node);
                scheduler.connected(node);
              }
            },
            node -> {
              if (!stopping) {
                registry.disconnected(node);
                scheduler.disconnected(node);
              }
            },
            metrics);
    this.xds =
        new XdsServer(config.xdsHost(), config.xdsPort(), cache, tracker, config.pushThrottle());
    if (config.caPort() >= 0) {
      Path caDir = Path.of(config.stateDir(), "ca");
      CertificateAuthority authority = CertificateAuthority.open(caDir, Clock.systemUTC());
      publishRoot(caDir.resolve(ROOT_CERT_DIR).resolve("root-cert.pem"), authority);
      BootstrapTokens tokens =
          new BootstrapTokens(
              BootstrapTokens.loadOrCreateKey(
                  config.ca().tokenKey().map(Path::of).orElse(caDir.resolve("token-key"))),
              Clock.systemUTC());
      CaService service =
          new CaService(authority, tokens, config.ca().defaultTtl(), config.ca().maxTtl(), metrics);
      this.ca =
          new CaServer(
              config.xdsHost(),
              config.caPort(),
              authority,
              List.of(service.definition(), xds.ads().bindService()));
    } else {
      this.ca = null;
    }
    scheduler.start();
  }

  /**
   * Where pilot publishes the mesh's root in its state directory, as Istio publishes the ConfigMap
   * {@code istio-ca-root-cert} (key {@code root-cert.pem}): proxies trust what is there.
   */
  public static final String ROOT_CERT_DIR = "istio-ca-root-cert";

  private static void publishRoot(Path file, CertificateAuthority ca) {
    try {
      io.qmesh.ca.SecureFiles.write(file, io.qmesh.ca.Pem.encode(ca.root()), true);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("cannot publish the root to " + file, e);
    }
  }

  void onStart(@Observes StartupEvent event) {
    // Creating the bean (above) starts serving; observing startup makes it eager.
  }

  void onStop(@Observes ShutdownEvent event) {
    stopping = true;
    if (ca != null) {
      ca.close();
    }
    xds.close();
    exec.shutdownNow();
  }

  @Produces
  ConfigStore store() {
    return store;
  }

  @Produces
  PushScheduler scheduler() {
    return scheduler;
  }

  @Produces
  ProxyTracker tracker() {
    return tracker;
  }

  @Produces
  XdsServer xds() {
    return xds;
  }
}
