package io.qmesh.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code qmesh} command: runs the laptop mode's mesh (pilot, gateways, a sidecar per workload)
 * and Bookinfo as local processes, and talks to pilot like kubectl and istioctl talk to a cluster.
 */
@Command(
    name = "qmesh",
    mixinStandardHelpOptions = true,
    version = "qmesh 0.1.0-SNAPSHOT",
    description = "A service mesh that speaks Istio's APIs, on your laptop.",
    subcommands = {
      UpCommand.class,
      DownCommand.class,
      StatusCommand.class,
      LogsCommand.class,
      ApplyCommand.class,
      DeleteCommand.class,
      GetCommand.class,
      RunCommand.class,
      StopCommand.class,
      ExecCommand.class,
      ProxyConfigCommand.class,
      ProxyStatusCommand.class,
      CreateTokenCommand.class,
      DashboardCommand.class,
      AnalyzeCommand.class,
      ResetCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Qmesh implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getErr());
    throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
  }

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The command line, with {@link Failure}s printed as their message and exit code 1. */
  static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Qmesh());
    cl.setExecutionExceptionHandler(
        (e, line, parsed) -> {
          if (e instanceof Failure) {
            line.getErr().println("error: " + e.getMessage());
            line.getErr().flush();
            return 1;
          }
          throw e;
        });
    return cl;
  }
}
