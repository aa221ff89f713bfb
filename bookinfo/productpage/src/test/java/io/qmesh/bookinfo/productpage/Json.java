package io.qmesh.bookinfo.productpage;

/** Canned upstream answers, shaped as the real Bookinfo services answer. */
final class Json {
  private Json() {}

  static final String DETAILS =
      "{\"id\":0,\"author\":\"William Shakespeare\",\"year\":1595,\"type\":\"paperback\","
          + "\"pages\":200,\"publisher\":\"PublisherA\",\"language\":\"English\","
          + "\"ISBN-10\":\"1234567890\",\"ISBN-13\":\"123-1234567890\"}";

  static String reviews(String podname, String color) {
    String rating1 = color == null ? "" : ",\"rating\":{\"stars\":5,\"color\":\"" + color + "\"}";
    String rating2 = color == null ? "" : ",\"rating\":{\"stars\":4,\"color\":\"" + color + "\"}";
    return "{\"id\":\"0\",\"podname\":\""
        + podname
        + "\",\"clustername\":\"null\",\"reviews\":["
        + "{\"reviewer\":\"Reviewer1\",\"text\":\"An extremely entertaining play by Shakespeare.\""
        + rating1
        + "},{\"reviewer\":\"Reviewer2\",\"text\":\"Absolutely fun and entertaining.\""
        + rating2
        + "}]}";
  }

  static final String REVIEWS_RATINGS_UNAVAILABLE =
      "{\"id\":\"0\",\"podname\":\"reviews-v2-x\",\"clustername\":\"null\",\"reviews\":["
          + "{\"reviewer\":\"Reviewer1\",\"text\":\"a\",\"rating\":{\"error\":\"Ratings service is"
          + " currently unavailable\"}},{\"reviewer\":\"Reviewer2\",\"text\":\"b\",\"rating\":"
          + "{\"error\":\"Ratings service is currently unavailable\"}}]}";

  static final String RATINGS = "{\"id\":0,\"ratings\":{\"Reviewer1\":5,\"Reviewer2\":4}}";
}
