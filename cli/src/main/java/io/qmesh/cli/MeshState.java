package io.qmesh.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * The supervisor's record of what runs, {@code .qmesh/mesh.json}: the components in start order.
 * Every change is made under a file lock and written atomically, so {@code qmesh run} in one
 * terminal and {@code qmesh up} in another never lose each other's entries.
 */
final class MeshState {

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private final Home home;

  MeshState(Home home) {
    this.home = home;
  }

  /** The components recorded, in start order. */
  List<Component> components() {
    try {
      if (!Files.exists(home.meshFile())) {
        return List.of();
      }
      return List.of(JSON.readValue(home.meshFile().toFile(), Component[].class));
    } catch (IOException e) {
      throw new Failure("cannot read " + home.meshFile() + ": " + e.getMessage(), e);
    }
  }

  /** The recorded components still running. */
  List<Component> running() {
    return components().stream().filter(Component::alive).toList();
  }

  Optional<Component> find(String name) {
    return components().stream().filter(c -> c.name().equals(name)).findFirst();
  }

  /** The proxy (sidecar or gateway) of a workload, by workload or component name. */
  Optional<Component> proxyOf(String workload) {
    return components().stream()
        .filter(c -> c.kind().equals("sidecar") || c.kind().equals("gateway"))
        .filter(c -> c.workload().equals(workload) || c.name().equals(workload))
        .findFirst();
  }

  void add(Component c) {
    update(
        list -> {
          list.removeIf(o -> o.name().equals(c.name()));
          list.add(c);
          return list;
        });
  }

  void remove(List<Component> gone) {
    update(
        list -> {
          list.removeIf(o -> gone.stream().anyMatch(g -> g.name().equals(o.name())));
          return list;
        });
  }

  void clear() {
    update(list -> new ArrayList<>());
  }

  private void update(UnaryOperator<List<Component>> change) {
    try {
      Files.createDirectories(home.state());
      try (FileChannel lockFile =
              FileChannel.open(
                  home.state().resolve("mesh.lock"),
                  StandardOpenOption.CREATE,
                  StandardOpenOption.WRITE);
          FileLock ignored = lockFile.lock()) {
        List<Component> list = change.apply(new ArrayList<>(components()));
        var tmp = home.state().resolve("mesh.json.tmp");
        JSON.writeValue(tmp.toFile(), list.toArray(new Component[0]));
        Files.move(
            tmp,
            home.meshFile(),
            StandardCopyOption.REPLACE_EXISTING,
            StandardCopyOption.ATOMIC_MOVE);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + home.meshFile(), e);
    }
  }
}
