package io.qmesh.sidecar;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.qmesh.proxy.HealthServer;
import io.qmesh.proxy.ProxyConfig;
import io.qmesh.proxy.ProxyStats;
import io.qmesh.proxy.listener.HttpProxy;
import io.qmesh.proxy.listener.TcpProxy;
import io.qmesh.proxy.security.MeshTls;
import io.qmesh.proxy.security.WorkloadCertificates;
import io.qmesh.proxy.telemetry.IstioMetrics;
import io.qmesh.proxy.telemetry.Peer;
import io.qmesh.proxy.telemetry.Tracers;
import io.qmesh.proxy.xds.XdsClient;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.jboss.logging.Logger;

/**
 * The sidecar's composition root: an xDS client whose accepted updates compile into the one {@link
 * ProxyConfig} reference, the outbound listener (the app's HTTP proxy) and one inbound listener per
 * workload port, all reading that reference.
 */
@Singleton
public class Sidecar {

  private static final Logger LOG = Logger.getLogger(Sidecar.class);

  private final AtomicReference<ProxyConfig> config = new AtomicReference<>(ProxyConfig.EMPTY);
  private final ScheduledExecutorService xdsThread =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "xds-client");
            t.setDaemon(true);
            return t;
          });
  private final List<HttpProxy> httpListeners = new ArrayList<>();
  private final List<TcpProxy> tcpListeners = new ArrayList<>();
  private volatile XdsClient xds;
  private volatile Tracers tracers;
  private volatile Node node;
  private volatile WorkloadCertificates certificates;
  private volatile boolean listening;
  private volatile java.time.Duration drain = java.time.Duration.ofSeconds(5);

  void start(
      @Observes StartupEvent event,
      Vertx vertx,
      SidecarConfig c,
      io.micrometer.prometheus.PrometheusMeterRegistry registry)
      throws Exception {
    ProxyStats stats = new ProxyStats(registry);
    drain = c.drainDuration();
    Map<String, String> labels = Ports.labels(c.labels());
    List<Ports.Inbound> inbound = Ports.inbound(c.inbound().orElse(""));
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
    if (mtls != null) {
      // As Istio's injector labels the pods it injects: peers' auto mTLS picks this workload.
      labels = new java.util.LinkedHashMap<>(labels);
      labels.put("security.istio.io/tlsMode", "istio");
      certificates.start();
    }
    node = NodeIdentity.of(c, labels, inbound, UUID.randomUUID().toString().substring(0, 8));

    List<String> bound = new ArrayList<>();
    Peer self =
        Peer.of(c.workload(), c.namespace(), labels, Peer.DEFAULT_CLUSTER)
            .withPrincipal(mtls == null ? null : identity);
    IstioMetrics asSource =
        new IstioMetrics(registry, IstioMetrics.Reporter.SOURCE, self, node.getId());
    IstioMetrics asDestination =
        new IstioMetrics(registry, IstioMetrics.Reporter.DESTINATION, self, node.getId());
    tracers = new Tracers(self, node.getId());
    HttpProxy outbound =
        HttpProxy.outbound(vertx, config::get, stats)
            .reporting(asSource)
            .tracing(tracers, false)
            .securing(mtls);
    httpListeners.add(outbound);
    listen(
        outbound.listen(c.outboundHost(), c.outboundPort()),
        c.outboundHost(),
        c.outboundPort(),
        "outbound");
    bound.add("outbound " + c.outboundHost() + ":" + c.outboundPort());
    for (Ports.Inbound p : inbound) {
      String cluster = "inbound|" + p.targetPort() + "||";
      String what = "inbound " + p.targetPort() + (p.tcp() ? "/tcp" : "");
      Future<?> listening;
      if (p.tcp()) {
        TcpProxy tcp =
            new TcpProxy(vertx, config::get, cluster, stats)
                .reporting(asDestination)
                .securing(mtls, p.targetPort());
        tcpListeners.add(tcp);
        listening = tcp.listen(c.inboundHost(), p.listenPort());
      } else {
        HttpProxy http =
            HttpProxy.withRoutes(vertx, config::get, cluster, stats)
                .reporting(asDestination)
                .tracing(tracers, true);
        if (mtls != null) {
          http.securing(mtls, p.targetPort());
        }
        httpListeners.add(http);
        listening = http.listen(c.inboundHost(), p.listenPort());
      }
      listen(listening, c.inboundHost(), p.listenPort(), what);
      bound.add(
          what
              + " on "
              + c.inboundHost()
              + ":"
              + p.listenPort()
              + " -> app 127.0.0.1:"
              + p.appPort());
    }
    listen(
        HealthServer.listen(vertx, c.inboundHost(), c.healthPort(), this::ready),
        c.inboundHost(),
        c.healthPort(),
        "health");
    bound.add("health " + c.inboundHost() + ":" + c.healthPort());
    listening = true;

    int colon = c.pilot().lastIndexOf(':');
    if (colon <= 0) {
      throw new IllegalArgumentException(
          "qmesh.sidecar.pilot: '" + c.pilot() + "' is not host:port");
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
    LOG.infof("sidecar %s: %s; pilot %s", node.getId(), String.join("; ", bound), c.pilot());
  }

  /** Waits for a listener to bind; fails naming it and the address when it cannot. */
  static void listen(Future<?> listening, String host, int port, String what) throws Exception {
    try {
      listening.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException(
          what + " listener cannot bind " + host + ":" + port + ": " + e.getCause().getMessage(),
          e.getCause());
    }
  }

  /** The xDS client's applier: compile, swap in, or say why not (the NACK reason). */
  private String apply(io.qmesh.proxy.xds.XdsResources resources) {
    try {
      config.set(ProxyConfig.compile(resources, config.get()));
      httpListeners.forEach(HttpProxy::enforcePeerAuthentication);
      tcpListeners.forEach(TcpProxy::enforcePeerAuthentication);
      return null;
    } catch (RuntimeException e) {
      return e.getMessage();
    }
  }

  void stop(@Observes ShutdownEvent event) {
    // Drain: requests in flight finish (HTTP/1.1 clients are asked to close) before the
    // listeners close with Vert.x.
    try {
      io.vertx.core.Future.all(httpListeners.stream().map(p -> p.drain(drain)).toList())
          .toCompletionStage()
          .toCompletableFuture()
          .get(drain.toMillis() + 1000, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      LOG.warnf("drain did not complete: %s", e.toString());
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

  /** The workload's certificates, or null without mutual TLS. */
  public WorkloadCertificates certificates() {
    return certificates;
  }

  /** Ready: listeners bound, a config from pilot applied, and a certificate when using mTLS. */
  public boolean ready() {
    return listening
        && xds != null
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
}
