package io.qmesh.proxy.xds;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Parser;

/**
 * Reads the {@code Any}s of xDS resources ({@code typed_config}s and the resources themselves) by
 * their type URL and the generated parser. The Envoy API's classes are protoc 3 code on protobuf's
 * 4.x runtime, where {@code Any.is(Class)} and {@code Any.unpack(Class)} find the type's descriptor
 * through its reflective field accessors: hundreds of {@code Method}s per message type, initialized
 * and held for the life of the proxy (about 9,400 of them in a sidecar), for a name the generated
 * code knows statically.
 */
public final class TypedConfigs {

  private TypedConfigs() {}

  /** Whether {@code any} holds a message of {@code type} (its URL ends in {@code /full.name}). */
  public static boolean is(Any any, Descriptor type) {
    String url = any.getTypeUrl();
    String name = type.getFullName();
    int slash = url.length() - name.length() - 1;
    return slash >= 0 && url.charAt(slash) == '/' && url.endsWith(name);
  }

  /**
   * The message {@code any} holds, read by {@code parser}.
   *
   * @param type the message's descriptor ({@code Listener.getDescriptor()})
   * @param parser its parser ({@code Listener.parser()})
   * @throws InvalidProtocolBufferException when {@code any} holds another type, or its bytes do not
   *     decode
   */
  public static <T extends Message> T unpack(Any any, Descriptor type, Parser<T> parser)
      throws InvalidProtocolBufferException {
    if (!is(any, type)) {
      throw new InvalidProtocolBufferException(
          "holds " + any.getTypeUrl() + ", not " + type.getFullName());
    }
    return parser.parseFrom(any.getValue());
  }
}
