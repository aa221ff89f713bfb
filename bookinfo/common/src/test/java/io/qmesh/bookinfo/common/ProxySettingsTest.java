package io.qmesh.bookinfo.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ProxySettingsTest {

  private static ProxySettings resolve(Map<String, String> settings) {
    return ProxySettings.resolve(key -> Optional.ofNullable(settings.get(key)));
  }

  @Test
  void noSettingsMeansDirect() {
    assertThat(resolve(Map.of())).isEqualTo(ProxySettings.DIRECT);
  }

  @Test
  void environmentUrlWithAndWithoutScheme() {
    assertThat(resolve(Map.of("HTTP_PROXY", "http://127.0.0.1:15001")).proxy())
        .contains(InetSocketAddress.createUnresolved("127.0.0.1", 15001));
    assertThat(resolve(Map.of("http_proxy", "localhost:3128")).proxy())
        .contains(InetSocketAddress.createUnresolved("localhost", 3128));
    assertThat(resolve(Map.of("HTTP_PROXY", "proxy.local")).proxy())
        .contains(InetSocketAddress.createUnresolved("proxy.local", 80));
  }

  @Test
  void javaPropertiesWinOverEnvironment() {
    ProxySettings s =
        resolve(
            Map.of(
                "http.proxyHost", "127.0.0.1",
                "http.proxyPort", "9999",
                "HTTP_PROXY", "http://other:1"));
    assertThat(s.proxy()).contains(InetSocketAddress.createUnresolved("127.0.0.1", 9999));
  }

  @Test
  void noProxyPatterns() {
    ProxySettings s =
        resolve(Map.of("HTTP_PROXY", "http://p:1", "NO_PROXY", "localhost, .corp.com,example.org"));
    assertThat(s.bypasses("localhost")).isTrue();
    assertThat(s.bypasses("a.corp.com")).isTrue();
    assertThat(s.bypasses("corp.com")).isFalse();
    assertThat(s.bypasses("example.org")).isTrue();
    assertThat(s.bypasses("www.example.org")).isTrue();
    assertThat(s.bypasses("reviews")).isFalse();
    assertThat(resolve(Map.of("HTTP_PROXY", "p:1", "no_proxy", "*")).bypasses("reviews")).isTrue();
    ProxySettings java =
        resolve(Map.of("http.proxyHost", "p", "http.nonProxyHosts", "*.svc|details"));
    assertThat(java.bypasses("details")).isTrue();
    assertThat(java.bypasses("reviews.default.svc")).isTrue();
    assertThat(java.bypasses("reviews")).isFalse();
  }

  @Test
  void malformedSettingsNameTheKey() {
    assertThatThrownBy(() -> resolve(Map.of("http.proxyHost", "p", "http.proxyPort", "x")))
        .hasMessageContaining("http.proxyPort");
    assertThatThrownBy(() -> resolve(Map.of("HTTP_PROXY", "https://p:1")))
        .hasMessageContaining("HTTP_PROXY")
        .hasMessageContaining("https");
  }
}
