package io.perceive.cli;

import io.perceive.cli.quality.LinearReference;
import io.perceive.model.wide.WideCross;
import io.perceive.sandbox.movielens.MovieLensReplay;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code ./perceive linear-reference}: the linear online learner that the MovieLens AUCs are
 * compared with ({@link LinearReference}).
 */
public final class LinearReferenceCommand implements Command, Main.FlagDeclaring {
  @Override
  public Set<String> flags() {
    return Set.of("genres");
  }

  private static final String DEFAULT_CROSSES =
      "user,item,category,user_category,user_item,recent_category_category";

  @Override
  public String summary() {
    return "MovieLens reference: per-sample online logistic regression (Adagrad) over the wide crosses";
  }

  @Override
  public String usage() {
    return String.join(
        "\n",
        "usage: ./perceive linear-reference [--lr ETA ...] [--initial-accumulator A] [--crosses LIST]"
            + " [--genres]",
        "",
        "  --lr ETA                 Adagrad learning rate(s), comma separated (default 0.05,0.1,0.2)",
        "  --initial-accumulator A  Adagrad's initial accumulator (default 0.1)",
        "  --crosses LIST           wide crosses (default " + DEFAULT_CROSSES + ")",
        "  --genres                 also user × every genre of the film",
        "  --batch B                score B samples per task with the same weights, then step once on"
            + " their summed gradient (default 1: per sample)",
        "",
        "Prints prequential AUC and log-loss over the last half of each task's samples (click ="
            + " rating >= 4, order = rating = 5, conversion = rating 5 among clicks).",
        "Needs Rscript and the R package dslabs: " + MovieLensReplay.INSTALL_HINT + ".");
  }

  @Override
  public int run(Args args, PrintStream out, PrintStream err) throws Exception {
    args.requireKnown(
        Set.of("lr", "initial-accumulator", "crosses", "genres", "batch"), n -> false);
    int batch = args.intOption("batch", 1, 1, 1_000_000);
    double a0 = args.doubleOption("initial-accumulator", 0.1, 1e-12, 1e6);
    List<WideCross> crosses;
    try {
      crosses = WideCross.parseList(args.option("crosses", DEFAULT_CROSSES));
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
    boolean genres = args.flag("genres");
    List<MovieLensReplay.Rating> ratings = MovieLensReplay.load();
    out.printf(
        "%,d ratings; crosses %s%s; Adagrad initial accumulator %s; batch %d%n",
        ratings.size(), WideCross.formatList(crosses), genres ? " + user×genre" : "", a0, batch);
    out.println("lr     click AUC  conv AUC  order AUC  click log-loss");
    for (String lrText : args.option("lr", "0.05,0.1,0.2").split(",")) {
      double lr;
      try {
        lr = Double.parseDouble(lrText.trim());
      } catch (NumberFormatException e) {
        throw new UsageException("--lr: not a number: " + lrText);
      }
      Map<String, LinearReference.TaskResult> r =
          LinearReference.run(
              ratings, new LinearReference.Settings(lr, a0, crosses, genres, batch));
      out.printf(
          "%-6s %9.4f %9.4f %10.4f %15.4f%n",
          lrText.trim(),
          r.get("click").auc(),
          r.get("conversion").auc(),
          r.get("order").auc(),
          r.get("click").logLoss());
    }
    return 0;
  }
}
