package io.qmesh.pilot.ingest;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Finds fields the model did not recognise (a typo such as {@code htpp:}): fabric8's Istio types
 * keep them in {@code additionalProperties}, which this walks for, giving each one's path.
 */
final class UnknownFields {

  private UnknownFields() {}

  static List<String> find(Object spec, String path) {
    List<String> out = new ArrayList<>();
    walk(spec, path, out, 0);
    return out;
  }

  private static void walk(Object o, String path, List<String> out, int depth) {
    if (o == null || depth > 20) {
      return;
    }
    if (o instanceof Collection<?> c) {
      int i = 0;
      for (Object e : c) {
        walk(e, path + "[" + i++ + "]", out, depth + 1);
      }
      return;
    }
    if (o instanceof Map<?, ?> m) {
      m.forEach((k, v) -> walk(v, path + "." + k, out, depth + 1));
      return;
    }
    if (!o.getClass().getName().startsWith("io.fabric8.istio.api.")) {
      return;
    }
    for (Method getter : o.getClass().getMethods()) {
      if (getter.getParameterCount() != 0
          || Modifier.isStatic(getter.getModifiers())
          || !getter.getName().startsWith("get")
          || getter.getName().equals("getClass")) {
        continue;
      }
      Object value;
      try {
        value = getter.invoke(o);
      } catch (ReflectiveOperationException e) {
        continue;
      }
      if (getter.getName().equals("getAdditionalProperties")) {
        if (value instanceof Map<?, ?> extra) {
          extra.keySet().forEach(k -> out.add(path + "." + k));
        }
        continue;
      }
      String field =
          Character.toLowerCase(getter.getName().charAt(3)) + getter.getName().substring(4);
      // oneOf wrappers (matchType, httpDelayType, ...) hold their variant without a YAML key of
      // their own.
      boolean wrapper =
          value != null
              && value
                  .getClass()
                  .getSimpleName()
                  .matches(
                      ".*(Exact|Prefix|Regex|FixedDelay|HttpStatus|GrpcStatus|Http2Error|Simple|ConsistentHash|HttpHeaderName|HttpCookie|UseSourceIp|HttpQueryParameterName|RingHash|Maglev|Number|Bytes|String|Port|DerivePort|ExponentialDelay)$")
              && isOneOfField(field);
      walk(value, wrapper ? path : path + "." + field, out, depth + 1);
    }
  }

  private static boolean isOneOfField(String field) {
    return field.endsWith("Type")
        || field.equals("lbPolicy")
        || field.equals("hashKey")
        || field.equals("hashAlgorithm")
        || field.equals("redirectPort")
        || field.equals("specifier")
        || field.equals("errorType");
  }
}
