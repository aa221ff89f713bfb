package io.qmesh.bookinfo.productpage;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/** What the product page template shows, built from the upstreams' JSON. */
public final class PageModel {

  private PageModel() {}

  /** Details, or the error to show instead. */
  public record Details(
      boolean ok,
      String error,
      String type,
      int pages,
      String publisher,
      String language,
      String isbn10,
      String isbn13) {

    static Details from(Upstreams.Result r) {
      JsonNode b = r.body();
      if (!r.ok()) {
        return new Details(false, b.path("error").asText(), null, 0, null, null, null, null);
      }
      return new Details(
          true,
          null,
          b.path("type").asText(),
          b.path("pages").asInt(),
          b.path("publisher").asText(),
          b.path("language").asText(),
          b.path("ISBN-10").asText(),
          b.path("ISBN-13").asText());
    }
  }

  /** One review; {@code stars} is 0 and {@code ratingError} null when it carries no rating. */
  public record Review(String reviewer, String text, int stars, String color, String ratingError) {
    public int emptyStars() {
      return stars > 0 ? 5 - stars : 0;
    }
  }

  /** The reviews, or the error to show instead. */
  public record Reviews(
      boolean ok, String error, String podname, String clustername, List<Review> reviews) {

    public boolean showCluster() {
      return clustername != null && !clustername.isEmpty() && !"null".equals(clustername);
    }

    static Reviews from(Upstreams.Result r) {
      JsonNode b = r.body();
      if (!r.ok()) {
        return new Reviews(false, b.path("error").asText(), null, null, List.of());
      }
      List<Review> reviews = new ArrayList<>();
      for (JsonNode review : b.path("reviews")) {
        JsonNode rating = review.path("rating");
        reviews.add(
            new Review(
                review.path("reviewer").asText(),
                review.path("text").asText(),
                Math.max(0, Math.min(5, rating.path("stars").asInt(0))),
                rating.path("color").asText("black"),
                rating.has("error") ? rating.path("error").asText() : null));
      }
      return new Reviews(
          true, null, b.path("podname").asText(), b.path("clustername").asText(), reviews);
    }
  }
}
