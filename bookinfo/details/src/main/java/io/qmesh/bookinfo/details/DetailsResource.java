package io.qmesh.bookinfo.details;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.Map;

/** {@code GET /details/{id}} and {@code GET /health}, as Istio's details service answers them. */
@Path("/")
@Produces(MediaType.APPLICATION_JSON)
public class DetailsResource {

  @GET
  @Path("details/{id}")
  public Response details(@PathParam("id") String id) {
    int productId;
    try {
      productId = Integer.parseInt(id);
    } catch (NumberFormatException e) {
      return Response.status(400)
          .entity(Map.of("error", "please provide numeric product id"))
          .build();
    }
    return Response.ok(BookDetails.comedyOfErrors(productId)).build();
  }

  @GET
  @Path("health")
  public Map<String, String> health() {
    return Map.of("status", "Details is healthy");
  }
}
