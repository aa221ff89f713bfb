package io.qmesh.bookinfo.productpage;

import java.util.List;
import java.util.Optional;

/** A book in the store's catalogue. */
public record Product(int id, String title, String descriptionHtml) {

  /** The catalogue: one book, as in Istio's Bookinfo. */
  public static final List<Product> ALL =
      List.of(
          new Product(
              0,
              "The Comedy of Errors",
              "<a href=\"https://en.wikipedia.org/wiki/The_Comedy_of_Errors\">Wikipedia"
                  + " Summary</a>: The Comedy of Errors is one of <b>William Shakespeare's</b>"
                  + " early plays. It is his shortest and one of his most farcical comedies, with a"
                  + " major part of the humour coming from slapstick and mistaken identity, in"
                  + " addition to puns and word play."));

  public static Optional<Product> byId(int id) {
    return ALL.stream().filter(p -> p.id() == id).findFirst();
  }
}
