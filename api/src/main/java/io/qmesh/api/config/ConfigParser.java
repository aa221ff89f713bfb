package io.qmesh.api.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Parses configuration as {@code kubectl apply -f} reads it: one or more YAML documents, a JSON
 * object, or a {@code kind: List}. Each document becomes a typed fabric8 object; an error names the
 * document (1-based), the object when known, and the field.
 */
public final class ConfigParser {

  private static final YAMLMapper YAML = new YAMLMapper();

  private ConfigParser() {}

  /**
   * @param defaultNamespace the namespace of objects that name none
   * @throws ConfigException listing every document that could not be read
   */
  public static List<ConfigObject<HasMetadata>> parse(String text, String defaultNamespace) {
    List<JsonNode> documents = documents(text);
    List<ConfigObject<HasMetadata>> out = new ArrayList<>();
    List<String> errors = new ArrayList<>();
    for (int i = 0; i < documents.size(); i++) {
      try {
        out.add(toObject(documents.get(i), defaultNamespace));
      } catch (ConfigException e) {
        int n = i + 1;
        e.errors().forEach(msg -> errors.add("document " + n + ": " + msg));
      }
    }
    if (!errors.isEmpty()) {
      throw new ConfigException(errors);
    }
    return out;
  }

  /** Reads one document that is already a JSON tree. */
  public static ConfigObject<HasMetadata> toObject(JsonNode document, String defaultNamespace) {
    if (!document.isObject()) {
      throw new ConfigException("expected an object with apiVersion and kind");
    }
    String apiVersion = document.path("apiVersion").asText(null);
    String kindName = document.path("kind").asText(null);
    if (apiVersion == null || kindName == null) {
      throw new ConfigException("missing apiVersion or kind");
    }
    ConfigKind kind =
        ConfigKind.of(apiVersion, kindName)
            .orElseThrow(
                () ->
                    new ConfigException(
                        "unknown kind "
                            + kindName
                            + " in "
                            + apiVersion
                            + "; the mesh accepts "
                            + supported()));
    String name = document.path("metadata").path("name").asText("");
    if (name.isEmpty()) {
      throw new ConfigException(kindName + ": metadata.name: required");
    }
    ObjectNode copy = document.deepCopy();
    // Every version of a kind shares one spec; reading all as the preferred version gives one
    // model type per kind.
    copy.put("apiVersion", kind.preferredApiVersion());
    String namespace = "";
    if (kind.namespaced()) {
      namespace = document.path("metadata").path("namespace").asText("");
      if (namespace.isEmpty()) {
        namespace = defaultNamespace;
        ((ObjectNode) copy.path("metadata")).put("namespace", namespace);
      }
    }
    ConfigKey key = new ConfigKey(kind, namespace, name);
    HasMetadata object;
    try {
      object = Serialization.unmarshal(copy.toString(), HasMetadata.class);
    } catch (RuntimeException e) {
      throw new ConfigException(key + ": " + describe(e));
    }
    return new ConfigObject<>(key, object, copy);
  }

  /** Splits text into its YAML (or JSON) documents, expanding {@code kind: List}. */
  static List<JsonNode> documents(String text) {
    List<JsonNode> out = new ArrayList<>();
    try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(text)) {
      while (it.hasNextValue()) {
        JsonNode doc = it.nextValue();
        if (doc == null || doc.isNull() || doc.isMissingNode() || doc.isEmpty()) {
          continue;
        }
        if ("List".equals(doc.path("kind").asText()) && doc.path("items").isArray()) {
          doc.path("items").forEach(out::add);
        } else {
          out.add(doc);
        }
      }
    } catch (IOException | RuntimeException e) {
      throw new ConfigException("not valid YAML or JSON: " + firstLine(e.getMessage()));
    }
    return out;
  }

  private static String describe(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof JsonMappingException jme && !jme.getPath().isEmpty()) {
        String path =
            jme.getPath().stream()
                .map(
                    r ->
                        r.getFieldName() != null
                            ? "." + r.getFieldName()
                            : "[" + r.getIndex() + "]")
                .collect(Collectors.joining())
                .replaceFirst("^\\.", "");
        return path + ": " + firstLine(jme.getOriginalMessage());
      }
      if (t instanceof JsonProcessingException jpe) {
        return firstLine(jpe.getOriginalMessage());
      }
    }
    return firstLine(e.getMessage());
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "unreadable";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  private static String supported() {
    return java.util.Arrays.stream(ConfigKind.values())
        .map(ConfigKind::kindName)
        .collect(Collectors.joining(", "));
  }
}
