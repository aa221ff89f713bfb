package io.qmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * The files {@code -f} names, read as kubectl reads them: a file, every {@code .yaml}, {@code .yml}
 * and {@code .json} file of a directory in name order, or {@code -} for standard input; and pilot's
 * answers printed as kubectl prints them.
 */
final class Manifests {

  /** One file's text and the name to report it by. */
  record Source(String name, String text) {}

  private Manifests() {}

  static List<Source> read(List<String> files, InputStream stdin) {
    List<Source> out = new ArrayList<>();
    for (String f : files) {
      try {
        if (f.equals("-")) {
          out.add(new Source("<stdin>", new String(stdin.readAllBytes(), StandardCharsets.UTF_8)));
          continue;
        }
        Path p = Path.of(f);
        if (Files.isDirectory(p)) {
          try (Stream<Path> s = Files.list(p)) {
            List<Path> docs =
                s.filter(Files::isRegularFile)
                    .filter(x -> x.getFileName().toString().matches(".*\\.(ya?ml|json)$"))
                    .sorted()
                    .toList();
            if (docs.isEmpty()) {
              throw new Failure(f + ": no .yaml, .yml or .json files in this directory");
            }
            for (Path d : docs) {
              out.add(new Source(d.toString(), Files.readString(d)));
            }
          }
        } else if (Files.isRegularFile(p)) {
          out.add(new Source(f, Files.readString(p)));
        } else {
          throw new Failure(f + ": no such file or directory");
        }
      } catch (IOException e) {
        throw new Failure(f + ": " + e.getMessage(), e);
      }
    }
    return out;
  }

  /**
   * Sends each source to pilot ({@code path}), printing {@code kind.group/name result} per object,
   * warnings, and the errors of refused files; returns the exit code: 1 when any file was refused.
   */
  static int send(
      PilotClient pilot, String path, List<Source> sources, PrintWriter out, PrintWriter err) {
    int code = 0;
    for (Source s : sources) {
      PilotClient.Answer a = pilot.post(path, s.text());
      if (!a.ok()) {
        err.println("error: " + s.name() + ": refused, nothing in it was applied:");
        for (String line : PilotClient.errors(a).split("\n")) {
          err.println("  " + line);
        }
        code = 1;
        continue;
      }
      for (JsonNode r : a.body().path("results")) {
        out.println(
            resource(r.path("kind").asText(), r.path("group").asText())
                + "/"
                + r.path("name").asText()
                + " "
                + r.path("result").asText());
      }
      for (JsonNode w : a.body().path("warnings")) {
        err.println("Warning: " + w.asText());
      }
    }
    out.flush();
    err.flush();
    return code;
  }

  /** kubectl's name for a kind: {@code virtualservice.networking.istio.io}, {@code service}. */
  static String resource(String kind, String group) {
    String k = kind.toLowerCase(Locale.ROOT);
    return group.isEmpty() ? k : k + "." + group;
  }
}
