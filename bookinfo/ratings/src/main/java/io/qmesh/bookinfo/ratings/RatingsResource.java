package io.qmesh.bookinfo.ratings;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code GET /ratings/{id}}, {@code POST /ratings/{id}} and {@code GET /health}, as Istio's ratings
 * service answers them: every book has Reviewer1's 5 stars and Reviewer2's 4 until a POST replaces
 * them (kept in memory).
 */
@Path("/")
@Produces(MediaType.APPLICATION_JSON)
public class RatingsResource {

  private static final Map<String, Integer> DEFAULT_RATINGS = defaultRatings();

  private final Map<Integer, Map<String, Integer>> userRatings = new ConcurrentHashMap<>();

  @GET
  @Path("ratings/{id}")
  public Response ratings(@PathParam("id") String id) {
    Integer productId = parseId(id);
    if (productId == null) {
      return badId();
    }
    return Response.ok(body(productId, userRatings.getOrDefault(productId, DEFAULT_RATINGS)))
        .build();
  }

  @POST
  @Path("ratings/{id}")
  @Consumes(MediaType.APPLICATION_JSON)
  public Response rate(@PathParam("id") String id, Map<String, Integer> ratings) {
    Integer productId = parseId(id);
    if (productId == null) {
      return badId();
    }
    if (ratings == null || ratings.isEmpty()) {
      return Response.status(400)
          .entity(Map.of("error", "please provide valid ratings JSON"))
          .build();
    }
    Map<String, Integer> stored = Map.copyOf(new LinkedHashMap<>(ratings));
    userRatings.put(productId, stored);
    return Response.ok(body(productId, stored)).build();
  }

  @GET
  @Path("health")
  public Map<String, String> health() {
    return Map.of("status", "Ratings is healthy");
  }

  private static Map<String, Object> body(int productId, Map<String, Integer> ratings) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("id", productId);
    body.put("ratings", ratings);
    return body;
  }

  private static Integer parseId(String id) {
    try {
      return Integer.parseInt(id);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private static Response badId() {
    return Response.status(400)
        .entity(Map.of("error", "please provide numeric product ID"))
        .build();
  }

  private static Map<String, Integer> defaultRatings() {
    Map<String, Integer> ratings = new LinkedHashMap<>();
    ratings.put("Reviewer1", 5);
    ratings.put("Reviewer2", 4);
    return java.util.Collections.unmodifiableMap(ratings);
  }
}
