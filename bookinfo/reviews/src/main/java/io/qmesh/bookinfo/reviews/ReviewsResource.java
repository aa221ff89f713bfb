package io.qmesh.bookinfo.reviews;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmesh.bookinfo.common.ForwardedHeaders;
import io.qmesh.bookinfo.common.UpstreamClient;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.jboss.logging.Logger;

/** {@code GET /reviews/{id}} and {@code GET /health}, as Istio's reviews service answers them. */
@Path("/")
@Produces(MediaType.APPLICATION_JSON)
public class ReviewsResource {

  private static final Logger LOG = Logger.getLogger(ReviewsResource.class);

  private final ReviewsConfig config;
  private final UpstreamClient upstream;
  private final ObjectMapper json;
  private final String podname;

  public ReviewsResource(ReviewsConfig config, UpstreamClient upstream, ObjectMapper json) {
    this.config = config;
    this.upstream = upstream;
    this.json = json;
    this.podname = config.podname().filter(s -> !s.isBlank()).orElseGet(ReviewsResource::hostName);
  }

  @GET
  @Path("reviews/{id}")
  public CompletionStage<Response> reviews(@PathParam("id") String id, @Context HttpHeaders in) {
    int productId;
    try {
      productId = Integer.parseInt(id);
    } catch (NumberFormatException e) {
      return CompletableFuture.completedFuture(
          Response.status(400)
              .entity(Map.of("error", "please provide numeric product id"))
              .build());
    }
    if (!config.reviews().ratingsEnabled()) {
      return CompletableFuture.completedFuture(
          Response.ok(ReviewsPayload.withoutRatings(productId, podname, config.clustername()))
              .build());
    }
    String color = config.reviews().starColor();
    // Istio's reviews waits 10 s for black stars (v2) and 2.5 s otherwise (v3), which is what
    // makes v2 and v3 differ in the fault-injection walkthrough.
    Duration timeout = "black".equals(color) ? Duration.ofSeconds(10) : Duration.ofMillis(2500);
    var uri =
        UpstreamClient.serviceUri(
            config.ratings().hostname(),
            config.servicesDomain().orElse(""),
            config.ratings().port(),
            "/ratings/" + productId);
    return upstream
        .get(uri, ForwardedHeaders.select(in::getHeaderString), timeout)
        .handle(
            (response, failure) -> {
              Optional<JsonNode> ratings = Optional.empty();
              if (failure != null) {
                LOG.warnf("ratings %s failed: %s", uri, failure.toString());
              } else if (!response.ok()) {
                LOG.warnf("ratings %s answered %d", uri, response.status());
              } else {
                ratings = parse(response.body());
              }
              return Response.ok(
                      ReviewsPayload.withRatings(
                          productId, podname, config.clustername(), ratings, color))
                  .build();
            });
  }

  @GET
  @Path("health")
  public Map<String, String> health() {
    return Map.of("status", "Reviews is healthy");
  }

  private Optional<JsonNode> parse(String body) {
    try {
      return Optional.of(json.readTree(body));
    } catch (IOException e) {
      LOG.warnf("ratings answered malformed JSON: %s", e.getMessage());
      return Optional.empty();
    }
  }

  private static String hostName() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      return "unknown";
    }
  }
}
