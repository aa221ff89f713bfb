package io.qmesh.proxy.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.type.v3.DoubleRange;
import io.envoyproxy.envoy.type.v3.Int32Range;
import io.envoyproxy.envoy.type.v3.Int64Range;
import io.envoyproxy.envoy.type.v3.RangeProto;
import org.junit.jupiter.api.Test;

class TypedConfigsTest {

  /** An Any as it comes off the wire (packing it here would touch the accessors itself). */
  private static Any any(String url, com.google.protobuf.Message m) {
    return Any.newBuilder().setTypeUrl(url).setValue(m.toByteString()).build();
  }

  @Test
  void readsTheMessageItsTypeUrlNamesWithoutTheReflectiveAccessors() throws Exception {
    Any a =
        any(
            "type.googleapis.com/envoy.type.v3.Int64Range",
            Int64Range.newBuilder().setStart(3).setEnd(9).build());

    assertThat(TypedConfigs.is(a, Int64Range.getDescriptor())).isTrue();
    assertThat(TypedConfigs.is(a, Int32Range.getDescriptor())).isFalse();
    Int64Range r = TypedConfigs.unpack(a, Int64Range.getDescriptor(), Int64Range.parser());
    assertThat(r.getStart()).isEqualTo(3);
    assertThat(r.getEnd()).isEqualTo(9);
    assertThat(accessorsInitialized("Int64Range")).isFalse();

    // What it replaces: protobuf's Any.unpack(Class) on the Envoy API's (protoc 3) classes.
    Any b =
        any(
            "type.googleapis.com/envoy.type.v3.DoubleRange",
            DoubleRange.newBuilder().setStart(1).build());
    assertThat(accessorsInitialized("DoubleRange")).isFalse();
    assertThat(b.unpack(DoubleRange.class).getStart()).isEqualTo(1);
    assertThat(accessorsInitialized("DoubleRange")).isTrue();
  }

  @Test
  void anyHostInTheUrlButTheWholeNameAfterItsLastSlash() {
    assertThat(
            TypedConfigs.is(
                any("example.com/x/envoy.type.v3.Int32Range", Int32Range.getDefaultInstance()),
                Int32Range.getDescriptor()))
        .isTrue();
    for (String url :
        new String[] {"envoy.type.v3.Int32Range", "type.googleapis.com/v3.Int32Range", ""}) {
      assertThat(
              TypedConfigs.is(
                  any(url, Int32Range.getDefaultInstance()), Int32Range.getDescriptor()))
          .as(url)
          .isFalse();
    }
  }

  @Test
  void anotherTypeIsRefusedByName() {
    Any a = any("type.googleapis.com/envoy.type.v3.Int32Range", Int32Range.getDefaultInstance());
    assertThatThrownBy(
            () -> TypedConfigs.unpack(a, Int64Range.getDescriptor(), Int64Range.parser()))
        .isInstanceOf(InvalidProtocolBufferException.class)
        .hasMessage(
            "holds type.googleapis.com/envoy.type.v3.Int32Range, not envoy.type.v3.Int64Range");
  }

  /** Whether protobuf has set up the reflective field accessors of a message of envoy.type.v3. */
  private static boolean accessorsInitialized(String message) throws Exception {
    var table =
        RangeProto.class.getDeclaredField(
            "internal_static_envoy_type_v3_" + message + "_fieldAccessorTable");
    table.setAccessible(true);
    var initialized =
        com.google.protobuf.GeneratedMessage.FieldAccessorTable.class.getDeclaredField(
            "initialized");
    initialized.setAccessible(true);
    return initialized.getBoolean(table.get(null));
  }
}
