package io.qmesh.gateway;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.qmesh.proxy.HealthServer;
import io.qmesh.proxy.ProxyConfig;
import io.qmesh.proxy.ProxyStats;
import io.qmesh.proxy.StatsServer;
import io.qmesh.proxy.listener.ListenerManager;
import io.qmesh.proxy.security.MeshTls;
import io.qmesh.proxy.security.WorkloadCertificates;
import io.qmesh.proxy.telemetry.IstioMetrics;
import io.qmesh.proxy.telemetry.Peer;
import io.qmesh.proxy.telemetry.Tracers;
import io.qmesh.proxy.xds.Nodes;
import io.qmesh.proxy.xds.XdsClient;
import io.qmesh.proxy.xds.XdsResources;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.vertx.core.Vertx;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.jboss.logging.Logger;

/**
 * The ingress gateway's composition root: an xDS client for a {@code router} node whose accepted
 * updates bind the listeners pilot derives from the Gateway resources selecting this workload, and
 * compile into the one {@link ProxyConfig} those listeners route with.
 */
@Singleton
public class Gateway {

  private static final Logger LOG = Logger.getLogger(Gateway.class);

  private final AtomicReference<ProxyConfig> config = new AtomicReference<>(ProxyConfig.EMPTY);
  private final ScheduledExecutorService xdsThread =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "xds-client");
            t.setDaemon(true);
            return t;
          });
  private volatile ListenerManager listeners;
  private volatile XdsClient xds;
  private volatile Tracers tracers;
  private volatile Node node;
  private volatile WorkloadCertificates certificates;

  private volatile java.time.Duration drain = java.time.Duration.ofSeconds(5);

  void start(
      @Observes StartupEvent event,
      Vertx vertx,
      GatewayConfig c,
      io.micrometer.prometheus.PrometheusMeterRegistry registry)
      throws Exception {
    drain = c.drainDuration();
    Map<String, Object> md = new LinkedHashMap<>();
    md.put("NAMESPACE", c.namespace());
    md.put("LABELS", Nodes.labels("qmesh.gateway.labels", c.labels()));
    md.put("WORKLOAD_NAME", c.workload());
    md.put("SERVICE_ACCOUNT", c.serviceAccount());
    md.put("INSTANCE_IPS", c.instanceIp());
    String suffix = UUID.randomUUID().toString().substring(0, 8);
    node =
        Nodes.node(
            "router~"
                + c.instanceIp()
                + "~"
                + c.workload()
                + "-"
                + suffix
                + "."
                + c.namespace()
                + "~"
                + c.namespace()
                + ".svc.cluster.local",
            c.workload(),
            md);
    // The gateway's own identity: its requests to the mesh's workloads are mutual TLS where the
    // destination takes it, as any sidecar's.
    String identity = io.qmesh.api.MeshNames.spiffeId(c.namespace(), c.serviceAccount());
    certificates =
        WorkloadCertificates.connect(
            vertx,
            c.ca(),
            java.nio.file.Path.of(c.caRoot()),
            java.nio.file.Path.of(c.caToken()),
            identity,
            c.certTtl(),
            xdsThread);
    MeshTls mtls = certificates == null ? null : new MeshTls(certificates);
    if (certificates != null) {
      certificates.start();
    }
    // A gateway reports Istio's metrics as the source of the requests it forwards, as Istio's do,
    // and starts their traces with client spans.
    Peer self =
        Peer.of(
                c.workload(),
                c.namespace(),
                Nodes.labels("qmesh.gateway.labels", c.labels()),
                Peer.DEFAULT_CLUSTER)
            .withPrincipal(mtls == null ? null : identity);
    IstioMetrics metrics =
        new IstioMetrics(registry, IstioMetrics.Reporter.SOURCE, self, node.getId());
    tracers = new Tracers(self, node.getId());
    listeners =
        new ListenerManager(vertx, config::get, c.listenHost(), new ProxyStats(registry), metrics)
            .tracing(tracers)
            .securing(mtls);
    for (int port : new int[] {c.prometheusPort(), c.mergedPrometheusPort()}) {
      StatsServer.listen(vertx, c.listenHost(), port, registry::scrape, null)
          .toCompletionStage()
          .toCompletableFuture()
          .get(10, TimeUnit.SECONDS);
    }
    HealthServer.listen(vertx, c.listenHost(), c.healthPort(), this::ready)
        .toCompletionStage()
        .toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
    int colon = c.pilot().lastIndexOf(':');
    if (colon <= 0) {
      throw new IllegalArgumentException(
          "qmesh.gateway.pilot: '" + c.pilot() + "' is not host:port");
    }
    xds =
        new XdsClient(
            vertx,
            c.pilot().substring(0, colon),
            Integer.parseInt(c.pilot().substring(colon + 1)),
            node,
            this::apply,
            xdsThread,
            c.xdsDelta());
    xds.start();
    LOG.infof("gateway %s: listeners from pilot %s on %s", node.getId(), c.pilot(), c.listenHost());
  }

  /** Compile, bind the listeners asked for, then swap in; or say why not (the NACK reason). */
  private String apply(XdsResources resources) {
    ProxyConfig compiled;
    try {
      compiled = ProxyConfig.compile(resources, config.get());
    } catch (RuntimeException e) {
      return e.getMessage();
    }
    String error = listeners.reconcile(resources);
    if (error == null) {
      config.set(compiled);
      LOG.infof("listening on %s", listeners.ports());
    }
    return error;
  }

  void stop(@Observes ShutdownEvent event) {
    if (listeners != null) {
      try {
        listeners
            .drain(drain)
            .toCompletionStage()
            .toCompletableFuture()
            .get(drain.toMillis() + 1000, TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        LOG.warnf("drain did not complete: %s", e.toString());
      }
    }
    if (xds != null) {
      xds.close();
    }
    xdsThread.shutdownNow();
    if (tracers != null) {
      tracers.close();
    }
    if (certificates != null) {
      certificates.close();
    }
  }

  /** The gateway's certificates, or null without mutual TLS. */
  public WorkloadCertificates certificates() {
    return certificates;
  }

  /** Ready: a config from pilot applied, and a certificate when using mutual TLS. */
  public boolean ready() {
    return xds != null
        && !xds.resources().clusters().isEmpty()
        && (certificates == null || certificates.current() != null);
  }

  public Node node() {
    return node;
  }

  public XdsClient xds() {
    return xds;
  }

  public ProxyConfig config() {
    return config.get();
  }

  public Map<Integer, String> ports() {
    return listeners == null ? Map.of() : listeners.ports();
  }
}
