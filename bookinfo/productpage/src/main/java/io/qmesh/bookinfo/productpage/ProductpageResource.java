package io.qmesh.bookinfo.productpage;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmesh.bookinfo.common.UpstreamClient;
import io.quarkus.qute.CheckedTemplate;
import io.quarkus.qute.TemplateInstance;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.CookieParam;
import jakarta.ws.rs.FormParam;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.NewCookie;
import jakarta.ws.rs.core.Response;
import java.net.URI;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/** The web pages: index, product page, login and logout, health. */
@Path("/")
public class ProductpageResource {

  @CheckedTemplate
  static class Templates {
    static native TemplateInstance productpage(
        Product product, PageModel.Details details, PageModel.Reviews reviews, String user);

    static native TemplateInstance index();
  }

  private static final int PRODUCT_ID = 0;

  private final Upstreams upstreams;
  private final Session session;

  public ProductpageResource(
      UpstreamClient client, ProductpageConfig config, ObjectMapper json, Session session) {
    this.upstreams = new Upstreams(client, config, json);
    this.session = session;
  }

  @GET
  @Produces(MediaType.TEXT_HTML)
  public TemplateInstance index() {
    return Templates.index();
  }

  @GET
  @Path("index.html")
  @Produces(MediaType.TEXT_HTML)
  public TemplateInstance indexHtml() {
    return Templates.index();
  }

  @GET
  @Path("productpage")
  @Produces(MediaType.TEXT_HTML)
  public CompletionStage<String> productpage(
      @Context HttpHeaders in, @CookieParam(Session.COOKIE) String cookie) {
    Optional<String> user = session.decode(cookie);
    Map<String, String> headers = OutgoingHeaders.of(in, user);
    String id = String.valueOf(PRODUCT_ID);
    var details = upstreams.details(id, headers).toCompletableFuture();
    var reviews = upstreams.reviews(id, headers).toCompletableFuture();
    return details.thenCombine(
        reviews,
        (d, r) ->
            Templates.productpage(
                    Product.byId(PRODUCT_ID).orElseThrow(),
                    PageModel.Details.from(d),
                    PageModel.Reviews.from(r),
                    user.orElse(""))
                .render());
  }

  @POST
  @Path("login")
  @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
  public Response login(
      @FormParam("username") String username, @HeaderParam("referer") String referer) {
    Response.ResponseBuilder back =
        Response.status(Response.Status.FOUND).location(backTo(referer));
    if (username == null || username.isBlank()) {
      return back.build();
    }
    return back.cookie(cookie(session.encode(username.trim()), NewCookie.DEFAULT_MAX_AGE)).build();
  }

  @GET
  @Path("logout")
  public Response logout(@HeaderParam("referer") String referer) {
    return Response.status(Response.Status.FOUND)
        .location(backTo(referer))
        .cookie(cookie("", 0))
        .build();
  }

  @GET
  @Path("health")
  @Produces(MediaType.TEXT_PLAIN)
  public String health() {
    return "Product page is healthy";
  }

  private static NewCookie cookie(String value, int maxAge) {
    return new NewCookie.Builder(Session.COOKIE)
        .value(value)
        .path("/")
        .httpOnly(true)
        .sameSite(NewCookie.SameSite.LAX)
        .maxAge(maxAge)
        .build();
  }

  /** Where login and logout return: the referring page's path, never another site. */
  static URI backTo(String referer) {
    if (referer != null) {
      try {
        URI uri = URI.create(referer);
        if (uri.getRawPath() != null && uri.getRawPath().startsWith("/")) {
          return URI.create(
              uri.getRawPath() + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery()));
        }
      } catch (IllegalArgumentException ignored) {
        // a malformed Referer falls through to the product page
      }
    }
    return URI.create("/productpage");
  }
}
