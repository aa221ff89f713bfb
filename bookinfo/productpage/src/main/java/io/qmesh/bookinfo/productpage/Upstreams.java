package io.qmesh.bookinfo.productpage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.qmesh.bookinfo.common.UpstreamClient;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.jboss.logging.Logger;

/**
 * productpage's calls to details, reviews and ratings, with Istio's productpage semantics: a 3 s
 * timeout per call, reviews tried twice, and on failure the upstream's status (500 when there was
 * no answer) with Istio's "Sorry, ..." message.
 */
public final class Upstreams {

  static final String DETAILS_UNAVAILABLE =
      "Sorry, product details are currently unavailable for this book.";
  static final String REVIEWS_UNAVAILABLE =
      "Sorry, product reviews are currently unavailable for this book.";
  static final String RATINGS_UNAVAILABLE =
      "Sorry, product ratings are currently unavailable for this book.";

  private static final Logger LOG = Logger.getLogger(Upstreams.class);
  private static final Duration TIMEOUT = Duration.ofSeconds(3);
  private static final int REVIEWS_ATTEMPTS = 2;

  /** A service's answer as productpage uses it: a status and a JSON body. */
  public record Result(int status, JsonNode body) {
    public boolean ok() {
      return status == 200;
    }
  }

  private final UpstreamClient client;
  private final ProductpageConfig config;
  private final ObjectMapper json;

  public Upstreams(UpstreamClient client, ProductpageConfig config, ObjectMapper json) {
    this.client = client;
    this.config = config;
    this.json = json;
  }

  public CompletionStage<Result> details(String id, Map<String, String> headers) {
    return call(config.details(), "/details/" + id, headers, DETAILS_UNAVAILABLE);
  }

  public CompletionStage<Result> ratings(String id, Map<String, String> headers) {
    return call(config.ratings(), "/ratings/" + id, headers, RATINGS_UNAVAILABLE);
  }

  public CompletionStage<Result> reviews(String id, Map<String, String> headers) {
    return reviews(id, headers, REVIEWS_ATTEMPTS);
  }

  private CompletionStage<Result> reviews(String id, Map<String, String> headers, int attempts) {
    return call(config.reviews(), "/reviews/" + id, headers, REVIEWS_UNAVAILABLE)
        .thenCompose(
            r ->
                r.ok() || attempts <= 1
                    ? CompletableFuture.completedFuture(r)
                    : reviews(id, headers, attempts - 1));
  }

  private CompletionStage<Result> call(
      ProductpageConfig.Service service, String path, Map<String, String> headers, String sorry) {
    var uri =
        UpstreamClient.serviceUri(
            service.hostname(), config.servicesDomain().orElse(""), service.port(), path);
    return client
        .get(uri, headers, TIMEOUT)
        .handle(
            (response, failure) -> {
              if (failure != null) {
                LOG.warnf(
                    "GET %s failed: %s",
                    uri, failure.getCause() == null ? failure : failure.getCause());
                return error(500, sorry);
              }
              if (!response.ok()) {
                LOG.warnf("GET %s answered %d", uri, response.status());
                return error(response.status(), sorry);
              }
              try {
                return new Result(200, json.readTree(response.body()));
              } catch (IOException e) {
                LOG.warnf("GET %s answered malformed JSON: %s", uri, e.getMessage());
                return error(500, sorry);
              }
            });
  }

  private static Result error(int status, String message) {
    return new Result(status, JsonNodeFactory.instance.objectNode().put("error", message));
  }
}
