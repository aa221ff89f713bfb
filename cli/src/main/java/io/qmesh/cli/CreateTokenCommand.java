package io.qmesh.cli;

import io.qmesh.ca.SecureFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code qmesh create-token <service-account>}: a workload credential for a proxy started by hand
 * (kubectl's {@code create token}): the laptop mode's bootstrap token naming the namespace and
 * service account, which pilot's CA turns into that identity's certificate. Printed, or written to
 * a file only the owner can read.
 */
@Command(
    name = "create-token",
    description =
        "Issue a workload credential (a service account token for pilot's CA) for a proxy started"
            + " by hand.")
final class CreateTokenCommand extends MeshCommand {

  private static final Pattern DURATION = Pattern.compile("(\\d+)(s|m|h|d)");

  @Parameters(index = "0", description = "The service account the credential names.")
  String serviceAccount;

  @Option(
      names = {"-n", "--namespace"},
      description = "The service account's namespace (default: default).")
  String namespace = "default";

  @Option(
      names = "--duration",
      description = "How long the credential is valid: 30m, 12h, 30d (default: 720h).")
  String duration = "720h";

  @Option(
      names = {"-f", "--file"},
      description = "Write it to this file (owner-only) instead of printing it.")
  Path file;

  @Override
  public Integer call() throws IOException {
    String token = Launches.token(home(), namespace, serviceAccount, parse(duration));
    if (file == null) {
      out().println(token);
    } else {
      SecureFiles.write(file, token, true);
      out().println("wrote " + namespace + "/" + serviceAccount + "'s credential to " + file);
    }
    out().flush();
    return 0;
  }

  static Duration parse(String text) {
    Matcher m = DURATION.matcher(text.trim());
    if (!m.matches() || Long.parseLong(m.group(1)) == 0) {
      throw new Failure("--duration: '" + text + "' is not a positive number of s, m, h or d");
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      case "h" -> Duration.ofHours(n);
      default -> Duration.ofDays(n);
    };
  }
}
