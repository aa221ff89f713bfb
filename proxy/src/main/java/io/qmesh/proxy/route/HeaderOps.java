package io.qmesh.proxy.route;

import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.vertx.core.MultiMap;
import java.util.List;
import java.util.Locale;

/**
 * Header changes of one place in a route config (a route, a weighted cluster): headers to remove,
 * then headers to set, append or add when absent, as Envoy applies {@code *_headers_to_remove} and
 * {@code *_headers_to_add}. Values are literal (Istio writes no Envoy format strings).
 */
public record HeaderOps(String[] remove, Op[] ops) {

  /** How a header is added. */
  public enum Mode {
    /** Replace any value (Istio's {@code set}). */
    SET,
    /** Add another value (Istio's {@code add}). */
    APPEND,
    /** Only when the header is absent. */
    IF_ABSENT
  }

  /** One header to add. */
  public record Op(String name, String value, Mode mode) {}

  public static final HeaderOps NONE = new HeaderOps(new String[0], new Op[0]);

  public static HeaderOps of(List<HeaderValueOption> add, List<String> remove) {
    if (add.isEmpty() && remove.isEmpty()) {
      return NONE;
    }
    Op[] ops = new Op[add.size()];
    for (int i = 0; i < ops.length; i++) {
      HeaderValueOption o = add.get(i);
      Mode mode;
      if (o.hasAppend()) {
        mode = o.getAppend().getValue() ? Mode.APPEND : Mode.SET;
      } else {
        mode =
            switch (o.getAppendAction()) {
              case APPEND_IF_EXISTS_OR_ADD -> Mode.APPEND;
              case ADD_IF_ABSENT -> Mode.IF_ABSENT;
              default -> Mode.SET;
            };
      }
      ops[i] =
          new Op(o.getHeader().getKey().toLowerCase(Locale.ROOT), o.getHeader().getValue(), mode);
    }
    return new HeaderOps(
        remove.stream().map(s -> s.toLowerCase(Locale.ROOT)).toArray(String[]::new), ops);
  }

  public boolean isEmpty() {
    return ops.length == 0 && remove.length == 0;
  }

  /** Applies the changes to {@code headers}. */
  public void apply(MultiMap headers) {
    for (String r : remove) {
      headers.remove(r);
    }
    for (Op op : ops) {
      switch (op.mode()) {
        case SET -> headers.set(op.name(), op.value());
        case APPEND -> headers.add(op.name(), op.value());
        case IF_ABSENT -> {
          if (!headers.contains(op.name())) {
            headers.set(op.name(), op.value());
          }
        }
      }
    }
  }
}
