package io.qmesh.pilot.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qmesh.api.config.ConfigException;
import io.qmesh.api.config.ConfigKey;
import io.qmesh.api.config.ConfigKind;
import io.qmesh.api.config.ConfigParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalConfigStoreTest {

  @TempDir Path dir;

  private static final String VS =
      """
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: {name: reviews}
      spec:
        hosts: [reviews]
        http:
        - route:
          - destination: {host: reviews}
      """;

  private static final String DR =
      """
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: {name: reviews}
      spec:
        host: reviews
        subsets:
        - {name: v1, labels: {version: v1}}
      """;

  private LocalConfigStore store() {
    return new LocalConfigStore(dir);
  }

  @Test
  void applyCreatesThenConfiguresThenLeavesUnchanged() {
    LocalConfigStore store = store();
    assertThat(store.apply(ConfigParser.parse(VS, "default")).changes())
        .extracting(ConfigStore.Change::action)
        .containsExactly(ConfigStore.Action.CREATED);
    assertThat(store.apply(ConfigParser.parse(VS, "default")).changes())
        .extracting(ConfigStore.Change::action)
        .containsExactly(ConfigStore.Action.UNCHANGED);
    assertThat(
            store
                .apply(
                    ConfigParser.parse(
                        VS.replace("[reviews]", "[reviews, reviews.shop]"), "default"))
                .changes())
        .extracting(ConfigStore.Change::action)
        .containsExactly(ConfigStore.Action.CONFIGURED);
  }

  @Test
  void aRestartKeepsEverythingIncludingCreationOrder() {
    LocalConfigStore first = store();
    first.apply(ConfigParser.parse(VS + "---\n" + DR, "default"));
    String created =
        first
            .list(Optional.of(ConfigKind.VIRTUAL_SERVICE), Optional.empty())
            .get(0)
            .object()
            .getMetadata()
            .getCreationTimestamp();

    LocalConfigStore second = store();
    assertThat(second.list(Optional.empty(), Optional.empty()))
        .extracting(o -> o.key().toString())
        .containsExactly("VirtualService default/reviews", "DestinationRule default/reviews");
    assertThat(
            second
                .get(new ConfigKey(ConfigKind.VIRTUAL_SERVICE, "default", "reviews"))
                .orElseThrow()
                .object()
                .getMetadata()
                .getCreationTimestamp())
        .isEqualTo(created);
    assertThat(second.revision()).isEqualTo(first.revision());
  }

  @Test
  void aRejectedMultiDocumentApplyChangesNothingInMemoryOrOnDisk() throws Exception {
    LocalConfigStore store = store();
    store.apply(ConfigParser.parse(DR, "default"));
    String before = Files.readString(dir.resolve("store.yaml"));
    long revision = store.revision();
    String bad =
        VS
            + "---\n"
            + DR.replace("name: v1,", "name: v1,")
                .replace(
                    "host: reviews\n",
                    "host: reviews\n  trafficPolicy: {connectionPool: {tcp: {connectTimeout: soon}}}\n");
    assertThatThrownBy(() -> store.apply(ConfigParser.parse(bad, "default")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(
            "DestinationRule default/reviews: spec.trafficPolicy.connectionPool.tcp.connectTimeout: 'soon' is not a duration");
    assertThat(store.list(Optional.of(ConfigKind.VIRTUAL_SERVICE), Optional.empty())).isEmpty();
    assertThat(store.revision()).isEqualTo(revision);
    assertThat(Files.readString(dir.resolve("store.yaml"))).isEqualTo(before);
    assertThat(dir.resolve("store.yaml.tmp")).doesNotExist();
  }

  @Test
  void deleteAndListeners() {
    LocalConfigStore store = store();
    AtomicInteger changes = new AtomicInteger();
    store.onChange(changes::incrementAndGet);
    store.apply(ConfigParser.parse(VS, "default"));
    store.apply(ConfigParser.parse(VS, "default"));
    var result =
        store.delete(
            List.of(
                new ConfigKey(ConfigKind.VIRTUAL_SERVICE, "default", "reviews"),
                new ConfigKey(ConfigKind.GATEWAY, "default", "none")));
    assertThat(result.changes())
        .extracting(ConfigStore.Change::action)
        .containsExactly(ConfigStore.Action.DELETED, ConfigStore.Action.UNCHANGED);
    assertThat(changes.get()).as("an unchanged apply notifies nobody").isEqualTo(2);
    assertThat(store().list(Optional.empty(), Optional.empty())).isEmpty();
  }
}
