package io.qmesh.bookinfo.productpage;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmesh.bookinfo.common.UpstreamClient;
import jakarta.ws.rs.CookieParam;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.function.BiFunction;

/** The JSON API under {@code /api/v1/products}, as Istio's productpage serves it. */
@Path("/api/v1/products")
@Produces(MediaType.APPLICATION_JSON)
public class ApiResource {

  private final Upstreams upstreams;
  private final Session session;

  public ApiResource(
      UpstreamClient client, ProductpageConfig config, ObjectMapper json, Session session) {
    this.upstreams = new Upstreams(client, config, json);
    this.session = session;
  }

  @GET
  public List<Product> products() {
    return Product.ALL;
  }

  @GET
  @Path("{id}")
  public CompletionStage<Response> product(
      @PathParam("id") String id, @Context HttpHeaders in, @CookieParam(Session.COOKIE) String c) {
    return forward(upstreams::details, id, in, c);
  }

  @GET
  @Path("{id}/reviews")
  public CompletionStage<Response> reviews(
      @PathParam("id") String id, @Context HttpHeaders in, @CookieParam(Session.COOKIE) String c) {
    return forward(upstreams::reviews, id, in, c);
  }

  @GET
  @Path("{id}/ratings")
  public CompletionStage<Response> ratings(
      @PathParam("id") String id, @Context HttpHeaders in, @CookieParam(Session.COOKIE) String c) {
    return forward(upstreams::ratings, id, in, c);
  }

  /** Calls one upstream for the product and answers with its status and JSON. */
  private CompletionStage<Response> forward(
      BiFunction<String, Map<String, String>, CompletionStage<Upstreams.Result>> upstream,
      String id,
      HttpHeaders in,
      String cookie) {
    return upstream
        .apply(id, OutgoingHeaders.of(in, session.decode(cookie)))
        .thenApply(ApiResource::json);
  }

  private static Response json(Upstreams.Result r) {
    return Response.status(r.status()).entity(r.body()).type(MediaType.APPLICATION_JSON).build();
  }
}
