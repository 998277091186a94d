package io.perceive.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.perceive.sandbox.EmbeddedKafka;
import io.perceive.sandbox.world.TruthTable;
import io.perceive.schemas.EventCodec;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The launcher's dispatch, usage errors, world output and produce failures, without a broker. */
class MainTest {
  private final ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
  private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();

  private int run(String... argv) {
    return Main.run(
        argv,
        new PrintStream(outBytes, true, StandardCharsets.UTF_8),
        new PrintStream(errBytes, true, StandardCharsets.UTF_8));
  }

  private String out() {
    return outBytes.toString(StandardCharsets.UTF_8);
  }

  private String err() {
    return errBytes.toString(StandardCharsets.UTF_8);
  }

  @Test
  void noArgumentsPrintsUsageListingEveryCommand() {
    assertThat(run()).isEqualTo(2);
    for (String name : Main.COMMANDS.keySet()) {
      assertThat(err()).contains("  " + name + " ");
    }
    assertThat(run("--help")).isZero();
    assertThat(out()).contains("produce").contains("broker").contains("world");
  }

  @Test
  void unknownCommandAndUnknownOptionAreUsageErrors() {
    assertThat(run("frobnicate")).isEqualTo(2);
    assertThat(err()).contains("unknown command 'frobnicate'");
    assertThat(run("world", "--userz", "3")).isEqualTo(2);
    assertThat(err()).contains("unknown option --userz");
    assertThat(run("world", "--session_intent_strength", "2")).isEqualTo(2);
    assertThat(err()).contains("session_intent_strength");
  }

  @Test
  void worldWritesJsonLinesThatTheCodecAcceptsAndItsTruth(@TempDir Path dir) throws Exception {
    Path config = dir.resolve("w.properties");
    Files.writeString(config, "users=50\nitems=300\nevents=900\nseed=1\n");

    int status = run("world", "--out", dir.toString(), "--world", config.toString(), "--seed", "2");

    assertThat(status).as(err()).isZero();
    List<String> lines = Files.readAllLines(dir.resolve("events.jsonl"));
    assertThat(lines).hasSize(900);
    EventCodec codec = new EventCodec();
    assertThat(lines).allMatch(line -> codec.decodeJson(line).isValid());
    assertThat(lines.get(0)).contains("\"eventId\":\"w2-0\""); // --seed overrides the file
    assertThat(TruthTable.load(dir.resolve("truth.avro")).size()).isPositive();
    assertThat(Files.readString(dir.resolve("world.properties")))
        .contains("users=50")
        .contains("seed=2");
  }

  @Test
  void anInvalidJsonLineIsReportedWithItsNumberAndNothingIsSent(@TempDir Path dir)
      throws Exception {
    Path file = dir.resolve("events.jsonl");
    String good =
        "{\"eventId\":\"a\",\"userId\":1,\"type\":\"CLICK\",\"eventTimeMs\":1709294400000,"
            + "\"requestId\":1,\"position\":0,\"scene\":\"search\",\"item\":{\"itemId\":3}}";
    Files.writeString(file, good + "\n\n" + good.replace("\"CLICK\"", "\"PURCHASE\"") + "\n");
    int port = EmbeddedKafka.freePorts(1)[0]; // never contacted: the file is checked first

    int status =
        run("produce", "jsonl", "--file", file.toString(), "--bootstrap", "127.0.0.1:" + port);

    assertThat(status).isEqualTo(1);
    assertThat(err())
        .contains("events.jsonl:3")
        .contains("UNKNOWN_EVENT_TYPE")
        .contains("nothing was sent");
  }

  @Test
  void anUnreachableBrokerIsAClearFailure() {
    int port = EmbeddedKafka.freePorts(1)[0];

    int status =
        run(
            "produce",
            "world",
            "--events",
            "10",
            "--bootstrap",
            "127.0.0.1:" + port,
            "--connect-timeout",
            "2");

    assertThat(status).isEqualTo(1);
    assertThat(err()).contains("cannot reach Kafka at 127.0.0.1:" + port);
  }

  /** Stands in for a command with its own parser (such as the demo). */
  public static final class EchoCommand implements Command {
    @Override
    public String summary() {
      return "echo raw arguments";
    }

    @Override
    public String usage() {
      return "usage: echo ANYTHING";
    }

    @Override
    public boolean parsesOwnArguments() {
      return true;
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) {
      out.print(String.join("|", args.raw()));
      return args.raw().size();
    }
  }

  @Test
  void aCommandWithItsOwnParserGetsTheRawArguments() {
    Main.COMMANDS.put("echo-test", EchoCommand.class);
    try {
      assertThat(run("echo-test", "--no-ui", "--help", "x")).isEqualTo(3);
      assertThat(out()).isEqualTo("--no-ui|--help|x");
    } finally {
      Main.COMMANDS.remove("echo-test");
    }
  }

  @Test
  void progressBarShowsCountsAndRate() {
    ProgressBar bar = new ProgressBar(new PrintStream(new ByteArrayOutputStream()), 200);
    assertThat(bar.render(50, 1234.4))
        .contains("25%")
        .contains("50/200 events")
        .contains("1,234 events/s");
    assertThat(new ProgressBar(System.err, -1).render(7, 3)).startsWith("7 events");
  }
}
