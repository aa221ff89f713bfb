package io.qmesh.bookinfo.common;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;

/**
 * The HTTP proxy that outgoing calls go through, taken from the standard settings: the Java
 * properties {@code http.proxyHost}/{@code http.proxyPort}/{@code http.nonProxyHosts} first, then
 * the {@code HTTP_PROXY}/{@code http_proxy} and {@code NO_PROXY}/{@code no_proxy} environment
 * variables. In qmesh's laptop mode this is how an application's calls reach its sidecar.
 *
 * @param proxy the proxy's address, empty for direct connections
 * @param noProxy host patterns reached directly: {@code *}, a host name or address, or a domain
 *     suffix ({@code .example.com}, {@code *.example.com}, or {@code example.com} matching its
 *     subdomains too, as curl does)
 */
public record ProxySettings(Optional<InetSocketAddress> proxy, List<String> noProxy) {

  /** A selector that never proxies; {@code HttpClient}'s default would read system properties. */
  private static final ProxySelector NEVER =
      new ProxySelector() {
        @Override
        public List<Proxy> select(URI uri) {
          return List.of(Proxy.NO_PROXY);
        }

        @Override
        public void connectFailed(URI uri, SocketAddress sa, IOException ioe) {}
      };

  /** No proxy at all. */
  public static final ProxySettings DIRECT = new ProxySettings(Optional.empty(), List.of());

  public ProxySettings {
    noProxy = List.copyOf(noProxy);
  }

  /**
   * Resolves the settings from a configuration lookup that sees both system properties and
   * environment variables (MicroProfile Config does; so does {@code System::getProperty} chained
   * with {@code System::getenv}).
   *
   * @throws IllegalArgumentException when a proxy setting is present but malformed
   */
  public static ProxySettings resolve(Function<String, Optional<String>> lookup) {
    Optional<String> host = lookup.apply("http.proxyHost").filter(s -> !s.isBlank());
    if (host.isPresent()) {
      String portText = lookup.apply("http.proxyPort").filter(s -> !s.isBlank()).orElse("80");
      int port = parsePort(portText, "http.proxyPort");
      List<String> noProxy = split(lookup.apply("http.nonProxyHosts").orElse(""), "\\|");
      return new ProxySettings(
          Optional.of(InetSocketAddress.createUnresolved(host.get().trim(), port)), noProxy);
    }
    Optional<String> url =
        lookup.apply("HTTP_PROXY").or(() -> lookup.apply("http_proxy")).filter(s -> !s.isBlank());
    if (url.isEmpty()) {
      return DIRECT;
    }
    String noProxy = lookup.apply("NO_PROXY").or(() -> lookup.apply("no_proxy")).orElse("");
    return new ProxySettings(Optional.of(parseProxyUrl(url.get().trim())), split(noProxy, ","));
  }

  /** A selector for {@link java.net.http.HttpClient.Builder#proxy}. */
  public ProxySelector selector() {
    if (proxy.isEmpty()) {
      return NEVER;
    }
    List<Proxy> via = List.of(new Proxy(Proxy.Type.HTTP, proxy.get()));
    return new ProxySelector() {
      @Override
      public List<Proxy> select(URI uri) {
        return bypasses(uri.getHost()) ? List.of(Proxy.NO_PROXY) : via;
      }

      @Override
      public void connectFailed(URI uri, SocketAddress sa, IOException ioe) {}
    };
  }

  /** Whether a host is reached directly rather than through the proxy. */
  public boolean bypasses(String host) {
    if (host == null) {
      return true;
    }
    String h = host.toLowerCase(Locale.ROOT);
    for (String pattern : noProxy) {
      if (pattern.equals("*") || h.equals(pattern)) {
        return true;
      }
      String suffix = pattern.startsWith("*.") ? pattern.substring(1) : pattern;
      if (!suffix.startsWith(".")) {
        suffix = "." + suffix;
      }
      if (h.endsWith(suffix)) {
        return true;
      }
    }
    return false;
  }

  static InetSocketAddress parseProxyUrl(String text) {
    String withScheme = text.contains("://") ? text : "http://" + text;
    URI uri;
    try {
      uri = URI.create(withScheme);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("HTTP_PROXY: not a URL: '" + text + "'", e);
    }
    if (uri.getHost() == null) {
      throw new IllegalArgumentException("HTTP_PROXY: no host in '" + text + "'");
    }
    if (!"http".equalsIgnoreCase(uri.getScheme())) {
      throw new IllegalArgumentException(
          "HTTP_PROXY: scheme '" + uri.getScheme() + "' is not supported, use http://");
    }
    int port = uri.getPort() == -1 ? 80 : uri.getPort();
    return InetSocketAddress.createUnresolved(uri.getHost(), port);
  }

  private static int parsePort(String text, String key) {
    try {
      int port = Integer.parseInt(text.trim());
      if (port < 1 || port > 65535) {
        throw new NumberFormatException();
      }
      return port;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + ": not a port number: '" + text + "'");
    }
  }

  private static List<String> split(String text, String separator) {
    List<String> out = new ArrayList<>();
    for (String part : text.split(separator)) {
      String p = part.trim().toLowerCase(Locale.ROOT);
      if (!p.isEmpty()) {
        out.add(p);
      }
    }
    return out;
  }
}
