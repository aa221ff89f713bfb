package io.qmesh.bookinfo.reviews;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Optional;

/** The JSON the reviews service answers, with the field names of Istio's reviews service. */
public record ReviewsPayload(String id, String podname, String clustername, List<Review> reviews) {

  /** The message Istio's reviews service shows when ratings cannot be had. */
  public static final String RATINGS_UNAVAILABLE = "Ratings service is currently unavailable";

  /** One review; {@code rating} is absent in v1. */
  public record Review(
      String reviewer, String text, @JsonInclude(JsonInclude.Include.NON_NULL) Rating rating) {}

  /** Either stars and their color, or an error. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Rating(Integer stars, String color, String error) {
    static Rating of(int stars, String color) {
      return new Rating(stars, color, null);
    }

    static Rating unavailable() {
      return new Rating(null, null, RATINGS_UNAVAILABLE);
    }
  }

  private static final String[][] TEXTS = {
    {
      "Reviewer1",
      "An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!"
    },
    {
      "Reviewer2",
      "Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays"
          + " by Shakespeare."
    }
  };

  /** The payload of a version without ratings (v1). */
  public static ReviewsPayload withoutRatings(int id, String podname, String clustername) {
    return build(id, podname, clustername, Optional.empty(), null);
  }

  /**
   * The payload of a version with ratings (v2, v3).
   *
   * @param ratings the ratings service's JSON ({@code {"ratings":{"Reviewer1":5,...}}}), empty when
   *     the call failed; a reviewer missing from it gets the "unavailable" error, as in Istio
   */
  public static ReviewsPayload withRatings(
      int id, String podname, String clustername, Optional<JsonNode> ratings, String color) {
    return build(id, podname, clustername, ratings, color);
  }

  private static ReviewsPayload build(
      int id, String podname, String clustername, Optional<JsonNode> ratings, String color) {
    List<Review> reviews =
        java.util.Arrays.stream(TEXTS)
            .map(t -> new Review(t[0], t[1], color == null ? null : rating(ratings, t[0], color)))
            .toList();
    return new ReviewsPayload(String.valueOf(id), podname, clustername, reviews);
  }

  private static Rating rating(Optional<JsonNode> ratings, String reviewer, String color) {
    return ratings
        .map(r -> r.path("ratings").path(reviewer))
        .filter(JsonNode::isInt)
        .map(stars -> Rating.of(stars.intValue(), color))
        .orElseGet(Rating::unavailable);
  }
}
