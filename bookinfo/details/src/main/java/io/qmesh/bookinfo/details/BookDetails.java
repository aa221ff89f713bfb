package io.qmesh.bookinfo.details;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/** A book's details, with the JSON field names of Istio's details service. */
@JsonPropertyOrder({
  "id",
  "author",
  "year",
  "type",
  "pages",
  "publisher",
  "language",
  "ISBN-10",
  "ISBN-13"
})
public record BookDetails(
    int id,
    String author,
    int year,
    String type,
    int pages,
    String publisher,
    String language,
    @JsonProperty("ISBN-10") String isbn10,
    @JsonProperty("ISBN-13") String isbn13) {

  /** The one book Bookinfo sells, under any product id. */
  public static BookDetails comedyOfErrors(int id) {
    return new BookDetails(
        id,
        "William Shakespeare",
        1595,
        "paperback",
        200,
        "PublisherA",
        "English",
        "1234567890",
        "123-1234567890");
  }
}
