package io.qmesh.pilot.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.qmesh.api.config.ConfigException;
import io.qmesh.api.config.ConfigKey;
import io.qmesh.api.config.ConfigKind;
import io.qmesh.api.config.ConfigObject;
import io.qmesh.api.config.ConfigParser;
import io.qmesh.pilot.ingest.Finding.Severity;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jboss.logging.Logger;

/**
 * The laptop mode's config store: objects in memory, persisted as one YAML file ({@code
 * <dir>/store.yaml}) that every change replaces atomically, so a crash loses nothing and a
 * multi-document apply is all or nothing on disk too.
 */
public final class LocalConfigStore implements ConfigStore {

  private static final Logger LOG = Logger.getLogger(LocalConfigStore.class);
  private static final YAMLMapper YAML =
      YAMLMapper.builder().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER).build();

  private final Path file;
  private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
  private volatile TreeMap<ConfigKey, ConfigObject<HasMetadata>> objects = new TreeMap<>();
  private volatile long revision;

  /** Opens the store in {@code dir}, reading what an earlier run kept. */
  public LocalConfigStore(Path dir) {
    this.file = dir.resolve("store.yaml");
    load();
  }

  private void load() {
    if (!Files.exists(file)) {
      return;
    }
    String text;
    try {
      text = Files.readString(file);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the config store " + file, e);
    }
    TreeMap<ConfigKey, ConfigObject<HasMetadata>> loaded = new TreeMap<>();
    long max = 0;
    for (ConfigObject<HasMetadata> o : ConfigParser.parse(text, "default")) {
      loaded.put(o.key(), o);
      String rv = o.object().getMetadata().getResourceVersion();
      max = Math.max(max, rv == null ? 0 : Long.parseLong(rv));
    }
    objects = loaded;
    revision = max;
    LOG.infof("config store %s: %d objects", file, loaded.size());
  }

  @Override
  public Result apply(List<ConfigObject<HasMetadata>> incoming) {
    Result result;
    synchronized (this) {
      TreeMap<ConfigKey, ConfigObject<HasMetadata>> next = new TreeMap<>(objects);
      incoming.forEach(o -> next.put(o.key(), o));
      List<Finding> findings = Validator.validate(incoming, next.values());
      List<String> errors =
          findings.stream()
              .filter(f -> f.severity() == Severity.ERROR)
              .map(Finding::toString)
              .toList();
      if (!errors.isEmpty()) {
        throw new ConfigException(errors);
      }
      long rev = revision + 1;
      String now = Instant.now().truncatedTo(ChronoUnit.MILLIS).toString();
      List<Change> changes = new ArrayList<>();
      boolean changed = false;
      for (ConfigObject<HasMetadata> o : incoming) {
        ConfigObject<HasMetadata> old = objects.get(o.key());
        if (old != null && sameContent(old.source(), o.source())) {
          next.put(o.key(), old);
          changes.add(new Change(o.key(), Action.UNCHANGED));
          continue;
        }
        String created = old == null ? now : old.object().getMetadata().getCreationTimestamp();
        next.put(o.key(), stamped(o, created, rev));
        changes.add(new Change(o.key(), old == null ? Action.CREATED : Action.CONFIGURED));
        changed = true;
      }
      List<Finding> warnings =
          findings.stream().filter(f -> f.severity() == Severity.WARNING).toList();
      if (changed) {
        commit(next, rev);
      }
      result = new Result(changes, warnings);
      if (!changed) {
        return result;
      }
    }
    listeners.forEach(Runnable::run);
    return result;
  }

  @Override
  public Result delete(List<ConfigKey> keys) {
    List<Change> changes = new ArrayList<>();
    synchronized (this) {
      TreeMap<ConfigKey, ConfigObject<HasMetadata>> next = new TreeMap<>(objects);
      for (ConfigKey k : keys) {
        changes.add(new Change(k, next.remove(k) != null ? Action.DELETED : Action.UNCHANGED));
      }
      if (next.size() == objects.size()) {
        return new Result(changes, List.of());
      }
      commit(next, revision + 1);
    }
    listeners.forEach(Runnable::run);
    return new Result(changes, List.of());
  }

  @Override
  public List<ConfigObject<HasMetadata>> list(
      Optional<ConfigKind> kind, Optional<String> namespace) {
    return objects.values().stream()
        .filter(o -> kind.isEmpty() || o.key().kind() == kind.get())
        .filter(o -> namespace.isEmpty() || o.key().namespace().equals(namespace.get()))
        .toList();
  }

  @Override
  public Optional<ConfigObject<HasMetadata>> get(ConfigKey key) {
    return Optional.ofNullable(objects.get(key));
  }

  @Override
  public long revision() {
    return revision;
  }

  @Override
  public void onChange(Runnable listener) {
    listeners.add(listener);
  }

  private void commit(TreeMap<ConfigKey, ConfigObject<HasMetadata>> next, long rev) {
    write(next.values());
    objects = next;
    revision = rev;
  }

  private void write(Collection<ConfigObject<HasMetadata>> all) {
    StringBuilder out =
        new StringBuilder("# qmesh pilot's config store; change it with qmesh apply/delete.\n");
    try {
      for (ConfigObject<HasMetadata> o : all) {
        out.append("---\n").append(YAML.writeValueAsString(o.source()));
      }
      Files.createDirectories(file.getParent());
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      Files.writeString(tmp, out, StandardCharsets.UTF_8);
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the config store " + file, e);
    }
  }

  private static ConfigObject<HasMetadata> stamped(
      ConfigObject<HasMetadata> o, String created, long rev) {
    ObjectNode source = o.source().deepCopy();
    ObjectNode metadata = (ObjectNode) source.path("metadata");
    metadata.put("creationTimestamp", created);
    metadata.put("resourceVersion", String.valueOf(rev));
    return ConfigParser.toObject(source, o.key().namespace());
  }

  /** Equal apart from what the store itself stamps. */
  private static boolean sameContent(JsonNode stored, JsonNode incoming) {
    ObjectNode a = stored.deepCopy();
    ObjectNode b = incoming.deepCopy();
    for (ObjectNode n : List.of(a, b)) {
      n.remove("apiVersion");
      n.remove("status");
      ObjectNode md = (ObjectNode) n.path("metadata");
      md.remove("creationTimestamp");
      md.remove("resourceVersion");
    }
    return a.equals(b);
  }
}
